import RMoECore

/// A bias-free linear map in PyTorch layout: `W [out, in]`, `y = x W^T` for `x [N, in]`.
///
/// Backward: `dx (+)= dy W` and `dW += dy^T x` (every weight gradient accumulates, as in llm.c).
public enum Linear {
    /// `y [N, out] = x W^T`, or `y += x W^T` when `accumulate` (a residual add fused into the product).
    @inline(__always)
    public static func forward<S: KernelScalar>(
        _ y: UnsafeMutablePointer<S>, _ x: UnsafePointer<S>, _ w: UnsafePointer<S>,
        _ N: Int, _ inDim: Int, _ outDim: Int, accumulate: Bool = false
    ) {
        S.gemm(false, true, N, outDim, inDim, 1, x, inDim, w, inDim, accumulate ? 1 : 0, y, outDim)
    }

    /// `dx [N, in] (+)= dy W` (when `dx` is given) and `dW [out, in] += dy^T x`, both in one
    /// parallel region (`gemmGroup`).
    @inline(__always)
    public static func backward<S: KernelScalar>(
        dx: UnsafeMutablePointer<S>?, dw: UnsafeMutablePointer<S>?, accumulateDx: Bool,
        _ dy: UnsafePointer<S>, _ x: UnsafePointer<S>, _ w: UnsafePointer<S>,
        _ N: Int, _ inDim: Int, _ outDim: Int
    ) {
        let weight = dw.map { GemmJob(true, false, outDim, inDim, N, 1, dy, outDim, x, inDim, 1, $0, inDim) }
        let input = dx.map { GemmJob(false, false, N, inDim, outDim, 1, dy, outDim, w, inDim, accumulateDx ? 1 : 0, $0, inDim) }
        if let weight, let input {
            S.gemmGroup(weight, input)  // independent: one parallel region
        } else {
            weight?.run()
            input?.run()
        }
    }
}
