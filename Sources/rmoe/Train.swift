import ArgumentParser
import Foundation
import RMoECore
import RMoEData
import RMoEExperiments

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train one model; writes config.json, metrics.jsonl, checkpoints and final.json to the run folder.",
        discussion: "Resume an interrupted run with `rmoe train --resume DIR` (optionally with a larger --steps); it continues bitwise as if never stopped.")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var data: DataOptions
    @Option(help: "Threads for all parallel work (0 = every core); results do not depend on it.") var threads: Int?

    @Option(help: "Run folder (default runs/<corpus>-<router>-s<seed>).") var out: String?
    @Option(help: ArgumentHelp("Resume the run in this folder.", valueName: "dir")) var resume: String?
    @Flag(help: "Replace an existing run folder instead of refusing.") var overwrite = false
    @Flag(help: "Print only the final result.") var quiet = false

    func run() throws {
        let config: RunConfig
        let dir: String
        if let resume {
            let files = RunFiles(resume)
            guard files.exists(files.config) else {
                throw RMoEError("\(resume) is not a run folder (no config.json); give the folder `rmoe train` wrote")
            }
            let text = try String(contentsOfFile: files.config, encoding: .utf8)
            var c = try RunConfig.fromJSON(text, origin: files.config)
            // A resumed run keeps its config; only the length and the thread count may change.
            for a in options.allAssignments + (threads.map { ["threads=\($0)"] } ?? []) {
                let key = String(a.prefix { $0 != "=" })
                guard key == "steps" || key == "threads" else {
                    throw RMoEError("a resumed run keeps its config, so '\(key)' cannot change; start a new run (--out) to train with \(a)")
                }
                try c.apply(assignment: a)
            }
            if options.config != nil { throw RMoEError("--config cannot be combined with --resume; the run's own config.json is used") }
            try c.validate()
            config = c
            dir = resume
        } else {
            var c = try options.resolve()
            if let threads { try c.apply(assignment: "threads=\(threads)", origin: "--threads") }
            config = c
            dir = out ?? "runs/\(config.corpus)-\(config.model.router)-s\(config.seed)"
            let files = RunFiles(dir)
            if files.exists(files.config) || files.exists(files.trainState) {
                if overwrite {
                    for f in [files.config, files.metrics, files.final, files.model, files.trainState] { try? FileManager.default.removeItem(atPath: f) }
                } else {
                    throw RMoEError("run folder \(dir) already holds a run; continue it with --resume \(dir), pick another --out, or pass --overwrite")
                }
            }
        }
        let corpus = try CorpusCatalog.load(config.corpus, dataDir: data.dataDir, synthetic: config.synthetic, seqLen: config.model.seqLen)
        let progress = ProgressPrinter(quiet: quiet)
        let trainer = try Trainer(config: config, corpus: corpus, files: RunFiles(dir), progress: progress)
        if resume != nil {
            let s = try trainer.resume()
            if s >= config.steps && FileManager.default.fileExists(atPath: RunFiles(dir).final) {
                print("run \(dir) is already complete at step \(s); raise --steps to train further")
                return
            }
        }
        let r = try trainer.run()!
        print(Report.summaryLine(r, corpus: corpus, dir: dir))
    }
}

enum Report {
    static func summaryLine(_ r: RunResult, corpus: Corpus, dir: String) -> String {
        var s = String(format: "done: %d steps in %@ (%@ tok/s); valid loss %.4f, %@ %.4f", r.steps, formatDuration(r.trainSeconds),
                       formatCount(r.tokensPerSecond), r.validLoss, r.metricName, r.validMetric)
        if !r.testLoss.isNaN { s += String(format: "; test loss %.4f, %@ %.4f", r.testLoss, r.metricName, r.testMetric) }
        if let f = r.testFloor ?? r.validFloor {
            s += String(format: "; floor %.4f nats (%.4f bits), gap %.4f nats", f, f / M_LN2, (r.testLoss.isNaN ? r.validLoss : r.testLoss) - f)
        }
        return s + "\nrun folder: \(dir)"
    }
}
