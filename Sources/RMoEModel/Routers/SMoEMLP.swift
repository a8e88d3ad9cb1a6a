import RMoECore

/// SMoE-MLP (docs/routers.md 2.2, the ModuleFormer-style MLP router):
///
///     U = x W1^T + b1 [T, H];  A = GELU(U) (exact erf form);  A = Dropout(A) (mlp_dropout, default off);
///     z = A W2^T + b2 [T, E]
/// Backward: dW2 = G^T A, dA = G W2, dU = dA (Phi(U) + U phi(U)), dW1 = dU^T x, dx += dU W1.
/// Weights `fc1.weight` [H, d], `fc1.bias`, `fc2.weight` [E, H], `fc2.bias` (biases off with router_bias = false;
/// `fc2.bias` also off with mlp_out_bias = false).
public enum SMoEMLPRouter: RouterFamily {
    public static let members: [RouterMember] = [
        RouterMember(
            "smoe-mlp", "two-layer GELU MLP router, hidden mlp_dim (SMoE-MLP; docs/routers.md 2.2; Shen et al. 2023, ModuleFormer)",
            paperBPC: 1.137, paperPPL: 33.142)
    ]

    public static let mlpDim = RouterField("mlp_dim", default: 256, "smoe-mlp: hidden width H of the router MLP") {
        (1...ModelConfig.maxWidth).contains($0) ? nil : "must be between 1 and \(ModelConfig.maxWidth)"
    }
    public static let mlpDropout = RouterField("mlp_dropout", default: 0.0, "smoe-mlp: dropout on the router's hidden activations (training only)") {
        $0 >= 0 && $0 < 1 ? nil : "must be in [0, 1)"
    }
    public static let mlpOutBias = RouterField("mlp_out_bias", default: true, "smoe-mlp: the output layer has a bias fc2.bias (with router_bias = true)")
    public static var fields: [AnyRouterField] { [mlpDim.erased, mlpDropout.erased, mlpOutBias.erased] }

    public static func analysisWeight(_ c: ModelConfig) -> String? { "fc2.weight" }
    public static func activationElements(_ c: ModelConfig) -> Double { 4 * Double(c.batch * c.seqLen) * Double(c[mlpDim]) }

    /// H from `fc1.weight` [H, d]; whether `fc2.bias` exists (when the router has biases).
    public static func inferFields(_ c: inout ModelConfig, shape: (String, Int) throws -> [Int]?) throws {
        if let fc1 = try shape("fc1.weight", 2) {
            c[mlpDim] = fc1[0]
            if c.routerBias, try shape("fc1.bias", 1) != nil { c[mlpOutBias] = try shape("fc2.bias", 1) != nil }
        }
    }

    public static func layerSpecs(_ c: ModelConfig, layer: Int) -> [TensorSpec] {
        let p = "layers.\(layer).moe.router."
        return RouterLinear<Float>.specs(p + "fc1", c, inDim: c.dModel, outDim: c[mlpDim], bias: c.routerBias)
            + RouterLinear<Float>.specs(p + "fc2", c, inDim: c[mlpDim], outDim: c.experts, bias: c.routerBias && c[mlpOutBias])
    }

    public static func forwardFlops(_ c: ModelConfig) -> Double {
        2 * Double(c.batch * c.seqLen) * Double(c.layers) * Double(c.dModel * c[mlpDim] + c[mlpDim] * c.experts)
    }

    public static func make<S: KernelScalar>(_ env: RouterEnvironment<S>) -> any RouterLayer<S> { Layer(env) }

    final class Layer<S: KernelScalar>: RouterLayer {
        let fc1, fc2: RouterLinear<S>
        let T, H, layer: Int
        let dropout: S
        let context: ForwardContext
        let u, a, mask, da: UnsafeMutablePointer<S>
        var masked = false

        init(_ env: RouterEnvironment<S>) {
            let c = env.config
            T = env.tokens; H = c[SMoEMLPRouter.mlpDim]; layer = env.layer
            fc1 = RouterLinear(env, "fc1", inDim: c.dModel, outDim: H)
            fc2 = RouterLinear(env, "fc2", inDim: H, outDim: c.experts)
            dropout = S(c[SMoEMLPRouter.mlpDropout])
            context = env.context
            u = env.buffers.make(T * H); a = env.buffers.make(T * H); mask = env.buffers.make(T * H); da = env.buffers.make(T * H)
        }

        func forward(x: UnsafePointer<S>, logits: UnsafeMutablePointer<S>) {
            fc1.forward(u, x, T)
            S.geluForward(a, u, T * H)
            masked = context.training && dropout > 0
            if masked {
                let seed = context.seed ^ stableHash("mlp-dropout:\(layer)") &+ UInt64(context.step) &* 0x9E37_79B9_7F4A_7C15
                S.dropout(a, mask, T * H, dropout, seed, offset: context.rowOffset * H)
            }
            fc2.forward(logits, a, T)
        }

        func backward(x: UnsafePointer<S>, dLogits: UnsafeMutablePointer<S>, dx: UnsafeMutablePointer<S>) {
            fc2.backward(dy: dLogits, x: a, dx: da, accumulate: false, T)
            if masked { S.multiply(da, mask, T * H) }
            S.geluBackward(da, da, u, T * H)
            fc1.backward(dy: da, x: x, dx: dx, accumulate: true, T)
        }

        var balanceScores: BalanceScores<S>? { nil }
    }
}
