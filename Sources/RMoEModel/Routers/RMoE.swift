import RMoECore

/// RMoE (docs/routers.md 2.7) and its ablations (2.8, 2.9): a per-layer projector x' = P x + c, one
/// recurrent cell shared by all layers (PyTorch `GRUCell` layout, gates r, z, n; or a tanh
/// `RNNCell`) carrying a state h from layer to layer (h_0 = 0), and a per-layer output map
/// z = G h + g.
///
///     name          cell   state passed forward   gradient carried back across depth
///     rmoe          GRU    yes                    yes ("recurrent gradient")
///     rmoe-rnn      tanh   yes                    yes
///     rmoe-np       GRU    no (h_prev = 0)        no   (W_hh gets exactly zero gradient)
///     rmoe-detach   GRU    yes                    no   (W_hh still learns from its own layer)
///     rmoe-np-r     GRU    no                     no;  z_l += alpha * zhat_{l-1}, the previous
///                                                      layer's own logits (or its accumulated
///                                                      logits with np_residual = accumulated)
///
/// Backward runs from layer L-1 down to 0; the shared state object hands dh (and, for rmoe-np-r,
/// the logit gradient) from each layer's backward to the one below.
public enum RMoERouter: RouterFamily {
    public static let members: [RouterMember] = [
        RouterMember(
            "rmoe", "GRU shared by all layers carries routing state across depth (RMoE; docs/routers.md 2.7; Qiu et al., ICLR 2025)",
            paperBPC: 1.116, paperPPL: 32.867),
        RouterMember(
            "rmoe-rnn", "RMoE with a tanh RNN cell instead of the GRU (RMoE Table 6 L-proj + RNN; docs/routers.md 2.8)",
            paperBPC: 1.119, paperPPL: 32.72),
        RouterMember("rmoe-np", "RMoE without passing the state: every layer starts from h = 0 (RMoE-NP; docs/routers.md 2.9)", paperBPC: 1.123),
        RouterMember(
            "rmoe-detach", "RMoE passing the state forward but no gradient back across layers (RMoE Table 5; docs/routers.md 2.9)",
            paperBPC: 1.133),
        RouterMember("rmoe-np-r", "RMoE-NP plus alpha times the previous layer's logits (RMoE-NP-r0.5 / r1.0; docs/routers.md 2.9)"),
    ]
    public static var paperVariants: [(label: String, bpc: Double?, ppl: Double?)] {
        [("rmoe-np-r0.5", 1.124, nil), ("rmoe-np-r1.0", 1.124, nil)]
    }

    public static let routerDim = RouterField("router_dim", default: 64, "RMoE recurrent width p (the paper uses 128)") {
        (1...ModelConfig.maxWidth).contains($0) ? nil : "must be between 1 and \(ModelConfig.maxWidth)"
    }
    public static let alpha = RouterField("alpha", default: 0.5, "rmoe-np-r: weight of the previous layer's logits") {
        $0.isFinite ? nil : "must be a finite number"
    }
    public static let npResidual = RouterField(
        "np_residual", default: NPResidual.own, "rmoe-np-r: add the previous layer's own logits or its accumulated logits")
    public static let npResidualDetach = RouterField(
        "np_residual_detach", default: false,
        "rmoe-np-r: detach-r, no gradient through the residual into the previous layer's router")
    public static var fields: [AnyRouterField] { [routerDim.erased, alpha.erased, npResidual.erased, npResidualDetach.erased] }

    public static func analysisWeight(_ c: ModelConfig) -> String? { "out.weight" }
    public static func activationElements(_ c: ModelConfig) -> Double {
        let T = Double(c.batch * c.seqLen), p = Double(c[routerDim]), E = Double(c.experts)
        return T * (6 * p + E) + T * (6 * Double(gates(c)) * p + 3 * p + 2 * E) / Double(c.layers)
    }

    /// p from `proj.weight` [p, d].
    public static func inferFields(_ c: inout ModelConfig, shape: (String, Int) throws -> [Int]?) throws {
        if let proj = try shape("proj.weight", 2) { c[routerDim] = proj[0] }
    }

    static func isRNN(_ c: ModelConfig) -> Bool { c.router == "rmoe-rnn" }
    static func gates(_ c: ModelConfig) -> Int { isRNN(c) ? 1 : 3 }
    static func passesState(_ c: ModelConfig) -> Bool { ["rmoe", "rmoe-rnn", "rmoe-detach"].contains(c.router) }
    static func passesGradient(_ c: ModelConfig) -> Bool { ["rmoe", "rmoe-rnn"].contains(c.router) }
    static func logitResidual(_ c: ModelConfig) -> Bool { c.router == "rmoe-np-r" }

