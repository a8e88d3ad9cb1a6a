import Foundation
import RMoECore
import RMoEModel

/// sgemm throughput at the shapes of one training step, three ways side by side: the toolkit's
/// tiled product (single-threaded OpenBLAS per tile on the OpenMP team), one OpenBLAS call with as
/// many BLAS threads, and one single-threaded OpenBLAS call.
public enum GemmBench {
    public struct Shape: Sendable {
        public var name: String, transA: Bool, transB: Bool, M: Int, N: Int, K: Int
        public var flops: Double { 2 * Double(M) * Double(N) * Double(K) }
    }

    public struct Row: Sendable {
        public var shape: Shape
        public var tiled: Timing, blasThreaded: Timing, blasSingle: Timing
        public func gflops(_ t: Timing) -> Double { shape.flops / t.median / 1e9 }
        /// GFLOP/s of the fastest and the slowest repetition.
        public func gflopsRange(_ t: Timing) -> (low: Double, high: Double) { (shape.flops / t.max / 1e9, shape.flops / t.min / 1e9) }
    }

    /// The matmuls of a dense model's training step (per layer, plus the LM head), and a large square.
    public static func shapes(for c: ModelConfig) -> [Shape] {
        let T = c.batch * c.seqLen, d = c.dModel, F = c.denseWidth, V = c.vocab
        return [
            Shape(name: "qkv fwd", transA: false, transB: true, M: T, N: 3 * d, K: d),
            Shape(name: "wo fwd", transA: false, transB: true, M: T, N: d, K: d),
            Shape(name: "w13 fwd", transA: false, transB: true, M: T, N: 2 * F, K: d),
            Shape(name: "w2 fwd", transA: false, transB: true, M: T, N: d, K: F),
            Shape(name: "lm_head fwd", transA: false, transB: true, M: T, N: V, K: d),
            Shape(name: "qkv dx", transA: false, transB: false, M: T, N: d, K: 3 * d),
            Shape(name: "w13 dx", transA: false, transB: false, M: T, N: d, K: 2 * F),
            Shape(name: "w2 dx", transA: false, transB: false, M: T, N: F, K: d),
            Shape(name: "qkv dW", transA: true, transB: false, M: 3 * d, N: d, K: T),
            Shape(name: "w13 dW", transA: true, transB: false, M: 2 * F, N: d, K: T),
            Shape(name: "w2 dW", transA: true, transB: false, M: d, N: F, K: T),
            Shape(name: "square 2048", transA: false, transB: false, M: 2048, N: 2048, K: 2048),
        ]
    }

    public static func run(shapes: [Shape], threads: Int, reps: Int = 10) -> [Row] {
        var rng = Xoshiro256(seed: 3)
        return shapes.map { s in
            let a = [Float]((0..<(s.M * s.K)).map { _ in Float(rng.normal()) })
            let b = [Float]((0..<(s.K * s.N)).map { _ in Float(rng.normal()) })
            var c = [Float](repeating: 0, count: s.M * s.N)
            let lda = s.transA ? s.M : s.K, ldb = s.transB ? s.K : s.N
            let r = max(2, Int(2e10 / s.flops / 10).clamped(to: 2...reps))
            var tiled = Timing(samples: []), threaded = Timing(samples: []), single = Timing(samples: [])
            for _ in 0..<2 {
                // Each runtime's idle workers spin for a while after use (libomp 200 ms, OpenBLAS
                // about 0.1 s): pause between them so no measurement shares the cores with spinners.
                Runtime.setThreads(threads)
                tiled.merge(Timing.measure(warmup: 2, reps: r) { Float.gemm(s.transA, s.transB, s.M, s.N, s.K, 1, a, lda, b, ldb, 0, &c, s.N) })
                quiesceOpenMP()
                Runtime.setBLASThreads(threads)
                threaded.merge(Timing.measure(warmup: 2, reps: r) { Float.gemmSerial(s.transA, s.transB, s.M, s.N, s.K, 1, a, lda, b, ldb, 0, &c, s.N) })
                Runtime.setBLASThreads(1)
                quiesceOpenMP()
                single.merge(Timing.measure(warmup: 1, reps: r) { Float.gemmSerial(s.transA, s.transB, s.M, s.N, s.K, 1, a, lda, b, ldb, 0, &c, s.N) })
            }
            return Row(shape: s, tiled: tiled, blasThreaded: threaded, blasSingle: single)
        }
    }
}

extension Comparable {
    func clamped(to r: ClosedRange<Self>) -> Self { Swift.min(Swift.max(self, r.lowerBound), r.upperBound) }
}
