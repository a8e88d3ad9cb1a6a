import Foundation
import Testing
import RMoETestSupport
@testable import RMoECore
@testable import RMoEData
@testable import RMoERuns
@testable import RMoEReport
@testable import RMoEModel

@Suite("Training: learning, determinism, resume, checkpoints", .serialized)
struct TrainingTests {
    @Test("a tiny model overfits one fixed batch to near-zero loss")
    func overfitsOneBatch() throws {
        var c = Fixtures.tinyConfig()
        c.model.dModel = 32; c.model.ffnWidth = 64
        let m = try LanguageModel<Float>(
            config: {
                var mc = c.model; mc.vocab = 32; return mc
            }())
        m.initialize(seed: 1)
        let opt = AdamW<Float>(layout: m.layout)
        var rng = Xoshiro256(seed: 4)
        for i in 0..<m.rows { m.tokens[i] = Int32(rng.below(32)); m.targets[i] = Int32(rng.below(32)) }
        var first = 0.0, last = 0.0
        for s in 0..<300 {
            m.grads.zero()
            let loss = m.forward(training: true)
            if s == 0 { first = loss }
            last = loss
            m.backward()
            opt.step(params: m.params, grads: m.grads, lr: 3e-3)
        }
        #expect(first > 3.0)  // about ln 32 = 3.47 at the start
        #expect(last < 0.05, "loss after 300 steps: \(last)")
    }

    @Test("same config, seed and thread count give bitwise the same losses; 1 and 2 threads too")
    func deterministic() throws {
        func losses(threads: Int) throws -> [UInt64] {
            var c = Fixtures.tinyConfig(steps: 12)
            c.threads = threads
            let t = try Trainer(config: c, corpus: Fixtures.corpus(c), files: nil, progress: ProgressPrinter(quiet: true))
            return try (0..<12).map { _ in try t.trainStep().loss.bitPattern }
        }
        let a = try losses(threads: 2), b = try losses(threads: 2), one = try losses(threads: 1)
        #expect(a == b)
        #expect(a == one)
        #expect(Set(a).count > 1)
    }

