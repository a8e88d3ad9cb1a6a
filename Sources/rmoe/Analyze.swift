import ArgumentParser
import Foundation
import RMoECore
import RMoEData
import RMoERuns
import RMoEReport
import RMoEModel

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Routing analyses of trained checkpoints: cross-layer MI, expert similarity, gate statistics, with heatmaps.",
        discussion: """
            Several --checkpoint options are analysed together and their MI heatmaps share one colour scale (as the \
            paper's Figure 3). Writes analysis-<label>.json per checkpoint and SVG figures into --out.
            """)

    @Option(help: "A model.safetensors or best.safetensors written by rmoe (repeatable).") var checkpoint: [String]
    @Option(parsing: .upToNextOption, help: "Labels for the checkpoints, one per checkpoint (default: the router names).") var labels: [String] = []
    @Option(help: "Corpus (default: the checkpoint's own).") var corpus: CorpusName?
    @Option(help: "Split.") var split: Corpus.Split = .test
    @Option(help: "Predicted tokens to analyse.") var tokens: Int = 8192
    @Option(help: "Output folder.") var out: String = "analysis"
    @Option(help: "Threads (0 = every core).") var threads: Int = 0
    @OptionGroup var data: DataOptions

    func validate() throws {
        guard tokens > 0 else { throw ValidationError("--tokens must be positive") }
        guard (0...Runtime.maxThreads).contains(threads) else {
            throw ValidationError("--threads \(threads) must be between 0 (every core) and \(Runtime.maxThreads)")
        }
    }

    func run() throws {
        let names: [String]? = labels.isEmpty ? nil : listItems(labels)
        if let names, names.count != checkpoint.count {
            throw RMoEError("--labels has \(names.count) names for \(checkpoint.count) checkpoints; give one per checkpoint")
        }
        try AtomicFile.createDirectory(out, what: "output folder")
        var analyses: [RoutingAnalysis] = []
        for (i, path) in checkpoint.enumerated() {
            let file = try SafeTensorsFile.read(path: path)
            guard let text = file.metadata["config"] else {
                throw RMoEError("checkpoint \(path) has no config in its metadata; analyse checkpoints written by rmoe")
            }
            var config = try RunConfig.fromJSON(text, origin: path + " metadata")
            if let corpus { config.corpus = corpus }
            config.threads = threads
            let c = try CorpusCatalog.load(config.corpus, dataDir: data.dataDir, synthetic: config.synthetic, seqLen: config.model.seqLen)
            let trainer = try Trainer(config: config, corpus: c, files: nil, progress: ProgressPrinter(quiet: true))
            try Checkpoint.load(trainer.model.params, from: file)
            let label = names?[i] ?? config.model.router
            let a = try Analyzer.analyze(model: trainer.model, corpus: c, split: split, tokens: tokens, label: label)
            try writeFileAtomically(out + "/analysis-\(label).json", a.json)
            print(
                String(
                    format: "%@: MI mean off-diagonal %.4f (top-1 MI %.4f), expert similarity %.4f (random init %.4f), tokens %d",
                    label, a.miMeanOffDiagonal, RoutingMetrics.meanOffDiagonal(a.top1MI), a.similarityMean,
                    a.similarityRandomInit.reduce(0, +) / Double(max(a.layers, 1)), a.tokens))
            analyses.append(a)
        }
        for (f, svg) in Analyzer.plots(analyses) { try writeFileAtomically(out + "/" + f, svg) }
        print("figures and JSON in \(out)/")
    }
}
