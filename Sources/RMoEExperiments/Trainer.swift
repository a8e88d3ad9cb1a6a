import Foundation
import RMoECore
import RMoEData
import RMoEModel

/// What a finished run reports (also written to `final.json`).
public struct RunResult: Sendable {
    public var steps = 0
    public var metricName = ""
    public var validLoss = Double.nan, validMetric = Double.nan
    public var testLoss = Double.nan, testMetric = Double.nan
    /// Synthetic corpus: exact floor of the valid and test splits (nats per token).
    public var validFloor: Double?, testFloor: Double?
    public var trainSeconds = 0.0
    public var tokensPerSecond = 0.0
    public var trainableParameters = 0, frozenParameters = 0
    public var peakResidentBytes = 0
    public var finalTrainLoss = Double.nan
    /// Which weights the final evaluation used ("best": the best-validation checkpoint, or "last").
    public var evalCheckpoint = "last"
    public var bestStep = 0
    public var routerParameters = 0
    /// Share of training wall time spent in the routers' forward and backward passes.
    public var routerShare = 0.0
    /// Bytes of parameters, gradients, both AdamW moments and activations (what the run needs).
    public var modelMemoryBytes = 0
    /// Routing statistics of the final validation pass (nil for dense models).
    public var routing: RoutingStats?
}

/// Trains one model: the loop of forward, backward, clip, AdamW, with logging to
/// `metrics.jsonl`, periodic validation, checkpoints and exact resume.
public final class Trainer {
    public let config: RunConfig
    public let corpus: Corpus
    public let files: RunFiles?
    public let model: LanguageModel<Float>
    public let optimizer: AdamW<Float>
    let batches: TrainBatches
    let progress: ProgressPrinter
    let log: MetricsLog?
    /// Steps done (= optimizer updates).
    public private(set) var step = 0
    private var trainSeconds = 0.0
    private var routerSeconds = 0.0
    /// Best validation loss so far (periodic evaluation) and its step.
    private var bestValid = Double.infinity, bestStep = 0

    /// Builds the model for `config` on `corpus` (whose vocabulary size overrides `vocab`).
    public init(config: RunConfig, corpus: Corpus, files: RunFiles?, progress: ProgressPrinter = ProgressPrinter()) throws {
        var c = config
        c.model.vocab = corpus.vocabSize
        try c.validate()
        self.config = c
        self.corpus = corpus
        self.files = files
        self.progress = progress
        if let files { removeStaleTemporaries(in: files.dir) }
        Runtime.setThreads(c.resolvedThreads)
        model = try LanguageModel<Float>(config: c.model)
        model.initialize(seed: UInt64(c.seed))
        optimizer = AdamW(layout: model.layout, beta1: c.beta1, beta2: c.beta2, eps: c.adamEps, weightDecay: c.weightDecay)
        batches = try TrainBatches(tokens: corpus.train, seqLen: c.model.seqLen, batch: c.model.batch, seed: UInt64(c.seed))
        log = files.map { MetricsLog(path: $0.metrics) }
    }

    /// Learning rate of update `s` (0-based): linear warm-up to `lr`, then constant or cosine to `lr_min`.
    public static func learningRate(_ c: RunConfig, step s: Int) -> Double {
        if s < c.warmup { return c.lr * Double(s + 1) / Double(c.warmup) }
        if c.schedule == "constant" { return c.lr }
        let progress = Double(s - c.warmup) / Double(max(1, c.steps - c.warmup))
        return c.lrMin + 0.5 * (c.lr - c.lrMin) * (1 + cos(Double.pi * min(1, progress)))
    }

    /// One training step on batch `step`: returns the loss and the gradient norm before clipping.
    @discardableResult
    public func trainStep() -> (loss: Double, gradNorm: Double) {
        batches.fill(step: step, input: model.tokens, target: model.targets)
        model.context.step = step
        model.context.seed = UInt64(config.seed)
        model.grads.zero()
        let loss = model.forward(training: true)
        model.backward()
        let norm = AdamW.clip(model.grads, maxNorm: config.gradClip)
        optimizer.step(params: model.params, grads: model.grads, lr: Self.learningRate(config, step: step))
        step += 1
        return (loss, norm)
    }

