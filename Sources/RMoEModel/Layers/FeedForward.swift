import RMoECore

/// Dense SwiGLU feed-forward layer: `y += W2 (silu(W1 x) * (W3 x))`.
///
/// Weights `ffn.w1.weight` [F, d], `ffn.w3.weight` [F, d], `ffn.w2.weight` [d, F]; w1 and w3 sit
/// side by side in the slab and are used as one [2F, d] matrix:
///
///     a = x W13^T    [T, 2F]  (a1 | a3)
///     g = silu(a1) * a3        [T, F]
///     y += g W2^T              (residual add fused into the product)
public struct DenseFFN<S: KernelScalar> {
    let w13, dw13, w2, dw2: UnsafeMutablePointer<S>
    let T, d, F: Int
    let a13, g: UnsafeMutablePointer<S>  // saved
    let dg, da13: UnsafeMutablePointer<S>  // shared scratch

    static func savedCount(T: Int, F: Int) -> [Int] { [T * 2 * F, T * F] }
    static func scratchCount(T: Int, F: Int) -> [Int] { [T * F, T * 2 * F] }

    init(
        params: Slab<S>, grads: Slab<S>, prefix: String, T: Int, d: Int, F: Int,
        saved: [UnsafeMutablePointer<S>], scratch: [UnsafeMutablePointer<S>]
    ) {
        w13 = params.pointer(prefix + "w1.weight"); dw13 = grads.pointer(prefix + "w1.weight")
        precondition(params.pointer(prefix + "w3.weight") == w13 + F * d, "w1 and w3 must be adjacent")
        w2 = params.pointer(prefix + "w2.weight"); dw2 = grads.pointer(prefix + "w2.weight")
        self.T = T; self.d = d; self.F = F
        a13 = saved[0]; g = saved[1]
        dg = scratch[0]; da13 = scratch[1]
    }

    func forward(y: UnsafeMutablePointer<S>, x: UnsafePointer<S>) {
        Linear.forward(a13, x, w13, T, d, 2 * F)
        S.swigluForward(g, a13, T, F)
        Linear.forward(y, g, w2, T, F, d, accumulate: true)
    }

    /// Writes `dx`, accumulates weight gradients.
    func backward(dx: UnsafeMutablePointer<S>, dy: UnsafePointer<S>, x: UnsafePointer<S>) {
        Linear.backward(dx: dg, dw: dw2, accumulateDx: false, dy, g, w2, T, F, d)
        S.swigluBackward(da13, dg, a13, T, F)
        Linear.backward(dx: dx, dw: dw13, accumulateDx: false, da13, x, w13, T, d, 2 * F)
    }
}
