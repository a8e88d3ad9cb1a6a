import Foundation
import RMoECore
import RMoERuns

/// The sweep's figures, drawn by the toolkit (SVG, no Python needed).
enum SweepPlots {
    static func all(_ entries: [SweepReport.Entry]) -> [(String, String)] {
        guard let first = entries.first else { return [] }
        let metric = first.final["metric"] as? String ?? "metric"
        var groups: [String] = []
        for e in entries where !groups.contains(e.group) { groups.append(e.group) }
        var out: [(String, String)] = []

        // Validation and training curves: mean over seeds, band = min..max.
        func curves(split: String, key: String) -> [SVGPlot.Series] {
            groups.map { g in
                let es = entries.filter { $0.group == g }
                var byStep: [Int: [Double]] = [:]
                for e in es {
                    for m in e.metrics where (m["split"] as? String) == split {
                        if let s = (m["step"] as? NSNumber)?.intValue, let v = (m[key] as? NSNumber)?.doubleValue { byStep[s, default: []].append(v) }
                    }
                }
                let steps = byStep.keys.sorted()
                let ys = steps.map { byStep[$0]! }
                return SVGPlot.Series(
                    name: g, x: steps.map(Double.init), y: ys.map { $0.reduce(0, +) / Double($0.count) },
                    yLow: ys.map { $0.min()! }, yHigh: ys.map { $0.max()! })
            }
        }
        let valid = curves(split: "valid", key: metric)
        out += FigureData.lineFigure(
            "valid_curves.svg", title: "Validation \(metric) during training (mean over seeds, band = min..max)", xLabel: "step", yLabel: "valid \(metric)",
            series: valid)
        let train = curves(split: "train", key: "ce")
        out += FigureData.lineFigure(
            "train_curves.svg", title: "Training cross-entropy (mean over seeds)", xLabel: "step", yLabel: "train loss (nats)", series: train)

        // Final metric with error bars.
        let stats = groups.map { g in SweepReport.meanStd(entries.filter { $0.group == g }.map { $0.num("test_\(metric)") }) }
        let best = stats.indices.filter { stats[$0].mean.isFinite }.min { stats[$0].mean < stats[$1].mean }
        out.append(
            (
                "final_\(metric).svg",
                SVGPlot.barChart(
                    title: "Test \(metric) (mean ± std over seeds)", yLabel: "test \(metric)",
                    labels: groups, values: stats.map(\.mean),
                    errors: stats.map { $0.std.isFinite ? $0.std : 0 }, highlight: best)
            ))
        out.append(
            (
                "final_\(metric).csv",
                FigureData.table(
                    header: ["group", "test_\(metric)_mean", "test_\(metric)_std", "seeds"],
                    rows: zip(groups, stats).map { g, st in [g, FigureData.num(st.mean), FigureData.num(st.std), "\(entries.filter { $0.group == g }.count)"] })
            ))

        // Per-layer expert load (relative to uniform), mean over seeds, one heatmap per router, shared scale.
        var panels: [(String, [[Double]])] = []
        for g in groups {
            let loads = entries.filter { $0.group == g }.compactMap { $0.final["layer_load"] as? [[NSNumber]] }
            guard let l0 = loads.first, !l0.isEmpty else { continue }
            var m = l0.map { $0.map { _ in 0.0 } }
            for l in loads {
                for i in 0..<min(m.count, l.count) { for j in 0..<min(m[i].count, l[i].count) { m[i][j] += l[i][j].doubleValue / Double(loads.count) } }
            }
            panels.append((g, m))
        }
        if !panels.isEmpty {
            // Diverging map: white at 1.0 (the uniform share), blue below, red above; one shared bar.
            let vmax = max(2, panels.flatMap { $0.1.flatMap { $0 } }.max() ?? 2)
            let svgs = panels.map { g, m in
                SVGPlot.heatmap(
                    title: g, matrix: m, rowLabels: (0..<m.count).map { "L\($0)" }, colLabels: (0..<(m.first?.count ?? 0)).map { "\($0)" },
                    vmin: 0, vmax: vmax, annotate: false, xLabel: "expert", yLabel: "layer", colourMap: .diverging(center: 1), colourBar: false)
            }
            out.append(
                (
                    "expert_load.svg",
                    SVGPlot.grid(svgs, columns: 4, colourBar: (0, vmax, .diverging(center: 1), "expert load / uniform share (1 = balanced)"))
                ))
            out.append(("expert_load.csv", FigureData.matrices(panels, row: "layer", col: "expert", value: "load_relative_to_uniform")))
        }

        // Cross-layer MI of each router (its first seed), one shared colour scale (the paper's Figure 3).
        let mis: [(String, [[Double]])] = groups.compactMap { g in
            guard let a = entries.first(where: { $0.group == g && $0.analysis != nil })?.analysis,
                let m = a["mi"] as? [[NSNumber]]
            else { return nil }
            return (g, m.map { $0.map(\.doubleValue) })
        }
        if !mis.isEmpty {
            let vmax = max(mis.flatMap { _, m in m.enumerated().flatMap { i, r in r.enumerated().filter { $0.offset != i }.map(\.element) } }.max() ?? 1, 1e-6)
            out.append(
                (
                    "mi_heatmaps.svg",
                    SVGPlot.grid(
                        mis.map { g, m in
                            SVGPlot.heatmap(
                                title: "\(g): cross-layer MI", matrix: m, rowLabels: (0..<m.count).map { "L\($0)" },
                                colLabels: (0..<m.count).map { "L\($0)" }, vmin: 0, vmax: vmax, annotate: m.count <= 12,
                                xLabel: "layer", yLabel: "layer", colourBar: false)
                        }, columns: 4, colourBar: (0, vmax, .viridis, "mutual information between layers' expert choices"))
                ))
            out.append(("mi_heatmaps.csv", FigureData.matrices(mis, row: "layer_i", col: "layer_j", value: "mi")))
        }
        out += overTraining(entries, groups: groups)
        return out
    }

