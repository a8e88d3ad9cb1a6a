import RMoECore

/// SMoE (docs/routers.md 2.1): `z = x W^T + b`, W [E, d], b [E]. RandomSMoE (2.3): the same map drawn
/// once and frozen; the gradient still flows to x (LM and balance parts), never to W or b.
public enum SMoERouter: RouterFamily {
    public static let members: [RouterMember] = [
        RouterMember(
            "smoe", "linear router z = W x + b (SMoE; docs/routers.md 2.1; Fedus et al. 2022 / CompeteSMoE code)",
            paperBPC: 1.128, paperPPL: 33.061),
        RouterMember(
            "random", "frozen random linear router, gradient still reaches x (RandomSMoE; docs/routers.md 2.3; Chen et al. 2023)",
            paperBPC: 1.135, paperPPL: 33.410),
    ]

    public static func analysisWeight(_ c: ModelConfig) -> String? { "weight" }

    public static func layerSpecs(_ c: ModelConfig, layer: Int) -> [TensorSpec] {
        RouterLinear<Float>.specs(
            "layers.\(layer).moe.router", c, inDim: c.dModel, outDim: c.experts, bias: c.routerBias,
            trainable: c.router != "random")
    }

    public static func forwardFlops(_ c: ModelConfig) -> Double {
        2 * Double(c.batch * c.seqLen) * Double(c.dModel * c.experts * c.layers)
    }

    public static func make<S: KernelScalar>(_ env: RouterEnvironment<S>) -> any RouterLayer<S> {
        Layer(env)
    }

    final class Layer<S: KernelScalar>: RouterLayer {
        let map: RouterLinear<S>
        let T: Int
        init(_ env: RouterEnvironment<S>) {
            map = RouterLinear(env, "", inDim: env.config.dModel, outDim: env.config.experts, trainable: env.config.router != "random")
            T = env.tokens
        }
        func forward(x: UnsafePointer<S>, logits: UnsafeMutablePointer<S>) { map.forward(logits, x, T) }
        func backward(x: UnsafePointer<S>, dLogits: UnsafeMutablePointer<S>, dx: UnsafeMutablePointer<S>) {
            map.backward(dy: dLogits, x: x, dx: dx, accumulate: true, T)
        }
        var balanceScores: BalanceScores<S>? { nil }
    }
}
