import Foundation
import RMoECore
import RMoEData
import RMoEDistributed
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
    /// Bytes of parameters, gradients and both AdamW moments on one rank (under expert
    /// parallelism the experts' part is divided by the ranks).
    public var rankStateBytes = 0
    /// Routing statistics of the final validation pass (nil for dense models).
    public var routing: RoutingStats?
    /// Data-parallel ranks, the share of training-step time in their collectives, and how many
    /// times the ranks' parameters were checked bitwise identical.
    public var ranks = 1, communicationShare = 0.0, replicaChecks = 0
    /// Whether the ranks split the experts (expert parallelism) rather than replicate them.
    public var expertParallel = false
    /// Tokens trained on, and that as passes over the train split.
    public var tokensSeen = 0
    public var trainPasses = 0.0
}

/// A run stopped because a loss, a gradient norm or a parameter became non-finite. Nothing
/// non-finite was written: the run folder keeps its last finite checkpoint, and `final.json`
/// records the run as diverged.
public struct TrainingDiverged: Error, CustomStringConvertible {
    public let step: Int
    /// What went non-finite ("training loss is nan", ...).
    public let what: String
    /// The step of the last checkpoint written (0: none).
    public let lastCheckpoint: Int
    public var description: String {
        "run diverged at step \(step): \(what); nothing non-finite was saved (last checkpoint: "
            + (lastCheckpoint > 0 ? "step \(lastCheckpoint)" : "none") + "); lower lr, or set grad_clip, and start a new run"
    }
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
    public internal(set) var step = 0
    var trainSeconds = 0.0
    /// Seconds spent in training steps alone (no logging, evaluation or checkpoints).
    var stepSeconds = 0.0
    var routerSeconds = 0.0
    /// Best validation loss so far (periodic evaluation) and its step.
    var bestValid = Double.infinity, bestStep = 0
    /// Step of the last checkpoint written or loaded.
    var lastCheckpointStep = 0
    /// Lines printed before training (resume notes); shown by `run`.
    public var notes: [String] = []
    /// The processes training this model together (data parallel), and how the global batch is
    /// split: into `parts` = ranks x grad_accum micro-batches of `microBatch` sequences.
    public let comm: Communicator
    public let parts: Int, microBatch: Int
    /// The sum of the micro-batches' gradients (grad_accum > 1).
    let accumulated: Slab<Float>?
    /// Cross-entropy and summed balance loss of the last step (the whole batch's).
    private var lastCE = 0.0, lastBalance = 0.0
    /// Seconds in the ranks' collectives this session, and how many replica checks passed.
    var commSeconds = 0.0, replicaChecks = 0
    /// Seconds this process has spent in the ranks' collectives during training steps.
    public var communicationSeconds: Double { commSeconds }
    /// Expert parallelism: the slab ranges every rank holds whole (their gradients are summed
    /// over the ranks; the experts' are not), and a buffer packing them for the sum.
    let replicated: [Range<Int>]
    let replicatedStage: UnsafeMutableBufferPointer<Float>?

    /// Builds the model for `config` on `corpus` (whose vocabulary size overrides `vocab`).
    /// With a distributed `comm`, every rank builds the same model; each trains on its share of
    /// every batch, and rank 0 alone writes files and prints progress.
    public init(
        config: RunConfig, corpus: Corpus, files: RunFiles?, progress: ProgressPrinter = ProgressPrinter(),
        comm: Communicator = .single
    ) throws {
        var c = config
        c.model.vocab = corpus.vocabSize
        try c.validate()
        try Self.checkSplits(c, corpus)
        let parts = comm.size * c.gradAccum
        guard c.model.batch % parts == 0 else {
            throw RMoEError(
                "batch = \(c.model.batch) is not divisible by \(comm.size) rank(s) x grad_accum \(c.gradAccum) = \(parts); use a batch that is a multiple of \(parts)"
            )
        }
        self.parts = parts
        microBatch = c.model.batch / parts
        var local = c.model
        local.batch = microBatch
        try local.checkMemory(scalarBytes: MemoryLayout<Float>.stride, optimizer: true)
        self.config = c
        self.corpus = corpus
        self.comm = comm
        self.files = comm.isRoot ? files : nil
        self.progress = comm.isRoot ? progress : ProgressPrinter(quiet: true)
        if let files = self.files { removeStaleTemporaries(in: files.dir) }
        Runtime.setThreads(c.resolvedThreads)
        model = try LanguageModel<Float>(config: local, expertExchange: c.expertParallel && comm.isDistributed ? comm : nil)
        model.recordBalanceColumns = parts > 1
        replicated = model.layout.replicatedRanges
        replicatedStage = model.layout.isSharded ? .allocate(capacity: replicated.reduce(0) { $0 + $1.count }) : nil
        accumulated = c.gradAccum > 1 ? Slab<Float>(model.layout) : nil
        model.initialize(seed: UInt64(c.seed))
        optimizer = AdamW(layout: model.layout, beta1: c.beta1, beta2: c.beta2, eps: c.adamEps, weightDecay: c.weightDecay)
        if c.routerLRScale != 1 { optimizer.setLearningRateScale(c.routerLRScale, for: Routers.tensorNames(c.model)) }
        batches = try TrainBatches(tokens: corpus.train, seqLen: c.model.seqLen, batch: c.model.batch, seed: UInt64(c.seed))
        log = self.files.map { MetricsLog(path: $0.metrics) }
    }

