import RMoECore

/// The model's sizes and choices (docs/architecture.md section 2). Field names in configs, `--set`,
/// checkpoint metadata and summary.csv are the snake_case names in `RunConfig`'s field table.
public struct ModelConfig: Codable, Sendable, Equatable {
    /// Vocabulary size V (set from the corpus).
    public var vocab = 256
    /// Model width d.
    public var dModel = 256
    /// Number of layers L.
    public var layers = 8
    /// Attention heads H (head width d / H, even, for RoPE).
    public var heads = 4
    /// Experts per layer E.
    public var experts = 16
    /// Experts per token k.
    public var topK = 4
    /// Expert hidden width f.
    public var expertWidth = 128
    /// Hidden width of the dense FFN; 0 means top_k * expert_width (matched active FLOPs).
    public var ffnWidth = 0
    /// Expert kind: `swiglu` or `relu`.
    public var expert = ExpertKind.swiglu
    /// Router name (`Routers.names`), or `dense` for a dense SwiGLU FFN in every layer.
    public var router = "smoe"
    /// Init of router parameters: `torch` (PyTorch defaults: Linear and GRU U(±1/sqrt(fan_in)),
    /// the enwik8 code base) or `normal` (N(0, init_std), biases 0: the Hugging Face code).
    public var routerInit = RouterInitMode.torch
    /// Residual dropout: each attention output and each FFN/MoE output is dropped with this
    /// probability (inverted dropout, training only) before it is added to the residual stream.
    public var dropout = 0.0
    /// Init of expert weights: `normal` (N(0, init_std), biases 0), `fastmoe` (the enwik8 code's
    /// quirk: U(±1/sqrt(out*in)) over the stacked [E, out, in] tensor, biases 0), or `torch`
    /// (per expert U(±1/sqrt(in)) for weights and biases).
    public var expertInit = ExpertInitMode.normal
    /// Biases in the router's linear maps.
    public var routerBias = true
    /// The router family's own fields (RMoE's width p, the MLP router's width, ...), declared in
    /// each router's file; read and written with `config[Family.field]`.
    public var routerOptions = RouterOptions()
    /// Weight of the summed per-layer balance loss.
    public var balanceCoef = 0.01
    /// RoPE base.
    public var ropeTheta = 10000.0
    /// RMSNorm epsilon.
    public var normEps = 1e-6
    /// Standard deviation of the normal initialisation of every matrix.
    public var initStd = 0.02
    /// Tokens per sequence.
    public var seqLen = 256
    /// Sequences per step.
    public var batch = 8

    public init() {}

    public var headDim: Int { dModel / heads }
    /// Width F of the dense FFN.
    public var denseWidth: Int { ffnWidth > 0 ? ffnWidth : topK * expertWidth }
    public var isDense: Bool { router == "dense" }
    public var isReLUExpert: Bool { expert == .relu }
    /// Width of the expert's first product H: 2f for SwiGLU (w1 | w3), f for ReLU.
    public var expertHiddenStride: Int { isReLUExpert ? expertWidth : 2 * expertWidth }

    /// Upper bounds of the sizes (far above what a CPU trains, low enough that no product of them
    /// overflows): a size from a config or a checkpoint beyond them is an error, never a trap.
    public static let maxWidth = 1 << 16, maxVocab = 1 << 24, maxLayers = 1024, maxHidden = 1 << 20, maxRows = 1 << 26