    public static func layerSpecs(_ c: ModelConfig, layer: Int) -> [TensorSpec] {
        let p = "layers.\(layer).moe.router."
        return RouterLinear<Float>.specs(p + "proj", c, inDim: c.dModel, outDim: c[routerDim], bias: c.routerBias)
            + RouterLinear<Float>.specs(p + "out", c, inDim: c[routerDim], outDim: c.experts, bias: c.routerBias)
    }

    public static func sharedSpecs(_ c: ModelConfig) -> [TensorSpec] {
        let p = c[routerDim], g = gates(c)
        let w = RouterInit.weight(c, fanIn: p), b = RouterInit.bias(c, fanIn: p)
        // GRUCell / RNNCell init every tensor U(±1/sqrt(hidden)); with router_init = normal, N(0, init_std) and zero biases.
        return [
            TensorSpec("router_rnn.weight_ih", [g * p, p], init: w),
            TensorSpec("router_rnn.weight_hh", [g * p, p], init: w),
            TensorSpec("router_rnn.bias_ih", [g * p], init: b, decay: false),
            TensorSpec("router_rnn.bias_hh", [g * p], init: b, decay: false),
        ]
    }

    public static func forwardFlops(_ c: ModelConfig) -> Double {
        let p = Double(c[routerDim]), g = Double(gates(c))
        return 2 * Double(c.batch * c.seqLen) * Double(c.layers) * (Double(c.dModel) * p + 2 * g * p * p + p * Double(c.experts))
    }

    public static func makeShared<S: KernelScalar>(_ c: ModelConfig, buffers: BufferPool, scalar: S.Type) -> AnyObject? {
        Shared<S>(c, buffers)
    }

    public static func make<S: KernelScalar>(_ env: RouterEnvironment<S>) -> any RouterLayer<S> {
        Layer(env, env.shared as! Shared<S>)
    }

    /// State of one model's recurrent routers, shared by its layers.
    final class Shared<S: KernelScalar> {
        // Per-layer buffers as raw pointer tables (not Swift arrays: the routers run as unspecialised
        // generic code behind `any RouterLayer`, where array subscripts allocate).
        let h: UnsafeMutablePointer<UnsafeMutablePointer<S>>  // h_l [T, p] per layer (saved)
        let logits: UnsafeMutablePointer<UnsafeMutablePointer<S>>  // zhat_l (or z_l, accumulated), rmoe-np-r
        let dhNext: UnsafeMutablePointer<S>  // dL/dh_l handed from layer l+1's backward to layer l's
        let dzNext: UnsafeMutablePointer<S>  // rmoe-np-r: logit gradient handed down
        // Scratch used by one layer at a time.
        let gi, gh, dgi, dgh: UnsafeMutablePointer<S>  // [T, gates*p]
        let dh, dxp: UnsafeMutablePointer<S>  // [T, p]
        let dzhat: UnsafeMutablePointer<S>  // [T, E]

        init(_ c: ModelConfig, _ pool: BufferPool) {
            let T = c.batch * c.seqLen, p = c[RMoERouter.routerDim], E = c.experts, g = RMoERouter.gates(c)
            h = pool.make(c.layers)
            logits = pool.make(c.layers)
            for l in 0..<c.layers {
                h[l] = pool.make(T * p)
                logits[l] = RMoERouter.logitResidual(c) ? pool.make(T * E) : h[l]
            }
            dhNext = pool.make(T * p); dzNext = pool.make(T * E)
            gi = pool.make(T * g * p); gh = pool.make(T * g * p); dgi = pool.make(T * g * p); dgh = pool.make(T * g * p)
            dh = pool.make(T * p); dxp = pool.make(T * p); dzhat = pool.make(T * E)
        }
    }

    final class Layer<S: KernelScalar>: RouterLayer {
        let shared: Shared<S>
        let proj, out: RouterLinear<S>
        let wih, dwih, whh, dwhh, bih, dbih, bhh, dbhh: UnsafeMutablePointer<S>
        let l, L, T, p, E, gates: Int
        let rnn, passState, passGradient, residual, accumulated, detachResidual: Bool
        let alpha: S
        let xp, r, u, n, q: UnsafeMutablePointer<S>  // saved [T, p]

        init(_ env: RouterEnvironment<S>, _ shared: Shared<S>) {
            let c = env.config
            self.shared = shared
            l = env.layer; L = c.layers; T = env.tokens; p = c[RMoERouter.routerDim]; E = c.experts
            gates = RMoERouter.gates(c); rnn = RMoERouter.isRNN(c)
            passState = RMoERouter.passesState(c); passGradient = RMoERouter.passesGradient(c)
            residual = RMoERouter.logitResidual(c); accumulated = c[RMoERouter.npResidual] == .accumulated
            detachResidual = c[RMoERouter.npResidualDetach]
            alpha = S(c[RMoERouter.alpha])
            proj = RouterLinear(env, "proj", inDim: c.dModel, outDim: p)
            out = RouterLinear(env, "out", inDim: p, outDim: E)
            (wih, dwih) = env.tensor("router_rnn.weight_ih")!
            (whh, dwhh) = env.tensor("router_rnn.weight_hh")!
            (bih, dbih) = env.tensor("router_rnn.bias_ih")!
            (bhh, dbhh) = env.tensor("router_rnn.bias_hh")!
            let pool = env.buffers
            xp = pool.make(T * p)
            (r, u, n, q) = rnn ? (xp, xp, xp, xp) : (pool.make(T * p), pool.make(T * p), pool.make(T * p), pool.make(T * p))
        }

