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

/// The ratio of two timings' medians (`a / b`) with a 95% bootstrap interval (2,000 resamples of
/// each timing's samples, fixed seed, so the same samples give the same interval), and what a
/// reader should make of it: a ratio whose interval contains 1.0 is no measurable difference, and
/// one whose interval spans more than 20% of it is too noisy to quote alone.
public struct Ratio: Sendable {
    public let value: Double, low: Double, high: Double

    public init(_ a: Timing, _ b: Timing, resamples: Int = 2000) {
        value = a.median / b.median
        guard a.samples.count >= 2, b.samples.count >= 2 else { low = .nan; high = .nan; return }
        var rng = Xoshiro256(seed: 0x5EED)
        func resample(_ t: Timing) -> Double {
            Timing(samples: (0..<t.samples.count).map { _ in t.samples[rng.below(t.samples.count)] }).median
        }
        var rs: [Double] = []
        rs.reserveCapacity(resamples)
        for _ in 0..<resamples { rs.append(resample(a) / resample(b)) }
        rs.sort()
        low = rs[Int(0.025 * Double(resamples))]
        high = rs[Swift.min(resamples - 1, Int(0.975 * Double(resamples)))]
    }

    public var includesOne: Bool { low <= 1 && high >= 1 }
    public var wide: Bool { (high - low) / value > 0.2 }

    /// "x1.234 [1.201, 1.260]" plus a warning when the interval includes 1.0 or is wide.
    public var text: String {
        guard low.isFinite else { return String(format: "x%.3f (too few samples for an interval)", value) }
        var s = String(format: "x%.3f [%.3f, %.3f]", value, low, high)
        if includesOne { s += " (interval includes 1.0: no measurable difference)" } else if wide { s += " (wide spread: do not quote alone)" }
        return s
    }

    /// JSON fields `<name>`, `<name>_low`, `<name>_high`, `<name>_note`.
    public func json(_ name: String) -> [(String, JSONValue)] {
        [
            (name, .double(value)), (name + "_low", .double(low)), (name + "_high", .double(high)),
            (name + "_note", .string(includesOne ? "includes 1.0" : wide ? "wide" : "")),
        ]
    }
}

/// Lets libomp's workers stop spinning (they spin for 200 ms after a parallel region) before a
/// measurement that uses other threads.
public func quiesceOpenMP() { usleep(300_000) }
