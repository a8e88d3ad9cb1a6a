import Testing
import RMoETestSupport
@testable import RMoECore

/// Kernels give bitwise identical results for any thread count: work is split into items whose
/// bounds depend only on the sizes.
@Suite("Thread-count independence", .serialized)
struct DeterminismTests {
    func run<R: Equatable>(threads: Int, _ body: () -> R) -> R {
        let before = Runtime.threads
        Runtime.setThreads(threads)
        defer { Runtime.setThreads(before) }
        return body()
    }

    @Test("gemm, attention and reductions: 1 thread == 2 threads == 3 threads, bitwise")
    func bitwise() {
        var rng = TestRNG(77)
        let M = 700, N = 300, K = 90
        let A = rng.array(M * K).map(Float.init), Bm = rng.array(K * N).map(Float.init)
        let B = 4, S = 130, H = 2, hd = 16, d = H * hd
        let qkv = rng.array(B * S * 3 * d).map(Float.init)
        let big = rng.array(300_000).map(Float.init)
        func compute() -> [Float] {
            var C = [Float](repeating: 0, count: M * N)
            Float.gemm(false, false, M, N, K, 1, A, K, Bm, N, 0, &C, N)
            var Ct = [Float](repeating: 0, count: K * N)
            Float.gemm(true, false, K, N, M, 1, A, K, C, N, 0, &Ct, N)
            var out = [Float](repeating: 0, count: B * S * d), P = [Float](repeating: 0, count: B * H * S * S)
            Float.attentionForward(&out, &P, qkv, B, S, H, hd, 0.25)
            var dqkv = [Float](repeating: 0, count: B * S * 3 * d), scratch = P
            Float.attentionBackward(&dqkv, &scratch, out, P, qkv, B, S, H, hd, 0.25)
            var cs = [Float](repeating: 0, count: N)
            Float.columnSumAccumulate(&cs, C, M, N)
            return C + Ct + out + dqkv + cs + [Float(Float.sumOfSquares(big, big.count))]
        }
        let one = run(threads: 1, compute)
        let two = run(threads: 2, compute)
        let three = run(threads: 3, compute)
        #expect(one.map(\.bitPattern) == two.map(\.bitPattern))
        #expect(one.map(\.bitPattern) == three.map(\.bitPattern))
    }
}
