import Foundation
import RMoECore
import RMoERuns
import RMoEModel

/// Builds summary.csv, table.md and plots/ of a sweep folder from whatever runs are complete
/// (`rmoe sweep --report DIR`; also run at the end of every sweep session).
public enum SweepReport {
    /// One complete run, as read back from its folder.
    public struct Entry {
        public var id: String
        public var label: String
        public var seed: Int
        public var point: [(String, String)]
        public var config: [String: Any]
        public var final: [String: Any]
        public var metrics: [[String: Any]]
        /// analysis.json of the run (`rmoe sweep --analyze`), if any.
        public var analysis: [String: Any]?
        /// analysis-step<N>.json of its kept weights, by step.
        public var keptAnalyses: [Int: [String: Any]] = [:]
        /// Stopped by a non-finite value (final.json status "diverged"): no metrics, counted apart.
        public var diverged: Bool { (final["status"] as? String) == "diverged" }
        func num(_ k: String) -> Double { (final[k] as? NSNumber)?.doubleValue ?? .nan }
        func analysisNum(_ k: String) -> Double { (analysis?[k] as? NSNumber)?.doubleValue ?? .nan }
        var group: String { ([label] + point.map { "\($0.0)=\($0.1)" }).joined(separator: " ") }
        var pointKey: String { point.map { "\($0.0)=\($0.1)" }.joined(separator: " ") }
    }

    /// The paper's numbers for reference (docs/routers.md 3.5): enwik8 test BPC (Tables 1, 5, 6) and
    /// WikiText-103 test PPL (Tables 1, 6), by router label, as the router families declare them.
    public static var paperBPC: [String: Double] { Routers.paperNumbers.compactMapValues { $0.bpc } }
    public static var paperPPL: [String: Double] { Routers.paperNumbers.compactMapValues { $0.ppl } }

    public static func load(dir: String) throws -> (name: String, entries: [Entry], pending: [String]) {
        let r = try loadWithSpec(dir: dir)
        return (r.spec.name, r.entries, r.pending)
    }

    static func loadWithSpec(dir: String) throws -> (spec: SweepSpec, entries: [Entry], pending: [String]) {
        guard let data = FileManager.default.contents(atPath: dir + "/sweep.json") else {
            throw RMoEError("\(dir) has no readable sweep.json; give the folder a sweep wrote (results/<name> by default)")
        }
        let sweep = try JSON.parse([UInt8](data), origin: dir + "/sweep.json")
        guard case .array(let idValues)? = sweep["runs"], let specValue = sweep["spec"] else {
            throw RMoEError("\(dir)/sweep.json lacks \"runs\" or \"spec\"; the sweep folder is damaged: run the sweep again into a new --out")
        }
        let ids = idValues.compactMap { v -> String? in if case .string(let s) = v { s } else { nil } }
        let specText = specValue.jsonText
        let spec = try SweepSpec.parse(specText, origin: dir + "/sweep.json")
        let runs = try spec.runs(origin: dir + "/sweep.json")
        var entries: [Entry] = [], pending: [String] = []
        for id in ids {
            let files = RunFiles(dir + "/runs/" + id)
            guard let final = try? JSON.objectFile(files.final), let config = try? JSON.objectFile(files.config) else { pending.append(id); continue }
            let run = runs.first { $0.id == id }
            let analysis = try? JSON.objectFile(files.analysis)
            var kept: [Int: [String: Any]] = [:]
            for step in files.keptSteps()
                + ((try? FileManager.default.contentsOfDirectory(atPath: files.dir)) ?? []).compactMap({ n -> Int? in
                    n.hasPrefix("analysis-step") && n.hasSuffix(".json") ? Int(n.dropFirst("analysis-step".count).dropLast(".json".count)) : nil
                })
            {
                if let a = try? JSON.objectFile(files.analysis(step: step)) { kept[step] = a }
            }
            entries.append(
                Entry(
                    id: id, label: run?.label ?? (config["router"] as? String ?? id), seed: run?.seed ?? 0,
                    point: run?.point ?? [], config: config, final: final, metrics: MetricsLog.read(files.metrics),
                    analysis: analysis, keptAnalyses: kept))
        }
        return (spec, entries, pending)
    }

