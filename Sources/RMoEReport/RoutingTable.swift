import Foundation
import RMoECore

/// table.md's "Routing over training": for every router and grid point, at each periodic
/// validation, the metric next to the routing statistics that explain it (issue 13).
///
/// Per row, means over the seeds that reached the step:
/// - top-k mass: Σ of the k largest routing probabilities per token, mean over tokens (k/E is uniform),
///   for layer 0 and as the mean over layers;
/// - entropy: H(softmax(z)) per token in nats, mean over tokens, one value per layer (ln E is uniform);
/// - MI: the mean off-diagonal cross-layer MI of the weights kept at that step (`keep_steps`,
///   `rmoe sweep --analyze`), blank where no weights were kept.
enum RoutingTable {
    /// One row: a group's means at one validation step.
    struct Row: Equatable {
        var step: Int
        var seeds: Int
        var metric: Double
        var topkLayer0: Double
        var topkMean: Double
        var entropy: [Double]
        var mi: Double?
    }

    /// The rows of one group (runs of one router at one grid point), ascending by step.
    static func rows(_ runs: [SweepReport.Entry], metric: String) -> [Row] {
        struct Acc {
            var n = 0
            var metric = 0.0, top0 = 0.0, topMean = 0.0
            var entropy: [Double] = []
            var mi: [Double] = []
        }
        var acc: [Int: Acc] = [:]
        for e in runs where !e.diverged {
            for m in e.metrics where (m["split"] as? String) == "valid" {
                guard let step = (m["step"] as? NSNumber)?.intValue, let v = (m[metric] as? NSNumber)?.doubleValue,
                    let layers = m["routing"] as? [[String: Any]], !layers.isEmpty
                else { continue }
                let top = layers.compactMap { ($0["topk_mass"] as? NSNumber)?.doubleValue }
                let ent = layers.compactMap { ($0["entropy"] as? NSNumber)?.doubleValue }
                guard top.count == layers.count, ent.count == layers.count else { continue }
                var a = acc[step] ?? Acc()
                if a.entropy.isEmpty { a.entropy = Array(repeating: 0, count: ent.count) }
                guard a.entropy.count == ent.count else { continue }
                a.n += 1
                a.metric += v
                a.top0 += top[0]
                a.topMean += top.reduce(0, +) / Double(top.count)
                for l in ent.indices { a.entropy[l] += ent[l] }
                if let mi = (e.keptAnalyses[step]?["mi_mean_offdiag"] as? NSNumber)?.doubleValue { a.mi.append(mi) }
                acc[step] = a
            }
        }
        return acc.keys.sorted().map { s in
            let a = acc[s]!
            let n = Double(a.n)
            return Row(
                step: s, seeds: a.n, metric: a.metric / n, topkLayer0: a.top0 / n, topkMean: a.topMean / n,
                entropy: a.entropy.map { $0 / n }, mi: a.mi.isEmpty ? nil : a.mi.reduce(0, +) / Double(a.mi.count))
        }
    }

    /// The markdown section; empty when no run logged routing statistics at its validations.
    static func section(entries: [SweepReport.Entry]) -> String {
        guard let first = entries.first(where: { !$0.diverged }), let metric = first.final["metric"] as? String else { return "" }
        var groups: [String] = []
        for e in entries where !groups.contains(e.group) { groups.append(e.group) }
        let tps = PairedStats.tokensPerStep(first)
        var body = ""
        for g in groups {
            for r in rows(entries.filter { $0.group == g }, metric: metric) {
                let tokens = Double(r.step) * tps
                body += "| \(g) | \(r.step) | \(String(format: tokens >= 1e6 ? "%.1f" : "%.3f", tokens / 1e6)) | \(r.seeds) | "
                body += String(format: metric == "ppl" ? "%.2f" : "%.4f", r.metric) + " | "
                body += String(format: "%.3f / %.3f", r.topkLayer0, r.topkMean) + " | "
                body += r.entropy.map { String(format: "%.2f", $0) }.joined(separator: " ") + " | "
                body += (r.mi.map { String(format: "%.3f", $0) } ?? "") + " |\n"
            }
        }
        guard !body.isEmpty else { return "" }
        let experts = (first.config["experts"] as? NSNumber)?.doubleValue ?? .nan
        let k = (first.config["top_k"] as? NSNumber)?.doubleValue ?? .nan
        var t = "\n## Routing over training\n\n"
        t += "At each periodic validation, mean over the seeds: the validation \(metric), the top-k probability mass "
        t += String(format: "(layer 0 / mean over layers; uniform routing gives k/E = %.3f), ", k / experts)
        t += String(format: "the routing entropy per layer from layer 0 on (nats; uniform gives ln E = %.2f), ", log(experts))
        t += "and the mean off-diagonal cross-layer MI of the weights kept at that step (`keep_steps` with `--analyze`; blank where none were kept).\n\n"
        t += "| router | step | tokens (M) | seeds | valid \(metric) | top-k mass L0 / mean | entropy per layer (nats) | cross-layer MI |\n"
        t += "|---|---|---|---|---|---|---|---|\n"
        return t + body
    }
}
