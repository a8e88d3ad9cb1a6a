import Foundation

/// Paired-by-seed comparison of a router with a baseline router (same sweep, same grid point, same
/// seed, so the same initial data order): the per-seed differences d_s = m(router, s) - m(baseline, s),
/// their mean and the 95% Student-t interval mean ± t(0.975, n-1) * sd / sqrt(n). "Beats" means the
/// whole interval is below 0, "trails" above 0, "ties" that it contains 0.
public struct PairedDifference: Sendable, Equatable {
    public var n: Int
    public var mean: Double
    /// Half-width of the 95% interval (NaN for n < 2).
    public var halfWidth: Double
    public var lower: Double { mean - halfWidth }
    public var upper: Double { mean + halfWidth }

    /// Differences of paired values (NaN pairs dropped).
    public init(_ differences: [Double]) {
        let d = differences.filter(\.isFinite)
        n = d.count
        let m = d.isEmpty ? .nan : d.reduce(0, +) / Double(d.count)
        mean = m
        if d.count >= 2 {
            let sd = (d.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(d.count - 1)).squareRoot()
            halfWidth = Self.t975(df: d.count - 1) * sd / Double(d.count).squareRoot()
        } else {
            halfWidth = .nan
        }
    }

    /// "beats", "trails", "ties", or "n/a" (fewer than 2 pairs); lower is better.
    public var verdict: String {
        guard halfWidth.isFinite else { return "n/a" }
        if upper < 0 { return "beats" }
        if lower > 0 { return "trails" }
        return "ties"
    }

    /// The 0.975 quantile of Student's t with `df` degrees of freedom.
    public static func t975(df: Int) -> Double {
        let table: [Double] = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
                               2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]
        if df >= 1 && df <= table.count { return table[df - 1] }
        // Beyond 30: the Cornish-Fisher expansion around the normal quantile (error < 1e-3).
        let z = 1.959964, v = Double(max(df, 1))
        return z + (z * z * z + z) / (4 * v) + (5 * pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * v * v)
    }
}

enum PairedStats {
    /// table.md's section of paired differences to `baseline`, per grid point and router, for the
    /// valid and test metric of the final evaluation.
    static func section(entries: [SweepReport.Entry], baseline: String?) -> String {
        guard let baseline, let metric = entries.first?.final["metric"] as? String else { return "" }
        let ok = entries.filter { !$0.diverged }
        let labels = ok.map(\.label).reduce(into: [String]()) { if !$0.contains($1) && $1 != baseline { $0.append($1) } }
        let points = ok.map(\.pointKey).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        guard !labels.isEmpty, ok.contains(where: { $0.label == baseline }) else { return "" }
        var t = "\n## Paired differences to \(baseline)\n\n"
        t += "Per seed, router minus \(baseline) at the same grid point and seed (same initial data order); mean and 95% Student-t interval over the seeds both completed. "
        t += "Negative is better than \(baseline). Verdict: beats (interval below 0), ties (contains 0), trails (above 0).\n\n"
        t += "| router | grid point | pairs | valid \(metric) difference [95% CI] | verdict | test \(metric) difference [95% CI] | verdict |\n"
        t += "|---|---|---|---|---|---|---|\n"
        for pt in points {
            let base = Dictionary(ok.filter { $0.label == baseline && $0.pointKey == pt }.map { ($0.seed, $0) }, uniquingKeysWith: { a, _ in a })
            for l in labels {
                let mine = ok.filter { $0.label == l && $0.pointKey == pt }
                let pairs = mine.compactMap { e in base[e.seed].map { (e, $0) } }
                guard !pairs.isEmpty else { continue }
                let v = PairedDifference(pairs.map { $0.0.num("valid_\(metric)") - $0.1.num("valid_\(metric)") })
                let s = PairedDifference(pairs.map { $0.0.num("test_\(metric)") - $0.1.num("test_\(metric)") })
                t += "| \(l) | \(pt.isEmpty ? "-" : pt) | \(pairs.count) | \(format(v)) | \(v.verdict) | \(format(s)) | \(s.verdict) |\n"
            }
        }
        return t
    }

    static func format(_ d: PairedDifference) -> String {
        guard d.mean.isFinite else { return "n/a" }
        let m = String(format: "%+.4f", d.mean)
        return d.halfWidth.isFinite ? m + String(format: " [%+.4f, %+.4f]", d.lower, d.upper) : m
    }
}