    public static func write(dir: String) throws {
        let (spec, entries, pending) = try loadWithSpec(dir: dir)
        try writeFileAtomically(dir + "/summary.csv", csv(entries))
        var t = table(name: spec.name, entries: entries, pending: pending)
        let baseline = spec.baseline ?? defaultBaseline(entries)
        t += PairedStats.section(entries: entries, baseline: baseline)
        t += PairedStats.gapOverTraining(entries: entries, baseline: baseline)
        t += RoutingTable.section(entries: entries)
        let plots = SweepPlots.all(entries) + PairedStats.plots(entries: entries, baseline: baseline)
        let figures = plots.filter { $0.0.hasSuffix(".svg") }
        if !figures.isEmpty {
            t += "\nPlots: " + figures.map { "plots/" + $0.0 }.joined(separator: ", ") + " (each figure's data: the same name with .csv)\n"
        }
        try writeFileAtomically(dir + "/table.md", t)
        try AtomicFile.createDirectory(dir + "/plots")
        for (file, svg) in plots { try writeFileAtomically(dir + "/plots/" + file, svg) }
        try writeFileAtomically(dir + "/report.html", html(spec: spec, markdown: t, plots: plots, entries: entries, pending: pending))
    }

    /// report.html: the table, the figures, the runs and the provenance on one page.
    static func html(spec: SweepSpec, markdown: String, plots: [(String, String)], entries: [Entry], pending: [String]) -> String {
        let runs =
            entries.map { ReportHTML.Run(id: $0.id, status: $0.diverged ? "diverged" : "complete") } + pending.map { ReportHTML.Run(id: $0, status: "pending") }
        return ReportHTML.page(
            name: spec.name, markdown: markdown, figures: plots.filter { $0.0.hasSuffix(".svg") }.map { (file: $0.0, svg: $0.1) }, spec: spec.text,
            provenance: provenanceLines(entries), runs: runs)
    }

    /// Which build on which machine made which runs, one line per (version, commit, CPU, BLAS).
    static func provenanceLines(_ entries: [Entry]) -> [String] {
        var groups: [String: [String]] = [:], order: [String] = []
        for e in entries {
            let p = e.config["provenance"] as? [String: Any] ?? [:]
            let commit = (p["commit"] as? String).map { String($0.prefix(12)) } ?? "?"
            let key =
                "rmoe \(p["version"] as? String ?? "?") commit \(commit)\((p["dirty"] as? Bool) == true ? " (dirty)" : ""), CPU \(p["cpu"] as? String ?? "?"), \(p["blas"] as? String ?? "BLAS ?")"
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(e.id)
        }
        return order.map { "\($0): \(groups[$0]!.joined(separator: ", "))" }
    }

    /// The router the paired differences compare against: smoe when the sweep has it, else the first label.
    static func defaultBaseline(_ entries: [Entry]) -> String? {
        entries.contains { $0.label == "smoe" } ? "smoe" : entries.first?.label
    }

    // MARK: summary.csv