    deinit { replicatedStage?.deallocate() }

    /// The splits the run evaluates must hold at least one whole window (seq_len + 1 tokens).
    static func checkSplits(_ c: RunConfig, _ corpus: Corpus) throws {
        var needed: [Corpus.Split] = []
        if c.evalEvery > 0 || c.finalEval || c.selectBest { needed.append(.valid) }
        if c.finalEval { needed.append(.test) }
        for split in needed where corpus.tokens(split).count < c.model.seqLen + 1 {
            throw RMoEError(
                "the \(split.rawValue) split of corpus \(corpus.name) has \(corpus.tokens(split).count) tokens, fewer than one window of seq_len + 1 = \(c.model.seqLen + 1); use a corpus with a real \(split.rawValue) split (or a smaller seq_len)"
            )
        }
    }

    /// Learning rate of update `s` (0-based): linear warm-up to `lr`, then constant, or cosine to
    /// `lr_min` over the horizon (`schedule_steps`, else `steps`) and `lr_min` after it.
    public static func learningRate(_ c: RunConfig, step s: Int) -> Double {
        if s < c.warmup { return c.lr * Double(s + 1) / Double(c.warmup) }
        if c.schedule == .constant { return c.lr }
        let horizon = c.scheduleSteps > 0 ? c.scheduleSteps : c.steps
        let progress = Double(s - c.warmup) / Double(max(1, horizon - c.warmup))
        return c.lrMin + 0.5 * (c.lr - c.lrMin) * (1 + cos(Double.pi * min(1, progress)))
    }

    /// One training step on batch `step`: returns the loss and the gradient norm before clipping.
    /// When either is non-finite the update is not applied and `step` stays (the caller stops the run).
    @discardableResult
    public func trainStep() throws -> (loss: Double, gradNorm: Double) {
        model.context.step = step
        model.context.seed = UInt64(config.seed)
        let loss: Double
        if parts == 1 {
            batches.fill(step: step, input: model.tokens, target: model.targets)
            model.grads.zero()
            loss = model.forward(training: true)
            model.backward()
            lastCE = model.lastCrossEntropy; lastBalance = model.lastBalance
        } else {
            loss = try splitStep()
        }
        let norm = try clipGradients()
        guard loss.isFinite && norm.isFinite else { return (loss, norm) }
        optimizer.step(params: model.params, grads: model.grads, lr: Self.learningRate(config, step: step))
        step += 1
        return (loss, norm)
    }

