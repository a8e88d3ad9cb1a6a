import Testing
import RMoETestSupport
@testable import RMoECore
@testable import RMoEModel

/// The MoE layer and every router: finite-difference gradients in Double through the whole model,
/// and the invariants of issue 4.
@Suite("MoE layer and routers")
struct MoETests {
    /// Every registered router: a new router is covered by every table-driven test here without an edit.
    static let routers = Routers.names

    static func moeModel(
        _ router: String, expert: String = "swiglu", bias: Bool = true, seed: UInt64 = 1,
        layers: Int = 2, residual: String = "own", cosineForm: String = "paper",
        adjust: (inout ModelConfig) -> Void = { _ in }
    ) throws -> LanguageModel<Double> {
        var c = ModelFixtures.tiny(layers: layers, router: router)
        c.expert = ExpertKind(rawValue: expert)!
        c.routerBias = bias
        c.balanceCoef = 0.05  // large enough that its gradient matters in the check
        c[RMoERouter.alpha] = 0.7
        c[RMoERouter.npResidual] = NPResidual(rawValue: residual)!
        c[SMoEMLPRouter.mlpDim] = 7; c[XMoERouter.dim] = 3; c[HyperRouter.hyperDim] = 5; c[CosineRouter.form] = CosineForm(rawValue: cosineForm)!
        adjust(&c)
        let m = try LanguageModel<Double>(config: c)
        m.initialize(seed: seed)
        // Non-trivial biases and norms, so that their gradients are checked too.
        var rng = Xoshiro256(seed: seed + 100)
        for (i, spec) in m.layout.specs.enumerated() where spec.name.contains("bias") || spec.name.hasSuffix("norm.weight") || spec.name.contains(".b") {
            let b = m.params.buffer(at: i)
            for j in 0..<b.count { b[j] += 0.3 * rng.normal() }
        }
        ModelFixtures.fillBatch(m, seed: seed + 7)
        return m
    }