    /// One CSV field (RFC 4180): quoted when it holds a comma, a quote, CR or LF; quotes doubled.
    public static func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    static func csv(_ entries: [Entry]) -> String {
        let axes = entries.first?.point.map(\.0) ?? []
        let metric = entries.first?.final["metric"] as? String ?? "metric"
        var header = ["run", "router_label", "router", "seed"] + axes
        header += [
            "status", "corpus", "metric", "valid_loss", "valid_\(metric)", "test_loss", "test_\(metric)", "valid_gap_loss", "test_gap_loss",
            "trainable_params", "frozen_params", "router_params", "model_memory_mb", "peak_rss_mb", "seconds_per_1k_steps", "router_share",
            "balance_ratio_mean", "entropy_mean", "max_load_mean", "eval_checkpoint", "eval_step", "steps",
            "mi_mean_offdiag", "top1_mi_mean_offdiag", "expert_similarity_mean",
        ]
        var lines = [header.map(csvField).joined(separator: ",")]
        func fmt(_ v: Any?) -> String {
            switch v {
            case let n as NSNumber: return n.isFloatingPoint ? String(format: "%.6g", n.doubleValue) : "\(n.intValue)"
            case let s as String: return csvField(s)
            default: return ""
            }
        }
        for e in entries {
            var row = [csvField(e.id), csvField(e.label), fmt(e.config["router"]), "\(e.seed)"] + e.point.map { csvField($0.1) }
            row += [e.diverged ? "diverged" : "complete", fmt(e.final["corpus"]), metric]
            for k in [
                "valid_loss", "valid_\(metric)", "test_loss", "test_\(metric)", "valid_gap_loss", "test_gap_loss",
                "trainable_params", "frozen_params", "router_params",
            ] { row.append(fmt(e.final[k])) }
            row.append(String(format: "%.1f", e.num("model_memory_bytes") / 1e6))
            row.append(String(format: "%.1f", e.num("peak_rss_bytes") / 1e6))
            for k in ["seconds_per_1k_steps", "router_share", "balance_ratio_mean", "entropy_mean", "max_load_mean", "eval_checkpoint", "eval_step", "step"] {
                row.append(fmt(e.final[k] ?? (k == "balance_ratio_mean" ? e.final["balance_mean"] : nil)))  // (older runs: balance_mean)
            }
            for k in ["mi_mean_offdiag", "top1_mi_mean_offdiag", "expert_similarity_mean"] { row.append(fmt(e.analysis?[k])) }
            lines.append(row.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: table.md

    static func meanStd(_ xs: [Double]) -> (mean: Double, std: Double) {
        let v = xs.filter { $0.isFinite }
        guard !v.isEmpty else { return (.nan, .nan) }
        let m = v.reduce(0, +) / Double(v.count)
        guard v.count > 1 else { return (m, .nan) }
        return (m, (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count - 1)).squareRoot())
    }

    static func table(name: String, entries: [Entry], pending: [String]) -> String {
        guard let first = entries.first else { return "# \(name)\n\nNo complete runs yet (\(pending.count) pending).\n" }
        let metric = first.final["metric"] as? String ?? "metric"
        let words = metric == "ppl"
        let paper = words ? paperPPL : paperBPC
        let digits = words ? 2 : 4
        var groups: [String] = []
        for e in entries where !groups.contains(e.group) { groups.append(e.group) }
        let synthetic = entries.contains { $0.final["test_gap_loss"] != nil }
        struct Row {
            var group: String; var point: String; var label: String; var valid, test, gap: (mean: Double, std: Double); var n: Int; var diverged: Int
            var params, routerParams, memMB, peakMB, secPer1k, share: Double; var mi, sim: (mean: Double, std: Double)
        }
        let rows: [Row] = groups.map { g in
            let all = entries.filter { $0.group == g }
            let es = all.filter { !$0.diverged }.isEmpty ? all : all.filter { !$0.diverged }
            let f = es[0]
            return Row(
                group: g, point: f.pointKey, label: f.label,
                valid: meanStd(es.map { $0.num("valid_\(metric)") }), test: meanStd(es.map { $0.num("test_\(metric)") }),
                gap: meanStd(es.map { $0.num("test_gap_loss") }), n: es.filter { !$0.diverged }.count, diverged: all.filter(\.diverged).count,
                params: f.num("trainable_params") + f.num("frozen_params"), routerParams: f.num("router_params"),
                memMB: meanStd(es.map { $0.num("model_memory_bytes") / 1e6 }).mean,
                peakMB: meanStd(es.map { $0.num("peak_rss_bytes") / 1e6 }).mean,
                secPer1k: meanStd(es.map { $0.num("seconds_per_1k_steps") }).mean,
                share: meanStd(es.map { $0.num("router_share") }).mean,
                mi: meanStd(es.map { $0.analysisNum("mi_mean_offdiag") }), sim: meanStd(es.map { $0.analysisNum("expert_similarity_mean") }))
        }
        // Best (lowest) mean per grid point, and the paper's ranks among the routers shown.
        var bestValid: [String: Double] = [:], bestTest: [String: Double] = [:]
        for r in rows {
            bestValid[r.point] = min(bestValid[r.point] ?? .infinity, r.valid.mean.isNaN ? .infinity : r.valid.mean)
            bestTest[r.point] = min(bestTest[r.point] ?? .infinity, r.test.mean.isNaN ? .infinity : r.test.mean)
        }
        let shownPaper = Array(Set(rows.map(\.label))).compactMap { l in paper[l].map { (l, $0) } }.sorted { $0.1 < $1.1 }
        func rank(_ l: String) -> String {
            guard let i = shownPaper.firstIndex(where: { $0.0 == l }) else { return "n/a" }
            return String(format: words ? "%.2f (%d)" : "%.3f (%d)", shownPaper[i].1, i + 1)
        }
        func cell(_ v: (mean: Double, std: Double), best: Double?) -> String {
            guard v.mean.isFinite else { return "n/a" }
            var s = String(format: "%.\(digits)f", v.mean)
            if v.std.isFinite { s += String(format: " ± %.\(digits)f", v.std) }
            return best.map { abs($0 - v.mean) < 1e-12 } == true ? "**\(s)**" : s
        }
        let corpus = first.final["corpus"] as? String ?? ""
        var t = "# \(name): \(corpus), \(metric.uppercased()) (lower is better)\n\n"
        t +=
            "Mean ± std over the seeds that completed (diverged seeds are counted in the seeds column and excluded from the means) of the final evaluation (valid and test splits in full, on the best-validation checkpoint); "
        t += "the best mean of each column in bold. The last column is the paper's \(words ? "WikiText-103 test PPL" : "enwik8 test BPC") "
        t += "for the router and its rank among the routers shown (Table 1; ablations from Tables 5-6), for the ordering only: "
        t += "the paper's models are far larger. Memory: parameters, gradients, AdamW moments and activations of the run "
        t +=
            "(in brackets the process's peak resident memory, which also holds the corpus and the evaluation); router share: the routers' part of the training wall time.\n\n"
        let analysed = entries.contains { $0.analysis != nil }
        let gapHeader = (synthetic ? " test gap to floor (nats) |" : "") + (analysed ? " cross-layer MI | expert similarity |" : "")
        t +=
            "| router | seeds | valid \(metric) | test \(metric) |\(gapHeader) params M (router M) | memory MB (peak RSS) | s / 1k steps | router share | paper (rank) |\n"
        t += "|---|---|---|---|" + (synthetic ? "---|" : "") + (analysed ? "---|---|" : "") + "---|---|---|---|---|\n"
        for r in rows {
            let seeds = r.diverged > 0 ? "\(r.n + r.diverged) (\(r.diverged) diverged)" : "\(r.n)"
            t += "| \(r.group) | \(seeds) | \(cell(r.valid, best: bestValid[r.point])) | \(cell(r.test, best: bestTest[r.point])) | "
            if synthetic { t += cell(r.gap, best: nil) + " | " }
            if analysed {
                func three(_ v: (mean: Double, std: Double)) -> String {
                    v.mean.isFinite ? String(format: "%.3f", v.mean) + (v.std.isFinite ? String(format: " ± %.3f", v.std) : "") : "n/a"
                }
                t += three(r.mi) + " | " + three(r.sim) + " | "
            }
            t += String(
                format: "%.3f (%.3f) | %.0f (%.0f) | %.1f | %.1f%% | ", r.params / 1e6, r.routerParams / 1e6, r.memMB, r.peakMB,
                r.secPer1k, 100 * r.share)
            t += rank(r.label) + " |\n"
        }
        // Our ordering next to the paper's.
        // (One ordering per grid point: routers are compared at equal settings.)
        var points: [String] = []
        for r in rows where !points.contains(r.point) { points.append(r.point) }
        var orderings: [String] = []
        for pt in points {
            let ours = rows.filter { $0.point == pt && paper[$0.label] != nil && $0.test.mean.isFinite }
                .sorted { $0.test.mean < $1.test.mean }.map(\.label)
            if !ours.isEmpty { orderings.append("Ordering by test \(metric) here\(pt.isEmpty ? "" : " (\(pt))"): \(ours.joined(separator: " < "))  \n") }
        }
        if !orderings.isEmpty {
            t += "\n" + orderings.joined()
            t += "Paper's ordering: \(shownPaper.map(\.0).joined(separator: " < "))\n"
        }
        if !pending.isEmpty { t += "\n\(pending.count) run(s) not complete yet: \(pending.joined(separator: ", "))\n" }
        if analysed {
            t += "\nCross-layer MI: the paper's per-token MI between binned routing distributions of two layers (docs/routers.md 4.1), "
            t += "mean over the off-diagonal layer pairs; expert similarity: docs/routers.md 4.2, mean over layers (test split, `rmoe sweep --analyze`).\n"
        }
        return t
    }
}