    /// One step's forward and backward over a batch split into `parts` micro-batches: this rank's
    /// `grad_accum` micro-batches one after another, the ranks side by side. The whole batch's
    /// quantities are assembled exactly as one process would: the cross-entropy is normalised by
    /// the whole batch's targets, the balance loss uses the whole batch's expert counts f and
    /// probability sums P (each part's, summed in order: micro-batches, then ranks), and the
    /// gradients of the parts are summed in the same order. So N ranks compute bitwise what one
    /// process computes with grad_accum = N. With grad_accum > 1 each micro-batch's forward pass runs
    /// twice: once for the balance statistics, which its backward pass needs from all of them.
    /// Returns the whole batch's loss; the summed gradient is in `model.grads`.
    func splitStep() throws -> Double {
        let M = config.gradAccum, S = config.model.seqLen, tokens = config.model.batch * S
        model.lossNormalizer = tokens
        defer { model.lossNormalizer = nil; model.clearBatchBalance() }
        func load(_ m: Int) {
            let first = (comm.rank * M + m) * microBatch
            batches.fill(step: step, rows: first..<(first + microBatch), input: model.tokens, target: model.targets)
            model.context.rowOffset = first * S
        }
        // The balance statistics and loss sums of every part, summed in order.
        var lossSum = 0.0
        var stats: [(counts: [Int32], columnSums: [Double])] = []
        let exchanged = model.expertExchange?.exchangeSeconds ?? 0
        defer { commSeconds += (model.expertExchange?.exchangeSeconds ?? 0) - exchanged }
        for m in 0..<M {
            load(m)
            model.forward(training: true)
            try model.expertExchange?.throwIfFailed()
            lossSum += model.lastLossSum
            let p = model.balanceParts()
            if stats.isEmpty {
                stats = p
            } else {
                for l in stats.indices {
                    for e in stats[l].counts.indices { stats[l].counts[e] += p[l].counts[e]; stats[l].columnSums[e] += p[l].columnSums[e] }
                }
            }
        }
        if comm.isDistributed {
            // Ranks' parts in rank order: counts (exact in doubles), column sums, loss sums.
            let flat = stats.flatMap { $0.counts.map(Double.init) + $0.columnSums } + [lossSum]
            let all = try comm.gather(flat)
            var sum = all[0]
            for r in all.dropFirst() { for i in sum.indices { sum[i] += r[i] } }
            var at = 0
            for l in stats.indices {
                let E = stats[l].counts.count
                stats[l].counts = sum[at..<(at + E)].map { Int32($0) }; at += E
                stats[l].columnSums = Array(sum[at..<(at + E)]); at += E
            }
            lossSum = sum[at]
        }
        let balance = model.setBatchBalance(stats, tokens: tokens)
        // Gradients: each part's from zero, summed in order.
        if M == 1 {
            model.grads.zero()
            model.backward()
            try model.expertExchange?.throwIfFailed()
        } else {
            let acc = accumulated!
            for m in 0..<M {
                load(m)
                model.forward(training: true)
                model.grads.zero()
                model.backward()
                try model.expertExchange?.throwIfFailed()
                if m == 0 {
                    acc.base.update(from: model.grads.base, count: acc.layout.totalCount)
                } else {
                    for i in 0..<acc.layout.totalCount { acc.base[i] += model.grads.base[i] }
                }
            }
            model.grads.base.update(from: acc.base, count: acc.layout.totalCount)
        }
        try reduceGradients()
        model.context.rowOffset = 0
        lastCE = lossSum / Double(tokens)
        lastBalance = balance
        return lastCE + config.model.balanceCoef * balance
    }

    /// Windows of the periodic validation (`eval_batches` batches; nil = the whole split).
    var periodicEvalWindows: Int? { config.evalBatches > 0 ? config.evalBatches * config.model.batch : nil }

    /// Mean loss (nats per predicted token) over a split, or over its first `windows` sequences.
    /// Windows go through the model `microBatch` at a time; with several ranks, group g of them to
    /// rank g mod N, and the ranks' sums (and routing statistics) are added in rank order.
    public func evaluate(_ split: Corpus.Split, windows: Int? = nil) throws -> (loss: Double, tokens: Int) {
        let w = EvalWindows(tokens: corpus.tokens(split), seqLen: config.model.seqLen)
        let total = min(w.windowCount, windows ?? Int.max)
        let B = microBatch
        var sum = 0.0, count = 0
        var first = comm.rank * B
        // Expert parallelism: every rank makes the same number of passes (their exchanges pair up);
        // a rank past the end runs its last batch again and counts nothing.
        let rounds = model.expertExchange == nil ? 0 : (total + B * comm.size - 1) / (B * comm.size)
        var round = 0
        while first < total || round < rounds {
            if first < total {
                w.fill(first: first, batch: B, input: model.tokens, target: model.targets, limitWindows: total)
                model.forward(training: false)  // the per-token cross-entropies; the balance term is not part of the metric
                for x in model.lastLosses { sum += Double(x) }
                count += model.lastCountedTokens
            } else {
                let stats = model.routingStats
                model.routingStats = nil
                model.forward(training: false)
                model.routingStats = stats
            }
            try model.expertExchange?.throwIfFailed()
            first += B * comm.size
            round += 1
        }
        if comm.isDistributed {
            let s = try comm.sumInRankOrder([sum, Double(count)])
            sum = s[0]; count = Int(s[1])
            if let st = model.routingStats { try st.merge(ranks: comm) }
        }
        return (count > 0 ? sum / Double(count) : .nan, count)
    }

