import Foundation
import RMoECore
import RMoEData
import RMoEModel

/// Runs a sweep into `out` (architecture.md section 6):
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
    private var corpora: [String: Corpus] = [:]

    public init(spec: SweepSpec, out: String, overrides: [String] = [], shard: Shard? = nil, dataDir: String?,
                progress: ProgressPrinter = ProgressPrinter()) throws {
        self.spec = spec
        self.out = out
        self.runs = try spec.runs(origin: "sweep \(spec.name)", overrides: overrides)
        self.shard = shard
        self.dataDir = dataDir
        self.progress = progress
    }

    /// Whether a saved config is this run's (the saved one carries the corpus's vocabulary size).
    static func sameRun(_ saved: RunConfig, _ planned: RunConfig) -> Bool {
        var s = saved
        s.model.vocab = planned.model.vocab
        return s == planned
    }

    public func runFiles(_ r: SweepSpec.Run) -> RunFiles { RunFiles(out + "/runs/" + r.id) }
    public func isComplete(_ r: SweepSpec.Run) -> Bool { FileManager.default.fileExists(atPath: runFiles(r).final) }
    func hasAnalysis(_ r: SweepSpec.Run) -> Bool { FileManager.default.fileExists(atPath: runFiles(r).dir + "/analysis.json") }
    func finalValue(_ files: RunFiles, _ key: String) -> Any? {
        guard let d = FileManager.default.contents(atPath: files.final) else { return nil }
        return ((try? JSONSerialization.jsonObject(with: d)) as? [String: Any])?[key]
    }

    func corpus(for c: RunConfig) throws -> Corpus {
        let key = c.corpus == "synthetic" ? "synthetic:\(c.synthetic):\(c.model.seqLen)" : c.corpus
        if let k = corpora[key] { return k }
        let k = try CorpusCatalog.load(c.corpus, dataDir: dataDir, synthetic: c.synthetic, seqLen: c.model.seqLen)
        corpora[key] = k
        return k
    }

    /// Writes sweep.json (the resolved grid), once per sweep folder; a folder made by a different
    /// grid is refused rather than mixed.
    func writeSweepFile() throws {
        try FileManager.default.createDirectory(atPath: out + "/runs", withIntermediateDirectories: true)
        let ids = runs.map { JSONText.quote($0.id) }.joined(separator: ", ")
        let text = "{\n  \"name\": \(JSONText.quote(spec.name)),\n  \"runs\": [\(ids)],\n  \"spec\": \(spec.text.trimmingCharacters(in: .whitespacesAndNewlines))\n}\n"
        let path = out + "/sweep.json"
        if let old = FileManager.default.contents(atPath: path) {
            let oldObj = (try? JSONSerialization.jsonObject(with: old)) as? [String: Any]
            if let oldRuns = oldObj?["runs"] as? [String], oldRuns != runs.map(\.id) {
                throw RMoEError("\(out) holds a different sweep (its sweep.json lists other runs); use another --out, or delete the folder to start over")
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
            if let saved = try? String(contentsOfFile: files.config, encoding: .utf8),
               let old = try? RunConfig.fromJSON(saved, origin: files.config), !Self.sameRun(old, r.config) {
                throw RMoEError("run folder \(files.dir) was made with a different config (the sweep file or --set changed?); delete that folder or use another --out")
            }
        }
        let todo = mine.filter { !isComplete($0) || (analyzeTokens != nil && !hasAnalysis($0)) }
        let toTrain = todo.filter { !isComplete($0) }.count
        let analysisOnly = todo.count - toTrain
        progress.line("sweep \(spec.name): \(runs.count) runs\(shard.map { ", shard \($0.index)/\($0.count): \(mine.count)" } ?? ""), \(mine.count - toTrain) already complete, \(toTrain) to run\(analysisOnly > 0 ? ", \(analysisOnly) to analyse" : ""); output in \(out)")
        var done = 0
        var secondsPerStep: Double? = nil
        let sessionStart = System.now()
        var stepsDone = 0
        for (k, r) in todo.enumerated() {
            let files = runFiles(r)
            let remainingSteps = todo[k...].reduce(0) { $0 + $1.config.steps }
            let eta = secondsPerStep.map { " sweep ETA " + formatDuration($0 * Double(remainingSteps)) } ?? ""
            // Run i of the whole grid's n (and, when some were already done, k of this session's).
            let i = (runs.firstIndex { $0.id == r.id } ?? k) + 1
            let session = todo.count < runs.count ? " (\(k + 1) of \(todo.count) left)" : ""
            progress.prefix = "[run \(i)/\(runs.count)\(session) \(r.id)\(eta)] "
            let trainer = try Trainer(config: r.config, corpus: try corpus(for: r.config), files: files, progress: progress)
            var start = r.config.steps
            if !isComplete(r) {
                start = try trainer.resume()
                let result = try trainer.run()!
                progress.prefix = ""
                progress.line(String(format: "[run %d/%d] %@ done: valid %@ %.4f, test %.4f", i, runs.count, r.id, result.metricName,
                                     result.validMetric, result.testMetric))
            } else {
                // Complete but not analysed: load the weights its final evaluation used.
                let best = files.exists(files.best) && (finalValue(files, "eval_checkpoint") as? String) == "best"
                try Checkpoint.load(trainer.model.params, from: try SafeTensorsFile.read(path: best ? files.best : files.model))
            }
            if let n = analyzeTokens {
                let a = try Analyzer.analyze(model: trainer.model, corpus: try corpus(for: r.config), split: .test, tokens: n, label: r.label)
                try writeFileAtomically(files.dir + "/analysis.json", a.json)
            }
            stepsDone += r.config.steps - start
            if stepsDone > 0 { secondsPerStep = (System.now() - sessionStart) / Double(stepsDone) }
            progress.prefix = ""
            done += 1
        }
        try SweepReport.write(dir: out)
        return done
    }
}
