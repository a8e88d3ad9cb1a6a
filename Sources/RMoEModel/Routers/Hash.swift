import RMoECore

/// Hash router (docs/routers.md 2.11; Roller et al., "Hash Layers For Large Sparse Models", NeurIPS
/// 2021), a baseline the RMoE paper cites: no parameters, the token id alone picks the experts.
/// Each layer l draws, once, a fixed random table from vocabulary ids to k distinct experts
/// (stream (l, v) of a fixed seed; every expert equally likely). The logits are
///
///     z[t, e] = 0 if e is one of the k experts of token id tokens[t] in layer l, else -30,
///
/// so the MoE layer's top-k picks exactly those experts with equal gate weights 1/k, and
/// softmax(z) puts all but ~1e-12 of its mass on them. Backward: nothing is learnt, and no gradient
/// reaches x through the router (the experts' path is the MoE layer's).
public enum HashRouter: RouterFamily {
    public static let members: [RouterMember] = [
        RouterMember("hash", "fixed random hash of the token id picks the experts, no parameters (Hash Layers; docs/routers.md 2.11; Roller et al. 2021)")
    ]

    public static func layerSpecs(_ c: ModelConfig, layer: Int) -> [TensorSpec] { [] }
    public static func forwardFlops(_ c: ModelConfig) -> Double { 0 }
    public static func activationElements(_ c: ModelConfig) -> Double { Double(c.vocab * c.topK) / 2 }

    /// The k distinct experts of token id `v` in `layer`.
    static func experts(vocabId v: Int, layer: Int, experts E: Int, k: Int) -> [Int] {
        var rng = Xoshiro256(seed: 0x4A53_4841_5348, stream: UInt64(layer) << 32 | UInt64(v))
        var picked: [Int] = []
        while picked.count < k {
            let e = rng.below(E)
            if !picked.contains(e) { picked.append(e) }
        }
        return picked
    }

    public static func make<S: KernelScalar>(_ env: RouterEnvironment<S>) -> any RouterLayer<S> { Layer(env) }

    final class Layer<S: KernelScalar>: RouterLayer {
        let tokenIds: UnsafePointer<Int32>
        /// table[v * k + j]: the j-th expert of token id v.
        let table: UnsafeMutablePointer<Int32>
        let T, E, k, V: Int

        init(_ env: RouterEnvironment<S>) {
            let c = env.config
            T = env.tokens; E = c.experts; k = c.topK; V = c.vocab
            tokenIds = env.tokenIds
            table = env.buffers.make(V * k, of: Int32.self)
            for v in 0..<V {
                for (j, e) in HashRouter.experts(vocabId: v, layer: env.layer, experts: E, k: k).enumerated() { table[v * k + j] = Int32(e) }
            }
        }

        func forward(x: UnsafePointer<S>, logits z: UnsafeMutablePointer<S>) {
            z.update(repeating: -30, count: T * E)
            for t in 0..<T {
                let v = min(max(Int(tokenIds[t]), 0), V - 1)
                for j in 0..<k { z[t * E + Int(table[v * k + j])] = 0 }
            }
        }

        func backward(x: UnsafePointer<S>, dLogits: UnsafeMutablePointer<S>, dx: UnsafeMutablePointer<S>) {}

        var balanceScores: BalanceScores<S>? { nil }
    }
}
