import RMoECore

/// XMoE (docs/routers.md 2.5; Chi et al. 2022): reduce x to d_e dimensions, r = W_r x (no bias), then the
/// cosine scorer against expert embeddings [E, d_e] over a learnable temperature. Its balance loss
/// takes softmax(s / 0.3) of the raw cosine s (`xmoe_balance_tau`), whose gradient bypasses the
/// temperature. Weights `reduce.weight` [d_e, d], `expert_emb` [E, d_e], `temperature` [1].
/// The unused `Linear(d, E)` that the CompeteSMoE XMoE gate also builds is not created.
public enum XMoERouter: RouterFamily {
    public static let members: [(name: String, summary: String)] = [
        ("xmoe", "down-projection to xmoe_dim then cosine vs expert embeddings, learnable temperature (XMoE; docs/routers.md 2.5; Chi et al. 2022)"),
    ]

    public static func layerSpecs(_ c: ModelConfig, layer: Int) -> [TensorSpec] {
        let p = "layers.\(layer).moe.router."
        return [TensorSpec(p + "reduce.weight", [c.xmoeDim, c.dModel], init: RouterInit.weight(c, fanIn: c.dModel))]
            + CosineScorer<Float>.specs(p, c, k: c.xmoeDim)
    }

    public static func forwardFlops(_ c: ModelConfig) -> Double {
        2 * Double(c.batch * c.seqLen) * Double(c.layers) * Double(c.dModel * c.xmoeDim + c.xmoeDim * c.experts)
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
            T = env.tokens; de = c.xmoeDim; E = c.experts
            reduce = RouterLinear(env, "reduce", inDim: c.dModel, outDim: de)
            scorer = CosineScorer(env, inDim: de, paper: c.cosineForm == .paper)
            r = env.buffers.make(T * de); dr = env.buffers.make(T * de); z = env.buffers.make(T * E); dBal = env.buffers.make(T * E)
            invBalanceTau = S(1 / c.xmoeBalanceTau)
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
