import Testing
import RMoETestSupport
@testable import RMoECore
@testable import RMoEModel

@Suite("Whole-model gradient (finite differences, Double)")
struct ModelGradientTests {
    @Test(
        "every parameter of a tiny dense model",
        arguments: [
            ModelFixtures.tiny(), ModelFixtures.tiny(d: 12, layers: 3, heads: 3, ffn: 8, seqLen: 7, batch: 1),
        ])
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