    /// Mean loss (nats per predicted token) over a split, or over its first `windows` sequences.
    public func evaluate(_ split: Corpus.Split, windows: Int? = nil) -> (loss: Double, tokens: Int) {
        let w = EvalWindows(tokens: corpus.tokens(split), seqLen: config.model.seqLen)
        let total = min(w.windowCount, windows ?? Int.max)
        let B = config.model.batch
        var sum = 0.0, count = 0
        var first = 0
        while first < total {
            w.fill(first: first, batch: B, input: model.tokens, target: model.targets, limitWindows: total)
            model.forward(training: false)   // the per-token cross-entropies; the balance term is not part of the metric
            for x in model.lastLosses { sum += Double(x) }
            count += model.lastCountedTokens
            first += B
        }
        return (count > 0 ? sum / Double(count) : .nan, count)
    }

    // MARK: - Files

    /// Loads `train-state.safetensors` if the run folder has one; returns the step it resumes from.
    public func resume() throws -> Int {
        guard let files, files.exists(files.trainState) else { return 0 }
        let state = try SafeTensorsFile.read(path: files.trainState)
        try Checkpoint.loadTrainState(params: model.params, optimizer: optimizer, from: state)
        guard let s = state.metadata["step"].flatMap(Int.init), s == optimizer.updates else {
            throw RMoEError("train state \(files.trainState) has no consistent step; the run folder is damaged: start the run again")
        }
        trainSeconds = state.metadata["train_seconds"].flatMap(Double.init) ?? 0
        routerSeconds = state.metadata["router_seconds"].flatMap(Double.init) ?? 0
        bestValid = state.metadata["best_valid_loss"].flatMap(Double.init) ?? .infinity
        bestStep = state.metadata["best_step"].flatMap(Int.init) ?? 0
        step = s
        try log?.truncate(after: s)
        return s
    }

    func saveCheckpoint() throws {
        guard let files else { return }
        let md = ["config": config.jsonText, "step": String(step), "train_seconds": String(trainSeconds),
                  "router_seconds": String(routerSeconds), "best_valid_loss": String(bestValid), "best_step": String(bestStep)]
        try Checkpoint.saveTrainState(params: model.params, optimizer: optimizer, to: files.trainState, metadata: md)
        try Checkpoint.saveModel(model.params, to: files.model, metadata: md)
    }

    // MARK: - The run

