import ArgumentParser
import Foundation
import RMoECore
import RMoEData
import RMoERuns

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train one model; writes config.json, metrics.jsonl, checkpoints and final.json to the run folder.",
        discussion: """
            Resume an interrupted run with `rmoe train --resume DIR`: it continues bitwise as if never stopped. A resumed \
            run may change only its length (--steps), --threads, the logging, evaluation and checkpoint intervals, keep_steps \
            and the final evaluation; the saved state must belong to the run. A larger --steps extends even a finished run: \
            under the constant schedule bitwise as a run planned that long; a cosine run keeps its first horizon \
            (schedule_steps), so its learning rate stays at lr_min past it. A run whose loss, gradient or parameters become \
            non-finite stops with exit code 1, keeps its last finite checkpoint and is marked diverged in final.json.
            """)

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
        var notes: [String] = []
        if let resume {
            let files = RunFiles(resume)
            guard files.exists(files.config) else {
                throw RMoEError("\(resume) is not a run folder (no config.json); give the folder `rmoe train` wrote")
            }
            if options.config != nil { throw RMoEError("--config cannot be combined with --resume; the run's own config.json is used") }
            let text = try String(contentsOfFile: files.config, encoding: .utf8)
            let saved = try RunConfig.fromJSON(text, origin: files.config)
            // A resumed run keeps its config; only RunConfig.resumableFields may change.
            var requested = saved
            for a in options.allAssignments + (threads.map { ["threads=\($0)"] } ?? []) { try requested.apply(assignment: a) }
            let (c, n) = try RunConfig.continuation(saved: saved, requested: requested, origin: "run \(resume)")
            notes = n
            switch files.ending {
            case .diverged(let step, let cause)?:
                throw RMoEError("run \(resume) diverged at step \(step) (\(cause)), so it cannot be resumed; start a new run with a lower lr or with grad_clip")
            case .complete(let step)? where step >= c.steps:
                print("run \(resume) is already complete at step \(step); raise --steps to train further")
                return
            default:
                if let note = try files.reopen(toSteps: c.steps) { notes.append(note) }
            }
            config = c
            dir = resume
        } else {
            var c = try options.resolve()
            if let threads { try c.apply(assignment: "threads=\(threads)", origin: "--threads") }
            config = c
            dir = out ?? "runs/\(config.corpus)-\(config.model.router)-s\(config.seed)"
            let files = RunFiles(dir)
            if files.exists(files.config) || files.exists(files.trainState) || files.exists(files.final) {
                if overwrite {
                    try files.clear()
                } else {
                    throw RMoEError("run folder \(dir) already holds a run; continue it with --resume \(dir), pick another --out, or pass --overwrite")
                }
            }
        }
        guard let lock = try RunLock(dir: dir) else {
            throw RMoEError("run folder \(dir) is being trained by another process; wait for it, or use another --out")
        }
        defer { lock.release() }
        let corpus = try CorpusCatalog.load(config.corpus, dataDir: data.dataDir, synthetic: config.synthetic, seqLen: config.model.seqLen)
        let progress = ProgressPrinter(quiet: quiet)
        let trainer = try Trainer(config: config, corpus: corpus, files: RunFiles(dir), progress: progress)
        trainer.notes = notes
        if resume != nil { _ = try trainer.resume() }
        let r = try trainer.run()!
        print(Report.summaryLine(r, corpus: corpus, dir: dir))
    }
}

enum Report {
    static func summaryLine(_ r: RunResult, corpus: Corpus, dir: String) -> String {
        var s = String(
            format: "done: %d steps in %@ (%@ tok/s); valid loss %.4f, %@ %.4f", r.steps, formatDuration(r.trainSeconds),
            formatCount(r.tokensPerSecond), r.validLoss, r.metricName, r.validMetric)
        if !r.testLoss.isNaN { s += String(format: "; test loss %.4f, %@ %.4f", r.testLoss, r.metricName, r.testMetric) }
        if let f = r.testFloor ?? r.validFloor {
            s += String(format: "; floor %.4f nats (%.4f bits), gap %.4f nats", f, f / M_LN2, (r.testLoss.isNaN ? r.validLoss : r.testLoss) - f)
        }
        return s + "\nrun folder: \(dir)"
    }
}
