import Foundation
import Testing
@testable import RMoECore
@testable import RMoEBench

/// The Swift SIMD kernels of the runtime comparison against naive loops, run on the Swift pool.
@Suite("Swift SIMD kernels and pool (bench alternative) against naive loops")
struct SwiftKernelTests {
    @Test("RMSNorm, SwiGLU and AdamW rows")
    func kernels() {
        let N = 70, D = 48, F = 32, P = 4096
        var rng = Xoshiro256(seed: 1)
        func arr(_ n: Int, _ s: Double = 1) -> [Float] { (0..<n).map { _ in Float(rng.normal() * s) } }
        let x = arr(N * D), w = arr(D), a = arr(N * 2 * F, 3)
        var y = [Float](repeating: 0, count: N * D), rstd = [Float](repeating: 0, count: N), g = [Float](repeating: 0, count: N * F)
        let pool = SwiftPool(threads: 2)
        defer { pool.shutdown() }
        y.withUnsafeMutableBufferPointer { yb in
            rstd.withUnsafeMutableBufferPointer { rb in
                g.withUnsafeMutableBufferPointer { gb in
                    let (yp, rp, gp) = (yb.baseAddress!, rb.baseAddress!, gb.baseAddress!)
                    pool.parallelFor(N) { n in
                        SwiftKernels.rmsnormRows(yp, rp, x, w, n, n + 1, D, 1e-6)
                        SwiftKernels.swigluRows(gp, a, n, n + 1, F)
                    }
                }
            }
        }
        for n in 0..<N {
            let ss = (0..<D).reduce(0.0) { $0 + Double(x[n * D + $1]) * Double(x[n * D + $1]) }
            let r = 1 / (ss / Double(D) + 1e-6).squareRoot()
            for i in 0..<D { #expect(abs(Double(y[n * D + i]) - Double(x[n * D + i]) * r * Double(w[i])) < 1e-5) }
            for i in 0..<F {
                let u = Double(a[n * 2 * F + i]), v = Double(a[n * 2 * F + F + i])
                #expect(abs(Double(g[n * F + i]) - u / (1 + exp(-u)) * v) < 1e-5 * max(1, abs(u * v)))
            }
        }
        var p = arr(P), m = arr(P, 0.1), v = arr(P, 0.1).map { abs($0) }
        let grad = arr(P)
        let (p0, m0, v0) = (p, m, v)
        SwiftKernels.adamwRange(&p, &m, &v, grad, 0, P, lr: 0.01, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.1, bc1: 0.1, bc2: 0.001)
        for i in 0..<P {
            let mi = Double(m0[i]) * 0.9 + Double(grad[i]) * 0.1
            let vi = Double(v0[i]) * 0.999 + Double(grad[i] * grad[i]) * 0.001
            let pi = Double(p0[i]) * (1 - 0.001) - 0.1 * mi / ((vi / 0.001).squareRoot() + 1e-8)
            #expect(abs(Double(p[i]) - pi) < 1e-5 * max(1, abs(pi)))
        }
    }
}
