import Testing
import RMoETestSupport
@testable import RMoECore
@testable import RMoEModel

/// The hash router: the token id alone decides the experts, the same id always gets the same
/// experts in a layer, layers hash differently, and nothing is learnt. (The registry-driven tests
/// check its gradients, thread-count equality and the whole model with it.)
@Suite("Hash router (Roller et al. 2021)")
struct HashRouterTests {
    @Test("each token gets its id's k fixed experts with gate 1/k; same id, same experts; layers differ")
    func routesByTokenId() throws {
        var c = ModelFixtures.tiny(vocab: 11, layers: 2, router: "hash")
        c.experts = 8; c.topK = 2; c.seqLen = 6; c.batch = 3
        let m = try LanguageModel<Double>(config: c)
        m.initialize(seed: 1)
        ModelFixtures.fillBatch(m, seed: 3)
        let stats = RoutingStats(layers: c.layers, experts: c.experts, topK: c.topK)
        m.routingStats = stats
        m.forward(training: false)
        #expect(Routers.parameterCount(c) == 0 && m.layout.specs.allSatisfy { !$0.name.contains("moe.router") })
        for (l, moe) in m.moeLayers.enumerated() {
            for t in 0..<m.rows {
                let chosen = Set((0..<c.topK).map { Int(moe.routing.idx[t * c.topK + $0]) })
                let expected = Set(HashRouter.experts(vocabId: Int(m.tokens[t]), layer: l, experts: c.experts, k: c.topK))
                #expect(chosen == expected)
                for j in 0..<c.topK { #expect(abs(moe.gate[t * c.topK + j] - 0.5) < 1e-12) }
            }
        }
        // Top-k mass is all of it, and the two layers hash the vocabulary differently.
        for mass in stats.meanTopKMass { #expect(mass > 1 - 1e-9) }
        let l0 = (0..<11).map { HashRouter.experts(vocabId: $0, layer: 0, experts: 8, k: 2) }
        let l1 = (0..<11).map { HashRouter.experts(vocabId: $0, layer: 1, experts: 8, k: 2) }
        #expect(l0 != l1)
        #expect(l0.allSatisfy { Set($0).count == 2 && $0.allSatisfy { (0..<8).contains($0) } })
    }

    @Test("no gradient reaches x through the router; the expert path still trains")
    func noRouterGradient() throws {
        var c = ModelFixtures.tiny(router: "hash")
        c.balanceCoef = 0.5
        let m = try LanguageModel<Double>(config: c)
        m.initialize(seed: 2)
        ModelFixtures.fillBatch(m, seed: 4)
        let worst = ModelFixtures.worstGradientError(m)
        #expect(worst.error < 1e-6, "worst: \(worst)")
        #expect(m.grads.buffer("layers.0.moe.experts.w1").contains { $0 != 0 })
    }
}
