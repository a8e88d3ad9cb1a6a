import Foundation
import RMoECore
import RMoEData
import RMoEDistributed
import RMoEModel

/// Runs a sweep into `out` (docs/architecture.md section 6); `SweepReport.write` (RMoEReport) then
/// builds its report:
///
///     out/sweep.json                    the resolved grid
///     out/runs/<id>/...                 one run folder each (config.json, metrics.jsonl, ...)
///     out/summary.csv, table.md, plots/ rebuilt from every complete run
///
/// Resumable at any moment: a run with `final.json` is complete and skipped; a run with a
/// `train-state.safetensors` resumes from it (bitwise as if never stopped, its metrics.jsonl cut
/// back to that step); every file is written atomically. Several processes (or machines sharing
/// the folder) can split the grid with `--shard i/n`.
public final class SweepRunner {
    public let spec: SweepSpec
    public let out: String
    public let runs: [SweepSpec.Run]
    public let dataDir: String?
    public let progress: ProgressPrinter
    public let shard: Shard?
    /// When set, each run is analysed after training (`--analyze`): analysis.json in its folder, over
    /// this many test tokens, with the weights of its final evaluation.
    public var analyzeTokens: Int? = nil
    /// false: train nothing, only analyse complete runs (`--analyze-only`).
    public var trainRuns = true
    /// The ranks that train each run together (data or expert parallel): `--ranks-per-run`
    /// groups of an `mpirun` job; its leader takes the runs' locks and writes their files.
    public var group: Communicator = .single
    private var corpora: [String: Corpus] = [:]

    public init(
        spec: SweepSpec, out: String, overrides: [String] = [], shard: Shard? = nil, dataDir: String?,
        progress: ProgressPrinter = ProgressPrinter()
    ) throws {
        self.spec = spec
        self.out = out
        self.runs = try spec.runs(origin: "sweep \(spec.name)", overrides: overrides)
        self.shard = shard
        self.dataDir = dataDir
        self.progress = progress
    }

    /// The config each run continues with (its saved config with the sweep's resumable changes,
    /// e.g. a larger `steps`), by run id; filled by `run()`.
    private var effective: [String: RunConfig] = [:]
    /// What changing a saved run's config does (printed once per run).
    private var continuationNotes: [String: [String]] = [:]

    public func runFiles(_ r: SweepSpec.Run) -> RunFiles { RunFiles(out + "/runs/" + r.id) }
    func config(of r: SweepSpec.Run) -> RunConfig { effective[r.id] ?? r.config }
    /// Ended: trained to its steps, or diverged (a diverged run is not retried; its folder records why).
    public func isComplete(_ r: SweepSpec.Run) -> Bool {
        switch runFiles(r).ending {
        case .complete(let step)?: return step >= config(of: r).steps
        case .diverged?: return true
        case nil: return false
        }
    }
    func isDiverged(_ r: SweepSpec.Run) -> Bool { if case .diverged? = runFiles(r).ending { true } else { false } }
    /// Analysed: analysis.json of the evaluated weights, and analysis-step<N>.json of every kept checkpoint.
    func hasAnalysis(_ r: SweepSpec.Run) -> Bool {
        let f = runFiles(r)
        return f.exists(f.analysis) && f.keptSteps().allSatisfy { f.exists(f.analysis(step: $0)) }
    }
    func finalValue(_ files: RunFiles, _ key: String) -> Any? {
        guard let d = FileManager.default.contents(atPath: files.final) else { return nil }
        return (try? JSON.object([UInt8](d), origin: files.final))?[key]
    }

    func corpus(for c: RunConfig) throws -> Corpus {
        let key = c.corpus == .synthetic ? "synthetic:\(c.synthetic):\(c.model.seqLen)" : c.corpus.rawValue
        if let k = corpora[key] { return k }
        let k = try CorpusCatalog.load(c.corpus, dataDir: dataDir, synthetic: c.synthetic, seqLen: c.model.seqLen)
        corpora[key] = k
        return k
    }

