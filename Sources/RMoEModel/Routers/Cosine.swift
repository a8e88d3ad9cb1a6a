import RMoECore

/// The cosine scores shared by CosineMoE and XMoE (docs/routers.md 2.4, 2.5):
///
///     paper form:  s = normalize(r) normalize(M)^T,  z = s / max(tau, 1e-4)   (tau learnable)
///     code form:   s = r normalize(M)^T,             z = s                   (no temperature)
/// with r the router input (x for CosineMoE, x W_r^T for XMoE), M the expert embeddings [E, k],
/// normalize(v) = v / max(||v||, 1e-4). Backward (given dz and, for XMoE's balance loss, dS_bal
/// which bypasses tau): dS = dz / tau + dS_bal; dtau = -(1/tau) sum dz * z (0 when clamped);
/// dR̂ = dS M̂, dM̂ = dS^T R̂, and the normalisation backward dv = (du - u <u, du>) / ||v||.
struct CosineScorer<S: KernelScalar> {
    static var eps: S { S(1e-4) }
    let T, E, k: Int
    let paper: Bool
    let emb, demb: UnsafeMutablePointer<S>  // M [E, k]
    let tau, dtau: UnsafeMutablePointer<S>?  // [1] (paper form)
    let rhat, rnorm, mhat, mnorm, s: UnsafeMutablePointer<S>
    let ds, drhat, dmhat: UnsafeMutablePointer<S>

    init(_ env: RouterEnvironment<S>, inDim k: Int, paper: Bool) {
        T = env.tokens; E = env.config.experts; self.k = k; self.paper = paper
        (emb, demb) = env.tensor("expert_emb")!
        let t = env.tensor("temperature")
        tau = t?.w; dtau = t?.g
        let b = env.buffers
        rhat = b.make(T * k); rnorm = b.make(T); mhat = b.make(E * k); mnorm = b.make(E); s = b.make(T * E)
        ds = b.make(T * E); drhat = b.make(T * k); dmhat = b.make(E * k)
    }

    var temperature: S { max(tau!.pointee, Self.eps) }

    /// Computes s (kept) and z.
    func forward(r: UnsafePointer<S>, logits z: UnsafeMutablePointer<S>) {
        S.l2NormalizeRows(mhat, mnorm, emb, E, k, Self.eps)
        if paper { S.l2NormalizeRows(rhat, rnorm, r, T, k, Self.eps) }
        S.gemm(false, true, T, E, k, 1, paper ? UnsafePointer(rhat) : r, k, mhat, k, 0, s, E)
        if paper {
            z.update(from: s, count: T * E)
            S.scale(z, T * E, 1 / temperature)
        } else {
            z.update(from: s, count: T * E)
        }
    }

    /// dr [T, k] written (the gradient w.r.t. the scorer's input r); parameter gradients accumulate.
    func backward(r: UnsafePointer<S>, z: UnsafePointer<S>, dz: UnsafePointer<S>, dBalance: UnsafePointer<S>?, dr: UnsafeMutablePointer<S>) {
        if paper {
            let tv = temperature, inv = 1 / tv
            if tau!.pointee >= Self.eps { dtau!.pointee += S(-S.dot(dz, z, T * E) / Double(tv)) }
            ds.update(from: dz, count: T * E)
            S.scale(ds, T * E, inv)
        } else {
            ds.update(from: dz, count: T * E)
        }
        if let dBalance { S.accumulate(ds, dBalance, T * E) }
        // dM̂ = dS^T R̂ (or R); dR̂ = dS M̂.
        S.gemm(true, false, E, k, T, 1, ds, E, paper ? UnsafePointer(rhat) : r, k, 0, dmhat, k)
        S.l2NormalizeRowsBackward(demb, dmhat, mhat, mnorm, E, k, Self.eps)
        if paper {
            S.gemm(false, false, T, k, E, 1, ds, E, mhat, k, 0, drhat, k)
            dr.update(repeating: 0, count: T * k)
            S.l2NormalizeRowsBackward(dr, drhat, rhat, rnorm, T, k, Self.eps)
        } else {
            S.gemm(false, false, T, k, E, 1, ds, E, mhat, k, 0, dr, k)
        }
    }