    /// Checks sizes; each failure names the field and the fix.
    public func validate() throws {
        func need(_ ok: Bool, _ msg: String) throws { if !ok { throw RMoEError(msg) } }
        func bound(_ name: String, _ v: Int, _ limit: Int) throws {
            try need(v <= limit, "\(name) = \(v) is above the limit \(limit); use a smaller \(name)")
        }
        try bound("vocab", vocab, Self.maxVocab)
        try bound("d_model", dModel, Self.maxWidth)
        try bound("layers", layers, Self.maxLayers)
        try bound("heads", heads, Self.maxWidth)
        try bound("expert_width", expertWidth, Self.maxHidden)
        try bound("ffn_width", ffnWidth, Self.maxHidden)
        try bound("top_k * expert_width", topK > 64 || expertWidth > Self.maxHidden ? Int.max : topK * expertWidth, Self.maxHidden)
        try bound("seq_len", seqLen, Self.maxRows)
        try bound("batch", batch, Self.maxRows)
        try bound("batch * seq_len", batch > Self.maxRows || seqLen > Self.maxRows ? Int.max : batch * seqLen, Self.maxRows)
        try need(vocab >= 2, "vocab = \(vocab) is too small; it must be at least 2 (it is set by the corpus)")
        try need(dModel > 0 && dModel % 4 == 0, "d_model = \(dModel) must be a positive multiple of 4")
        try need(layers >= 1, "layers = \(layers) must be at least 1")
        try need(heads >= 1 && dModel % heads == 0, "heads = \(heads) must divide d_model = \(dModel)")
        try need(headDim % 2 == 0, "head width d_model / heads = \(headDim) must be even for RoPE; change heads or d_model")
        try need(denseWidth > 0 && denseWidth % 4 == 0, "ffn_width = \(denseWidth) must be a positive multiple of 4")
        try need(seqLen >= 1, "seq_len = \(seqLen) must be at least 1")
        try need(batch >= 1, "batch = \(batch) must be at least 1")
        try need(normEps > 0, "norm_eps = \(normEps) must be positive")
        try need(ropeTheta > 1, "rope_theta = \(ropeTheta) must be greater than 1")
        try need(initStd >= 0, "init_std = \(initStd) must be non-negative")
        try need(
            router == "dense" || Routers.family(of: router) != nil,
            "router = '\(router)' is unknown; use one of: dense, \(Routers.names.joined(separator: ", ")) (`rmoe routers` describes them)")
        if !isDense {
            try need(experts >= 1 && experts <= Runtime.maxExperts, "experts = \(experts) must be between 1 and \(Runtime.maxExperts)")
            let maxK = min(experts, Runtime.maxTopK)
            try need(topK >= 1 && topK <= maxK, "top_k = \(topK) must be between 1 and min(experts, \(Runtime.maxTopK)) = \(maxK)")
            try need(expertWidth >= 1, "expert_width = \(expertWidth) must be positive")
        }
        try need(dropout >= 0 && dropout < 1, "dropout = \(dropout) must be in [0, 1)")
        try Routers.validateOptions(self)
    }

    /// The parameter table: every tensor's checkpoint name, shape and init, in slab order
    /// (docs/architecture.md sections 2 and 3). This one table drives the parameter, gradient and
    /// optimizer slabs, initialisation and checkpoints. Under expert parallelism (`shard` not
    /// whole) the expert tensors hold only this process's experts: [E / shards, ...].
    public func parameterSpecs(shard: ExpertShard = .whole) -> [TensorSpec] {
        let d = dModel, V = vocab, F = denseWidth, f = expertWidth
        let E = shard.localExperts(experts), sh: ExpertShard? = shard.isWhole ? nil : shard
        let w = TensorInit.normal(initStd)
        var specs: [TensorSpec] = [TensorSpec("tok_emb.weight", [V, d], init: w)]
        for i in 0..<layers {
            let p = "layers.\(i)."
            specs.append(TensorSpec(p + "attn_norm.weight", [d], init: .ones, decay: false))
            for m in ["wq", "wk", "wv", "wo"] { specs.append(TensorSpec(p + "attn.\(m).weight", [d, d], init: w)) }
            specs.append(TensorSpec(p + "moe_norm.weight", [d], init: .ones, decay: false))
            if isDense {
                specs.append(TensorSpec(p + "ffn.w1.weight", [F, d], init: w))
                specs.append(TensorSpec(p + "ffn.w3.weight", [F, d], init: w))
                specs.append(TensorSpec(p + "ffn.w2.weight", [d, F], init: w))
                continue
            }
            specs += Routers.family(of: router)!.layerSpecs(self, layer: i)
            let e = p + "moe.experts."
            func expertTensorInit(out: Int, inDim: Int) -> TensorInit {
                switch self.expertInit {
                case .fastmoe: return .uniform(1 / Double(out * inDim).squareRoot())
                case .torch: return .uniform(1 / Double(inDim).squareRoot())
                default: return w
                }
            }
            specs.append(TensorSpec(e + "w1", [E, f, d], init: expertTensorInit(out: f, inDim: d), shard: sh))
            if !isReLUExpert { specs.append(TensorSpec(e + "w3", [E, f, d], init: expertTensorInit(out: f, inDim: d), shard: sh)) }
            specs.append(TensorSpec(e + "w2", [E, d, f], init: expertTensorInit(out: d, inDim: f), shard: sh))
            if isReLUExpert {
                let torch = self.expertInit == .torch
                specs.append(TensorSpec(e + "b1", [E, f], init: torch ? .uniform(1 / Double(d).squareRoot()) : .zeros, decay: false, shard: sh))
                specs.append(TensorSpec(e + "b2", [E, d], init: torch ? .uniform(1 / Double(f).squareRoot()) : .zeros, decay: false, shard: sh))
            }
        }
        if !isDense { specs += Routers.family(of: router)!.sharedSpecs(self) }
        specs.append(TensorSpec("norm.weight", [d], init: .ones, decay: false))
        specs.append(TensorSpec("lm_head.weight", [V, d], init: w))
        return specs
    }

