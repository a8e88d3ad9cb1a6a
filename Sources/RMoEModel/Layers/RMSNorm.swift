import RMoECore

/// RMSNorm over rows: `y = x / sqrt(mean(x^2) + eps) * weight`; x, y [N, d], weight [d].
/// Saves `rstd [N]` for the backward pass.
public struct RMSNorm<S: KernelScalar> {
    public let weight: UnsafeMutablePointer<S>
    public let weightGrad: UnsafeMutablePointer<S>
    public let dim: Int
    public let eps: S

    public init(weight: UnsafeMutablePointer<S>, weightGrad: UnsafeMutablePointer<S>, dim: Int, eps: S) {
        self.weight = weight
        self.weightGrad = weightGrad
        self.dim = dim
        self.eps = eps
    }

    public func forward(y: UnsafeMutablePointer<S>, rstd: UnsafeMutablePointer<S>, x: UnsafePointer<S>, rows: Int) {
        S.rmsnormForward(y, rstd, x, weight, rows, dim, eps)
    }

    /// `dx += d/dx`, `dweight += d/dweight`.
    public func backward(
        dx: UnsafeMutablePointer<S>, dy: UnsafePointer<S>, x: UnsafePointer<S>,
        rstd: UnsafePointer<S>, rows: Int
    ) {
        S.rmsnormBackward(dx, weightGrad, dy, x, weight, rstd, rows, dim)
    }
}
