import Testing
import RMoETestSupport
@testable import RMoECore

/// Every kernel's backward pass against central finite differences of its forward pass, in Double,
/// table-driven over shapes. Tolerance: max relative error per element below 1e-6.
@Suite("Kernel gradients (finite differences, Double)")
struct KernelGradientTests {
    static let tolerance = 1e-6

    @Test("RMSNorm backward", arguments: [(1, 4), (3, 16), (5, 37)])
    func rmsnorm(shape: (Int, Int)) {
        let (N, D) = shape
        var rng = TestRNG(UInt64(N * 100 + D))
        var x = rng.array(N * D), w = rng.array(D).map { 1 + 0.5 * $0 }
        let c = rng.array(N * D)
        func forward(_ x: [Double], _ w: [Double]) -> Double {
            var y = [Double](repeating: 0, count: N * D), r = [Double](repeating: 0, count: N)
            Double.rmsnormForward(&y, &r, x, w, N, D, 1e-6)
            return weightedSum(y, c)
        }
        var y = [Double](repeating: 0, count: N * D), r = [Double](repeating: 0, count: N)
        Double.rmsnormForward(&y, &r, x, w, N, D, 1e-6)
        var dx = [Double](repeating: 0, count: N * D), dw = [Double](repeating: 0, count: D)
        Double.rmsnormBackward(&dx, &dw, c, x, w, r, N, D)
        let ex = finiteDifferenceError(&x, analytic: dx) { forward($0, w) }
        #expect(ex.error < Self.tolerance, "dx: \(ex)")
        let ew = finiteDifferenceError(&w, analytic: dw) { forward(x, $0) }
        #expect(ew.error < Self.tolerance, "dw: \(ew)")
    }

    @Test("RoPE backward", arguments: [(3, 3, 1, 4), (8, 4, 2, 8), (6, 6, 3, 16)])
    func rope(shape: (Int, Int, Int, Int)) {
        let (N, S, heads, hd) = shape
        let ld = heads * hd + 3  // a row stride wider than the rotated part
        var rng = TestRNG(UInt64(N * 7 + hd))
        var x = rng.array(N * ld)
        let c = rng.array(N * ld)
        let tables = ropeTables(S: S, hd: hd)
        func forward(_ x: [Double]) -> Double {
            var y = x
            Double.rope(&y, tables.cos, tables.sin, N, S, heads, hd, ld, inverse: false)
            return weightedSum(y, c)
        }
        var dx = c
        Double.rope(&dx, tables.cos, tables.sin, N, S, heads, hd, ld, inverse: true)
        let e = finiteDifferenceError(&x, analytic: dx, loss: forward)
        #expect(e.error < Self.tolerance, "\(e)")
    }

    @Test("Causal attention backward", arguments: [(1, 1, 1, 2), (2, 5, 2, 4), (1, 70, 1, 4), (1, 130, 2, 2)])
    func attention(shape: (Int, Int, Int, Int)) {
        let (B, S, H, hd) = shape
        let d = H * hd, scale = 1 / Double(hd).squareRoot()
        var rng = TestRNG(UInt64(B * 1000 + S * 10 + H))
        var qkv = rng.array(B * S * 3 * d)
        let c = rng.array(B * S * d)
        var P = [Double](repeating: 0, count: B * H * S * S)
        func forward(_ qkv: [Double]) -> Double {
            var out = [Double](repeating: 0, count: B * S * d)
            Double.attentionForward(&out, &P, qkv, B, S, H, hd, scale)
            return weightedSum(out, c)
        }
        _ = forward(qkv)
        let savedP = P
        var dqkv = [Double](repeating: .nan, count: B * S * 3 * d)
        var scratch = [Double](repeating: 0, count: B * H * S * S)
        Double.attentionBackward(&dqkv, &scratch, c, savedP, qkv, B, S, H, hd, scale)
        let e = finiteDifferenceError(&qkv, analytic: dqkv, loss: forward)
        #expect(e.error < Self.tolerance, "\(e)")
    }

    @Test("SwiGLU backward", arguments: [(1, 4), (3, 20)])
    func swiglu(shape: (Int, Int)) {
        let (N, F) = shape
        var rng = TestRNG(UInt64(N + F))
        var a = rng.array(N * 2 * F, scale: 3)
        let c = rng.array(N * F)
        func forward(_ a: [Double]) -> Double {
            var g = [Double](repeating: 0, count: N * F)
            Double.swigluForward(&g, a, N, F)
            return weightedSum(g, c)
        }
        var da = [Double](repeating: .nan, count: N * 2 * F)
        Double.swigluBackward(&da, c, a, N, F)
        let e = finiteDifferenceError(&a, analytic: da, loss: forward)
        #expect(e.error < Self.tolerance, "\(e)")
    }

