/// Swift SIMD versions of three fused kernels (RMSNorm forward, SwiGLU forward, AdamW), written to
/// be as fast as Swift allows (SIMD16 loads, fixed-lane sums, the same polynomial exp as the C
/// kernels). `rmoe bench kernels` times them on `SwiftPool` against the C kernels on OpenMP.
public enum SwiftKernels {
    typealias V16 = SIMD16<Float>

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> V16 {
        UnsafeRawPointer(p).loadUnaligned(as: V16.self)
    }
    @inline(__always) static func store(_ v: V16, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V16.self)
    }

    /// exp on 16 lanes: the C kernels' Cephes polynomial.
    @inline(__always) static func exp16(_ x: V16) -> V16 {
        let hi = V16(repeating: 88.3762626647949), lo = V16(repeating: -87.3365447504)
        let xc = pointwiseMax(pointwiseMin(x, hi), lo)
        // Round to nearest by the 1.5 * 2^23 trick: t holds n in its low mantissa bits. Swift's
        // SIMD .rounded() and float-to-int conversions run lane by lane, so they are avoided.
        let t = xc * 1.44269504088896341 + 12582912
        let n = t - 12582912
        var r = xc - n * 0.693359375
        r = r - n * -2.12194440e-4
        var p = V16(repeating: 1.9875691500E-4)
        p = p * r + 1.3981999507E-3
        p = p * r + 8.3334519073E-3
        p = p * r + 4.1665795894E-2
        p = p * r + 1.6666665459E-1
        p = p * r + 5.0000001201E-1
        p = p * r * r + r + 1
        let e = unsafeBitCast(t + 127, to: SIMD16<Int32>.self) &<< 23
        let s = unsafeBitCast(e, to: V16.self)
        return p * s  // (the C kernel also flushes x < lo to 0; irrelevant for SiLU)
    }

    /// Rows [r0, r1) of RMSNorm: y = x * rstd * w (D a multiple of 16).
    public static func rmsnormRows(
        _ y: UnsafeMutablePointer<Float>, _ rstd: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
        _ w: UnsafePointer<Float>, _ r0: Int, _ r1: Int, _ D: Int, _ eps: Float
    ) {
        for n in r0..<r1 {
            let xr = x + n * D, yr = y + n * D
            var acc = V16()
            var i = 0
            while i < D { let v = load(xr + i); acc += v * v; i += 16 }
            let r = 1 / (acc.sum() / Float(D) + eps).squareRoot()
            rstd[n] = r
            i = 0
            while i < D { store(load(xr + i) * r * load(w + i), yr + i); i += 16 }
        }
    }

    /// Rows [r0, r1) of SwiGLU: g = silu(a1) * a3 (F a multiple of 16).
    public static func swigluRows(_ g: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ r0: Int, _ r1: Int, _ F: Int) {
        for n in r0..<r1 {
            let a1 = a + n * 2 * F, a3 = a1 + F, gr = g + n * F
            var i = 0
            while i < F {
                let u = load(a1 + i)
                store(u / (1 + exp16(-u)) * load(a3 + i), gr + i)
                i += 16
            }
        }
    }

    /// Elements [i0, i1) of AdamW (PyTorch arithmetic; i1 - i0 a multiple of 16).
    public static func adamwRange(
        _ p: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>,
        _ g: UnsafePointer<Float>, _ i0: Int, _ i1: Int, lr: Float, b1: Float, b2: Float, eps: Float,
        wd: Float, bc1: Float, bc2: Float
    ) {
        let decay = 1 - lr * wd, step = lr / bc1, sbc2 = bc2.squareRoot()
        var i = i0
        while i < i1 {
            let gi = load(g + i)
            let mi = load(m + i) * b1 + gi * (1 - b1)
            let vi = load(v + i) * b2 + gi * gi * (1 - b2)
            store(mi, m + i); store(vi, v + i)
            store(load(p + i) * decay - step * mi / (vi.squareRoot() / sbc2 + eps), p + i)
            i += 16
        }
    }
}
