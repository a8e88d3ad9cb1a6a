import Testing
import RMoETestSupport
@testable import RMoECore

/// `gemmGroup` runs independent products in one parallel region; each product must come out
/// bitwise as `gemm` computes it alone, for any thread count, whichever tiles a thread takes.
@Suite("gemm groups", .serialized)
struct GemmGroupTests {
    /// (transA, transB, M, N, K, beta): serial (small), row-tiled, column-tiled and mixed sets,
    /// the shapes of a linear layer's backward pass and of the recurrent router's four products.
    static let groups: [[(Bool, Bool, Int, Int, Int, Double)]] = [
        [(true, false, 96, 32, 512, 1), (false, false, 512, 32, 96, 0), (true, false, 96, 32, 512, 1), (false, false, 512, 32, 96, 1)],
        [(true, false, 192, 64, 512, 1), (false, false, 512, 64, 192, 0)],
        [(true, false, 64, 64, 512, 1), (false, false, 512, 64, 64, 1)],
        [(false, true, 40, 300, 70, 0), (true, true, 130, 20, 33, 1), (false, false, 7, 5, 3, 1)],
        [(false, true, 700, 90, 64, 0), (false, true, 700, 90, 64, 1)],
    ]

    func check<S: KernelScalar>(_: S.Type, _ shapes: [(Bool, Bool, Int, Int, Int, Double)], threads: Int) -> Bool {
        var rng = TestRNG(UInt64(shapes.count * 31 + threads))
        func buffer(_ n: Int) -> UnsafeMutablePointer<S> {
            let p = UnsafeMutablePointer<S>.allocate(capacity: n)
            for i in 0..<n { p[i] = S(rng.uniform()) }
            return p
        }
        let A = shapes.map { buffer($0.2 * $0.4) }, B = shapes.map { buffer($0.4 * $0.3) }, C0 = shapes.map { buffer($0.2 * $0.3) }
        let alone = shapes.map { UnsafeMutablePointer<S>.allocate(capacity: $0.2 * $0.3) }
        let grouped = shapes.map { UnsafeMutablePointer<S>.allocate(capacity: $0.2 * $0.3) }
        defer { for p in A + B + C0 + alone + grouped { p.deallocate() } }
        func job(_ i: Int, _ C: UnsafeMutablePointer<S>) -> GemmJob<S> {
            let (ta, tb, M, N, K, beta) = shapes[i]
            C.update(from: C0[i], count: M * N)
            return GemmJob(ta, tb, M, N, K, S(0.5), A[i], ta ? M : K, B[i], tb ? K : N, S(beta), C, N)
        }
        let before = Runtime.threads
        defer { Runtime.setThreads(before) }
        Runtime.setThreads(1)  // (also pins OpenBLAS to one thread, as every run does)
        for i in shapes.indices { job(i, alone[i]).run() }  // one product at a time
        Runtime.setThreads(threads)
        let jobs = shapes.indices.map { job($0, grouped[$0]) }
        S.gemmGroup(jobs[0], jobs[1], jobs.count > 2 ? jobs[2] : nil, jobs.count > 3 ? jobs[3] : nil)
        return shapes.indices.allSatisfy { i in
            let n = shapes[i].2 * shapes[i].3
            return (0..<n).allSatisfy { alone[i][$0] == grouped[i][$0] } && (0..<n).contains { grouped[i][$0] != C0[i][$0] }
        }
    }

    @Test("each product of a group is bitwise the product alone (float and double; 1, 2, 3 threads)", arguments: groups.indices)
    func groupEqualsAlone(_ g: Int) {
        for threads in [1, 2, 3] {
            #expect(check(Float.self, Self.groups[g], threads: threads), "group \(g), \(threads) threads, float")
            #expect(check(Double.self, Self.groups[g], threads: threads), "group \(g), \(threads) threads, double")
        }
    }
}