    @Test("resume from a checkpoint equals the uninterrupted run, bitwise")
    func resumeIsExact() throws {
        let c = Fixtures.tinyConfig(steps: 20)
        let corpus = Fixtures.corpus(c)
        // Uninterrupted.
        let dirA = Fixtures.tempDir()
        let a = try Trainer(config: c, corpus: corpus, files: RunFiles(dirA), progress: ProgressPrinter(quiet: true))
        let ra = try #require(try a.run())
        // Stopped at step 10 (the first checkpoint), then resumed by a new Trainer.
        let dirB = Fixtures.tempDir()
        let b1 = try Trainer(config: c, corpus: corpus, files: RunFiles(dirB), progress: ProgressPrinter(quiet: true))
        #expect(try b1.run(stopAt: 10) == nil)
        // A crash after step 10 could leave later lines (and a half line) behind: simulate it.
        let junk = "{\"step\": 12, \"split\": \"train\", \"loss\": 9.9}\n{\"step\": 14, \"spl"
        let h = FileHandle(forWritingAtPath: RunFiles(dirB).metrics)!
        h.seekToEndOfFile(); h.write(junk.data(using: .utf8)!); h.closeFile()
        let b2 = try Trainer(config: c, corpus: corpus, files: RunFiles(dirB), progress: ProgressPrinter(quiet: true))
        #expect(try b2.resume() == 10)
        let rb = try #require(try b2.run())
        #expect(Fixtures.trainLosses(RunFiles(dirA).metrics) == Fixtures.trainLosses(RunFiles(dirB).metrics))
        #expect(Fixtures.trainLosses(RunFiles(dirA).metrics).count == 10)
        #expect(ra.validLoss.bitPattern == rb.validLoss.bitPattern)
        let pa = try SafeTensorsFile.read(path: RunFiles(dirA).model), pb = try SafeTensorsFile.read(path: RunFiles(dirB).model)
        for name in pa.names { #expect(try pa.floats(name) == pb.floats(name)) }
        // Every step appears once per kind of line.
        let steps = MetricsLog.read(RunFiles(dirB).metrics).map { "\($0["split"]!)@\($0["step"]!)" }
        #expect(steps.count == Set(steps).count)
    }

    @Test("every evaluation line carries per-layer routing statistics that agree with its expert counts")
    func routingStatisticsPerEvaluation() throws {
        let c = Fixtures.tinyConfig(steps: 20)
        let dir = Fixtures.tempDir()
        let t = try Trainer(config: c, corpus: Fixtures.corpus(c), files: RunFiles(dir), progress: ProgressPrinter(quiet: true))
        _ = try #require(try t.run())
        let valid = MetricsLog.read(RunFiles(dir).metrics).filter { $0["split"] as? String == "valid" }
        #expect(valid.map { $0["step"] as? Int } == [10, 20])
        let E = c.model.experts, pairs = c.evalBatches * c.model.batch * c.model.seqLen * c.model.topK
        for v in valid {
            let layers = try #require(v["routing"] as? [[String: Any]])
            #expect(layers.count == c.model.layers)
            for l in layers {
                let counts = try #require(l["tokens_per_expert"] as? [Int])
                #expect(counts.count == E)
                #expect(counts.reduce(0, +) == pairs)
                let mean = Double(pairs) / Double(E)
                let sd = (counts.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(E)).squareRoot()
                #expect(abs((l["cv"] as? Double ?? -1) - sd / mean) < 1e-12)
                #expect(abs((l["max_share"] as? Double ?? -1) - Double(counts.max()!) / Double(pairs)) < 1e-12)
                #expect(l["dead_experts"] as? Int == counts.filter { $0 == 0 }.count)
                let h = try #require(l["entropy"] as? Double), b = try #require(l["balance_ratio"] as? Double)
                #expect(h > 0 && h <= log(Double(E)) + 1e-9)
                #expect(b > 0.5 && b < Double(E))
            }
        }
        // The same statistics of the final evaluation are in final.json.
        let final = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: RunFiles(dir).final))) as? [String: Any])
        #expect((final["routing"] as? [[String: Any]])?.count == c.model.layers)
    }

    @Test("a checkpoint written and read back is identical")
    func checkpointRoundTrip() throws {
        let c = Fixtures.tinyConfig(steps: 3)
        let dir = Fixtures.tempDir()
        let t = try Trainer(config: c, corpus: Fixtures.corpus(c), files: RunFiles(dir), progress: ProgressPrinter(quiet: true))
        _ = try t.run()
        let file = try SafeTensorsFile.read(path: RunFiles(dir).model)
        let fresh = try LanguageModel<Float>(config: t.model.config)
        try Checkpoint.load(fresh.params, from: file)
        #expect(memcmp(fresh.params.base, t.model.params.base, t.model.layout.totalCount * 4) == 0)
        #expect(file.metadata["config"] == t.config.jsonText)
        // And written again from the loaded copy: byte-identical files.
        let again = dir + "/again.safetensors"
        try Checkpoint.saveModel(fresh.params, to: again, metadata: file.metadata)
        #expect(FileManager.default.contents(atPath: again) == FileManager.default.contents(atPath: RunFiles(dir).model))
        // Train state restores the optimizer too.
        let state = try SafeTensorsFile.read(path: RunFiles(dir).trainState)
        let opt = AdamW<Float>(layout: fresh.layout)
        try Checkpoint.loadTrainState(params: fresh.params, optimizer: opt, from: state)
        #expect(opt.updates == 3)
        #expect(memcmp(opt.expAvgSq.base, t.optimizer.expAvgSq.base, fresh.layout.totalCount * 4) == 0)
    }

    @Test("training lowers the validation loss toward the synthetic floor")
    func learnsSynthetic() throws {
        var c = Fixtures.tinyConfig(steps: 150)
        c.evalEvery = 0
        let corpus = Fixtures.corpus(c)
        let t = try Trainer(config: c, corpus: corpus, files: nil, progress: ProgressPrinter(quiet: true))
        let before = try t.evaluate(.valid, windows: 16).loss
        let r = try #require(try t.run())
        #expect(r.validLoss < before - 0.3, "before \(before), after \(r.validLoss)")
        #expect(r.validLoss > corpus.floor[.valid]! - 0.01)  // nothing beats the exact floor
    }

    @Test("learning-rate schedule: warm-up, cosine to lr_min")
    func schedule() {
        var c = RunConfig()
        c.lr = 1; c.lrMin = 0.1; c.warmup = 10; c.steps = 110
        #expect(Trainer.learningRate(c, step: 0) == 0.1)
        #expect(Trainer.learningRate(c, step: 9) == 1)
        #expect(abs(Trainer.learningRate(c, step: 60) - 0.55) < 1e-12)
        #expect(abs(Trainer.learningRate(c, step: 110) - 0.1) < 1e-12)
        c.schedule = .constant
        #expect(Trainer.learningRate(c, step: 100) == 1)
    }
}
