import Foundation
import Testing
import RMoETestSupport
@testable import RMoECore
@testable import RMoEData
@testable import RMoERuns
@testable import RMoEReport
@testable import RMoEModel

/// Divergence, resume integrity, extension, provenance and the issue-13 fields.
@Suite("Run integrity: divergence, resume checks, extension, provenance", .serialized)
struct RunIntegrityTests {
    static func trainer(_ c: RunConfig, _ dir: String?) throws -> Trainer {
        try Trainer(config: c, corpus: Fixtures.corpus(c), files: dir.map(RunFiles.init), progress: ProgressPrinter(quiet: true))
    }

    static func tensors(_ path: String) throws -> [String: [Float]] {
        let f = try SafeTensorsFile.read(path: path)
        return Dictionary(uniqueKeysWithValues: try f.names.map { ($0, try f.floats($0)) })
    }

    @Test("a run that diverges stops, keeps its finite checkpoint and says so in final.json")
    func divergenceStopsTheRun() throws {
        var c = Fixtures.tinyConfig(steps: 40)
        c.gradClip = 0
        let dir = Fixtures.tempDir()
        // 20 good steps, then the learning rate explodes (as a careless resume would do it).
        let good = try Self.trainer(c, dir)
        #expect(try good.run(stopAt: 20) == nil)
        let before = try Self.tensors(RunFiles(dir).model)
        var bad = c
        bad.lr = 1e30; bad.lrMin = 0
        try writeFileAtomically(RunFiles(dir).config, bad.jsonText)
        // The state belongs to a run with lr = 3e-3: resuming with another lr is refused.
        let t = try Self.trainer(bad, dir)
        #expect(throws: RMoEError.self) { _ = try t.resume() }
        // A fresh run with that lr diverges within a few steps; nothing non-finite is written.
        let dir2 = Fixtures.tempDir()
        let t2 = try Self.trainer(bad, dir2)
        do {
            _ = try t2.run()
            Issue.record("the run should have diverged")
        } catch let d as TrainingDiverged {
            #expect(d.step > 0 && d.step <= 40)
            #expect(d.description.contains("diverged at step"))
        }
        let fin = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: RunFiles(dir2).final))) as! [String: Any]
        #expect(fin["status"] as? String == "diverged")
        #expect(RunFiles(dir2).ending.map { if case .diverged = $0 { true } else { false } } == true)
        for f in [RunFiles(dir2).model, RunFiles(dir2).trainState] where FileManager.default.fileExists(atPath: f) {
            for (_, v) in try Self.tensors(f) { let finite = v.allSatisfy { $0.isFinite }; #expect(finite) }
        }
        let after = try Self.tensors(RunFiles(dir).model)
        #expect(after == before)
    }

    @Test("the CLI: a diverging run exits 1 with one line, and cannot be resumed")
    func divergenceThroughTheCLI() throws {
        let dir = Fixtures.tempDir()
        let args = [
            "train", "--corpus", "synthetic", "--router", "smoe", "--steps", "30", "--layers", "1", "--d-model", "16", "--heads", "2",
            "--seq-len", "16", "--batch", "4", "--set", "lr=1e30", "--set", "grad_clip=0", "--set", "synthetic_train_tokens=20000",
            "--set", "synthetic_eval_tokens=2000", "--set", "experts=4", "--set", "top_k=2", "--set", "expert_width=8",
            "--set", "checkpoint_every=10", "--set", "log_every=5", "--out", dir, "--quiet",
        ]
        let r = try Fixtures.runCLI(args)
        #expect(r.status == 1)
        let lines = r.err.split(separator: "\n")
        #expect(lines.count == 1 && r.err.contains("diverged at step"), "\(r.err)")
        let again = try Fixtures.runCLI(["train", "--resume", dir, "--quiet"])
        #expect(again.status != 0 && again.err.contains("diverged"), "\(again.err)")
    }

    @Test("resume refuses a state of another config, or with other tensors; a missing state restarts cleanly")
    func resumeIntegrity() throws {
        let c = Fixtures.tinyConfig(steps: 20)
        let dir = Fixtures.tempDir(), other = Fixtures.tempDir()
        #expect(try Self.trainer(c, dir).run(stopAt: 10) == nil)
        var c3 = c
        c3.model.layers = 3
        #expect(try Self.trainer(c3, other).run(stopAt: 10) == nil)
        // A state of a 3-layer run copied into the 2-layer run's folder.
        let files = RunFiles(dir)
        try FileManager.default.removeItem(atPath: files.trainState)
        try FileManager.default.copyItem(atPath: RunFiles(other).trainState, toPath: files.trainState)
        do {
            _ = try Self.trainer(c, dir).resume()
            Issue.record("a state of another config was accepted")
        } catch let e as RMoEError {
            #expect(e.message.contains("layers 3 -> 2"), "\(e.message)")
        }
        // No state at all: the run starts again at step 0 and the earlier metrics lines go.
        try FileManager.default.removeItem(atPath: files.trainState)
        let t = try Self.trainer(c, dir)
        #expect(try t.resume() == 0)
        #expect(MetricsLog.read(files.metrics).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: files.best))
        _ = try #require(try t.run())
        let steps = MetricsLog.read(files.metrics).map { "\($0["split"]!)@\($0["step"]!)" }
        #expect(steps.count == Set(steps).count)
        // Only resumable fields may change; others are named.
        var changed = c
        changed.lr = 1e-2
        #expect(throws: RMoEError.self) { _ = try RunConfig.continuation(saved: c, requested: changed, origin: "run") }
        var longer = c
        longer.steps = 40; longer.threads = 1; longer.evalEvery = 20
        let (cont, _) = try RunConfig.continuation(saved: c, requested: longer, origin: "run")
        #expect(cont.steps == 40 && cont.scheduleSteps == 20)
    }

    @Test("extending a constant-schedule run is bitwise the run planned that long")
    func extensionIsExact() throws {
        var c = Fixtures.tinyConfig(steps: 20)
        c.schedule = .constant
        var long = c
        long.steps = 40
        let dirA = Fixtures.tempDir(), dirB = Fixtures.tempDir()
        let ra = try #require(try Self.trainer(long, dirA).run())
        _ = try #require(try Self.trainer(c, dirB).run())
        // Extend B to 40 steps as `train --resume --steps 40` does.
        let (cb, notes) = try RunConfig.continuation(saved: c, requested: long, origin: "run")
        #expect(notes.first?.contains("bitwise") == true)
        // A stand-in analysis of the 20-step weights must not survive as the 40-step run's.
        try writeFileAtomically(RunFiles(dirB).analysis, "{\"stand-in\": true}")
        #expect(try RunFiles(dirB).reopen(toSteps: 40) != nil)
        #expect(FileManager.default.fileExists(atPath: RunFiles(dirB).archivedFinal(step: 20)))
        #expect(FileManager.default.fileExists(atPath: RunFiles(dirB).archivedAnalysis(step: 20)))
        #expect(!FileManager.default.fileExists(atPath: RunFiles(dirB).analysis))
        #expect(RunFiles.isRunFile("analysis-end20.json"))
        let tb = try Self.trainer(cb, dirB)
        #expect(try tb.resume() == 20)
        let rb = try #require(try tb.run())
        #expect(Fixtures.trainLosses(RunFiles(dirA).metrics) == Fixtures.trainLosses(RunFiles(dirB).metrics))
        #expect(ra.testLoss.bitPattern == rb.testLoss.bitPattern)
        let ta = try Self.tensors(RunFiles(dirA).model), tb2 = try Self.tensors(RunFiles(dirB).model)
        #expect(ta == tb2)
    }

    @Test("a cosine run extended past its end keeps its horizon: lr_min after it")
    func cosineExtensionKeepsHorizon() throws {
        var c = Fixtures.tinyConfig(steps: 20)
        c.lrMin = 1e-4
        var long = c
        long.steps = 30
        let (cont, notes) = try RunConfig.continuation(saved: c, requested: long, origin: "run")
        #expect(notes.first?.contains("horizon") == true)
        for s in 0..<20 { #expect(Trainer.learningRate(cont, step: s) == Trainer.learningRate(c, step: s)) }
        for s in 20..<30 { #expect(Trainer.learningRate(cont, step: s) == c.lrMin) }
    }

    @Test("config.json, final.json and checkpoints carry provenance; kept steps are kept")
    func provenanceAndKeptSteps() throws {
        var c = Fixtures.tinyConfig(steps: 20)
        c.keepSteps = StepList([10, 20])
        let dir = Fixtures.tempDir()
        _ = try #require(try Self.trainer(c, dir).run())
        let files = RunFiles(dir)
        let cfg = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: files.config))) as! [String: Any]
        let prov = try #require(cfg["provenance"] as? [String: Any])
        #expect(prov["version"] as? String == Provenance(threads: 1).version)
        #expect((prov["commit"] as? String)?.isEmpty == false && prov["dirty"] != nil && prov["cpu"] != nil && prov["blas"] != nil)
        #expect(
            try RunConfig.fromJSON(String(contentsOfFile: files.config, encoding: .utf8), origin: "t")
                == {
                    var x = c; x.model.vocab = Fixtures.corpus(c).vocabSize; return x
                }())
        let fin = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: files.final))) as! [String: Any]
        #expect(fin["provenance"] != nil && fin["status"] as? String == "complete")
        #expect(try SafeTensorsFile.read(path: files.model).metadata["provenance"] != nil)
        for s in [10, 20] { #expect(FileManager.default.fileExists(atPath: files.kept(step: s))) }
        // The valid lines carry the top-k mass per layer, between k/E and 1.
        let valid = MetricsLog.read(files.metrics).filter { ($0["split"] as? String) == "valid" }
        for v in valid {
            for l in v["routing"] as! [[String: Any]] {
                let m = (l["topk_mass"] as! NSNumber).doubleValue
                #expect(m >= Double(c.model.topK) / Double(c.model.experts) - 1e-9 && m <= 1 + 1e-9)
            }
        }
    }

    @Test("router_lr_scale scales the router's first update and leaves every other tensor's bitwise alone")
    func routerLearningRateScale() throws {
        func firstUpdate(_ scale: Double) throws -> (params: [String: [Float]], router: Set<String>) {
            var c = Fixtures.tinyConfig(steps: 1)
            c.model.router = "rmoe"; c.routerLRScale = scale
            let t = try Self.trainer(c, nil)
            let before = (0..<t.model.layout.specs.count).map { Array(t.model.params.buffer(at: $0)) }
            try t.trainStep()
            var delta: [String: [Float]] = [:]
            for (i, s) in t.model.layout.specs.enumerated() { delta[s.name] = zip(t.model.params.buffer(at: i), before[i]).map { $0 - $1 } }
            return (delta, Routers.tensorNames(t.model.config))
        }
        let (one, router) = try firstUpdate(1), (three, _) = try firstUpdate(3)
        #expect(router.contains("router_rnn.weight_ih") && router.contains("layers.0.moe.router.proj.weight"))
        for (name, d1) in one {
            let d3 = three[name]!
            if router.contains(name) {
                let n1 = d1.map { Double($0 * $0) }.reduce(0, +).squareRoot(), n3 = d3.map { Double($0 * $0) }.reduce(0, +).squareRoot()
                #expect(abs(n3 / n1 - 3) < 1e-3, "\(name): \(n3 / n1)")
            } else {
                #expect(d1 == d3, "\(name)")
            }
        }
    }

    @Test("paired differences: mean, Student-t interval and verdict")
    func pairedDifferences() {
        let d = PairedDifference([-0.010, -0.012, -0.008])
        #expect(abs(d.mean + 0.010) < 1e-12)
        // sd = 0.002, t(0.975, 2) = 4.303: half-width 4.303 * 0.002 / sqrt(3).
        #expect(abs(d.halfWidth - 4.303 * 0.002 / 3.0.squareRoot()) < 1e-12)
        #expect(d.verdict == "beats")
        #expect(PairedDifference([-0.01, 0.02, 0.0]).verdict == "ties")
        #expect(PairedDifference([0.01, 0.02, 0.015]).verdict == "trails")
        #expect(PairedDifference([0.01]).verdict == "n/a")
        #expect(abs(PairedDifference.t975(df: 60) - 2.000) < 2e-3)
    }

    @Test("sweep order: point-major runs the first grid point's seeds first")
    func pointMajorOrder() throws {
        let text =
            #"{"name": "o", "base": {"corpus": "synthetic"}, "routers": ["smoe", "rmoe"], "seeds": [1, 2], "grid": {"layers": [3, 1]}, "order": "point", "baseline": "smoe"}"#
        let spec = try SweepSpec.parse(text, origin: "t")
        #expect(
            try spec.runs().map(\.id) == [
                "smoe-s1-layers3", "rmoe-s1-layers3", "smoe-s2-layers3", "rmoe-s2-layers3",
                "smoe-s1-layers1", "rmoe-s1-layers1", "smoe-s2-layers1", "rmoe-s2-layers1",
            ])
        #expect(spec.baseline == "smoe")
    }
}