    /// Trains from the current step to `config.steps`, then evaluates; writes every file of the run.
    /// `stopAt` ends the session early after that step's checkpoint (as if the process were
    /// killed there); the result is then nil.
    @discardableResult
    public func run(stopAt: Int? = nil) throws -> RunResult? {
        if let files {
            try files.create()
            try writeFileAtomically(files.config, config.jsonText)
            try log?.open()
        }
        let c = config
        let tokensPerStep = Double(c.model.batch * c.model.seqLen)
        let startStep = step
        if startStep == 0 {
            let frozen = model.layout.parameterCount(trainable: false)
            progress.line(String(format: "training %@ on %@: %@ trainable parameters%@ (router %@), %d steps of %d tokens, %d threads",
                                 c.model.router, corpus.name, formatCount(Double(model.layout.parameterCount(trainable: true))),
                                 frozen > 0 ? " + \(formatCount(Double(frozen))) frozen" : "",
                                 formatCount(Double(Routers.parameterCount(c.model))),
                                 c.steps, c.model.batch * c.model.seqLen, c.resolvedThreads))
        } else {
            progress.line("resuming at step \(startStep) of \(c.steps)")
        }
        var intervalLoss = 0.0, intervalCE = 0.0, intervalBalance = 0.0, intervalSteps = 0, intervalStart = System.now(), lastNorm = 0.0
        var lastTrainLoss = Double.nan
        let runStart = System.now(), secondsBefore = trainSeconds
        let routerBefore = routerSeconds, clockStart = model.routerClock.seconds
        while step < c.steps {
            let (loss, norm) = trainStep()
            intervalLoss += loss; intervalSteps += 1; lastNorm = norm
            intervalCE += model.lastCrossEntropy; intervalBalance += model.lastBalance
            trainSeconds = secondsBefore + (System.now() - runStart)
            routerSeconds = routerBefore + (model.routerClock.seconds - clockStart)
            let done = step - startStep
            let perStep = (System.now() - runStart) / Double(done)
            progress.status(String(format: "step %d/%d  loss %.4f  %@ tok/s  ETA %@", step, c.steps, loss,
                                   formatCount(tokensPerStep / perStep), formatDuration(perStep * Double(c.steps - step))))
            if step % c.logEvery == 0 || step == c.steps {
                let now = System.now()
                let tps = tokensPerStep * Double(intervalSteps) / (now - intervalStart)
                lastTrainLoss = intervalLoss / Double(intervalSteps)
                try log?.append(JSONText.object([
                    ("step", .int(step)), ("split", .string("train")), ("loss", .double(lastTrainLoss)),
                    ("ce", .double(intervalCE / Double(intervalSteps))), ("balance", .double(intervalBalance / Double(intervalSteps))),
                    ("lr", .double(Self.learningRate(c, step: step - 1))), ("grad_norm", .double(lastNorm)),
                    ("tokens_per_s", .double(tps.rounded())), ("elapsed_s", .double((trainSeconds * 1000).rounded() / 1000)),
                ]))
                if !progress.interactive {
                    progress.line(String(format: "step %d/%d  loss %.4f  lr %.2e  %@ tok/s  ETA %@", step, c.steps, lastTrainLoss,
                                         Self.learningRate(c, step: step - 1), formatCount(tps), formatDuration(perStep * Double(c.steps - step))))
                }
                intervalLoss = 0; intervalCE = 0; intervalBalance = 0; intervalSteps = 0; intervalStart = System.now()
            }
            if c.evalEvery > 0 && (step % c.evalEvery == 0 || step == c.steps) {
                if !c.model.isDense { model.routingStats = RoutingStats(layers: c.model.layers, experts: c.model.experts, topK: c.model.topK) }
                let v = evaluate(.valid, windows: c.evalBatches * c.model.batch)
                var line: [(String, JSONValue)] = [("step", .int(step)), ("split", .string("valid")), ("loss", .double(v.loss)),
                                                   (corpus.metricName, .double(corpus.metric(loss: v.loss)))]
                if let st = model.routingStats { line.append(("routing", Self.routingJSON(st))) }
                model.routingStats = nil
                try log?.append(JSONText.object(line))
                progress.line(String(format: "step %d  valid loss %.4f  %@ %.4f", step, v.loss, corpus.metricName, corpus.metric(loss: v.loss)))
                if c.selectBest && v.loss < bestValid, let files {
                    bestValid = v.loss
                    bestStep = step
                    try Checkpoint.saveModel(model.params, to: files.best,
                                             metadata: ["config": c.jsonText, "step": String(step), "valid_loss": String(v.loss)])
                }
            }
            if step % c.checkpointEvery == 0 || step == c.steps { try saveCheckpoint() }
            if let stopAt, step >= stopAt { progress.finish(); return nil }
        }
        progress.finish()

        var r = RunResult()
        r.steps = step
        r.metricName = corpus.metricName
        r.trainSeconds = trainSeconds
        r.tokensPerSecond = trainSeconds > 0 ? tokensPerStep * Double(step) / trainSeconds : 0
        r.trainableParameters = model.layout.parameterCount(trainable: true)
        r.frozenParameters = model.layout.parameterCount(trainable: false)
        r.finalTrainLoss = lastTrainLoss
        r.routerParameters = Routers.parameterCount(c.model)
        r.modelMemoryBytes = 4 * model.layout.totalCount * MemoryLayout<Float>.stride + model.activationBytes
        r.routerShare = trainSeconds > 0 ? routerSeconds / trainSeconds : 0
        // Evaluate the best-validation checkpoint (as the paper does) when it is not the last one.
        if c.selectBest, let files, bestStep > 0, bestStep != step, files.exists(files.best) {
            try Checkpoint.load(model.params, from: try SafeTensorsFile.read(path: files.best))
            r.evalCheckpoint = "best"
            r.bestStep = bestStep
        }
        if r.evalCheckpoint == "last" { r.bestStep = step }
        let windows = c.finalEvalWindows > 0 ? c.finalEvalWindows : nil
        let evalWindows = c.finalEval ? windows : c.evalBatches * c.model.batch
        if !c.model.isDense { model.routingStats = RoutingStats(layers: c.model.layers, experts: c.model.experts, topK: c.model.topK) }
        let v = evaluate(.valid, windows: evalWindows)
        r.routing = model.routingStats
        model.routingStats = nil
        r.validLoss = v.loss; r.validMetric = corpus.metric(loss: v.loss)
        if c.finalEval {
            let t = evaluate(.test, windows: windows)
            r.testLoss = t.loss; r.testMetric = corpus.metric(loss: t.loss)
        }
        r.validFloor = corpus.floor[.valid]
        r.testFloor = corpus.floor[.test]
        r.peakResidentBytes = System.peakResidentBytes
        if let files { try writeFileAtomically(files.final, Self.finalJSON(r, config: c, corpus: corpus)) }
        return r
    }