    // MARK: - Files

    /// Loads `train-state.safetensors` if the run folder has one; returns the step it resumes from.
    /// The state must belong to this run: its config may differ from the run's only in the fields
    /// a resumed run may change (`RunConfig.resumableFields`), its tensors must match the model
    /// exactly, and its counters must be in range. Without a state the run starts at step 0, and
    /// what an earlier attempt left (metrics lines, best and kept weights) is cleared.
    public func resume() throws -> Int {
        guard let files else { return 0 }
        guard files.exists(files.trainState) else {
            let dropped = try log?.truncate(after: 0) ?? 0
            var stale = [files.best, files.model]
            if let names = try? FileManager.default.contentsOfDirectory(atPath: files.dir) {
                stale += names.filter { $0.hasPrefix("model-step") && RunFiles.isRunFile($0) }.map { files.dir + "/" + $0 }
            }
            for f in stale where files.exists(f) { try removeFile(f) }
            if dropped > 0 {
                notes.append(
                    "no train-state.safetensors in \(files.dir): training starts again at step 0 (\(dropped) metrics lines of the earlier attempt removed)")
            }
            return 0
        }
        let state = try SafeTensorsFile.read(path: files.trainState)
        let what = "train state \(files.trainState)"
        guard let savedText = state.metadata["config"] else {
            throw RMoEError("\(what) carries no config in its metadata; it was not written by this run: delete the run folder and start again")
        }
        var saved = try RunConfig.fromJSON(savedText, origin: what + " metadata")
        saved.model.vocab = config.model.vocab
        let differing = config.differingFields(from: saved).filter { !RunConfig.resumableFields.contains($0) }
        if !differing.isEmpty {
            let detail = differing.prefix(4).map { "\($0) \(saved.value(of: $0) ?? "?") -> \(config.value(of: $0) ?? "?")" }.joined(separator: ", ")
            throw RMoEError(
                "\(what) was made with another config (\(detail)); it does not belong to this run: start a new run with --out, or resume with the run's own config"
            )
        }
        try Checkpoint.loadTrainState(params: model.params, optimizer: optimizer, from: state)
        func counter(_ key: String) -> Int? { state.metadata[key].flatMap { Int($0) } }
        guard let s = counter("step"), s >= 0, s == optimizer.updates else {
            throw RMoEError(
                "\(what) has no valid step (step \(state.metadata["step"] ?? "missing"), optimizer updates \(optimizer.updates)); the run folder is damaged: start the run again"
            )
        }
        guard s <= config.steps else {
            throw RMoEError("\(what) is at step \(s), past steps = \(config.steps); a run cannot be shortened: resume with --steps \(s) or more")
        }
        let seconds = state.metadata["train_seconds"].flatMap(Double.init) ?? 0
        let router = state.metadata["router_seconds"].flatMap(Double.init) ?? 0
        let stepTime = state.metadata["step_seconds"].flatMap(Double.init) ?? seconds
        let best = state.metadata["best_valid_loss"].flatMap(Double.init) ?? .infinity
        let bestAt = counter("best_step") ?? 0
        guard seconds.isFinite, seconds >= 0, router.isFinite, router >= 0, !best.isNaN, best > -Double.infinity, bestAt >= 0, bestAt <= s else {
            throw RMoEError(
                "\(what) has counters out of range (train_seconds \(seconds), best_step \(bestAt) at step \(s)); the run folder is damaged: start the run again"
            )
        }
        trainSeconds = seconds; routerSeconds = router; bestValid = best; bestStep = bestAt
        stepSeconds = stepTime.isFinite && stepTime >= 0 ? stepTime : seconds
        step = s
        lastCheckpointStep = s
        if let dropped = try log?.truncate(after: s), dropped > 0 {
            notes.append("metrics.jsonl cut back to step \(s) (\(dropped) lines after the last checkpoint removed)")
        }
        return s
    }

    private func removeFile(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT {
            throw RMoEError("cannot remove \(path) (\(AtomicFile.reason(errno))); check the run folder's permissions")
        }
    }