    /// Writes sweep.json (the resolved grid). A grid may grow in its folder (routers, seeds or
    /// grid points added: the finished runs are kept and skipped); one that would leave runs of
    /// the folder's grid out is refused rather than mixed.
    func writeSweepFile() throws {
        try AtomicFile.createDirectory(out + "/runs", what: "sweep folder")
        let ids = runs.map { JSONText.quote($0.id) }.joined(separator: ", ")
        let text =
            "{\n  \"name\": \(JSONText.quote(spec.name)),\n  \"runs\": [\(ids)],\n  \"spec\": \(spec.text.trimmingCharacters(in: .whitespacesAndNewlines))\n}\n"
        let path = out + "/sweep.json"
        if let old = FileManager.default.contents(atPath: path) {
            let oldObj = try? JSON.object([UInt8](old), origin: path)
            if let oldRuns = oldObj?["runs"] as? [String] {
                let ids = Set(runs.map(\.id))
                let dropped = oldRuns.filter { !ids.contains($0) }
                if !dropped.isEmpty {
                    let names = dropped.prefix(3).joined(separator: ", ") + (dropped.count > 3 ? " and \(dropped.count - 3) more" : "")
                    throw RMoEError(
                        "\(out) holds a different sweep (its sweep.json lists runs this grid lacks: \(names)); use another --out, or delete the folder to start over"
                    )
                }
            }
        }
        try writeFileAtomically(path, text)
    }

    /// Runs every (incomplete) run of this shard, then rebuilds the report. Returns the number of
    /// runs trained in this session.
    @discardableResult
    public func run() throws -> Int {
        for d in [out, out + "/plots"] { removeStaleTemporaries(in: d) }
        try writeSweepFile()
        let mine = runs.enumerated().filter { shard?.contains($0.offset) ?? true }.map(\.element)
        for r in mine {
            let files = runFiles(r)
            guard let text = try? String(contentsOfFile: files.config, encoding: .utf8) else { continue }
            let saved = try RunConfig.fromJSON(text, origin: files.config)
            let (c, notes) = try RunConfig.continuation(saved: saved, requested: r.config, origin: "run folder \(files.dir) (the sweep file or --set changed?)")
            effective[r.id] = c
            continuationNotes[r.id] = notes
        }
        let todo = mine.filter { (trainRuns && !isComplete($0)) || (isComplete($0) && analyzeTokens != nil && !hasAnalysis($0) && !isDiverged($0)) }
        let toTrain = todo.filter { !isComplete($0) }.count
        let analysisOnly = todo.count - toTrain
        progress.line(
            "sweep \(spec.name): \(runs.count) runs\(shard.map { ", shard \($0.index)/\($0.count): \(mine.count)" } ?? ""), \(mine.count - toTrain) already complete, \(toTrain) to run\(analysisOnly > 0 ? ", \(analysisOnly) to analyse" : ""); output in \(out)"
        )
        var done = 0
        var secondsPerStep: Double? = nil
        let sessionStart = System.now()
        var stepsDone = 0
        var diverged: [String] = []
        for (k, r) in todo.enumerated() {
            let files = runFiles(r)
            let rc = config(of: r)
            let remainingSteps = todo[k...].reduce(0) { $0 + config(of: $1).steps }
            let eta = secondsPerStep.map { " sweep ETA " + formatDuration($0 * Double(remainingSteps)) } ?? ""
            // Run i of the whole grid's n (and, when some were already done, k of this session's).
            let i = (runs.firstIndex { $0.id == r.id } ?? k) + 1
            let session = todo.count < runs.count ? " (\(k + 1) of \(todo.count) left)" : ""
            progress.prefix = "[run \(i)/\(runs.count)\(session) \(r.id)\(eta)] "
            // One process per run: a run another process (or machine) is training is skipped. In a
            // group of ranks (--ranks-per-run) the leader decides and the others follow.
            var lock: RunLock? = nil
            var action = ""  // "" skip, "train", "analyse" (complete, not yet analysed)
            if group.isRoot {
                lock = try RunLock(dir: files.dir)
                if lock == nil {
                    progress.line("[run \(i)/\(runs.count)] \(r.id) is being trained by another process; skipped")
                } else if !isComplete(r) {
                    action = "train"
                } else if !(analyzeTokens == nil || hasAnalysis(r) || isDiverged(r)) {
                    action = "analyse"  // (another worker may have finished it since this one made its list)
                }
            }
            defer { lock?.release() }
            if group.isDistributed { action = try group.broadcast(action) }
            if action.isEmpty || (action == "analyse" && !group.isRoot) { continue }
            let trainer = try Trainer(config: rc, corpus: try corpus(for: rc), files: files, progress: progress, comm: group)
            var start = rc.steps
            if action == "train" {
                trainer.notes = continuationNotes[r.id] ?? []
                if group.isRoot, let note = try files.reopen(toSteps: rc.steps) { trainer.notes.append(note) }
                start = try trainer.resume()
                try trainer.syncFromRoot()
                do {
                    let result = try trainer.run()!
                    progress.prefix = ""
                    progress.line(
                        String(
                            format: "[run %d/%d] %@ done: valid %@ %.4f, test %.4f", i, runs.count, r.id, result.metricName,
                            result.validMetric, result.testMetric))
                } catch let d as TrainingDiverged {
                    // Recorded in the run's final.json; the sweep goes on with the other runs.
                    progress.prefix = ""
                    progress.line("[run \(i)/\(runs.count)] \(r.id) diverged: \(d)")
                    diverged.append(r.id)
                    done += 1
                    continue
                }
            }
            if let n = analyzeTokens, group.isRoot {
                // The weights kept during training (keep_steps), then the ones the final evaluation used.
                for step in files.keptSteps() where !files.exists(files.analysis(step: step)) {
                    try Checkpoint.load(trainer.model.params, from: try SafeTensorsFile.read(path: files.kept(step: step)))
                    let a = try Analyzer.analyze(model: trainer.model, corpus: try corpus(for: rc), split: .test, tokens: n, label: r.label)
                    try writeFileAtomically(files.analysis(step: step), a.json)
                }
                if !files.exists(files.analysis) {
                    let best = files.exists(files.best) && (finalValue(files, "eval_checkpoint") as? String) == "best"
                    try Checkpoint.load(trainer.model.params, from: try SafeTensorsFile.read(path: best ? files.best : files.model))
                    let a = try Analyzer.analyze(model: trainer.model, corpus: try corpus(for: rc), split: .test, tokens: n, label: r.label)
                    try writeFileAtomically(files.analysis, a.json)
                }
            }
            stepsDone += rc.steps - start
            if stepsDone > 0 { secondsPerStep = (System.now() - sessionStart) / Double(stepsDone) }
            progress.prefix = ""
            done += 1
        }
        let allDiverged = mine.filter { isDiverged($0) }.map(\.id)
        if !allDiverged.isEmpty {
            throw SweepDiverged(runs: allDiverged, newlyDiverged: diverged.count)
        }
        return done
    }
}

