import RMoECore

/// HyperRouter (docs/routers.md 2.6; Do et al. 2023, the paper's "HyperMoE" baseline): a frozen
/// per-layer hypernetwork turns a trainable embedding e [d] into the router's weights, once per
/// step:  u = A1 e + c1;  v = ReLU(u);  o = A2 v + c2;  [W | b] = reshape(o, [E, d+1]);
/// z = x W^T + b. Backward: dW = G^T x, db = colsum G, dx += G W, do = [dW | db],
/// de = A1^T (1[u > 0] * (A2^T do)); the hypernetwork (`hypernet.*`) gets no gradient.
public enum HyperRouter: RouterFamily {
    public static let members: [RouterMember] = [
        RouterMember(
            "hyper",
            "frozen hypernetwork generates the router from a trainable embedding (HyperRouter, the paper's HyperMoE; docs/routers.md 2.6; Do et al. 2023)",
            paperBPC: 1.139, paperPPL: 33.374)
    ]

    public static let hyperDim = RouterField("hyper_dim", default: 256, "hyper: hidden width of the frozen hypernetwork") {
        (1...ModelConfig.maxWidth).contains($0) ? nil : "must be between 1 and \(ModelConfig.maxWidth)"
    }
    public static var fields: [AnyRouterField] { [hyperDim.erased] }

    /// nil: the analyses measure the generated W (`RouterLayer.generatedWeight`).
    public static func analysisWeight(_ c: ModelConfig) -> String? { nil }
    public static func activationElements(_ c: ModelConfig) -> Double { Double(3 * c.experts * (c.dModel + 1) + 2 * c[hyperDim]) }

    /// H from `hypernet.fc1.weight` [H, d].
    public static func inferFields(_ c: inout ModelConfig, shape: (String, Int) throws -> [Int]?) throws {
        if let fc1 = try shape("hypernet.fc1.weight", 2) { c[hyperDim] = fc1[0] }
    }

    public static func layerSpecs(_ c: ModelConfig, layer: Int) -> [TensorSpec] {
        let p = "layers.\(layer).moe.router.", d = c.dModel, H = c[hyperDim], out = c.experts * (d + 1)
        return [
            TensorSpec(p + "embedding", [d], init: .normal(1), decay: false),
            TensorSpec(p + "hypernet.fc1.weight", [H, d], init: .uniform(1 / Double(d).squareRoot()), trainable: false),
            TensorSpec(p + "hypernet.fc1.bias", [H], init: .uniform(1 / Double(d).squareRoot()), decay: false, trainable: false),
            TensorSpec(p + "hypernet.fc2.weight", [out, H], init: .uniform(1 / Double(H).squareRoot()), trainable: false),
            TensorSpec(p + "hypernet.fc2.bias", [out], init: .uniform(1 / Double(H).squareRoot()), decay: false, trainable: false),
        ]
    }

    public static func forwardFlops(_ c: ModelConfig) -> Double {
        let d = Double(c.dModel), E = Double(c.experts), H = Double(c[hyperDim])
        return Double(c.layers) * (2 * Double(c.batch * c.seqLen) * d * E + 2 * (d * H + H * E * (d + 1)))
    }

    public static func make<S: KernelScalar>(_ env: RouterEnvironment<S>) -> any RouterLayer<S> { Layer(env) }

    final class Layer<S: KernelScalar>: RouterLayer {
        let e, de, a1, c1, a2, c2: UnsafeMutablePointer<S>
        let T, d, E, H: Int
        let u, o, dO, dv: UnsafeMutablePointer<S>  // [H], [E(d+1)], [E(d+1)], [H]
        let bias, dbias: UnsafeMutablePointer<S>  // [E]: the generated bias column, and its gradient

        init(_ env: RouterEnvironment<S>) {
            let c = env.config
            T = env.tokens; d = c.dModel; E = c.experts; H = c[HyperRouter.hyperDim]
            (e, de) = env.tensor("embedding")!
            a1 = env.tensor("hypernet.fc1.weight")!.w; c1 = env.tensor("hypernet.fc1.bias")!.w
            a2 = env.tensor("hypernet.fc2.weight")!.w; c2 = env.tensor("hypernet.fc2.bias")!.w
            let b = env.buffers
            u = b.make(H); o = b.make(E * (d + 1)); dO = b.make(E * (d + 1)); dv = b.make(H)
            bias = b.make(E); dbias = b.make(E)
        }

        func forward(x: UnsafePointer<S>, logits z: UnsafeMutablePointer<S>) {
            let n = E * (d + 1)
            u.update(from: c1, count: H)
            S.gemmSerial(false, true, 1, H, d, 1, e, d, a1, d, 1, u, H)  // u = A1 e + c1
            o.update(from: c2, count: n)
            // o = A2 relu(u) + c2, with relu(u) kept in dv temporarily.
            for i in 0..<H { dv[i] = max(u[i], 0) }
            S.gemm(false, true, 1, n, H, 1, dv, H, a2, H, 1, o, n)
            // z = x W^T + b, W = o[:, :d] (row stride d+1), b = o[:, d].
            for j in 0..<E { bias[j] = o[j * (d + 1) + d] }
            S.biasRows(z, bias, T, E)
            S.gemm(false, true, T, E, d, 1, x, d, o, d + 1, 1, z, E)
        }

        /// W = o[:, :d] of the last forward pass.
        var generatedWeight: [Double]? {
            (0..<E).flatMap { e in (0..<d).map { Double(o[e * (d + 1) + $0]) } }
        }

        func backward(x: UnsafePointer<S>, dLogits g: UnsafeMutablePointer<S>, dx: UnsafeMutablePointer<S>) {
            let n = E * (d + 1)
            // do = [dW | db]: dW = G^T x into the first d columns of each row, db = colsum G.
            dO.update(repeating: 0, count: n)
            S.gemm(true, false, E, d, T, 1, g, E, x, d, 0, dO, d + 1)
            dbias.update(repeating: 0, count: E)
            S.columnSumAccumulate(dbias, g, T, E)
            for j in 0..<E { dO[j * (d + 1) + d] = dbias[j] }
            S.gemm(false, false, T, d, E, 1, g, E, o, d + 1, 1, dx, d)  // dx += G W
            // dv = A2^T do; du = dv * 1[u > 0]; de += A1^T du.
            S.gemm(false, false, 1, H, n, 1, dO, n, a2, H, 0, dv, H)
            for i in 0..<H where u[i] <= 0 { dv[i] = 0 }
            S.gemmSerial(false, false, 1, d, H, 1, dv, H, a1, d, 1, de, d)
        }

        var balanceScores: BalanceScores<S>? { nil }
    }
}