    /// Elements of activation and scratch memory the model allocates (an upper estimate from the
    /// layers' buffer tables; in Double so that absurd sizes cannot overflow).
    public var estimatedActivationElements: Double {
        let T = Double(batch) * Double(seqLen), d = Double(dModel), V = Double(vocab), L = Double(layers)
        let S = Double(seqLen), H = Double(heads), B = Double(batch)
        let attention = T * 4 * d + B * H * S * S  // saved, per layer
        let attentionScratch = T * 4 * d + B * H * S * S  // shared
        let block = T * 3 * d + 2 * T + (dropout > 0 ? 4 * T * d : 0)
        var ffn = 0.0, ffnScratch = 0.0
        if isDense {
            let F = Double(denseWidth)
            ffn = 3 * T * F; ffnScratch = 3 * T * F
        } else {
            let E = Double(experts), k = Double(topK), f = Double(expertWidth), hs = Double(expertHiddenStride)
            let router = Routers.family(of: self.router).map { $0.activationElements(self) } ?? 0
            ffn = 2 * T * E + T * k + T * k * (2 * d + hs + f) + 4 * T * k + T * 4 * E + router
            ffnScratch = T * k * (2 * d + hs + f) + T * E
        }
        return L * (attention + block + ffn + Double(1)) + attentionScratch + ffnScratch + (L + 4) * T * d + 2 * T * V + 8 * T
    }

    /// Parameters of the model (in Double: no overflow for any size).
    public var estimatedParameterCount: Double {
        parameterSpecs().reduce(0.0) { $0 + $1.shape.reduce(1.0) { $0 * Double($1) } }
    }

    /// Bytes a model of this config needs at `scalarBytes` per element: parameters and gradients
    /// (and both AdamW moments when `optimizer`), plus activations.
    public func estimatedBytes(scalarBytes: Int, optimizer: Bool) -> Double {
        (estimatedParameterCount * (optimizer ? 4 : 2) + estimatedActivationElements) * Double(scalarBytes)
    }

    /// Throws "needs X GB, Y GB available" when the model would not fit in the memory available now.
    public func checkMemory(scalarBytes: Int, optimizer: Bool, extraBytes: Double = 0) throws {
        let need = estimatedBytes(scalarBytes: scalarBytes, optimizer: optimizer) + extraBytes
        try MemoryBudget.check(bytes: need, what: "the model (d_model \(dModel), layers \(layers), vocab \(vocab), batch \(batch) x seq_len \(seqLen))")
    }

    /// Matmul FLOPs of one forward pass over `batch * seqLen` tokens (2 per multiply-add),
    /// counting the causal attention products (scores and values) at full square size, the usual
    /// convention (`forwardFlopsCausal` counts them at half the square).
    public var forwardFlops: Double { forwardFlops(causalHalf: false) }

    /// The same with causal attention's score and value products at half the square (what a
    /// kernel that skips the masked half does); the honest count for a fraction of the peak.
    public var forwardFlopsCausal: Double { forwardFlops(causalHalf: true) }

    func forwardFlops(causalHalf: Bool) -> Double {
        let T = Double(batch * seqLen), d = Double(dModel), S = Double(seqLen)
        let attn = 2 * T * d * 4 * d + 2 * 2 * T * S * d * (causalHalf ? 0.5 : 1)
        let ffn: Double
        if isDense {
            ffn = 2 * T * d * Double(denseWidth) * 3
        } else {
            let f = Double(expertWidth), k = Double(topK)
            ffn = 2 * T * k * d * f * (isReLUExpert ? 2 : 3) + Routers.family(of: router)!.forwardFlops(self) / Double(layers)
        }
        return Double(layers) * (attn + ffn) + 2 * T * d * Double(vocab)
    }
}