    /// The provenance of files written now.
    var provenance: Provenance { Provenance(threads: config.resolvedThreads, ranks: comm.size) }

    /// Checkpoint metadata: the config, the provenance and the given counters.
    func metadata(_ extra: [String: String]) -> [String: String] {
        extra.merging(["config": config.jsonText, "provenance": provenance.json.jsonText]) { a, _ in a }
    }

    // MARK: - The run

    /// Trains from the current step to `config.steps`, then evaluates; writes every file of the run.
    /// `stopAt` ends the session early after that step's checkpoint (as if the process were
    /// killed there); the result is then nil.
    @discardableResult
    public func run(stopAt: Int? = nil) throws -> RunResult? {
        do {
            return try train(stopAt: stopAt)
        } catch let d as TrainingDiverged {
            progress.finish()
            if let files { try writeFileAtomically(files.final, divergedJSON(d)) }
            throw d
        }
    }

    /// final.json of a diverged run.
    func divergedJSON(_ d: TrainingDiverged) -> String {
        let c = config
        let pairs: [(String, JSONValue)] = [
            ("status", .string("diverged")), ("step", .int(d.step)), ("diverged_at", .int(d.step)), ("cause", .string(d.what)),
            ("last_checkpoint_step", .int(d.lastCheckpoint)), ("corpus", .string(corpus.name)), ("router", .string(c.model.router)),
            ("seed", .int(c.seed)), ("metric", .string(corpus.metricName)), ("threads", .int(c.resolvedThreads)),
            ("provenance", provenance.json),
        ]
        return "{\n" + pairs.map { "  \(JSONText.quote($0.0)): \($0.1.jsonText)" }.joined(separator: ",\n") + "\n}\n"
    }

