import Testing
import RMoETestSupport
@testable import RMoECore
@testable import RMoEModel

/// Each router on its own, outside the MoE layer: three layers' routers of one family (sharing
/// their family's state, as in a model) map random inputs x_l [T, d] to logits z_l [T, E]; the
/// loss is sum_l <c_l, z_l> (+ <b_l, s_l> for routers whose balance scores s_l are not the logits:
/// XMoE). Central finite differences in Double of every trainable router tensor and of every
/// input element against the routers' backward passes (run in reverse layer order).
@Suite("Routers and the MoE layer alone: finite-difference gradients (Double)")
struct RouterGradientTests {
    final class Chain {
        let config: ModelConfig
        let model: LanguageModel<Double>  // holds the parameter and gradient slabs
        let pool = BufferPool()
        let shared: AnyObject?
        let routers: [any RouterLayer<Double>]
        let T: Int, d: Int, E: Int, L: Int
        let logits: [UnsafeMutablePointer<Double>]
        var x: [Double], cz: [Double], cb: [Double]

        init(_ router: String, adjust: (inout ModelConfig) -> Void = { _ in }) throws {
            let m = try MoETests.moeModel(router, layers: 3, adjust: adjust)
            let c = m.config, buffers = pool
            model = m; config = c
            let family = try #require(Routers.family(of: router))
            let sh = family.makeShared(c, buffers: buffers, scalar: Double.self)
            shared = sh
            let ctx = ForwardContext()
            routers = (0..<c.layers).map { l in
                family.make(
                    RouterEnvironment(
                        config: c, layer: l, params: m.params, grads: m.grads,
                        buffers: buffers, shared: sh, context: ctx, tokenIds: UnsafePointer(m.tokens)))
            }
            let (t, e, layers) = (c.batch * c.seqLen, c.experts, c.layers)
            T = t; d = c.dModel; E = e; L = layers
            logits = (0..<layers).map { _ in buffers.make(t * e) }
            var rng = Xoshiro256(seed: 17)
            x = (0..<(L * T * d)).map { _ in rng.normal() }
            cz = (0..<(L * T * E)).map { _ in rng.normal() }
            cb = (0..<(L * T * E)).map { _ in rng.normal() }
        }

        /// Runs after each layer's forward pass in `loss` (the detach checks restore frozen states there).
        var afterLayer: ((Int) -> Void)? = nil

        /// sum_l <c_l, z_l> + <b_l, balance scores_l>.
        func loss() -> Double {
            var s = 0.0
            x.withUnsafeBufferPointer { xb in
                for l in 0..<L {
                    routers[l].forward(x: xb.baseAddress! + l * T * d, logits: logits[l])
                    afterLayer?(l)
                    for i in 0..<(T * E) { s += cz[l * T * E + i] * logits[l][i] }
                    if let b = routers[l].balanceScores {
                        for i in 0..<(T * E) { s += cb[l * T * E + i] * b.scores[i] }
                    }
                }
            }
            return s
        }

        /// Forward, then backward in reverse layer order; returns dL/dx.
        func backward() -> [Double] {
            model.grads.zero()
            _ = loss()
            var dx = [Double](repeating: 0, count: L * T * d)
            let dz = UnsafeMutablePointer<Double>.allocate(capacity: T * E)
            defer { dz.deallocate() }
            x.withUnsafeBufferPointer { xb in
                dx.withUnsafeMutableBufferPointer { db in
                    for l in stride(from: L - 1, through: 0, by: -1) {
                        for i in 0..<(T * E) { dz[i] = cz[l * T * E + i] }
                        if let b = routers[l].balanceScores {
                            for i in 0..<(T * E) { b.grad[i] = cb[l * T * E + i] }
                        }
                        routers[l].backward(x: xb.baseAddress! + l * T * d, dLogits: dz, dx: db.baseAddress! + l * T * d)
                    }
                }
            }
            return dx
        }
    }