    /// expert_emb [E, k]: orthogonal rows with gain 0.32, then row norm 1.5 (CompeteSMoE / torchscale);
    /// temperature [1] = tau_init in the paper form.
    static func specs(_ prefix: String, _ c: ModelConfig, k: Int) -> [TensorSpec] {
        var s = [TensorSpec(prefix + "expert_emb", [c.experts, k], init: .orthogonal(gain: 0.32, rowNorm: 1.5))]
        if c[CosineRouter.form] == .paper { s.append(TensorSpec(prefix + "temperature", [1], init: .constant(c[CosineRouter.tauInit]), decay: false)) }
        return s
    }
}

/// CosineMoE (docs/routers.md 2.4): cosine between the token and d-dimensional expert embeddings, over a
/// learnable temperature ("XMoE without down-projection"). `cosine_form = code` gives the code
/// base's variant (only the embeddings normalised, no temperature).
public enum CosineRouter: RouterFamily {
    public static let members: [RouterMember] = [
        RouterMember(
            "cosine", "cosine router: normalised token vs normalised expert embeddings over a learnable temperature (CosineMoE; docs/routers.md 2.4)",
            paperBPC: 1.122, paperPPL: 33.047)
    ]

    /// Shared with XMoE (declared once, here).
    public static let form = RouterField(
        "cosine_form", default: CosineForm.paper,
        "cosine/xmoe: paper (both sides normalised, learnable temperature) or code (embeddings normalised only, no temperature)")
    public static let tauInit = RouterField("tau_init", default: 0.3, "cosine/xmoe: initial learnable temperature") {
        $0 > 0 && $0.isFinite ? nil : "must be a positive number"
    }
    public static var fields: [AnyRouterField] { [form.erased, tauInit.erased] }

    public static func analysisWeight(_ c: ModelConfig) -> String? { "expert_emb" }
    public static func activationElements(_ c: ModelConfig) -> Double { Double(c.batch * c.seqLen) * Double(4 * c.experts + 2 * c.dModel) }

    /// The form from whether a temperature is stored.
    public static func inferFields(_ c: inout ModelConfig, shape: (String, Int) throws -> [Int]?) throws {
        if try shape("expert_emb", 2) != nil { c[form] = try shape("temperature", 1) != nil ? .paper : .code }
    }

    public static func layerSpecs(_ c: ModelConfig, layer: Int) -> [TensorSpec] {
        CosineScorer<Float>.specs("layers.\(layer).moe.router.", c, k: c.dModel)
    }

    public static func forwardFlops(_ c: ModelConfig) -> Double {
        2 * Double(c.batch * c.seqLen) * Double(c.layers) * Double(c.dModel * c.experts)
    }

    public static func make<S: KernelScalar>(_ env: RouterEnvironment<S>) -> any RouterLayer<S> { Layer(env) }

    final class Layer<S: KernelScalar>: RouterLayer {
        let scorer: CosineScorer<S>
        let z, dr: UnsafeMutablePointer<S>
        let T, d: Int
        init(_ env: RouterEnvironment<S>) {
            T = env.tokens; d = env.config.dModel
            scorer = CosineScorer(env, inDim: d, paper: env.config[CosineRouter.form] == .paper)
            z = env.buffers.make(T * env.config.experts); dr = env.buffers.make(T * d)
        }
        func forward(x: UnsafePointer<S>, logits: UnsafeMutablePointer<S>) {
            scorer.forward(r: x, logits: logits)
            z.update(from: logits, count: T * scorer.E)
        }
        func backward(x: UnsafePointer<S>, dLogits: UnsafeMutablePointer<S>, dx: UnsafeMutablePointer<S>) {
            scorer.backward(r: x, z: z, dz: dLogits, dBalance: nil, dr: dr)
            S.accumulate(dx, dr, T * d)
        }
        var balanceScores: BalanceScores<S>? { nil }
    }
}
