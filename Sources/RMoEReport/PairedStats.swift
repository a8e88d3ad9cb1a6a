import RMoECore
import RMoERuns
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
        let table: [Double] = [
            12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
            2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
        ]
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
        t +=
            "Per seed, router minus \(baseline) at the same grid point and seed (same initial data order); mean and 95% Student-t interval over the seeds both completed. "
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

extension PairedStats {
    /// Tokens per step of a run (batch x seq_len from its config).
    static func tokensPerStep(_ e: SweepReport.Entry) -> Double {
        let b = (e.config["batch"] as? NSNumber)?.doubleValue ?? .nan, s = (e.config["seq_len"] as? NSNumber)?.doubleValue ?? .nan
        return b * s
    }

    /// The values of `key` in the metrics lines of `split`, by step.
    static func byStep(_ e: SweepReport.Entry, split: String, key: String) -> [Int: Double] {
        var out: [Int: Double] = [:]
        for m in e.metrics where (m["split"] as? String) == split {
            if let s = (m["step"] as? NSNumber)?.intValue, let v = (m[key] as? NSNumber)?.doubleValue { out[s] = v }
        }
        return out
    }

    /// For each (router, grid point): the paired difference to the baseline at every step both
    /// runs of a seed logged `key` in `split`, over seeds. `window` > 1 averages each run's values
    /// over consecutive windows of that many steps first (train lines are noisy).
    static func curves(entries: [SweepReport.Entry], baseline: String, split: String, key: String, window: Int = 1)
        -> [(label: String, point: String, steps: [Int], diffs: [PairedDifference])]
    {
        let ok = entries.filter { !$0.diverged }
        let labels = ok.map(\.label).reduce(into: [String]()) { if !$0.contains($1) && $1 != baseline { $0.append($1) } }
        let points = ok.map(\.pointKey).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        func smoothed(_ e: SweepReport.Entry) -> [Int: Double] {
            let raw = byStep(e, split: split, key: key)
            guard window > 1 else { return raw }
            var sums: [Int: (Double, Int)] = [:]
            for (s, v) in raw { let w = ((s - 1) / window + 1) * window; sums[w, default: (0, 0)].0 += v; sums[w, default: (0, 0)].1 += 1 }
            return sums.mapValues { $0.0 / Double($0.1) }
        }
        var out: [(String, String, [Int], [PairedDifference])] = []
        for pt in points {
            let base = Dictionary(ok.filter { $0.label == baseline && $0.pointKey == pt }.map { ($0.seed, smoothed($0)) }, uniquingKeysWith: { a, _ in a })
            for l in labels {
                let mine = ok.filter { $0.label == l && $0.pointKey == pt }.compactMap { e in base[e.seed].map { (smoothed(e), $0) } }
                guard !mine.isEmpty else { continue }
                let steps = Set(mine.flatMap { $0.0.keys }).filter { s in mine.contains { $0.0[s] != nil && $0.1[s] != nil } }.sorted()
                let diffs = steps.map { s in PairedDifference(mine.compactMap { a, b in a[s].flatMap { x in b[s].map { x - $0 } } }) }
                out.append((l, pt, steps, diffs))
            }
        }
        return out
    }

    /// table.md's section: the paired validation gap at every evaluation, with tokens seen and
    /// passes over the train split.
    static func gapOverTraining(entries: [SweepReport.Entry], baseline: String?) -> String {
        guard let baseline, let first = entries.first(where: { !$0.diverged }), let metric = first.final["metric"] as? String else { return "" }
        let cs = curves(entries: entries, baseline: baseline, split: "valid", key: metric)
        guard cs.contains(where: { $0.steps.count > 1 }) else { return "" }
        let tps = tokensPerStep(first)
        let trainTokens = (first.num("tokens_seen") / first.num("train_passes")).isFinite ? first.num("tokens_seen") / first.num("train_passes") : .nan
        var t = "\n## Paired validation gap to \(baseline) during training\n\n"
        t +=
            "Router minus \(baseline), \(metric) on the periodic validation (the whole split when `eval_batches` is 0), paired by seed; mean and 95% interval. "
        t += "Passes: tokens seen over the train split's size (above 1, later points are multi-epoch).\n\n"
        t += "| router | grid point | step | tokens (M) | passes | pairs | difference [95% CI] | verdict |\n|---|---|---|---|---|---|---|---|\n"
        for c in cs {
            for (s, d) in zip(c.steps, c.diffs) {
                let tokens = Double(s) * tps
                t += "| \(c.label) | \(c.point.isEmpty ? "-" : c.point) | \(s) | \(String(format: tokens >= 1e6 ? "%.1f" : "%.3f", tokens / 1e6)) | "
                t += (trainTokens.isFinite ? String(format: "%.2f", tokens / trainTokens) : "n/a") + " | \(d.n) | \(format(d)) | \(d.verdict) |\n"
            }
        }
        return t
    }

