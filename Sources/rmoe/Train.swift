import ArgumentParser
import Foundation
import RMoECore
import RMoEData
import RMoEDistributed
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
    @Flag(
        name: .customLong("dry-run"),
        help: "Print the run: parameters, FLOPs per step, memory and an estimated wall time (a short calibration here); write nothing.")
    var dryRun = false

    func run() throws {
        if dryRun {
            let c = try plannedConfig()
            let e = try DryRun.Calibrator().estimate(c)
            print(DryRun.table([(id: out ?? resume ?? "runs/\(c.corpus)-\(c.model.router)-s\(c.seed)", config: c, estimate: e, status: "")]))
            return
        }
        let comm = Communicator.world
        do {
            try train(comm)
        } catch {
            // A rank that fails ends the whole job (the others would wait for it forever).
            if comm.isDistributed {
                System.printError("Error: (rank \(comm.rank) of \(comm.size)) \(error)")
                comm.abort(code: 1)
            }
            throw error
        }
    }

    /// The config a run would train with, touching nothing (for --dry-run).
    func plannedConfig() throws -> RunConfig {
        var c: RunConfig
        if let resume {
            let path = resume + "/config.json"
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw RMoEError("\(resume) is not a run folder (no config.json); give the folder `rmoe train` wrote")
            }
            c = try RunConfig.fromJSON(text, origin: path)
            for a in options.allAssignments { try c.apply(assignment: a) }
        } else {
            c = try options.resolve()
        }
        if let threads { try c.apply(assignment: "threads=\(threads)", origin: "--threads") }
        try c.validate()
        return c
    }

    /// Rank 0 decides the run's config (and does everything that touches its folder); the other
    /// ranks of an MPI job receive it.
    func decide() throws -> (config: RunConfig, dir: String, notes: [String])? {
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
                return nil
            default:
                if let note = try files.reopen(toSteps: c.steps) { notes.append(note) }
            }
            return (c, resume, notes)
        }
        var c = try options.resolve()
        if let threads { try c.apply(assignment: "threads=\(threads)", origin: "--threads") }
        let dir = out ?? "runs/\(c.corpus)-\(c.model.router)-s\(c.seed)"
        let files = RunFiles(dir)
        if files.exists(files.config) || files.exists(files.trainState) || files.exists(files.final) {
            if overwrite {
                try files.clear()
            } else {
                throw RMoEError("run folder \(dir) already holds a run; continue it with --resume \(dir), pick another --out, or pass --overwrite")
            }
        }
        return (c, dir, notes)
    }

    func train(_ comm: Communicator) throws {
        var decided = comm.isRoot ? try decide() : nil
        var lock: RunLock? = nil
        if comm.isRoot, let d = decided {
            guard let l = try RunLock(dir: d.dir) else {
                throw RMoEError("run folder \(d.dir) is being trained by another process; wait for it, or use another --out")
            }
            lock = l
        }
        defer { lock?.release() }
        if comm.isDistributed {
            // "" = nothing to train; else the folder and the config as JSON.
            let text = try comm.broadcast(decided.map { $0.dir + "\n" + $0.config.jsonText } ?? "")
            guard !text.isEmpty, let nl = text.firstIndex(of: "\n") else { return }
            if !comm.isRoot {
                decided = (try RunConfig.fromJSON(String(text[text.index(after: nl)...]), origin: "rank 0's config"), String(text[..<nl]), [])
            }
        }
        guard let (config, dir, notes) = decided else { return }
        let corpus = try CorpusCatalog.load(config.corpus, dataDir: data.dataDir, synthetic: config.synthetic, seqLen: config.model.seqLen)
        let progress = ProgressPrinter(quiet: quiet)
        let trainer = try Trainer(config: config, corpus: corpus, files: RunFiles(dir), progress: progress, comm: comm)
        trainer.notes = notes
        if resume != nil {
            _ = try trainer.resume()
            try trainer.syncFromRoot()
        }
        let r = try trainer.run()!
        if comm.isRoot { print(Report.summaryLine(r, corpus: corpus, dir: dir)) }
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
