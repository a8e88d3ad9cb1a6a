import ArgumentParser
import Foundation
import RMoECore
import RMoEData
import RMoERuns
import RMoEModel

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Loss and BPC/PPL of a checkpoint on a split.")

    @Option(help: "A checkpoint: rmoe's (its config is in the metadata) or another program's (give --config/--set).")
    var checkpoint: String
    @Option(help: "Split.") var split: Corpus.Split = .test
    @Option(help: "Evaluate only the first N sequences (0 = whole split).") var windows: Int = 0
    @Option(help: "Threads (0 = every core).") var threads: Int = 0
    @OptionGroup var fields: CheckpointOptions
    @OptionGroup var data: DataOptions

    func validate() throws {
        guard (0...Runtime.maxThreads).contains(threads) else {
            throw ValidationError("--threads \(threads) must be between 0 (every core) and \(Runtime.maxThreads)")
        }
    }

    func run() throws {
        let file = try SafeTensorsFile.read(path: checkpoint)
        var config = try fields.resolve(file)
        config.threads = threads
        config.finalEval = false
        let corpus = try CorpusCatalog.load(config.corpus, dataDir: data.dataDir, synthetic: config.synthetic, seqLen: config.model.seqLen)
        let trainer = try Trainer(config: config, corpus: corpus, files: nil, progress: ProgressPrinter(quiet: true))
        try Checkpoint.load(trainer.model.params, from: file)
        let s = split
        let t0 = System.now()
        let r = try trainer.evaluate(s, windows: windows > 0 ? windows : nil)
        let seconds = System.now() - t0
        var out: [(String, JSONValue)] = [
            ("checkpoint", .string(checkpoint)), ("corpus", .string(corpus.name)), ("split", .string(split.rawValue)),
            ("tokens", .int(r.tokens)), ("loss", .double(r.loss)), (corpus.metricName, .double(corpus.metric(loss: r.loss))),
        ]
        if let f = corpus.floor[s] { out.append(("floor_loss", .double(f))) }
        // The evaluation passes alone (loading and corpus preparation excluded), comparable to `bench step --inference`.
        out += [
            ("eval_seconds", .double((seconds * 1000).rounded() / 1000)),
            ("tokens_per_s", .double(seconds > 0 ? (Double(r.tokens) / seconds).rounded() : 0)),
        ]
        print(JSONText.object(out))
    }
}