    /// Figures of the paired gap: validation and (smoothed) training, against tokens seen, and the
    /// final metric against each numeric grid axis. Empty without a baseline.
    static func plots(entries: [SweepReport.Entry], baseline: String?) -> [(String, String)] {
        guard let baseline, let first = entries.first(where: { !$0.diverged }), let metric = first.final["metric"] as? String else { return [] }
        let tps = tokensPerStep(first)
        var out: [(String, String)] = []
        func series(_ cs: [(label: String, point: String, steps: [Int], diffs: [PairedDifference])]) -> [SVGPlot.Series] {
            cs.map { c in
                SVGPlot.Series(
                    name: c.point.isEmpty ? c.label : "\(c.label) \(c.point)", x: c.steps.map { Double($0) * tps / 1e6 },
                    y: c.diffs.map(\.mean), yLow: c.diffs.map(\.lower), yHigh: c.diffs.map(\.upper))
            }
        }
        let valid = curves(entries: entries, baseline: baseline, split: "valid", key: metric)
        if valid.contains(where: { $0.steps.count > 1 }) {
            out += FigureData.lineFigure(
                "paired_valid_gap.svg", title: "Validation \(metric): router − \(baseline), paired by seed (band: 95% CI)", xLabel: "tokens seen (millions)",
                yLabel: "Δ valid \(metric) (< 0: better than \(baseline))", series: series(valid))
        }
        let train = curves(entries: entries, baseline: baseline, split: "train", key: "ce", window: 100)
        if train.contains(where: { $0.steps.count > 1 }) {
            out += FigureData.lineFigure(
                "paired_train_gap.svg", title: "Training cross-entropy: router − \(baseline), paired by seed, 100-step means (band: 95% CI)",
                xLabel: "tokens seen (millions)", yLabel: "Δ train loss (nats)", series: series(train))
        }
        // Final metric against each numeric grid axis, per router (mean over seeds, band = 95% CI of the mean).
        let ok = entries.filter { !$0.diverged }
        for axis in Set(ok.flatMap { $0.point.map(\.0) }).sorted() {
            let values = Set(ok.compactMap { e in e.point.first { $0.0 == axis }.flatMap { Double($0.1) } }).sorted()
            guard values.count > 1 else { continue }
            let labels = ok.map(\.label).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
            let s: [SVGPlot.Series] = labels.map { l in
                let ys = values.map { v in
                    ok.filter { e in e.label == l && e.point.first { $0.0 == axis }.flatMap { Double($0.1) } == v }.map { $0.num("valid_\(metric)") }.filter(
                        \.isFinite)
                }
                let stats = ys.map { v -> (Double, Double) in
                    let m = v.isEmpty ? .nan : v.reduce(0, +) / Double(v.count)
                    guard v.count > 1 else { return (m, .nan) }
                    let sd = (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count - 1)).squareRoot()
                    return (m, PairedDifference.t975(df: v.count - 1) * sd / Double(v.count).squareRoot())
                }
                return SVGPlot.Series(name: l, x: values, y: stats.map(\.0), yLow: stats.map { $0.0 - $0.1 }, yHigh: stats.map { $0.0 + $0.1 })
            }
            out += FigureData.lineFigure(
                "valid_\(metric)_vs_\(axis).svg", title: "Final validation \(metric) against \(axis) (mean over seeds, band: 95% CI of the mean)", xLabel: axis,
                yLabel: "valid \(metric)", series: s)
            let gaps = labels.filter { $0 != baseline }.map { l -> SVGPlot.Series in
                let ds = values.map { v -> PairedDifference in
                    let at = ok.filter { e in e.point.first { $0.0 == axis }.flatMap { Double($0.1) } == v }
                    let base = Dictionary(at.filter { $0.label == baseline }.map { ($0.seed, $0.num("valid_\(metric)")) }, uniquingKeysWith: { a, _ in a })
                    return PairedDifference(at.filter { $0.label == l }.compactMap { e in base[e.seed].map { e.num("valid_\(metric)") - $0 } })
                }
                return SVGPlot.Series(name: "\(l) − \(baseline)", x: values, y: ds.map(\.mean), yLow: ds.map(\.lower), yHigh: ds.map(\.upper))
            }
            if !gaps.isEmpty {
                out += FigureData.lineFigure(
                    "paired_gap_vs_\(axis).svg", title: "Final validation \(metric): router − \(baseline) against \(axis), paired by seed (band: 95% CI)",
                    xLabel: axis,
                    yLabel: "Δ valid \(metric)", series: gaps)
            }
        }
        return out
    }
}
