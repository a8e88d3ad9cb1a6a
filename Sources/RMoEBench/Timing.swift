import Foundation
import RMoECore

/// Repeated timings of one piece of work.
public struct Timing: Sendable {
    public var samples: [Double]  // seconds
    public var median: Double {
        let s = samples.sorted(); return s.isEmpty ? .nan : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
    }
    public var min: Double { samples.min() ?? .nan }
    public var max: Double { samples.max() ?? .nan }

    /// Runs `body` `warmup` times untimed, then `reps` times timed.
    public static func measure(warmup: Int = 1, reps: Int, _ body: () -> Void) -> Timing {
        for _ in 0..<warmup { body() }
        var s: [Double] = []
        for _ in 0..<reps {
            let t0 = System.now()
            body()
            s.append(System.now() - t0)
        }
        return Timing(samples: s)
    }

    public mutating func merge(_ other: Timing) { samples += other.samples }
}

/// Lets libomp's workers stop spinning (they spin for 200 ms after a parallel region) before a
/// measurement that uses other threads.
public func quiesceOpenMP() { usleep(300_000) }
