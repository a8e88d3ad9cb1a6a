import CKernels

/// Element-wise kernels of the baseline routers (GELU, row normalisation, dropout), forwarded to
/// the C kernels of each precision; `KernelScalar` inherits these requirements.
public protocol RouterKernelScalar {
    /// GELU (exact erf form) a = u Phi(u) over n elements.
    static func geluForward(_ a: UnsafeMutablePointer<Self>, _ u: UnsafePointer<Self>, _ n: Int)
    /// du = da (Phi(u) + u phi(u)) over n elements (written).
    static func geluBackward(_ du: UnsafeMutablePointer<Self>, _ da: UnsafePointer<Self>, _ u: UnsafePointer<Self>, _ n: Int)
    /// y = x / max(||x||, eps) per row [N, D]; norms [N] saved.
    static func l2NormalizeRows(_ y: UnsafeMutablePointer<Self>, _ norms: UnsafeMutablePointer<Self>, _ x: UnsafePointer<Self>, _ N: Int, _ D: Int, _ eps: Self)
    /// dx += (dy - y <y, dy>) / ||x|| per row (dy / eps where the norm was clamped).
    static func l2NormalizeRowsBackward(
        _ dx: UnsafeMutablePointer<Self>, _ dy: UnsafePointer<Self>, _ y: UnsafePointer<Self>, _ norms: UnsafePointer<Self>, _ N: Int, _ D: Int, _ eps: Self)
    /// Inverted dropout in place with mask[i] from (seed, offset + i); mask saved.
    static func dropout(_ a: UnsafeMutablePointer<Self>, _ mask: UnsafeMutablePointer<Self>, _ n: Int, _ p: Self, _ seed: UInt64, offset: Int)
    /// y *= x element-wise.
    static func multiply(_ y: UnsafeMutablePointer<Self>, _ x: UnsafePointer<Self>, _ n: Int)
    /// y += a x.
    static func axpy(_ y: UnsafeMutablePointer<Self>, _ x: UnsafePointer<Self>, _ n: Int, _ a: Self)
    /// Every row of y [N, D] = b [D].
    static func biasRows(_ y: UnsafeMutablePointer<Self>, _ b: UnsafePointer<Self>, _ N: Int, _ D: Int)
    /// Dot product in Double (thread-count independent).
    static func dot(_ x: UnsafePointer<Self>, _ y: UnsafePointer<Self>, _ n: Int) -> Double
}

extension Float: RouterKernelScalar {
    public static func geluForward(_ a: UnsafeMutablePointer<Float>, _ u: UnsafePointer<Float>, _ n: Int) { rk_gelu_fwd_f32(a, u, n) }
    public static func geluBackward(_ du: UnsafeMutablePointer<Float>, _ da: UnsafePointer<Float>, _ u: UnsafePointer<Float>, _ n: Int) {
        rk_gelu_bwd_f32(du, da, u, n)
    }
    public static func l2NormalizeRows(
        _ y: UnsafeMutablePointer<Float>, _ norms: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ N: Int, _ D: Int, _ eps: Float
    ) { rk_l2norm_rows_f32(y, norms, x, Int32(truncatingIfNeeded: N), Int32(truncatingIfNeeded: D), eps) }
    public static func l2NormalizeRowsBackward(
        _ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ norms: UnsafePointer<Float>, _ N: Int, _ D: Int,
        _ eps: Float
    ) { rk_l2norm_rows_bwd_f32(dx, dy, y, norms, Int32(truncatingIfNeeded: N), Int32(truncatingIfNeeded: D), eps) }
    public static func dropout(_ a: UnsafeMutablePointer<Float>, _ mask: UnsafeMutablePointer<Float>, _ n: Int, _ p: Float, _ seed: UInt64, offset: Int) {
        rk_dropout_f32(a, mask, n, p, seed, offset)
    }
    public static func multiply(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) { rk_mul_f32(y, x, n) }
    public static func axpy(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int, _ a: Float) { rk_axpy_f32(y, x, n, a) }
    public static func biasRows(_ y: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, _ N: Int, _ D: Int) { rk_bias_rows_f32(y, b, Int32(N), Int32(D)) }
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Double { rk_dot_f32(x, y, n) }
}

extension Double: RouterKernelScalar {
    public static func geluForward(_ a: UnsafeMutablePointer<Double>, _ u: UnsafePointer<Double>, _ n: Int) { rk_gelu_fwd_f64(a, u, n) }
    public static func geluBackward(_ du: UnsafeMutablePointer<Double>, _ da: UnsafePointer<Double>, _ u: UnsafePointer<Double>, _ n: Int) {
        rk_gelu_bwd_f64(du, da, u, n)
    }
    public static func l2NormalizeRows(
        _ y: UnsafeMutablePointer<Double>, _ norms: UnsafeMutablePointer<Double>, _ x: UnsafePointer<Double>, _ N: Int, _ D: Int, _ eps: Double
    ) { rk_l2norm_rows_f64(y, norms, x, Int32(truncatingIfNeeded: N), Int32(truncatingIfNeeded: D), eps) }
    public static func l2NormalizeRowsBackward(
        _ dx: UnsafeMutablePointer<Double>, _ dy: UnsafePointer<Double>, _ y: UnsafePointer<Double>, _ norms: UnsafePointer<Double>, _ N: Int, _ D: Int,
        _ eps: Double
    ) { rk_l2norm_rows_bwd_f64(dx, dy, y, norms, Int32(truncatingIfNeeded: N), Int32(truncatingIfNeeded: D), eps) }
    public static func dropout(_ a: UnsafeMutablePointer<Double>, _ mask: UnsafeMutablePointer<Double>, _ n: Int, _ p: Double, _ seed: UInt64, offset: Int) {
        rk_dropout_f64(a, mask, n, p, seed, offset)
    }
    public static func multiply(_ y: UnsafeMutablePointer<Double>, _ x: UnsafePointer<Double>, _ n: Int) { rk_mul_f64(y, x, n) }
    public static func axpy(_ y: UnsafeMutablePointer<Double>, _ x: UnsafePointer<Double>, _ n: Int, _ a: Double) { rk_axpy_f64(y, x, n, a) }
    public static func biasRows(_ y: UnsafeMutablePointer<Double>, _ b: UnsafePointer<Double>, _ N: Int, _ D: Int) {
        rk_bias_rows_f64(y, b, Int32(N), Int32(D))
    }
    public static func dot(_ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>, _ n: Int) -> Double { rk_dot_f64(x, y, n) }
}