/// A sweep ended with diverged runs: the report shows them as such; the exit code says so.
public struct SweepDiverged: Error, CustomStringConvertible {
    public let runs: [String]
    public let newlyDiverged: Int
    public var description: String {
        "\(runs.count) run(s) of the sweep diverged (\(runs.prefix(5).joined(separator: ", "))\(runs.count > 5 ? ", ..." : "")); their final.json says where and why, and table.md counts them; lower lr for them and rerun in a new --out"
    }
}

/// An exclusive advisory lock on a run folder (`flock(2)` on `<run>/.lock`), held while a process
/// trains or analyses the run, so that two shards, two sweeps or two machines sharing the folder
/// (flock is honoured by NFSv4 and most cluster file systems) never work on one run at once. The
/// kernel releases it when the process ends, however it ends.
public final class RunLock {
    private var fd: Int32

    /// Takes the lock, or returns nil when another process holds it.
    public init?(dir: String) throws {
        try AtomicFile.createDirectory(dir, what: "run folder")
        fd = open(dir + "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RMoEError("cannot open \(dir)/.lock (\(AtomicFile.reason(errno))); check the folder's permissions") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            close(fd)
            if e == EWOULDBLOCK { return nil }
            throw RMoEError("cannot lock \(dir)/.lock (\(AtomicFile.reason(e))); the file system may not support locks")
        }
    }

    public func release() {
        if fd >= 0 { flock(fd, LOCK_UN); close(fd); fd = -1 }
    }

    deinit { release() }
}
