import RMoECore

/// XMoE (docs/routers.md 2.5; Chi et al. 2022): reduce x to d_e dimensions, r = W_r x (no bias), then the
/// cosine scorer against expert embeddings [E, d_e] over a learnable temperature. Its balance loss
/// takes softmax(s / 0.3) of the raw cosine s (`xmoe_balance_tau`), whose gradient bypasses the
/// temperature. Weights `reduce.weight` [d_e, d], `expert_emb` [E, d_e], `temperature` [1].
/// The unused `Linear(d, E)` that the CompeteSMoE XMoE gate also builds is not created.
public enum XMoERouter: RouterFamily {
    public static let members: [RouterMember] = [
        RouterMember(
            "xmoe", "down-projection to xmoe_dim then cosine vs expert embeddings, learnable temperature (XMoE; docs/routers.md 2.5; Chi et al. 2022)",
            paperBPC: 1.125, paperPPL: 32.926)
    ]

    public static let dim = RouterField("xmoe_dim", default: 16, "xmoe: routing dimension d_e") {
        (1...ModelConfig.maxWidth).contains($0) ? nil : "must be between 1 and \(ModelConfig.maxWidth)"
    }
    public static let balanceTau = RouterField("xmoe_balance_tau", default: 0.3, "xmoe: temperature of the balance-loss softmax") {
        $0 > 0 && $0.isFinite ? nil : "must be a positive number"
    }
    /// Also cosine_form and tau_init, which CosineRouter declares.
    public static var fields: [AnyRouterField] { CosineRouter.fields + [dim.erased, balanceTau.erased] }

    public static func analysisWeight(_ c: ModelConfig) -> String? { "expert_emb" }
    public static func activationElements(_ c: ModelConfig) -> Double { Double(c.batch * c.seqLen) * Double(6 * c.experts + 4 * c[dim]) }

    /// d_e from `reduce.weight` [d_e, d]; the cosine form as CosineRouter reads it.
    public static func inferFields(_ c: inout ModelConfig, shape: (String, Int) throws -> [Int]?) throws {
        if let red = try shape("reduce.weight", 2) { c[dim] = red[0] }
        try CosineRouter.inferFields(&c, shape: shape)
    }

    public static func layerSpecs(_ c: ModelConfig, layer: Int) -> [TensorSpec] {
        let p = "layers.\(layer).moe.router."
        return [TensorSpec(p + "reduce.weight", [c[dim], c.dModel], init: RouterInit.weight(c, fanIn: c.dModel))]
            + CosineScorer<Float>.specs(p, c, k: c[dim])
    }

    public static func forwardFlops(_ c: ModelConfig) -> Double {
        2 * Double(c.batch * c.seqLen) * Double(c.layers) * Double(c.dModel * c[dim] + c[dim] * c.experts)
    }

    public static func make<S: KernelScalar>(_ env: RouterEnvironment<S>) -> any RouterLayer<S> { Layer(env) }

    final class Layer<S: KernelScalar>: RouterLayer {
        let reduce: RouterLinear<S>
        let scorer: CosineScorer<S>
        let r, dr, z, dBal: UnsafeMutablePointer<S>
        let T, de, E: Int
        let invBalanceTau: S

        init(_ env: RouterEnvironment<S>) {
            let c = env.config
            T = env.tokens; de = c[XMoERouter.dim]; E = c.experts
            reduce = RouterLinear(env, "reduce", inDim: c.dModel, outDim: de)
            scorer = CosineScorer(env, inDim: de, paper: c[CosineRouter.form] == .paper)
            r = env.buffers.make(T * de); dr = env.buffers.make(T * de); z = env.buffers.make(T * E); dBal = env.buffers.make(T * E)
            invBalanceTau = S(1 / c[XMoERouter.balanceTau])
        }
        func forward(x: UnsafePointer<S>, logits: UnsafeMutablePointer<S>) {
            reduce.forward(r, x, T)
            scorer.forward(r: r, logits: logits)
            z.update(from: logits, count: T * E)
        }
        func backward(x: UnsafePointer<S>, dLogits: UnsafeMutablePointer<S>, dx: UnsafeMutablePointer<S>) {
            scorer.backward(r: r, z: z, dz: dLogits, dBalance: dBal, dr: dr)
            reduce.backward(dy: dr, x: x, dx: dx, accumulate: true, T)
        }
        var balanceScores: BalanceScores<S>? { BalanceScores(scores: scorer.s, grad: dBal, invTau: invBalanceTau) }
    }
}
