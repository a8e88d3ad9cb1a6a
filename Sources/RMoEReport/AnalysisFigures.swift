import Foundation
import RMoECore
import RMoERuns

extension Analyzer {
    /// The analysis figures of one or more checkpoints: MI heatmaps on a shared colour scale
    /// (as the paper's Figure 3), expert-similarity box plots, entropy histograms.
    public static func plots(_ analyses: [RoutingAnalysis]) -> [(String, String)] {
        guard !analyses.isEmpty else { return [] }
        let vmax = max(analyses.flatMap { $0.mi.enumerated().flatMap { i, r in r.enumerated().filter { $0.offset != i }.map(\.element) } }.max() ?? 1, 1e-6)
        let heat = analyses.map { a in
            SVGPlot.heatmap(
                title: "\(a.label): cross-layer MI (mean off-diag \(String(format: "%.3f", a.miMeanOffDiagonal)))", matrix: a.mi,
                rowLabels: (0..<a.layers).map { "L\($0)" }, colLabels: (0..<a.layers).map { "L\($0)" },
                vmin: 0, vmax: vmax, annotate: a.layers <= 12, xLabel: "layer", yLabel: "layer")
        }
        var out = [("mi_heatmaps.svg", SVGPlot.row(heat))]
        let ref = analyses[0].similarityRandomInit.reduce(0, +) / Double(max(analyses[0].similarityRandomInit.count, 1))
        out.append(
            (
                "expert_similarity.svg",
                SVGPlot.boxPlot(
                    title: "Expert similarity over layers (docs/routers.md 4.2)", yLabel: "layer similarity",
                    groups: analyses.map(\.label), values: analyses.map(\.similarity),
                    reference: (ref, "random init"))
            ))
        for a in analyses {
            out.append(
                (
                    "expert_similarity_layers_\(a.label).svg",
                    SVGPlot.boxPlot(
                        title: "\(a.label): pairwise expert cosine similarity per layer", yLabel: "cosine (blocks averaged)",
                        groups: (0..<a.layers).map { "L\($0)" }, values: a.pairwise)
                ))
            out.append(
                (
                    "entropy_\(a.label).svg",
                    SVGPlot.histogram(
                        title: "\(a.label): routing entropy per token", xLabel: "entropy (nats)",
                        series: a.entropy.enumerated().map { ("L\($0.offset)", $0.element) }, bins: RoutingAnalysis.entropyBins,
                        range: 0...log(Double(a.experts)))
                ))
        }
        return out
    }
}