        var hPrev: UnsafeMutablePointer<S>? {
            guard passState && l > 0 else { return nil }
            return shared.h[l - 1]
        }

        func forward(x: UnsafePointer<S>, logits z: UnsafeMutablePointer<S>) {
            let gp = gates * p, s = shared
            proj.forward(xp, x, T)  // x' = P x + c
            S.biasRows(s.gi, bih, T, gp)
            S.biasRows(s.gh, bhh, T, gp)
            let gi = GemmJob(false, true, T, gp, p, 1, UnsafePointer(xp), p, UnsafePointer(wih), p, 1, s.gi, gp)  // gi = x' W_ih^T + b_ih
            if let hp = hPrev {
                S.gemmGroup(gi, GemmJob(false, true, T, gp, p, 1, UnsafePointer(hp), p, UnsafePointer(whh), p, 1, s.gh, gp))  // gh = h W_hh^T + b_hh
            } else {
                gi.run()
            }
            if rnn {
                S.rnnForward(s.h[l], s.gi, s.gh, T * p)
            } else {
                S.gruForward(s.h[l], r, u, n, q, s.gi, s.gh, hPrev.map { UnsafePointer($0) }, T, p)
            }
            out.forward(z, s.h[l], T)  // z = G h + g
            if residual {
                if !accumulated { s.logits[l].update(from: z, count: T * E) }
                if l > 0 { S.axpy(z, s.logits[l - 1], T * E, alpha) }
                if accumulated { s.logits[l].update(from: z, count: T * E) }
            }
        }

        func backward(x: UnsafePointer<S>, dLogits dz: UnsafeMutablePointer<S>, dx: UnsafeMutablePointer<S>) {
            let gp = gates * p, s = shared
            var dOwn = UnsafePointer(dz)
            if residual {
                // d zhat_l = dz_l + alpha * (gradient handed down by layer l+1).
                s.dzhat.update(from: dz, count: T * E)
                if l < L - 1 && !detachResidual { S.axpy(s.dzhat, s.dzNext, T * E, alpha) }  // detach-r: none
                s.dzNext.update(from: accumulated ? s.dzhat : dz, count: T * E)
                dOwn = UnsafePointer(s.dzhat)
            }
            out.backward(dy: dOwn, x: s.h[l], dx: s.dh, accumulate: false, T)  // dh = dz G
            if passGradient && l < L - 1 { S.accumulate(s.dh, s.dhNext, T * p) }  // + recurrent gradient
            let hp = hPrev
            let dhPrev: UnsafeMutablePointer<S>? = passGradient && hp != nil ? s.dhNext : nil
            if rnn {
                S.rnnBackward(s.dgi, s.dh, s.h[l], T * p)
                s.dgh.update(from: s.dgi, count: T * p)
            } else {
                S.gruBackward(s.dgi, s.dgh, dhPrev, s.dh, r, u, n, q, hp.map { UnsafePointer($0) }, T, p)
            }
            S.columnSumAccumulate(dbih, s.dgi, T, gp)
            S.columnSumAccumulate(dbhh, s.dgh, T, gp)
            // The four products read only dgi, dgh and saved inputs and write four different
            // buffers: one parallel region.
            let dgi = UnsafePointer(s.dgi), dgh = UnsafePointer(s.dgh)
            S.gemmGroup(
                GemmJob(true, false, gp, p, T, 1, dgi, gp, UnsafePointer(xp), p, 1, dwih, p),  // dW_ih += dgi^T x'
                GemmJob(false, false, T, p, gp, 1, dgi, gp, UnsafePointer(wih), p, 0, s.dxp, p),  // dx' = dgi W_ih
                hp.map { GemmJob(true, false, gp, p, T, 1, dgh, gp, UnsafePointer($0), p, 1, dwhh, p) },  // dW_hh += dgh^T h_prev
                // dh_prev = (dh * u for the GRU) + dgh W_hh, handed to layer l-1.
                hp == nil ? nil : dhPrev.map { GemmJob(false, false, T, p, gp, 1, dgh, gp, UnsafePointer(whh), p, rnn ? 0 : 1, $0, p) })
            proj.backward(dy: s.dxp, x: x, dx: dx, accumulate: true, T)  // dx += dx' P
        }

        var balanceScores: BalanceScores<S>? { nil }
    }
}
