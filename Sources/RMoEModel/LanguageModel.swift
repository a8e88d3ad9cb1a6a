import RMoECore

/// The language model of architecture.md section 2: embedding, L pre-norm blocks
/// (attention, then a feed-forward layer), final RMSNorm, untied LM head, mean cross-entropy.
///
/// All parameters live in one slab laid out by `ModelConfig.parameterSpecs()`; gradients use a
/// second slab of the same layout. Activations for a fixed (batch, seq_len) are reserved once
/// in an arena, so `forward` / `backward` never allocate.
public final class LanguageModel<S: KernelScalar> {
    public let config: ModelConfig
    public let layout: TensorLayout
    public let params: Slab<S>
    public let grads: Slab<S>
    /// Token ids [B, S] and targets [B, S] (target < 0: not counted) of the current batch.
    public let tokens: UnsafeMutablePointer<Int32>
    public let targets: UnsafeMutablePointer<Int32>
    public var rows: Int { config.batch * config.seqLen }

    private let arena: Arena<S>
    private let ropeTables: UnsafeMutablePointer<S>   // cos [S, hd/2] then sin [S, hd/2]
    private let embedding: Embedding<S>
    private let blocks: [Block<S>]
    private let finalNorm: RMSNorm<S>
    private let lmHead, lmHeadGrad: UnsafeMutablePointer<S>
    // Activations.
    private let xs: [UnsafeMutablePointer<S>]       // residual stream x_0 ... x_L
    private let xnFinal, rstdFinal, logits, losses, dx, dxn: UnsafeMutablePointer<S>
    private var countedTokens = 0

    public init(config: ModelConfig) throws {
        try config.validate()
        self.config = config
        layout = try TensorLayout(config.parameterSpecs())
        params = Slab(layout)
        grads = Slab(layout)
        let T = config.batch * config.seqLen, d = config.dModel, V = config.vocab, L = config.layers
        tokens = .allocate(capacity: T); tokens.initialize(repeating: 0, count: T)
        targets = .allocate(capacity: T); targets.initialize(repeating: -1, count: T)
        let (cosTable, sinTable) = Attention<S>.ropeTables(seqLen: config.seqLen, headDim: config.headDim, theta: config.ropeTheta)
        ropeTables = .allocate(capacity: 2 * cosTable.count)
        ropeTables.initialize(from: cosTable + sinTable, count: 2 * cosTable.count)
        lmHead = params.pointer("lm_head.weight")
        lmHeadGrad = grads.pointer("lm_head.weight")

        // Reserve every buffer, then allocate once.
        let arena = Arena<S>()
        self.arena = arena
        let hx = (0...L).map { _ in arena.reserve(T * d) }
        let hFinal = [arena.reserve(T * d), arena.reserve(T), arena.reserve(T * V), arena.reserve(T), arena.reserve(T * d), arena.reserve(T * d)]
        let attnScratch = Attention<S>.scratchCount(B: config.batch, S: config.seqLen, d: d, H: config.heads).map { arena.reserve($0) }
        let ffnScratch = DenseFFN<S>.scratchCount(T: T, F: config.denseWidth).map { arena.reserve($0) }
        let blockSaved = (0..<L).map { _ in Block<S>.savedCount(config).map { arena.reserve($0) } }
        arena.allocate()

        xs = hx.map { arena.pointer($0) }
        xnFinal = arena.pointer(hFinal[0]); rstdFinal = arena.pointer(hFinal[1]); logits = arena.pointer(hFinal[2])
        losses = arena.pointer(hFinal[3]); dx = arena.pointer(hFinal[4]); dxn = arena.pointer(hFinal[5])
        embedding = Embedding(weight: params.pointer("tok_emb.weight"), weightGrad: grads.pointer("tok_emb.weight"), dim: d)
        finalNorm = RMSNorm(weight: params.pointer("norm.weight"), weightGrad: grads.pointer("norm.weight"), dim: d, eps: S(config.normEps))
        let rope = (cos: UnsafePointer(ropeTables), sin: UnsafePointer(ropeTables + cosTable.count))
        let (params, grads) = (self.params, self.grads)
        blocks = (0..<L).map { i in
            Block(index: i, config: config, params: params, grads: grads, rope: rope,
                                saved: blockSaved[i].map { arena.pointer($0) },
                                attnScratch: attnScratch.map { arena.pointer($0) },
                                ffnScratch: ffnScratch.map { arena.pointer($0) })
        }
    }

    deinit {
        tokens.deallocate()
        targets.deallocate()
        ropeTables.deallocate()
    }

    /// Bytes of activation and scratch memory.
    public var activationBytes: Int { arena.totalCount * MemoryLayout<S>.stride }

    /// Normal(0, init_std) for every matrix, ones for norm weights. Each tensor draws from its own
    /// stream (seed, name), so adding a tensor never changes the others' values.
    public func initialize(seed: UInt64) {
        for (i, spec) in layout.specs.enumerated() {
            let buf = params.buffer(at: i)
            if spec.name.hasSuffix("norm.weight") {
                buf.update(repeating: 1)
            } else {
                var rng = Xoshiro256(seed: seed, stream: stableHash("init:" + spec.name))
                for j in 0..<buf.count { buf[j] = S(rng.normal() * config.initStd) }
            }
        }
    }

