import Foundation
import Testing
import RMoETestSupport
@testable import RMoECore
@testable import RMoEData
@testable import RMoERuns
@testable import RMoEReport
@testable import RMoEModel

@Suite("Routing analyses (docs/routers.md section 4)")
struct AnalysisTests {
    @Test("HyperRouter's router-weight statistic is the W its hypernetwork generates in the forward pass")
    func hyperGeneratedWeight() throws {
        var c = ModelConfig()
        c.router = "hyper"; c.dModel = 16; c.layers = 2; c.heads = 2; c.experts = 4; c.topK = 2; c.expertWidth = 8
        c[HyperRouter.hyperDim] = 6; c.seqLen = 8; c.batch = 2; c.vocab = 20
        let m = try LanguageModel<Float>(config: c)
        m.initialize(seed: 3)
        for i in 0..<m.rows { m.tokens[i] = Int32(i % 20); m.targets[i] = Int32((i + 1) % 20) }
        m.forward(training: false)
        let (name, norms, _) = Analyzer.routerWeights(m)
        #expect(name == "generated W")
        for (l, layer) in m.moeLayers.enumerated() {
            let h = try #require(layer.router as? HyperRouter.Layer<Float>)
            let w = try #require(layer.router.generatedWeight)
            // The statistic is the Frobenius norm of W = A2 ReLU(A1 e + c1) + c2 without its bias column.
            var sq = 0.0
            for e in 0..<c.experts { for j in 0..<c.dModel { sq += Double(h.o[e * (c.dModel + 1) + j]) * Double(h.o[e * (c.dModel + 1) + j]) } }
            #expect(abs(norms[l] - sq.squareRoot()) < 1e-9 * max(1, sq.squareRoot()))
            #expect(w.count == c.experts * c.dModel)
            for e in 0..<c.experts {
                for j in 0..<c.dModel {
                    #expect(abs(w[e * c.dModel + j] - Double(h.o[e * (c.dModel + 1) + j])) < 1e-5)
                }
            }
        }
    }

    @Test("binning: numpy digitize(p, linspace(0, 1, 100)), including exactly 1.0")
    func binning() {
        #expect(RoutingMetrics.bin(0) == 1)
        #expect(RoutingMetrics.bin(0.0101) == 1)  // 1/99 = 0.010101..., so 0.0101 < edge 1
        #expect(RoutingMetrics.bin(0.0102) == 2)
        #expect(RoutingMetrics.bin(1.0 / 99) == 2)  // exactly on edge 1
        #expect(RoutingMetrics.bin(0.5) == 50)  // 49/99 = 0.4949 <= 0.5 < 50/99
        #expect(RoutingMetrics.bin(0.999999) == 99)
        #expect(RoutingMetrics.bin(1.0) == 100)
        #expect(RoutingMetrics.bin(-0.1) == 0)
        // Every value in [0, 1) lands in 1...99 and satisfies the edge rule.
        for i in 0..<10_000 {
            let p = Double(i) / 10_000
            let b = RoutingMetrics.bin(p)
            #expect(b >= 1 && b <= 99 && Double(b - 1) / 99 <= p && p < Double(b) / 99)
        }
    }

    @Test("mutual information against hand-computed values")
    func mutualInformation() {
        // Identical sequences: MI = entropy. Labels (1,1,2,3): H = -(1/2 ln 1/2 + 2 * 1/4 ln 1/4).
        let h = -(0.5 * log(0.5) + 2 * 0.25 * log(0.25))
        #expect(abs(RoutingMetrics.mutualInformation([1, 1, 2, 3], [1, 1, 2, 3]) - h) < 1e-12)
        // Relabelling does not matter.
        #expect(abs(RoutingMetrics.mutualInformation([1, 1, 2, 3], [7, 7, 5, 9]) - h) < 1e-12)
        // Independent (a product design): MI = 0.
        #expect(abs(RoutingMetrics.mutualInformation([0, 0, 1, 1], [0, 1, 0, 1])) < 1e-12)
        // A hand-computed table: pairs (0,0),(0,0),(0,1),(1,1): N = [[2,1],[0,1]].
        let expected = 0.5 * log(4.0 * 2 / (3 * 2)) + 0.25 * log(4.0 * 1 / (3 * 2)) + 0.25 * log(4.0 * 1 / (1 * 2))
        #expect(abs(RoutingMetrics.mutualInformation([0, 0, 0, 1], [0, 0, 1, 1]) - expected) < 1e-12)
        // Long independent random sequences: near zero.
        var rng = Xoshiro256(seed: 1)
        let a = (0..<200_000).map { _ in rng.below(4) }, b = (0..<200_000).map { _ in rng.below(4) }
        #expect(RoutingMetrics.mutualInformation(a, b) < 1e-3)
        // The cross-layer matrix: diagonal = per-token entropy of the bin labels, symmetric.
        let bins: [[[Int]]] = [[[1, 1, 2, 3], [5, 5, 5, 5]], [[4, 4, 6, 7], [5, 6, 7, 8]]]
        let m = RoutingMetrics.crossLayerMI(bins: bins)
        #expect(abs(m[0][0] - (h + 0) / 2) < 1e-12)
        #expect(m[0][1] == m[1][0])
    }

    @Test("expert similarity: identical experts give the number of blocks; orthogonal ones give blocks / E")
    func similarity() {
        let e: [[Double]] = [[1, 2, 3], [0, -1, 4]]
        #expect(abs(RoutingMetrics.expertSimilarity([e, e, e, e]) - 2) < 1e-12)
        #expect(abs(RoutingMetrics.expertSimilarity([e + [[1, 1, 1]], e + [[1, 1, 1]]]) - 3) < 1e-12)
        let ortho: [[[Double]]] = (0..<4).map { i in [(0..<4).map { $0 == i ? 1.0 : 0 }, (0..<4).map { $0 == i ? 2.0 : 0 }] }
        #expect(abs(RoutingMetrics.expertSimilarity(ortho) - 2.0 / 4) < 1e-12)
    }

    @Test("analyse a tiny trained MoE model end to end")
    func endToEnd() throws {
        var c = Fixtures.tinyConfig(steps: 10)
        c.model.router = "rmoe"
        let t = try Trainer(config: c, corpus: Fixtures.corpus(c), files: nil, progress: ProgressPrinter(quiet: true))
        _ = try t.run()
        let a = try Analyzer.analyze(model: t.model, corpus: t.corpus, split: .test, tokens: 300, label: "rmoe")
        #expect(a.tokens == 300)
        #expect(a.mi.count == c.model.layers && a.mi[0].count == c.model.layers)
        // The diagonal is the entropy of one layer's bin labels, at most ln E.
        for l in 0..<c.model.layers { #expect(a.mi[l][l] > 0 && a.mi[l][l] <= log(Double(c.model.experts)) + 1e-9) }
        #expect(a.selection.allSatisfy { abs($0.reduce(0, +) - 1) < 1e-9 })
        #expect(a.outerBalance.allSatisfy { $0 > 0 && $0 <= 1 + 1e-9 })
        #expect(a.innerBalance.allSatisfy { $0 >= 1 })
        let obj = try JSONSerialization.jsonObject(with: Data(a.json.utf8)) as! [String: Any]
        #expect(obj["mi_mean_offdiag"] != nil && obj["expert_similarity_random_init"] != nil)
    }
}