    /// Routing over training, per router (mean over seeds): the top-k probability mass of every
    /// periodic validation (mean over layers, and layer 0) and the cross-layer MI of the kept weights.
    static func overTraining(_ entries: [SweepReport.Entry], groups: [String]) -> [(String, String)] {
        var out: [(String, String)] = []
        let ok = entries.filter { !$0.diverged }
        guard let first = ok.first else { return out }
        let tps = PairedStats.tokensPerStep(first) / 1e6
        func meanSeries(_ g: String, _ value: (SweepReport.Entry) -> [Int: Double]) -> SVGPlot.Series? {
            var byStep: [Int: [Double]] = [:]
            for e in ok where e.group == g { for (s, v) in value(e) where v.isFinite { byStep[s, default: []].append(v) } }
            guard byStep.count > 1 else { return nil }
            let steps = byStep.keys.sorted()
            let ys = steps.map { byStep[$0]! }
            return SVGPlot.Series(
                name: g, x: steps.map { Double($0) * tps }, y: ys.map { $0.reduce(0, +) / Double($0.count) },
                yLow: ys.map { $0.min()! }, yHigh: ys.map { $0.max()! })
        }
        func topk(_ e: SweepReport.Entry, layer: Int?) -> [Int: Double] {
            var r: [Int: Double] = [:]
            for m in e.metrics where (m["split"] as? String) == "valid" {
                guard let s = (m["step"] as? NSNumber)?.intValue, let layers = m["routing"] as? [[String: Any]] else { continue }
                let v = layers.compactMap { ($0["topk_mass"] as? NSNumber)?.doubleValue }
                guard v.count == layers.count, !v.isEmpty else { continue }
                r[s] = layer.map { v[min($0, v.count - 1)] } ?? v.reduce(0, +) / Double(v.count)
            }
            return r
        }
        for (file, layer, what) in [("routing_topk_mass.svg", nil as Int?, "mean over layers"), ("routing_topk_mass_layer0.svg", 0, "layer 0")] {
            let series = groups.compactMap { g in meanSeries(g) { topk($0, layer: layer) } }
            if !series.isEmpty {
                out += FigureData.lineFigure(
                    file, title: "Top-k probability mass on the validation split, \(what) (mean over seeds, band = min..max; k/E = uniform)",
                    xLabel: "tokens seen (millions)", yLabel: "top-k mass", series: series)
            }
        }
        let mi = groups.compactMap { g in
            meanSeries(g) { e in
                var r: [Int: Double] = [:]
                for (s, a) in e.keptAnalyses { if let v = (a["mi_mean_offdiag"] as? NSNumber)?.doubleValue { r[s] = v } }
                return r
            }
        }
        if !mi.isEmpty {
            out += FigureData.lineFigure(
                "mi_over_training.svg", title: "Cross-layer MI of the kept weights (mean off-diagonal, mean over seeds)",
                xLabel: "tokens seen (millions)", yLabel: "MI (nats)", series: mi)
        }
        return out
    }
}

/// The data behind each figure, written as CSV next to it (plots/<name>.csv).
enum FigureData {
    static func num(_ v: Double) -> String { v.isFinite ? String(format: "%.6g", v) : "" }

    static func table(header: [String], rows: [[String]]) -> String {
        ([header] + rows).map { $0.map(SweepReport.csvField).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    /// One row per point: series, x, y and the band (empty when none).
    static func series(_ s: [SVGPlot.Series], x: String, y: String) -> String {
        var rows: [[String]] = []
        for se in s {
            for i in 0..<min(se.x.count, se.y.count) {
                rows.append([
                    se.name, num(se.x[i]), num(se.y[i]), se.yLow.map { i < $0.count ? num($0[i]) : "" } ?? "",
                    se.yHigh.map { i < $0.count ? num($0[i]) : "" } ?? "",
                ])
            }
        }
        return table(header: ["series", x, y, y + "_min", y + "_max"], rows: rows)
    }

    /// A line chart and its CSV (series, x, y, band).
    static func lineFigure(_ file: String, title: String, xLabel: String, yLabel: String, series: [SVGPlot.Series]) -> [(String, String)] {
        [
            (file, SVGPlot.lineChart(title: title, xLabel: xLabel, yLabel: yLabel, series: series)),
            (String(file.dropLast(4)) + ".csv", Self.series(series, x: xLabel, y: yLabel)),
        ]
    }

    /// One row per cell of every panel's matrix.
    static func matrices(_ panels: [(String, [[Double]])], row: String, col: String, value: String) -> String {
        var rows: [[String]] = []
        for (name, m) in panels {
            for (i, r) in m.enumerated() { for (j, v) in r.enumerated() { rows.append([name, "\(i)", "\(j)", num(v)]) } }
        }
        return table(header: ["panel", row, col, value], rows: rows)
    }
}