    /// Forward pass over the batch in `tokens` / `targets`. Returns the mean cross-entropy (nats)
    /// over counted targets. When `training`, the logits buffer is replaced by its gradient so that
    /// `backward()` can follow.
    @discardableResult
    public func forward(training: Bool) -> Double {
        let T = rows, d = config.dModel, V = config.vocab
        embedding.forward(x: xs[0], tokens: tokens, rows: T)
        for (i, block) in blocks.enumerated() { block.forward(xOut: xs[i + 1], xIn: xs[i]) }
        finalNorm.forward(y: xnFinal, rstd: rstdFinal, x: xs[config.layers], rows: T)
        Linear.forward(logits, xnFinal, lmHead, T, d, V)
        var counted = 0
        for t in 0..<T where targets[t] >= 0 { counted += 1 }
        countedTokens = counted
        S.crossEntropy(losses, logits, targets, T, V, gradScale: training && counted > 0 ? 1 / S(counted) : 0)
        var total = 0.0
        for t in 0..<T { total += Double(losses[t]) }
        return counted > 0 ? total / Double(counted) : 0
    }

    /// Backward pass of the last `forward(training: true)`; accumulates into `grads`.
    public func backward() {
        let T = rows, d = config.dModel, V = config.vocab
        Linear.backward(dx: dxn, dw: lmHeadGrad, accumulateDx: false, logits, xnFinal, lmHead, T, d, V)
        dx.update(repeating: 0, count: T * d)
        finalNorm.backward(dx: dx, dy: dxn, x: xs[config.layers], rstd: rstdFinal, rows: T)
        for i in stride(from: config.layers - 1, through: 0, by: -1) {
            blocks[i].backward(dx: dx, dxn: dxn, xIn: xs[i])
        }
        embedding.backward(dx: dx, tokens: tokens, rows: T)
    }

    /// Tokens counted by the last forward pass.
    public var lastCountedTokens: Int { countedTokens }

    /// Per-token losses of the last forward pass [B * S] (0 where not counted).
    public var lastLosses: UnsafeBufferPointer<S> { UnsafeBufferPointer(start: losses, count: rows) }

    /// Copies a batch in: `input` and `target` rows of length seq_len each.
    public func setBatch(tokens input: UnsafeBufferPointer<Int32>, targets target: UnsafeBufferPointer<Int32>) {
        precondition(input.count == rows && target.count == rows)
        tokens.update(from: input.baseAddress!, count: rows)
        targets.update(from: target.baseAddress!, count: rows)
    }
}

/// One transformer layer: `h = x + Attn(RMSNorm(x))`, `x' = h + FFN(RMSNorm(h))`.
struct Block<S: KernelScalar> {
    let attnNorm, ffnNorm: RMSNorm<S>
    let attention: Attention<S>
    let ffn: DenseFFN<S>
    let T, d: Int
    let xn1, rstd1, h, xn2, rstd2: UnsafeMutablePointer<S>

    static func savedCount(_ c: ModelConfig) -> [Int] {
        let T = c.batch * c.seqLen, d = c.dModel
        return [T * d, T, T * d, T * d, T]
            + Attention<S>.savedCount(B: c.batch, S: c.seqLen, d: d, H: c.heads)
            + DenseFFN<S>.savedCount(T: T, F: c.denseWidth)
    }

    init(index i: Int, config c: ModelConfig, params: Slab<S>, grads: Slab<S>,
         rope: (cos: UnsafePointer<S>, sin: UnsafePointer<S>),
         saved: [UnsafeMutablePointer<S>], attnScratch: [UnsafeMutablePointer<S>], ffnScratch: [UnsafeMutablePointer<S>]) {
        let p = "layers.\(i)."
        T = c.batch * c.seqLen; d = c.dModel
        attnNorm = RMSNorm(weight: params.pointer(p + "attn_norm.weight"), weightGrad: grads.pointer(p + "attn_norm.weight"), dim: d, eps: S(c.normEps))
        ffnNorm = RMSNorm(weight: params.pointer(p + "moe_norm.weight"), weightGrad: grads.pointer(p + "moe_norm.weight"), dim: d, eps: S(c.normEps))
        xn1 = saved[0]; rstd1 = saved[1]; h = saved[2]; xn2 = saved[3]; rstd2 = saved[4]
        attention = Attention(params: params, grads: grads, prefix: p + "attn.", B: c.batch, seqLen: c.seqLen, d: d, H: c.heads,
                              rope: rope, saved: Array(saved[5..<8]), scratch: attnScratch)
        ffn = DenseFFN(params: params, grads: grads, prefix: p + "ffn.", T: T, d: d, F: c.denseWidth,
                       saved: Array(saved[8..<10]), scratch: ffnScratch)
    }

    func forward(xOut: UnsafeMutablePointer<S>, xIn: UnsafePointer<S>) {
        attnNorm.forward(y: xn1, rstd: rstd1, x: xIn, rows: T)
        h.update(from: xIn, count: T * d)
        attention.forward(y: h, x: xn1)
        ffnNorm.forward(y: xn2, rstd: rstd2, x: h, rows: T)
        xOut.update(from: h, count: T * d)
        ffn.forward(y: xOut, x: xn2)
    }

    /// On entry `dx` = dL/dxOut; on exit dL/dxIn. `dxn` is scratch [T, d].
    func backward(dx: UnsafeMutablePointer<S>, dxn: UnsafeMutablePointer<S>, xIn: UnsafePointer<S>) {
        ffn.backward(dx: dxn, dy: dx, x: xn2)
        ffnNorm.backward(dx: dx, dy: dxn, x: h, rstd: rstd2, rows: T)
        attention.backward(dx: dxn, dy: dx, x: xn1)
        attnNorm.backward(dx: dx, dy: dxn, x: xIn, rstd: rstd1, rows: T)
    }
}
