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

    @Option(help: "A checkpoint (repeatable): rmoe's, or another program's given --config/--set.") var checkpoint: [String]
    @Option(parsing: .upToNextOption, help: "Labels for the checkpoints, one per checkpoint (default: the router names).") var labels: [String] = []
    @Option(help: "Corpus (default: the checkpoint's own).") var corpus: CorpusName?
    @Option(help: "Split.") var split: Corpus.Split = .test
    @Option(help: "Predicted tokens to analyse.") var tokens: Int = 8192
    @Option(help: "Output folder.") var out: String = "analysis"
    @Option(help: "Threads (0 = every core).") var threads: Int = 0
    @Flag(help: "Replace analysis files already in --out (otherwise an existing one is an error).") var overwrite = false
    @OptionGroup var fields: CheckpointOptions
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
        // One output file per checkpoint: labels are unique (a repeated router name gets -2, -3, ...),
        // and a file from an earlier analysis is not replaced without --overwrite.
        let files = try checkpoint.map { try SafeTensorsFile.read(path: $0) }
        let labels = try uniqueLabels(names ?? files.map { try fields.resolve($0).model.router })
        if !overwrite, let taken = labels.first(where: { FileManager.default.fileExists(atPath: out + "/analysis-\($0).json") }) {
            throw RMoEError(
                "\(out)/analysis-\(taken).json exists (an earlier analysis); pick another --out, other --labels, or pass --overwrite")
        }
        var analyses: [RoutingAnalysis] = []
        for (i, path) in checkpoint.enumerated() {
            let file = files[i]
            var config = try fields.resolve(file)
            if let corpus { config.corpus = corpus }
            config.threads = threads
            let c = try CorpusCatalog.load(config.corpus, dataDir: data.dataDir, synthetic: config.synthetic, seqLen: config.model.seqLen)
            let trainer = try Trainer(config: config, corpus: c, files: nil, progress: ProgressPrinter(quiet: true))
            try Checkpoint.load(trainer.model.params, from: file)
            let label = labels[i]
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

    /// The names made unique in order: a repeated name gets -2, -3, ... (a name that would
    /// collide with a given one is refused).
    func uniqueLabels(_ names: [String]) throws -> [String] {
        var seen: [String: Int] = [:], out: [String] = []
        for n in names {
            guard !n.isEmpty, !n.contains("/"), n != "..", n != "." else {
                throw RMoEError("label '\(n)' cannot name a file; use letters, digits, '-' and '_'")
            }
            let k = (seen[n] ?? 0) + 1
            seen[n] = k
            out.append(k == 1 ? n : "\(n)-\(k)")
        }
        guard Set(out).count == out.count else { throw RMoEError("the labels \(out) name the same file twice; give distinct --labels") }
        return out
    }
}