@Suite("OpenBLAS kernel choice")
struct BLASCoreTests {
    @Test("a generic fallback on an AVX-512 or AVX2 CPU gets SkylakeX or Haswell; Zen without AVX-512 gets Haswell; other known cores are left alone")
    func recommendation() {
        let avx512: Set<String> = ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq"]
        #expect(BLASCore.recommended(cpuFlags: avx512, current: "Prescott") == "SkylakeX")
        #expect(BLASCore.recommended(cpuFlags: ["avx2", "fma"], current: "Prescott") == "Haswell")
        #expect(BLASCore.recommended(cpuFlags: ["sse3"], current: "Prescott") == nil)
        #expect(BLASCore.recommended(cpuFlags: avx512, current: "Zen") == nil)
        #expect(BLASCore.recommended(cpuFlags: ["avx2", "fma"], current: "Zen") == "Haswell")
        #expect(BLASCore.recommended(cpuFlags: ["avx2", "fma"], current: "Haswell") == nil)
        #expect(BLASCore.recommended(cpuFlags: avx512, current: "SkylakeX") == nil)
    }
}

@Suite("Sweep report: paired statistics, routing and MI over training", .serialized)
struct PairedReportTests {
    @Test("a two-router grid sweep with kept steps: paired tables, gap and axis figures, kept analyses")
    func pairedReport() throws {
        let text = #"""
            {"name": "paired", "base": {"corpus": "synthetic", "steps": 20, "d_model": 16, "heads": 2, "seq_len": 16, "batch": 4, "experts": 4,
             "top_k": 2, "expert_width": 8, "router_dim": 8, "synthetic_train_tokens": 20000, "synthetic_eval_tokens": 2000, "eval_every": 10,
             "eval_batches": 0, "log_every": 5, "checkpoint_every": 10, "keep_steps": "10,20", "schedule": "constant", "lr": 0.003, "threads": 2},
             "routers": ["smoe", "rmoe"], "seeds": [1, 2], "grid": {"layers": [2, 1]}, "order": "point", "baseline": "smoe"}
            """#
        let dir = Fixtures.tempDir()
        let runner = try SweepRunner(spec: try SweepSpec.parse(text, origin: "t"), out: dir, dataDir: nil, progress: ProgressPrinter(quiet: true))
        runner.analyzeTokens = 256
        try runner.run()
        try SweepReport.write(dir: dir)
        let table = try String(contentsOfFile: dir + "/table.md", encoding: .utf8)
        #expect(table.contains("## Paired differences to smoe") && table.contains("| rmoe | layers=2 | 2 |"))
        #expect(table.contains("## Paired validation gap to smoe during training") && table.contains("| rmoe | layers=1 | 10 |"))
        #expect(table.contains("## Routing over training") && table.contains("| smoe layers=2 | 10 | 0.001 | 2 | "))
        for f in [
            "paired_valid_gap.svg", "valid_bits_per_token_vs_layers.svg", "paired_gap_vs_layers.svg", "routing_topk_mass.svg",
            "mi_over_training.svg",
        ] {
            #expect(FileManager.default.fileExists(atPath: dir + "/plots/" + f), "\(f)")
            #expect(table.contains("plots/" + f), "\(f)")
        }
        for id in ["smoe-s1-layers2", "rmoe-s2-layers1"] {
            for s in [10, 20] { #expect(FileManager.default.fileExists(atPath: dir + "/runs/\(id)/analysis-step\(s).json")) }
        }
        // The first grid point's runs came first.
        #expect(runner.runs.prefix(4).allSatisfy { $0.id.hasSuffix("layers2") })
    }

    @Test("routing over training: means over seeds per validation step; train lines and diverged runs left out")
    func routingOverTraining() {
        func entry(_ seed: Int, bpc: Double, routing: [(Double, Double)], mi: Double?, diverged: Bool = false) -> SweepReport.Entry {
            let layers: [[String: Any]] = routing.map { ["topk_mass": NSNumber(value: $0.0), "entropy": NSNumber(value: $0.1)] }
            let valid: [String: Any] = ["step": NSNumber(value: 10), "split": "valid", "bpc": NSNumber(value: bpc), "routing": layers]
            let train: [String: Any] = ["step": NSNumber(value: 10), "split": "train", "bpc": NSNumber(value: 9.0), "routing": layers]
            return SweepReport.Entry(
                id: "rmoe-s\(seed)", label: "rmoe", seed: seed, point: [],
                config: ["experts": NSNumber(value: 4), "top_k": NSNumber(value: 2), "batch": NSNumber(value: 2), "seq_len": NSNumber(value: 8)],
                final: ["metric": "bpc", "status": diverged ? "diverged" : "complete"], metrics: [train, valid], analysis: nil,
                keptAnalyses: mi.map { [10: ["mi_mean_offdiag": NSNumber(value: $0)]] } ?? [:])
        }
        let es = [
            entry(1, bpc: 2.0, routing: [(0.25, 2.0), (0.5, 1.0)], mi: 0.5),
            entry(2, bpc: 3.0, routing: [(0.5, 1.0), (0.75, 3.0)], mi: nil),
            entry(3, bpc: 99, routing: [(0.9, 0.1), (0.9, 0.1)], mi: 7, diverged: true),
        ]
        let rows = RoutingTable.rows(es, metric: "bpc")
        #expect(rows == [RoutingTable.Row(step: 10, seeds: 2, metric: 2.5, topkLayer0: 0.375, topkMean: 0.5, entropy: [1.5, 2.0], mi: 0.5)])
        let t = RoutingTable.section(entries: es)
        #expect(t.contains("| rmoe | 10 | 0.000 | 2 | 2.5000 | 0.375 / 0.500 | 1.50 2.00 | 0.500 |"), "\(t)")
        #expect(t.contains("k/E = 0.500") && t.contains("ln E = 1.39"))
    }
}

@Suite("Run locks")
struct RunLockTests {
    @Test("a run folder is locked by one process at a time; a second train on it is refused")
    func oneProcessPerRun() throws {
        let dir = Fixtures.tempDir()
        let held = try #require(try RunLock(dir: dir + "/run"))
        // flock locks belong to the open file description: a second open in this process is refused too.
        #expect(try RunLock(dir: dir + "/run") == nil)
        let r = try Fixtures.runCLI(["train", "--corpus", "synthetic", "--steps", "2", "--out", dir + "/run", "--quiet"])
        #expect(r.status == 1 && r.err.contains("another process"), "\(r.err)")
        held.release()
        #expect(try RunLock(dir: dir + "/run") != nil)
    }
}
