import Foundation
import Synchronization

/// The alternative runtime measured against OpenMP in `rmoe bench kernels`: a persistent pool of
/// worker threads that spin (yielding) on a generation counter and take work items from an atomic
/// counter. It exists so the comparison of README "Parallel runtime" can be re-run; training uses
/// the OpenMP team only, and a benchmark never has both running at once.
public final class SwiftPool: @unchecked Sendable {
    public let threadCount: Int
    private let generation = Atomic<Int>(0)
    private let next = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let stop = Atomic<Bool>(false)
    private var items = 0
    private var body: ((Int) -> Void)? = nil
    private var workers: [Thread] = []

    public init(threads: Int) {
        threadCount = max(1, threads)
        for _ in 1..<threadCount {
            let t = Thread { [unowned self] in self.workerLoop() }
            t.start()
            workers.append(t)
        }
    }

    /// Stops the workers (they exit at their next check).
    public func shutdown() { stop.store(true, ordering: .releasing) }
    deinit { shutdown() }

    private func workerLoop() {
        var seen = 0
        while !stop.load(ordering: .acquiring) {
            let g = generation.load(ordering: .acquiring)
            if g == seen { sched_yield(); continue }
            seen = g
            drain()
            finished.add(1, ordering: .releasing)
        }
    }

    private func drain() {
        let n = items
        while true {
            let i = next.add(1, ordering: .relaxed).oldValue
            if i >= n { break }
            body!(i)
        }
    }

    /// Runs `body(i)` for i in 0..<n on all threads (the caller works too); returns when all are done.
    public func parallelFor(_ n: Int, _ body: @escaping (Int) -> Void) {
        if threadCount == 1 || n == 1 { for i in 0..<n { body(i) }; return }
        self.body = body
        items = n
        next.store(0, ordering: .relaxed)
        finished.store(0, ordering: .relaxed)
        generation.add(1, ordering: .releasing)
        drain()
        while finished.load(ordering: .acquiring) < threadCount - 1 {}
        self.body = nil
    }
}
