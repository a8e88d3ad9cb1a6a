import RMoECore
import RMoEModel

/// Shared helpers for whole-model tests.
public enum ModelFixtures {
    /// A tiny configuration: sizes small enough that every parameter can be finite-differenced.
    public static func tiny(
        vocab: Int = 11, d: Int = 8, layers: Int = 2, heads: Int = 2, ffn: Int = 12,
        seqLen: Int = 5, batch: Int = 2, router: String = "dense"
    ) -> ModelConfig {
        var c = ModelConfig()
        c.router = router
        c.experts = 4; c.topK = 2; c.expertWidth = 6; c[RMoERouter.routerDim] = 5
        c.vocab = vocab; c.dModel = d; c.layers = layers; c.heads = heads; c.ffnWidth = ffn
        c.seqLen = seqLen; c.batch = batch
        c.initStd = 0.3  // well-conditioned gradients for the check
        return c
    }

    /// Fills the model's batch with deterministic tokens; the last target of the first row is ignored.
    public static func fillBatch<S>(_ m: LanguageModel<S>, seed: UInt64) {
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
    public static func worstGradientError(
        _ m: LanguageModel<Double>, h: Double = 1e-5, trainingDifferences: Bool = false,
        beforeDifferences: () -> Void = {}
    ) -> (error: Double, name: String, index: Int) {
        m.grads.zero()
        m.forward(training: true)
        m.backward()
        beforeDifferences()
        var worst = (error: 0.0, name: "", index: 0)
        let maxGrad = (0..<m.layout.totalCount).map { abs(m.grads.base[$0]) }.max()!
        for (pos, spec) in m.layout.specs.enumerated() where spec.trainable {
            let p = m.params.pointer(at: pos)
            let analytic = Array(m.grads.buffer(at: pos))
            var v = Array(UnsafeBufferPointer(start: p, count: spec.count))
            let w = finiteDifferenceError(&v, analytic: analytic, h: h, absoluteFloor: 1e-3 * maxGrad) { v in
                p.update(from: v, count: v.count)
                return m.forward(training: trainingDifferences)
            }
            p.update(from: v, count: v.count)
            if w.error > worst.error { worst = (w.error, spec.name, w.index) }
        }
        return worst
    }
}