    private func train(stopAt: Int?) throws -> RunResult? {
        if let files {
            try files.create()
            try writeFileAtomically(files.config, config.fileText(provenance: provenance))
            try log?.open()
        }
        for n in notes { progress.line(n) }
        let c = config
        let tokensPerStep = Double(c.model.batch * c.model.seqLen)
        let startStep = step
        if startStep == 0 {
            let frozen = model.layout.parameterCount(trainable: false)
            progress.line(
                String(
                    format: "training %@ on %@: %@ trainable parameters%@ (router %@), %d steps of %d tokens, %d threads",
                    c.model.router, corpus.name, formatCount(Double(model.layout.parameterCount(trainable: true))),
                    frozen > 0 ? " + \(formatCount(Double(frozen))) frozen" : "",
                    formatCount(Double(Routers.parameterCount(c.model))),
                    c.steps, c.model.batch * c.model.seqLen, c.resolvedThreads))
        } else {
            progress.line("resuming at step \(startStep) of \(c.steps)")
        }
        var intervalLoss = 0.0, intervalCE = 0.0, intervalBalance = 0.0, intervalSteps = 0, intervalStepSeconds = 0.0, lastNorm = 0.0
        var lastTrainLoss = Double.nan
        let runStart = System.now(), secondsBefore = trainSeconds
        let routerBefore = routerSeconds, clockStart = model.routerClock.seconds
        while step < c.steps {
            let stepStart = System.now()
            let (loss, norm) = try trainStep()
            let stepTime = System.now() - stepStart
            stepSeconds += stepTime; intervalStepSeconds += stepTime
            if !loss.isFinite || !norm.isFinite {
                let what = !loss.isFinite ? "the training loss is \(loss)" : "the gradient norm is \(norm) (loss \(loss))"
                throw TrainingDiverged(step: step + 1, what: what, lastCheckpoint: lastCheckpointStep)
            }
            intervalLoss += loss; intervalSteps += 1; lastNorm = norm
            intervalCE += lastCE; intervalBalance += lastBalance
            trainSeconds = secondsBefore + (System.now() - runStart)
            routerSeconds = routerBefore + (model.routerClock.seconds - clockStart)
            let done = step - startStep
            let perStep = (System.now() - runStart) / Double(done)
            progress.status(
                String(
                    format: "step %d/%d  loss %.4f  %@ tok/s  ETA %@", step, c.steps, loss,
                    formatCount(tokensPerStep / perStep), formatDuration(perStep * Double(c.steps - step))))
            if step % c.logEvery == 0 || step == c.steps {
                // Training steps only: logging, evaluation and checkpoints are not in the rate.
                let tps = tokensPerStep * Double(intervalSteps) / intervalStepSeconds
                lastTrainLoss = intervalLoss / Double(intervalSteps)
                try log?.append(
                    JSONText.object([
                        ("step", .int(step)), ("split", .string("train")), ("loss", .double(lastTrainLoss)),
                        ("ce", .double(intervalCE / Double(intervalSteps))), ("balance_loss", .double(intervalBalance / Double(intervalSteps))),
                        ("lr", .double(Self.learningRate(c, step: step - 1))), ("grad_norm", .double(lastNorm)),
                        ("tokens_per_s", .double(tps.rounded())), ("elapsed_s", .double((trainSeconds * 1000).rounded() / 1000)),
                    ]))
                if !progress.interactive {
                    progress.line(
                        String(
                            format: "step %d/%d  loss %.4f  lr %.2e  %@ tok/s  ETA %@", step, c.steps, lastTrainLoss,
                            Self.learningRate(c, step: step - 1), formatCount(tps), formatDuration(perStep * Double(c.steps - step))))
                }
                intervalLoss = 0; intervalCE = 0; intervalBalance = 0; intervalSteps = 0; intervalStepSeconds = 0
            }
            if c.evalEvery > 0 && (step % c.evalEvery == 0 || step == c.steps) {
                if !c.model.isDense { model.routingStats = RoutingStats(layers: c.model.layers, experts: c.model.experts, topK: c.model.topK) }
                let v = try evaluate(.valid, windows: periodicEvalWindows)
                if !v.loss.isFinite {
                    throw TrainingDiverged(step: step, what: "the validation loss is \(v.loss)", lastCheckpoint: lastCheckpointStep)
                }
                var line: [(String, JSONValue)] = [
                    ("step", .int(step)), ("split", .string("valid")), ("loss", .double(v.loss)),
                    (corpus.metricName, .double(corpus.metric(loss: v.loss))), ("tokens", .int(v.tokens)),
                ]
                if let st = model.routingStats { line.append(("routing", Self.routingJSON(st))) }
                model.routingStats = nil
                try log?.append(JSONText.object(line))
                progress.line(String(format: "step %d  valid loss %.4f  %@ %.4f", step, v.loss, corpus.metricName, corpus.metric(loss: v.loss)))
                // Every rank decides alike (the loss is the same sum on every rank): the saves gather.
                if c.selectBest && v.loss < bestValid {
                    try ensureFiniteParameters()
                    bestValid = v.loss
                    bestStep = step
                    try saveWeights(to: files?.best, metadata: metadata(["step": String(step), "valid_loss": String(v.loss)]))
                }
            }
            if c.keepSteps.contains(step) {
                try ensureFiniteParameters()
                try saveWeights(to: files?.kept(step: step), metadata: metadata(["step": String(step)]))
            }
            if step % c.checkpointEvery == 0 || step == c.steps { try saveCheckpoint() }
            if let stopAt, step >= stopAt { progress.finish(); return nil }
        }
        progress.finish()

        var r = RunResult()
        r.steps = step
        r.metricName = corpus.metricName
        r.trainSeconds = trainSeconds
        r.tokensPerSecond = stepSeconds > 0 ? tokensPerStep * Double(step) / stepSeconds : 0
        r.ranks = comm.size
        r.expertParallel = model.expertExchange != nil
        r.communicationShare = stepSeconds > 0 ? commSeconds / stepSeconds : 0
        r.replicaChecks = replicaChecks
        // The whole model's counts (under expert parallelism this rank holds fewer).
        let whole = try TensorLayout(c.model.parameterSpecs())
        r.trainableParameters = whole.parameterCount(trainable: true)
        r.frozenParameters = whole.parameterCount(trainable: false)
        r.finalTrainLoss = lastTrainLoss
        r.routerParameters = Routers.parameterCount(c.model)
        r.rankStateBytes = 4 * model.layout.totalCount * MemoryLayout<Float>.stride
        r.modelMemoryBytes = r.rankStateBytes + model.activationBytes
        r.routerShare = trainSeconds > 0 ? routerSeconds / trainSeconds : 0
        // Evaluate the best-validation checkpoint (as the paper does) when it is not the last one.
        if try useBestWeights() {
            r.evalCheckpoint = "best"
            r.bestStep = bestStep
        }
        if r.evalCheckpoint == "last" { r.bestStep = step }
        let windows = c.finalEvalWindows > 0 ? c.finalEvalWindows : nil
        let evalWindows = c.finalEval ? windows : periodicEvalWindows
        if !c.model.isDense { model.routingStats = RoutingStats(layers: c.model.layers, experts: c.model.experts, topK: c.model.topK) }
        let v = try evaluate(.valid, windows: evalWindows)
        r.routing = model.routingStats
        model.routingStats = nil
        r.validLoss = v.loss; r.validMetric = corpus.metric(loss: v.loss)
        if !v.loss.isFinite { throw TrainingDiverged(step: step, what: "the final validation loss is \(v.loss)", lastCheckpoint: lastCheckpointStep) }
        if c.finalEval {
            let t = try evaluate(.test, windows: windows)
            r.testLoss = t.loss; r.testMetric = corpus.metric(loss: t.loss)
            if !t.loss.isFinite { throw TrainingDiverged(step: step, what: "the test loss is \(t.loss)", lastCheckpoint: lastCheckpointStep) }
        }
        r.tokensSeen = step * c.model.batch * c.model.seqLen
        r.trainPasses = Double(r.tokensSeen) / Double(max(corpus.train.count, 1))
        r.validFloor = corpus.floor[.valid]
        r.testFloor = corpus.floor[.test]
        r.peakResidentBytes = System.peakResidentBytes
        if let files { try writeFileAtomically(files.final, Self.finalJSON(r, config: c, corpus: corpus, provenance: provenance)) }
        return r
    }

