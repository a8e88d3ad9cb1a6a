import Testing
import RMoETestSupport
@testable import RMoECore

/// Fast kernels (Float and Double) against the naive loops of `Ref`.
/// Double kernels must agree to ~1e-12 relative (only summation order differs); Float kernels
/// to a few float ulps of the value's scale.
@Suite("Kernels against naive references")
struct KernelReferenceTests {
    static func maxRelDiff<A: BinaryFloatingPoint>(_ a: [A], _ b: [Double], scale: Double? = nil) -> Double {
        precondition(a.count == b.count)
        let s = scale ?? max(b.map { abs($0) }.max() ?? 1, 1e-30)
        var m = 0.0
        for i in 0..<a.count { m = max(m, abs(Double(a[i]) - b[i]) / s) }
        return m
    }

    @Test(
        "gemm: all transposes, serial and tiled paths",
        arguments: [
            (false, false), (false, true), (true, false), (true, true),
        ])
    func gemm(trans: (Bool, Bool)) {
        let (ta, tb) = trans
        // (M, N, K): small (serial), tall (row tiles), wide (column tiles), odd sizes.
        for (M, N, K) in [(3, 4, 5), (300, 70, 33), (40, 260, 50), (129, 131, 17)] {
            var rng = TestRNG(UInt64(M * N + K))
            let A = rng.array(M * K), B = rng.array(K * N)
            let lda = ta ? M : K, ldb = tb ? K : N
            let C0 = rng.array(M * N)
            for beta in [0.0, 1.0] {
                var ref = C0
                Ref.gemm(ta, tb, M, N, K, 0.5, A, lda, B, ldb, beta, &ref, N)
                var cd = C0
                Double.gemm(ta, tb, M, N, K, 0.5, A, lda, B, ldb, beta, &cd, N)
                #expect(Self.maxRelDiff(cd, ref) < 1e-13)
                var cf = C0.map(Float.init)
                Float.gemm(ta, tb, M, N, K, 0.5, A.map(Float.init), lda, B.map(Float.init), ldb, Float(beta), &cf, N)
                #expect(Self.maxRelDiff(cf, ref) < 1e-5, "M=\(M) N=\(N) K=\(K) ta=\(ta) tb=\(tb) beta=\(beta)")
            }
        }
    }

    @Test("RMSNorm forward")
    func rmsnorm() {
        let N = 33, D = 80
        var rng = TestRNG(11)
        let x = rng.array(N * D), w = rng.array(D)
        let ref = Ref.rmsnorm(x, w, N, D, 1e-6)
        var y = [Float](repeating: 0, count: N * D), r = [Float](repeating: 0, count: N)
        Float.rmsnormForward(&y, &r, x.map(Float.init), w.map(Float.init), N, D, 1e-6)
        #expect(Self.maxRelDiff(y, ref.y) < 1e-6)
        #expect(Self.maxRelDiff(r, ref.rstd) < 1e-6)
        var yd = [Double](repeating: 0, count: N * D), rd = [Double](repeating: 0, count: N)
        Double.rmsnormForward(&yd, &rd, x, w, N, D, 1e-6)
        #expect(Self.maxRelDiff(yd, ref.y) < 1e-14)
    }

    @Test("RoPE forward and inverse")
    func rope() {
        let N = 12, S = 6, heads = 3, hd = 8, ld = 30
        var rng = TestRNG(5)
        let x = rng.array(N * ld)
        let t = ropeTables(S: S, hd: hd)
        let ref = Ref.rope(x, N: N, S: S, heads: heads, hd: hd, ld: ld, theta: 10000, inverse: false)
        var y = x
        Double.rope(&y, t.cos, t.sin, N, S, heads, hd, ld, inverse: false)
        #expect(Self.maxRelDiff(y, ref) < 1e-14)
        Double.rope(&y, t.cos, t.sin, N, S, heads, hd, ld, inverse: true)
        #expect(Self.maxRelDiff(y, x) < 1e-14)
        var yf = x.map(Float.init)
        Float.rope(&yf, t.cos.map(Float.init), t.sin.map(Float.init), N, S, heads, hd, ld, inverse: false)
        #expect(Self.maxRelDiff(yf, ref) < 1e-6)
    }