    @Test("Cross-entropy backward (with ignored rows)", arguments: [(1, 2), (4, 11), (6, 300)])
    func crossEntropy(shape: (Int, Int)) {
        let (N, V) = shape
        var rng = TestRNG(UInt64(N * 3 + V))
        var z = rng.array(N * V, scale: 4)
        let t: [Int32] = (0..<N).map { n in n == 1 ? -1 : Int32(Int(rng.next() % UInt64(V))) }
        let scale = 1 / Double(N)
        func forward(_ z: [Double]) -> Double {
            var zz = z, losses = [Double](repeating: 0, count: N)
            Double.crossEntropy(&losses, &zz, t, N, V, gradScale: 0)
            return losses.reduce(0, +) * scale
        }
        var g = z, losses = [Double](repeating: 0, count: N)
        Double.crossEntropy(&losses, &g, t, N, V, gradScale: scale)
        let e = finiteDifferenceError(&z, analytic: g, loss: forward)
        #expect(e.error < Self.tolerance, "\(e)")
    }

    @Test("Embedding backward (repeated tokens)")
    func embedding() {
        let V = 5, D = 7, N = 9
        var rng = TestRNG(3)
        var emb = rng.array(V * D)
        let tok: [Int32] = [0, 3, 3, 1, 0, 4, 3, 2, 0]
        let c = rng.array(N * D)
        func forward(_ emb: [Double]) -> Double {
            var x = [Double](repeating: 0, count: N * D)
            Double.embeddingForward(&x, tok, emb, N, D)
            return weightedSum(x, c)
        }
        var demb = [Double](repeating: 0, count: V * D)
        Double.embeddingBackward(&demb, c, tok, N, D)
        let e = finiteDifferenceError(&emb, analytic: demb, loss: forward)
        #expect(e.error < Self.tolerance, "\(e)")
    }

    @Test("Linear (gemm NT) backward: dx = dy W, dW = dy^T x", arguments: [(3, 5, 4), (130, 6, 3), (4, 7, 140)])
    func linear(shape: (Int, Int, Int)) {
        let (N, inD, outD) = shape
        var rng = TestRNG(UInt64(N * inD * outD))
        var x = rng.array(N * inD), w = rng.array(outD * inD)
        let c = rng.array(N * outD)
        func forward(_ x: [Double], _ w: [Double]) -> Double {
            var y = [Double](repeating: 0, count: N * outD)
            Double.gemm(false, true, N, outD, inD, 1, x, inD, w, inD, 0, &y, outD)
            return weightedSum(y, c)
        }
        var dx = [Double](repeating: 0, count: N * inD), dw = [Double](repeating: 0, count: outD * inD)
        Double.gemm(false, false, N, inD, outD, 1, c, outD, w, inD, 0, &dx, inD)
        Double.gemm(true, false, outD, inD, N, 1, c, outD, x, inD, 1, &dw, inD)
        let ex = finiteDifferenceError(&x, analytic: dx) { forward($0, w) }
        let ew = finiteDifferenceError(&w, analytic: dw) { forward(x, $0) }
        #expect(ex.error < Self.tolerance, "dx: \(ex)")
        #expect(ew.error < Self.tolerance, "dw: \(ew)")
    }
}

func ropeTables(S: Int, hd: Int, theta: Double = 10000) -> (cos: [Double], sin: [Double]) {
    var c: [Double] = [], s: [Double] = []
    for p in 0..<S {
        for i in 0..<hd / 2 {
            let a = Double(p) / pow(theta, Double(2 * i) / Double(hd))
            c.append(cos(a)); s.append(sin(a))
        }
    }
    return (c, s)
}

#if canImport(Glibc)
    import Glibc
#endif

@Suite("The gradient checker itself")
struct GradCheckerTests {
    @Test("catches one wrong element of a correct gradient")
    func catchesOneWrongElement() {
        let N = 4, V = 50
        var rng = TestRNG(99)
        var z = rng.array(N * V, scale: 4)
        let t: [Int32] = [3, 7, 0, 49]
        func forward(_ z: [Double]) -> Double {
            var zz = z, losses = [Double](repeating: 0, count: N)
            Double.crossEntropy(&losses, &zz, t, N, V, gradScale: 0)
            return losses.reduce(0, +)
        }
        var g = z, losses = [Double](repeating: 0, count: N)
        Double.crossEntropy(&losses, &g, t, N, V, gradScale: 1)
        #expect(finiteDifferenceError(&z, analytic: g, loss: forward).error < 1e-6)
        // The smallest gradient element, off by 1e-5 of itself, or by 1e-8 of the largest element.
        let smallest = g.indices.min { abs(g[$0]) < abs(g[$1]) }!
        var wrong = g
        wrong[smallest] += max(abs(g[smallest]) * 1e-5, 1e-8 * g.map { abs($0) }.max()!)
        #expect(finiteDifferenceError(&z, analytic: wrong, loss: forward).error > 1e-6)
    }
}