    @Test("every router tensor and the inputs, three chained layers", arguments: MoETests.routers + ["rmoe-np-r detach-r", "smoe-mlp no-b2"])
    func gradients(variant: String) throws {
        let router = String(variant.split(separator: " ")[0])
        let chain = try Chain(router) { c in
            c[RMoERouter.npResidualDetach] = variant.hasSuffix("detach-r")
            if variant.hasSuffix("no-b2") { c[SMoEMLPRouter.mlpOutBias] = false }
        }
        if variant.hasSuffix("no-b2") {
            let names = chain.model.layout.specs.map(\.name)
            #expect(names.contains("layers.0.moe.router.fc1.bias") && !names.contains("layers.0.moe.router.fc2.bias"))
        }
        let dx = chain.backward()
        // detach-r's gradient treats the previous layer's logits in the residual as constants, and
        // rmoe-detach's treats h_{l-1} as one: the differenced loss overwrites what a layer hands to
        // the next with its value at the analytic pass (exactly that function).
        if let s = chain.shared as? RMoERouter.Shared<Double>, variant.hasSuffix("detach-r") || router == "rmoe-detach" {
            let states = router == "rmoe-detach"
            let n = chain.T * (states ? chain.config[RMoERouter.routerDim] : chain.E)
            let saved = (0..<chain.L).map { l in Array(UnsafeBufferPointer(start: states ? s.h[l] : s.logits[l], count: n)) }
            chain.afterLayer = { l in
                saved[l].withUnsafeBufferPointer { (states ? s.h[l] : s.logits[l]).update(from: $0.baseAddress!, count: n) }
            }
        }
        // Inputs.
        var x = chain.x
        let wx = finiteDifferenceError(&x, analytic: dx) { v in
            chain.x = v; return chain.loss()
        }
        chain.x = x
        #expect(wx.error < 1e-6, "\(router) dx: \(wx)")
        // A router with tensors reads x (its gradient reaches x); one without (hash) routes by token id alone.
        let readsX = !(try #require(Routers.family(of: router))).layerSpecs(chain.config, layer: 0).isEmpty
        #expect(dx.contains { $0 != 0 } == readsX)
        // Every trainable router tensor (per-layer and shared); frozen ones get exactly zero.
        var checked = 0
        for (pos, spec) in chain.model.layout.specs.enumerated() where spec.name.contains(".moe.router.") || spec.name.hasPrefix("router_rnn.") {
            let p = chain.model.params.pointer(at: pos), g = chain.model.grads.pointer(at: pos)
            let analytic = Array(UnsafeBufferPointer(start: g, count: spec.count))
            guard spec.trainable else {
                #expect(analytic.allSatisfy { $0 == 0 }, "\(spec.name) is frozen")
                continue
            }
            var v = Array(UnsafeBufferPointer(start: p, count: spec.count))
            let w = finiteDifferenceError(&v, analytic: analytic) { v in
                p.update(from: v, count: v.count)
                return chain.loss()
            }
            p.update(from: v, count: v.count)
            #expect(w.error < 1e-6, "\(router) \(spec.name): \(w)")
            checked += 1
        }
        // random's router is frozen and hash has none: nothing to check but the zero gradients and dx above.
        let trainable = chain.model.layout.specs.contains { ($0.name.contains(".moe.router.") || $0.name.hasPrefix("router_rnn.")) && $0.trainable }
        #expect((checked > 0) == trainable, "\(router): \(checked) tensors checked")
    }

    /// One MoE layer alone (layer 0 of a model's slabs): loss = <c, MoE(x)> + coef * balance.
    @Test(
        "the MoE layer alone: x, every expert tensor and the router (finite differences)",
        arguments: [("smoe", "swiglu"), ("smoe", "relu"), ("rmoe", "swiglu"), ("xmoe", "relu"), ("smoe-mlp", "swiglu")])
    func moeLayer(args: (String, String)) throws {
        let m = try MoETests.moeModel(args.0, expert: args.1, layers: 1)
        let c = m.config, pool = BufferPool()
        let family = try #require(Routers.family(of: c.router))
        let layer = MoELayer<Double>(
            layer: 0, config: c, params: m.params, grads: m.grads, pool: pool,
            shared: family.makeShared(c, buffers: pool, scalar: Double.self), context: ForwardContext(),
            tokenIds: UnsafePointer(m.tokens), routerClock: Stopwatch(), scratch: MoELayer<Double>.Scratch(c, pool))
        let T = c.batch * c.seqLen, d = c.dModel, coef = 0.3
        var rng = Xoshiro256(seed: 23)
        var x = (0..<(T * d)).map { _ in rng.normal() }
        let cy = (0..<(T * d)).map { _ in rng.normal() }
        let y = pool.make(T * d, of: Double.self)
        func loss(_ v: [Double]) -> Double {
            y.update(repeating: 0, count: T * d)
            v.withUnsafeBufferPointer { layer.forward(y: y, x: $0.baseAddress!, stats: nil) }
            var s = coef * layer.balanceLoss
            for i in 0..<(T * d) { s += cy[i] * y[i] }
            return s
        }
        m.grads.zero()
        _ = loss(x)
        var dx = [Double](repeating: 0, count: T * d)
        x.withUnsafeBufferPointer { xb in
            cy.withUnsafeBufferPointer { cb in
                dx.withUnsafeMutableBufferPointer { layer.backward(dx: $0.baseAddress!, dy: cb.baseAddress!, x: xb.baseAddress!, balanceCoef: coef) }
            }
        }
        let wx = finiteDifferenceError(&x, analytic: dx, loss: loss)
        #expect(wx.error < 1e-6, "\(args) dx: \(wx)")
        var checked = 0
        for (pos, spec) in m.layout.specs.enumerated() where spec.name.hasPrefix("layers.0.moe.") || spec.name.hasPrefix("router_rnn.") {
            guard spec.trainable else { continue }
            let p = m.params.pointer(at: pos)
            let analytic = Array(UnsafeBufferPointer(start: m.grads.pointer(at: pos), count: spec.count))
            var v = Array(UnsafeBufferPointer(start: p, count: spec.count))
            let w = finiteDifferenceError(&v, analytic: analytic) { v in
                p.update(from: v, count: v.count); return loss(x)
            }
            p.update(from: v, count: v.count)
            #expect(w.error < 1e-6, "\(args) \(spec.name): \(w)")
            checked += 1
        }
        #expect(checked >= (args.1 == "relu" ? 4 : 3) + 1, "\(args): \(checked) tensors")
    }
}