    /// rmoe-detach's gradient is by design not the loss's (h_{l-1} is held constant): the router-alone
    /// test checks it against finite differences with the states frozen.
    @Test("whole two-layer model, every parameter, each router", arguments: routers.filter { $0 != "rmoe-detach" })
    func gradients(router: String) throws {
        let m = try Self.moeModel(router)
        let worst = ModelFixtures.worstGradientError(m)
        #expect(worst.error < 1e-6, "\(router): \(worst)")
        // Frozen tensors (random's router) get exactly zero gradient.
        for (i, spec) in m.layout.specs.enumerated() where !spec.trainable {
            #expect(m.grads.buffer(at: i).allSatisfy { $0 == 0 }, "\(spec.name)")
        }
        if router == "random" { #expect(m.layout.specs.contains { !$0.trainable }) }
    }

    @Test(
        "ReLU experts with biases, routers without biases, accumulated np residual, three layers",
        arguments: [
            ("smoe", "relu", false, "own"), ("rmoe", "relu", true, "own"), ("rmoe", "swiglu", false, "own"),
            ("rmoe-np-r", "swiglu", true, "accumulated"), ("cosine-code", "swiglu", true, "own"),
            ("xmoe-code", "relu", true, "own"), ("smoe-mlp", "swiglu", false, "own"),
        ])
    func variants(args: (String, String, Bool, String)) throws {
        let router = args.0.replacingOccurrences(of: "-code", with: "")
        let m = try Self.moeModel(
            router, expert: args.1, bias: args.2, layers: 3, residual: args.3,
            cosineForm: args.0.hasSuffix("-code") ? "code" : "paper")
        let worst = ModelFixtures.worstGradientError(m)
        #expect(worst.error < 1e-6, "\(args): \(worst)")
    }

    @Test("a one-expert, top-1 MoE equals the dense FFN (forward and gradients)")
    func oneExpertIsDense() throws {
        var dc = ModelFixtures.tiny(router: "dense")
        dc.ffnWidth = 12
        var mc = ModelFixtures.tiny(router: "smoe")
        mc.experts = 1; mc.topK = 1; mc.expertWidth = 12
        let dense = try LanguageModel<Double>(config: dc), moe = try LanguageModel<Double>(config: mc)
        dense.initialize(seed: 3); moe.initialize(seed: 3)
        for (i, spec) in dense.layout.specs.enumerated() {
            let name = spec.name.replacingOccurrences(of: "ffn.w1.weight", with: "moe.experts.w1")
                .replacingOccurrences(of: "ffn.w3.weight", with: "moe.experts.w3").replacingOccurrences(of: "ffn.w2.weight", with: "moe.experts.w2")
            moe.params.pointer(name).update(from: dense.params.pointer(at: i), count: spec.count)
        }
        ModelFixtures.fillBatch(dense, seed: 4); ModelFixtures.fillBatch(moe, seed: 4)
        dense.grads.zero(); moe.grads.zero()
        let ld = dense.forward(training: true), lm = moe.forward(training: true)
        dense.backward(); moe.backward()
        // The balance loss of one expert is 1/k = 1 per layer, whatever the router does.
        #expect(abs(moe.lastBalance - Double(mc.layers)) < 1e-12)
        #expect(abs(ld - moe.lastCrossEntropy) < 1e-12)
        #expect(abs(lm - ld - mc.balanceCoef * Double(mc.layers)) < 1e-12)
        for (i, spec) in dense.layout.specs.enumerated() {
            let name = spec.name.replacingOccurrences(of: "ffn.w1.weight", with: "moe.experts.w1")
                .replacingOccurrences(of: "ffn.w3.weight", with: "moe.experts.w3").replacingOccurrences(of: "ffn.w2.weight", with: "moe.experts.w2")
            let a = dense.grads.pointer(at: i), b = moe.grads.pointer(name)
            for j in 0..<spec.count { #expect(abs(a[j] - b[j]) <= 1e-12 * max(1, abs(a[j])), "\(spec.name)[\(j)]") }
        }
        // With one expert the router receives no gradient at all.
        for l in 0..<mc.layers { #expect(moe.grads.buffer("layers.\(l).moe.router.weight").allSatisfy { $0 == 0 }) }
    }

    @Test("the two gate forms agree: softmax over the k selected logits == softmax, top-k, renormalise")
    func gateForms() {
        let N = 50, E = 9, k = 3
        var rng = Xoshiro256(seed: 5)
        let z = (0..<(N * E)).map { _ in 2 * rng.normal() }
        var idx = [Int32](repeating: 0, count: N * k), w = [Double](repeating: 0, count: N * k)
        Double.topKGate(&idx, &w, z, N, E, k)
        var p = [Double](repeating: 0, count: N * E)
        Double.softmaxRows(&p, z, N, E, 1)
        for n in 0..<N {
            let row = Array(z[n * E..<(n + 1) * E])
            let order = (0..<E).sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }
            #expect(idx[n * k..<(n + 1) * k].map(Int.init) == Array(order.prefix(k)))
            let sel = order.prefix(k).map { p[n * E + $0] }
            let s = sel.reduce(0, +)
            for j in 0..<k { #expect(abs(w[n * k + j] - sel[j] / s) < 1e-14) }
        }
        // Ties go to the lower index.
        var ti = [Int32](repeating: 0, count: 2), tw = [Double](repeating: 0, count: 2)
        Double.topKGate(&ti, &tw, [1, 3, 3, 0, 3], 1, 5, 2)
        #expect(ti == [1, 2])
    }

    @Test("rmoe-np: the GRU's hidden-to-hidden weights get exactly zero gradient; rmoe's do not")
    func npZeroHiddenGradient() throws {
        for (router, zero) in [("rmoe-np", true), ("rmoe-np-r", true), ("rmoe", false), ("rmoe-detach", false)] {
            let m = try Self.moeModel(router)
            m.grads.zero()
            m.forward(training: true)
            m.backward()
            #expect(m.grads.buffer("router_rnn.weight_hh").allSatisfy { $0 == 0 } == zero, "\(router)")
            #expect(m.grads.buffer("router_rnn.bias_hh").contains { $0 != 0 }, "\(router)")
        }
    }

    @Test("rmoe-detach has the same forward as rmoe, and different gradients")
    func detachForward() throws {
        let a = try Self.moeModel("rmoe"), b = try Self.moeModel("rmoe-detach")
        a.grads.zero(); b.grads.zero()
        let la = a.forward(training: true), lb = b.forward(training: true)
        #expect(la.bitPattern == lb.bitPattern)
        a.backward(); b.backward()
        #expect(a.grads.buffer("layers.0.moe.router.proj.weight").map { $0 } != b.grads.buffer("layers.0.moe.router.proj.weight").map { $0 })
    }

    @Test("1 and 2 threads give bitwise equal losses and gradients (Float, MoE, every router)", .serialized, arguments: routers)
    func threadIndependence(router: String) throws {
        func run(threads: Int) throws -> [UInt32] {
            Runtime.setThreads(threads)
            defer { Runtime.setThreads(2) }
            var c = ModelFixtures.tiny(d: 32, layers: 2, heads: 2, seqLen: 64, batch: 4, router: router)
            c.experts = 8; c.topK = 2; c.expertWidth = 48; c[RMoERouter.routerDim] = 16; c.vocab = 50; c.initStd = 0.02
            let m = try LanguageModel<Float>(config: c)
            m.initialize(seed: 9)
            ModelFixtures.fillBatch(m, seed: 10)
            let opt = AdamW<Float>(layout: m.layout)
            var out: [UInt32] = []
            for _ in 0..<3 {
                m.grads.zero()
                out.append(Float(m.forward(training: true)).bitPattern)
                m.backward()
                opt.step(params: m.params, grads: m.grads, lr: 1e-2)
            }
            return out + (0..<m.layout.totalCount).map { m.grads.base[$0].bitPattern }
        }
        #expect(try run(threads: 1) == run(threads: 2))
    }

    @Test(
        "router parameter counts at the medium size equal docs/routers.md 2.10",
        arguments: [
            ("smoe", true, 45_184), ("random", true, 45_184), ("rmoe", true, 477_056), ("rmoe-np", true, 477_056),
            ("rmoe-rnn", true, 411_008), ("rmoe", false, 477_056 - 8 * (128 + 16)),
            ("smoe-mlp", true, 755_840), ("cosine", true, 45_056 + 8), ("xmoe", true, 47_104 + 8), ("hyper", true, 12_338_048),
        ])
    func parameterCounts(args: (String, Bool, Int)) {
        var c = ModelConfig()
        c.dModel = 352; c.experts = 16; c.layers = 8; c[RMoERouter.routerDim] = 128; c.topK = 2; c.expertWidth = 352
        c.router = args.0; c.routerBias = args.1
        #expect(Routers.parameterCount(c) == args.2)
        if args.0 == "random" { #expect(Routers.parameterCount(c, trainable: true) == 0) }
        if args.0 == "hyper" { #expect(Routers.parameterCount(c, trainable: true) == 8 * 352) }
    }
}

@Suite("Frozen parameters")
struct FrozenTests {
    @Test("frozen router tensors are never updated by training; the trainable ones are", arguments: ["random", "hyper"])
    func frozenStayFrozen(router: String) throws {
        var c = ModelFixtures.tiny(router: router)
        c[HyperRouter.hyperDim] = 6; c.initStd = 0.02
        let m = try LanguageModel<Float>(config: c)
        m.initialize(seed: 1)
        ModelFixtures.fillBatch(m, seed: 2)
        let before = (0..<m.layout.totalCount).map { m.params.base[$0] }
        let opt = AdamW<Float>(layout: m.layout, weightDecay: 0.1)
        for _ in 0..<5 {
            m.grads.zero()
            m.forward(training: true)
            m.backward()
            AdamW.clip(m.grads, maxNorm: 1)
            opt.step(params: m.params, grads: m.grads, lr: 1e-2)
        }
        var frozen = 0
        for (i, spec) in m.layout.specs.enumerated() {
            let o = m.layout.offsets[i]
            let same = (0..<spec.count).allSatisfy { m.params.base[o + $0].bitPattern == before[o + $0].bitPattern }
            #expect(same == !spec.trainable, "\(spec.name)")
            if !spec.trainable { frozen += spec.count }
        }
        #expect(frozen > 0 && frozen == m.layout.parameterCount(trainable: false))
    }
}

@Suite("AdamW over the whole slab")
struct AdamWSlabTests {
    @Test(
        "one parallel region over the slab gives the bits of AdamW tensor by tensor, for 1 and 2 threads and any task size",
        arguments: [(1, 7), (2, 7), (2, 16384), (3, 1000)])
    func fusedEqualsPerTensor(threads: Int, taskElements: Int) throws {
        Runtime.setThreads(threads)
        defer { Runtime.setThreads(1) }
        var c = ModelFixtures.tiny(router: "random")  // frozen router tensors: never touched
        c.initStd = 0.02
        let a = try LanguageModel<Float>(config: c), b = try LanguageModel<Float>(config: c)
        a.initialize(seed: 3); b.initialize(seed: 3)
        let fused = AdamW<Float>(layout: a.layout, weightDecay: 0.1, taskElements: taskElements)
        let reference = AdamW<Float>(layout: b.layout, weightDecay: 0.1)
        let scaled: Set<String> = [a.layout.specs.first { $0.trainable }!.name]
        fused.setLearningRateScale(3, for: scaled); reference.setLearningRateScale(3, for: scaled)
        var rng = Xoshiro256(seed: 9)
        for step in 0..<4 {
            for i in 0..<a.layout.totalCount {
                let g = Float(rng.uniform() * 2 - 1) * 1e-2
                a.grads.base[i] = g; b.grads.base[i] = g
            }
            fused.step(params: a.params, grads: a.grads, lr: 1e-2 / Double(step + 1))
            reference.stepPerTensor(params: b.params, grads: b.grads, lr: 1e-2 / Double(step + 1))
        }
        let n = a.layout.totalCount
        #expect((0..<n).allSatisfy { a.params.base[$0].bitPattern == b.params.base[$0].bitPattern })
        #expect((0..<n).allSatisfy { fused.expAvgSq.base[$0].bitPattern == reference.expAvgSq.base[$0].bitPattern })
        #expect((0..<n).contains { a.params.base[$0] != 0 } && fused.updates == 4)
    }
}
