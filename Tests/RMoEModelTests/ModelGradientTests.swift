import Testing
@testable import RMoECore
@testable import RMoEModel

/// Shared helpers for whole-model tests.
enum ModelFixtures {
    /// A tiny configuration: sizes small enough that every parameter can be finite-differenced.
    static func tiny(vocab: Int = 11, d: Int = 8, layers: Int = 2, heads: Int = 2, ffn: Int = 12,
                     seqLen: Int = 5, batch: Int = 2, router: String = "dense") -> ModelConfig {
        var c = ModelConfig()
        c.router = router
        c.experts = 4; c.topK = 2; c.expertWidth = 6; c[RMoERouter.routerDim] = 5
        c.vocab = vocab; c.dModel = d; c.layers = layers; c.heads = heads; c.ffnWidth = ffn
        c.seqLen = seqLen; c.batch = batch
        c.initStd = 0.3        // well-conditioned gradients for the check
        return c
    }

    /// Fills the model's batch with deterministic tokens; the last target of the first row is ignored.
    static func fillBatch<S>(_ m: LanguageModel<S>, seed: UInt64) {
        var rng = Xoshiro256(seed: seed)
        let V = m.config.vocab
        for i in 0..<m.rows {
            m.tokens[i] = Int32(rng.below(V))
            m.targets[i] = Int32(rng.below(V))
        }
        m.targets[m.config.seqLen - 1] = -1
    }

    /// Worst finite-difference error over every element of every tensor (the analytic gradient
    /// from one forward/backward). Returns (error, tensor name, index).
    /// Frozen tensors are skipped (their gradient is zero by definition; callers check that).
    /// `beforeDifferences` runs after the analytic pass (rmoe-detach freezes its states there).
    /// `trainingDifferences`: the differenced passes run in training mode too (dropout: the same masks,
    /// which depend only on seed, step and position).
    static func worstGradientError(_ m: LanguageModel<Double>, h: Double = 1e-5, trainingDifferences: Bool = false,
                                   beforeDifferences: () -> Void = {}) -> (error: Double, name: String, index: Int) {
        m.grads.zero()
        m.forward(training: true)
        m.backward()
        beforeDifferences()
        var worst = (error: 0.0, name: "", index: 0)
        let maxGrad = (0..<m.layout.totalCount).map { abs(m.grads.base[$0]) }.max()!
        let floor = 1e-3 * maxGrad
        for (pos, spec) in m.layout.specs.enumerated() where spec.trainable {
            let p = m.params.pointer(at: pos), g = m.grads.pointer(at: pos)
            for j in 0..<spec.count {
                let saved = p[j]
                p[j] = saved + h; let lp = m.forward(training: trainingDifferences)
                p[j] = saved - h; let lm = m.forward(training: trainingDifferences)
                p[j] = saved
                let numeric = (lp - lm) / (2 * h)
                let err = abs(g[j] - numeric) / max(abs(g[j]), abs(numeric), floor)
                if err > worst.error { worst = (err, spec.name, j) }
            }
        }
        return worst
    }
}

@Suite("Whole-model gradient (finite differences, Double)")
struct ModelGradientTests {
    @Test("every parameter of a tiny dense model", arguments: [
        ModelFixtures.tiny(), ModelFixtures.tiny(d: 12, layers: 3, heads: 3, ffn: 8, seqLen: 7, batch: 1)])
    func denseModel(config: ModelConfig) throws {
        let m = try LanguageModel<Double>(config: config)
        m.initialize(seed: 1)
        ModelFixtures.fillBatch(m, seed: 2)
        let worst = ModelFixtures.worstGradientError(m)
        #expect(worst.error < 1e-6, "worst: \(worst)")
    }

    @Test("residual dropout: every parameter, dense and MoE, with the masks of one step", arguments: ["dense", "smoe", "rmoe"])
    func residualDropout(router: String) throws {
        var config = ModelFixtures.tiny(router: router)
        config.dropout = 0.3
        let m = try LanguageModel<Double>(config: config)
        m.initialize(seed: 1)
        m.context.seed = 7; m.context.step = 3
        ModelFixtures.fillBatch(m, seed: 2)
        let worst = ModelFixtures.worstGradientError(m, trainingDifferences: true)
        #expect(worst.error < 1e-6, "worst: \(worst)")
        // Dropout acts in training only, and its masks change with the step.
        let evalLoss = m.forward(training: false)
        let trainLoss = m.forward(training: true)
        m.context.step = 4
        let otherStep = m.forward(training: true)
        #expect(evalLoss != trainLoss && trainLoss != otherStep)
        var plain = config
        plain.dropout = 0
        let p = try LanguageModel<Double>(config: plain)
        p.initialize(seed: 1)
        ModelFixtures.fillBatch(p, seed: 2)
        #expect(p.forward(training: false) == evalLoss)
    }
}