    @Test("Causal attention forward", arguments: [1, 63, 64, 65, 150])
    func attention(S: Int) {
        let B = 2, H = 2, hd = 8, d = H * hd
        var rng = TestRNG(UInt64(S))
        let qkv = rng.array(B * S * 3 * d, scale: 2)
        let ref = Ref.attention(qkv, B: B, S: S, H: H, hd: hd)
        var out = [Double](repeating: .nan, count: B * S * d), P = [Double](repeating: .nan, count: B * H * S * S)
        Double.attentionForward(&out, &P, qkv, B, S, H, hd, 1 / Double(hd).squareRoot())
        #expect(Self.maxRelDiff(out, ref) < 1e-13)
        var outf = [Float](repeating: .nan, count: B * S * d), Pf = [Float](repeating: .nan, count: B * H * S * S)
        Float.attentionForward(&outf, &Pf, qkv.map(Float.init), B, S, H, hd, 1 / Float(hd).squareRoot())
        #expect(Self.maxRelDiff(outf, ref) < 2e-6)
        // Each probability row sums to one over the causal prefix.
        for row in 0..<(B * H * S) {
            let i = row % S
            let s = (0...i).reduce(0.0) { $0 + P[row * S + $1] }
            #expect(abs(s - 1) < 1e-12)
        }
    }

    @Test("SwiGLU forward")
    func swiglu() {
        let N = 7, F = 37
        var rng = TestRNG(9)
        let a = rng.array(N * 2 * F, scale: 6)
        let ref = Ref.swiglu(a, N: N, F: F)
        var g = [Float](repeating: 0, count: N * F)
        Float.swigluForward(&g, a.map(Float.init), N, F)
        #expect(Self.maxRelDiff(g, ref) < 1e-6)
    }

    @Test("Cross-entropy forward and gradient, ignored rows")
    func crossEntropy() {
        let N = 9, V = 257
        var rng = TestRNG(21)
        let z = rng.array(N * V, scale: 8)
        let t: [Int32] = (0..<N).map { $0 % 4 == 3 ? -1 : Int32($0 * 31 % V) }
        let ref = Ref.crossEntropy(z, t, N: N, V: V, scale: 0.25)
        var zf = z.map(Float.init), lf = [Float](repeating: .nan, count: N)
        Float.crossEntropy(&lf, &zf, t, N, V, gradScale: 0.25)
        #expect(Self.maxRelDiff(lf, ref.losses) < 1e-6)
        #expect(Self.maxRelDiff(zf, ref.grad, scale: 0.25) < 1e-6)
        #expect(lf[3] == 0 && zf[3 * V..<4 * V].allSatisfy { $0 == 0 })
    }

    @Test("float exp: at most 2 ulp from libm over [-87, 88]")
    func expAccuracy() {
        var worst: Float = 0
        var x: Float = -87
        while x < 88 {
            let fast = Float(rk_expf_scalar_wrapper(x)), exact = Float(exp(Double(x)))
            worst = max(worst, abs(fast - exact) / exact.ulp)
            x += 0.0137
        }
        #expect(worst <= 2, "worst error \(worst) ulp")
        #expect(rk_expf_scalar_wrapper(-100) == 0)
        #expect(rk_expf_scalar_wrapper(0) == 1)
    }

    @Test("AdamW step matches the PyTorch formula")
    func adamw() {
        var rng = TestRNG(4)
        var p = rng.array(100), m = [Double](repeating: 0, count: 100), v = m
        var pr = p, mr = m, vr = v
        for step in 1...3 {
            let g = rng.array(100)
            let (lr, b1, b2, eps, wd) = (1e-2, 0.9, 0.999, 1e-8, 0.1)
            Ref.adamw(p: &pr, m: &mr, v: &vr, g: g, lr: lr, b1: b1, b2: b2, eps: eps, wd: wd, step: step)
            Double.adamw(
                &p, &m, &v, g, 100, lr: lr, beta1: b1, beta2: b2, eps: eps, weightDecay: wd,
                biasCorrection1: 1 - pow(b1, Double(step)), biasCorrection2: 1 - pow(b2, Double(step)))
        }
        #expect(Self.maxRelDiff(p, pr) < 1e-14)
    }

    @Test("sum of squares, column sums, add, accumulate, scale")
    func elementwise() {
        var rng = TestRNG(8)
        let x = rng.array(100_003)
        let ref = x.reduce(0.0) { $0 + $1 * $1 }
        #expect(abs(Double.sumOfSquares(x, x.count) - ref) / ref < 1e-13)
        let N = 50, D = 70
        let m = rng.array(N * D)
        var cs = [Double](repeating: 1, count: D)
        Double.columnSumAccumulate(&cs, m, N, D)
        for c in 0..<D {
            let r = 1 + (0..<N).reduce(0.0) { $0 + m[$1 * D + c] }
            #expect(abs(cs[c] - r) < 1e-12)
        }
        var y = [Double](repeating: 0, count: 10)
        Double.add(&y, Array(x[0..<10]), Array(x[10..<20]), 10)
        Double.accumulate(&y, Array(x[20..<30]), 10)
        Double.scale(&y, 10, 2)
        for i in 0..<10 { #expect(y[i] == 2 * (x[i] + x[10 + i] + x[20 + i])) }
    }
}

#if canImport(Glibc)
    import Glibc
#endif
import CKernels
func rk_expf_scalar_wrapper(_ x: Float) -> Float { rk_expf_scalar(x) }