    /// Per-layer routing statistics of one evaluation: tokens per expert, their coefficient of
    /// variation and max share, dead experts, mean routing entropy and the balance loss rescaled to
    /// 1.0 at perfect balance.
    static func routingJSON(_ st: RoutingStats) -> JSONValue {
        .array(
            st.summary.map { l in
                .object([
                    ("tokens_per_expert", .array(l.tokensPerExpert.map { .int($0) })), ("cv", .double(l.cv)),
                    ("max_share", .double(l.maxShare)), ("dead_experts", .int(l.deadExperts)),
                    ("entropy", .double(l.entropy)), ("balance_ratio", .double(l.balance)), ("topk_mass", .double(l.topKMass)),
                ])
            })
    }

    static func finalJSON(_ r: RunResult, config c: RunConfig, corpus: Corpus, provenance: Provenance) -> String {
        var pairs: [(String, JSONValue)] = [
            ("status", .string("complete")), ("step", .int(r.steps)), ("corpus", .string(corpus.name)), ("router", .string(c.model.router)),
            ("seed", .int(c.seed)),
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
            ("rank_state_bytes", .int(r.rankStateBytes)),
            ("tokens_seen", .int(r.tokensSeen)), ("train_passes", .double((r.trainPasses * 1000).rounded() / 1000)),
            ("ranks", .int(r.ranks)), ("grad_accum", .int(c.gradAccum)), ("expert_parallel", .bool(r.expertParallel)),
            ("communication_share", .double((r.communicationShare * 10000).rounded() / 10000)), ("replica_checks", .int(r.replicaChecks)),
        ]
        if let st = r.routing {
            let mean = { (xs: [Double]) in xs.reduce(0, +) / Double(max(xs.count, 1)) }
            pairs += [
                ("balance_ratio_mean", .double(mean(st.meanBalance))), ("entropy_mean", .double(mean(st.meanEntropy))),
                ("max_load_mean", .double(mean(st.relativeLoad.map { $0.max() ?? 0 }))),
                ("layer_entropy", .array(st.meanEntropy.map { .double($0) })),
                ("layer_topk_mass", .array(st.meanTopKMass.map { .double($0) })),
                ("layer_balance_ratio", .array(st.meanBalance.map { .double($0) })),
                ("layer_load", .array(st.relativeLoad.map { .array($0.map { .double(($0 * 1000).rounded() / 1000) }) })),
                ("routing", routingJSON(st)),
            ]
        }
        pairs.append(("provenance", provenance.json))
        return "{\n" + pairs.map { "  \(JSONText.quote($0.0)): \($0.1.jsonText)" }.joined(separator: ",\n") + "\n}\n"
    }
}

extension RoutingStats {
    /// Adds every rank's statistics in rank order (every rank ends with the sum).
    func merge(ranks comm: Communicator) throws { unpack(try comm.sumInRankOrder(packed)) }
}
