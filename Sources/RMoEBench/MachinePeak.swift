import Foundation
import RMoECore

/// The machine's measured ceilings, taken in the same process as the benchmark they scale.
public struct MachinePeak: Sendable {
    /// Best of a large square sgemm (2048^3) via our tiles and via threaded OpenBLAS.
    public var sgemmGflops: Double
    /// FMA peak of the thread team (a loop of independent 16-wide FMAs).
    public var fmaGflops: Double

    public static func measure(threads: Int) throws -> MachinePeak {
        let n = 2048
        let s = GemmBench.Shape(name: "square", transA: false, transB: false, M: n, N: n, K: n)
        let r = GemmBench.run(shapes: [s], threads: threads, reps: 3)[0]
        Runtime.setThreads(threads)
        quiesceOpenMP()
        let fma = Runtime.measureFMAPeak(seconds: 0.3)
        return MachinePeak(sgemmGflops: max(r.gflops(r.tiled), r.gflops(r.blasThreaded)), fmaGflops: fma)
    }
}