    /// Per-layer routing statistics of one evaluation: tokens per expert, their coefficient of
    /// variation and max share, dead experts, mean routing entropy and the balance loss rescaled to
    /// 1.0 at perfect balance.
    static func routingJSON(_ st: RoutingStats) -> JSONValue {
        .array(st.summary.map { l in
            .object([
                ("tokens_per_expert", .array(l.tokensPerExpert.map { .int($0) })), ("cv", .double(l.cv)),
                ("max_share", .double(l.maxShare)), ("dead_experts", .int(l.deadExperts)),
                ("entropy", .double(l.entropy)), ("balance", .double(l.balance)),
            ])
        })
    }

    static func finalJSON(_ r: RunResult, config c: RunConfig, corpus: Corpus) -> String {
        var pairs: [(String, JSONValue)] = [
            ("step", .int(r.steps)), ("corpus", .string(corpus.name)), ("router", .string(c.model.router)), ("seed", .int(c.seed)),
            ("metric", .string(r.metricName)),
            ("valid_loss", .double(r.validLoss)), ("valid_\(r.metricName)", .double(r.validMetric)),
            ("test_loss", .double(r.testLoss)), ("test_\(r.metricName)", .double(r.testMetric)),
        ]
        if let f = r.validFloor { pairs.append(("valid_floor_loss", .double(f))); pairs.append(("valid_gap_loss", .double(r.validLoss - f))) }
        if let f = r.testFloor { pairs.append(("test_floor_loss", .double(f))); pairs.append(("test_gap_loss", .double(r.testLoss - f))) }
        pairs += [
            ("final_train_loss", .double(r.finalTrainLoss)),
            ("eval_checkpoint", .string(r.evalCheckpoint)), ("eval_step", .int(r.bestStep)),
            ("trainable_params", .int(r.trainableParameters)), ("frozen_params", .int(r.frozenParameters)),
            ("router_params", .int(r.routerParameters)), ("router_share", .double(r.routerShare)),
            ("train_seconds", .double((r.trainSeconds * 1000).rounded() / 1000)),
            ("seconds_per_1k_steps", .double(r.steps > 0 ? (r.trainSeconds / Double(r.steps) * 1000 * 1000).rounded() / 1000 : 0)),
            ("tokens_per_s", .double(r.tokensPerSecond.rounded())), ("threads", .int(c.resolvedThreads)),
            ("peak_rss_bytes", .int(r.peakResidentBytes)), ("model_memory_bytes", .int(r.modelMemoryBytes)),
        ]
        if let st = r.routing {
            let mean = { (xs: [Double]) in xs.reduce(0, +) / Double(max(xs.count, 1)) }
            pairs += [
                ("balance_mean", .double(mean(st.meanBalance))), ("entropy_mean", .double(mean(st.meanEntropy))),
                ("max_load_mean", .double(mean(st.relativeLoad.map { $0.max() ?? 0 }))),
                ("layer_entropy", .array(st.meanEntropy.map { .double($0) })),
                ("layer_balance", .array(st.meanBalance.map { .double($0) })),
                ("layer_load", .array(st.relativeLoad.map { .array($0.map { .double(($0 * 1000).rounded() / 1000) }) })),
                ("routing", routingJSON(st)),
            ]
        }
        return "{\n" + pairs.map { "  \(JSONText.quote($0.0)): \($0.1.jsonText)" }.joined(separator: ",\n") + "\n}\n"
    }
}
