import RMoECore

/// The language model of docs/architecture.md section 2: embedding, L pre-norm blocks
/// (attention, then a dense or Mixture-of-Experts feed-forward layer), final RMSNorm, untied LM
/// head; loss = mean cross-entropy + balance_coef * sum over layers of the balance loss.
///
/// All parameters live in one slab laid out by `ModelConfig.parameterSpecs()`; gradients use a
/// second slab of the same layout. Activations for a fixed (batch, seq_len) come from a buffer
/// pool filled once, so `forward` / `backward` never allocate.
public final class LanguageModel<S: KernelScalar> {
    public let config: ModelConfig
    public let layout: TensorLayout
    public let params: Slab<S>
    public let grads: Slab<S>
    /// Token ids [B, S] and targets [B, S] (target < 0: not counted) of the current batch.
    public let tokens: UnsafeMutablePointer<Int32>
    public let targets: UnsafeMutablePointer<Int32>
    public var rows: Int { config.batch * config.seqLen }

    private let pool = BufferPool()
    private let embedding: Embedding<S>
    private let blocks: [Block<S>]
    private let finalNorm: RMSNorm<S>
    private let lmHead, lmHeadGrad: UnsafeMutablePointer<S>
    private let xs: [UnsafeMutablePointer<S>]  // residual stream x_0 ... x_L
    private let xnFinal, rstdFinal, logits, losses, dx, dxn: UnsafeMutablePointer<S>
    /// The router state shared across layers (RMoE), if any.
    public let routerShared: AnyObject?
    /// Training flag, step and seed seen by layers with randomness (router dropout).
    public let context = ForwardContext()
    /// Wall time spent in the routers (forward and backward), accumulated.
    public let routerClock = Stopwatch()
    /// When set, every MoE forward pass adds its routing statistics here (evaluation).
    public var routingStats: RoutingStats?
    /// When set, forward and backward charge their time to its parts (benchmark breakdown).
    public var profile: StepProfile? {
        didSet { for b in blocks { b.profileBox.profile = profile; if case .moe(let m) = b.ffn { m.profile = profile } } }
    }

    /// Cross-entropy (mean nats per counted token) and summed per-layer balance loss of the last forward.
    public private(set) var lastCrossEntropy = 0.0
    public private(set) var lastBalance = 0.0
    public private(set) var lastCountedTokens = 0
    /// Sum of the per-token losses of the last forward pass (nats).
    public private(set) var lastLossSum = 0.0
    /// When set, the cross-entropy gradient is scaled by 1 / lossNormalizer instead of 1 / (this
    /// batch's targets): the target count of a whole batch split over ranks or micro-batches.
    public var lossNormalizer: Int? = nil

    /// Whether MoE layers record p's column sums (split batches; see `balanceParts`).
    public var recordBalanceColumns = false {
        didSet { for m in moeLayers { m.recordColumnSums = recordBalanceColumns } }
    }

    /// This batch's part of every MoE layer's balance statistics after a forward pass: its expert
    /// counts and the column sums of p (with `recordBalanceColumns`).
    public func balanceParts() -> [(counts: [Int32], columnSums: [Double])] {
        moeLayers.map { m in
            (
                Array(UnsafeBufferPointer(start: m.routing.counts, count: m.routing.experts)),
                Array(UnsafeBufferPointer(start: m.columnSums, count: m.routing.experts))
            )
        }
    }

    /// Sets the whole batch's balance statistics (counts and column sums summed over its parts, in
    /// order; `tokens` its token count) for the next backward pass, and returns the summed balance
    /// loss they give: sum over layers of E sum_e (n_e / (T k)) (P_e / (T k)).
    public func setBatchBalance(_ parts: [(counts: [Int32], columnSums: [Double])], tokens: Int) -> Double {
        var total = 0.0
        for (m, p) in zip(moeLayers, parts) {
            let E = m.routing.experts, Tk = Double(tokens) * Double(m.routing.topK)
            var loss = 0.0
            for e in 0..<E {
                m.batchCounts[e] = p.counts[e]
                loss += (Double(p.counts[e]) / Tk) * (p.columnSums[e] / Tk)
            }
            m.batchTokens = tokens
            total += Double(E) * loss
        }
        return total
    }

    /// Back to this batch's own balance statistics.
    public func clearBatchBalance() { for m in moeLayers { m.batchTokens = nil } }

    /// The expert exchange under expert parallelism (nil: every expert is here).
    public let expertExchange: ExpertExchange?
    /// The experts this process holds.
    public var expertShard: ExpertShard { expertExchange?.shard ?? .whole }

    /// `expertExchange`: expert parallelism; this process then holds only its shard of every MoE
    /// layer's experts, and its forward and backward passes exchange rows with the other
    /// processes (all processes must run them together).
    public init(config: ModelConfig, expertExchange: ExpertExchange? = nil) throws {
        try config.validate()
        try config.checkMemory(scalarBytes: MemoryLayout<S>.stride, optimizer: false)
        let shard = expertExchange?.shard ?? .whole
        if !shard.isWhole {
            guard !config.isDense else { throw RMoEError("expert parallelism needs an MoE model; router = dense has no experts: drop --expert-parallel") }
            guard config.experts % shard.count == 0 else {
                throw RMoEError(
                    "experts = \(config.experts) cannot be split over \(shard.count) ranks (expert parallelism holds experts / ranks on each); use a number of ranks that divides experts"
                )
            }
        }
        self.expertExchange = shard.isWhole ? nil : expertExchange
        self.config = config
        layout = try TensorLayout(config.parameterSpecs(shard: shard))
        params = Slab(layout)
        grads = Slab(layout)
        let T = config.batch * config.seqLen, d = config.dModel, V = config.vocab, L = config.layers
        let pool = self.pool
        tokens = pool.make(T); targets = pool.make(T)
        for i in 0..<T { targets[i] = -1 }
        let (cosTable, sinTable) = Attention<S>.ropeTables(seqLen: config.seqLen, headDim: config.headDim, theta: config.ropeTheta)
        let rope: UnsafeMutablePointer<S> = pool.make(2 * cosTable.count)
        rope.update(from: cosTable + sinTable, count: 2 * cosTable.count)
        lmHead = params.pointer("lm_head.weight")
        lmHeadGrad = grads.pointer("lm_head.weight")
        xs = (0...L).map { _ in pool.make(T * d) }
        xnFinal = pool.make(T * d); rstdFinal = pool.make(T); logits = pool.make(T * V)
        losses = pool.make(T); dx = pool.make(T * d); dxn = pool.make(T * d)
        embedding = Embedding(weight: params.pointer("tok_emb.weight"), weightGrad: grads.pointer("tok_emb.weight"), dim: d)
        finalNorm = RMSNorm(weight: params.pointer("norm.weight"), weightGrad: grads.pointer("norm.weight"), dim: d, eps: S(config.normEps))
        let shared = config.isDense ? nil : Routers.family(of: config.router)!.makeShared(config, buffers: pool, scalar: S.self)
        routerShared = shared
        let attnScratch = Attention<S>.scratchCount(B: config.batch, S: config.seqLen, d: d, H: config.heads).map { pool.make($0, of: S.self) }
        let ffnScratch = config.isDense ? DenseFFN<S>.scratchCount(T: T, F: config.denseWidth).map { pool.make($0, of: S.self) } : []
        let moeScratch = config.isDense ? nil : MoELayer<S>.Scratch(config, pool, expertsHere: shard.isWhole)
        let expertParallel = self.expertExchange.map { ex in
            (
                ex,
                ExpertParallelLayer<S>.Scratch(
                    maxRows: ExpertParallelLayer<S>.Scratch.maxRows(config, processes: shard.count), d: d, f: config.expertWidth,
                    hs: config.expertHiddenStride, pool: pool)
            )
        }
        let (params, grads, context, clock) = (self.params, self.grads, self.context, self.routerClock)
        let tokenIds = UnsafePointer(tokens)
        blocks = (0..<L).map { i in
            Block(
                index: i, config: config, params: params, grads: grads, pool: pool, context: context, routerClock: clock,
                rope: (UnsafePointer(rope), UnsafePointer(rope + cosTable.count)),
                attnScratch: attnScratch, ffnScratch: ffnScratch, moeScratch: moeScratch, routerShared: shared,
                tokenIds: tokenIds, expertParallel: expertParallel)
        }
    }

    /// The name of the first parameter tensor holding a NaN or an infinity, or nil when all are finite.
    public func firstNonFiniteTensor() -> String? {
        for (i, spec) in layout.specs.enumerated() {
            let b = params.buffer(at: i)
            for x in b where !x.isFinite { return spec.name }
        }
        return nil
    }

    /// Bytes of activation and scratch memory.
    public var activationBytes: Int { pool.bytes }

    /// The MoE layers (empty for a dense model).
    public var moeLayers: [MoELayer<S>] { blocks.compactMap { if case .moe(let m) = $0.ffn { m } else { nil } } }

    /// Initialises every tensor as its spec says (normal(0, init_std) for matrices, ones for norms,
    /// the routers' own inits). Each tensor draws from its own stream (seed, name), so adding a
    /// tensor never changes the others' values. An expert shard gets its slice of the whole
    /// tensor's values, so every number of shards starts from the same model.
    public func initialize(seed: UInt64) {
        for (i, spec) in layout.specs.enumerated() {
            var rng = Xoshiro256(seed: seed, stream: stableHash("init:" + spec.name))
            if let shard = spec.shard {
                let whole = TensorSpec(spec.name, spec.fullShape, init: spec.initializer)
                let full = UnsafeMutableBufferPointer<S>.allocate(capacity: whole.count)
                defer { full.deallocate() }
                Initializer.fill(full, spec: whole, rng: &rng)
                params.pointer(at: i).update(from: full.baseAddress! + shard.index * spec.count, count: spec.count)
            } else {
                Initializer.fill(params.buffer(at: i), spec: spec, rng: &rng)
            }
        }
    }

    /// Forward pass over the batch in `tokens` / `targets`. Returns the total loss: mean
    /// cross-entropy over counted targets + balance_coef * summed balance loss. When `training`,
    /// the logits buffer is replaced by its gradient so that `backward()` can follow.
    @discardableResult
    @_specialize(exported:true,where S == Float)
    public func forward(training: Bool) -> Double {
        let T = rows, d = config.dModel, V = config.vocab
        context.training = training
        timed(profile, .normsAndElementwise) { embedding.forward(x: xs[0], tokens: tokens, rows: T) }
        for (i, block) in blocks.enumerated() { block.forward(xOut: xs[i + 1], xIn: xs[i], stats: routingStats) }
        timed(profile, .normsAndElementwise) { finalNorm.forward(y: xnFinal, rstd: rstdFinal, x: xs[config.layers], rows: T) }
        let t0 = System.now()
        Linear.forward(logits, xnFinal, lmHead, T, d, V)
        var counted = 0
        for t in 0..<T where targets[t] >= 0 { counted += 1 }
        lastCountedTokens = counted
        // The mean is over this batch's targets, or over the whole batch's when it is split.
        let normalizer = lossNormalizer ?? counted
        S.crossEntropy(losses, logits, targets, T, V, gradScale: training && normalizer > 0 ? 1 / S(normalizer) : 0)
        profile?.add(.loss, since: t0)
        var total = 0.0
        for t in 0..<T { total += Double(losses[t]) }
        lastLossSum = total
        lastCrossEntropy = counted > 0 ? total / Double(counted) : 0
        var balance = 0.0
        for block in blocks { if case .moe(let m) = block.ffn { balance += m.balanceLoss } }
        lastBalance = balance
        return lastCrossEntropy + config.balanceCoef * balance
    }

    /// Backward pass of the last `forward(training: true)`; accumulates into `grads`.
    @_specialize(exported:true,where S == Float)
    public func backward() {
        let T = rows, d = config.dModel, V = config.vocab
        timed(profile, .loss) { Linear.backward(dx: dxn, dw: lmHeadGrad, accumulateDx: false, logits, xnFinal, lmHead, T, d, V) }
        timed(profile, .normsAndElementwise) {
            dx.update(repeating: 0, count: T * d)
            finalNorm.backward(dx: dx, dy: dxn, x: xs[config.layers], rstd: rstdFinal, rows: T)
        }
        for i in stride(from: config.layers - 1, through: 0, by: -1) {
            blocks[i].backward(dx: dx, dxn: dxn, xIn: xs[i], balanceCoef: S(config.balanceCoef))
        }
        timed(profile, .normsAndElementwise) { embedding.backward(dx: dx, tokens: tokens, rows: T) }
    }

    /// Per-token losses of the last forward pass [B * S] (0 where not counted).
    public var lastLosses: UnsafeBufferPointer<S> { UnsafeBufferPointer(start: losses, count: rows) }
}

/// The feed-forward layer of a block.
enum FeedForward<S: KernelScalar> {
    case dense(DenseFFN<S>)
    case moe(MoELayer<S>)
}

/// One transformer layer: `h = x + Attn(RMSNorm(x))`, `x' = h + FFN(RMSNorm(h))`.
///
/// With `dropout` p > 0 (training only) each sublayer output o becomes o * m / (1 - p) before it is
/// added, m ~ Bernoulli(1 - p) drawn from (seed, step, layer, sublayer, element); the backward pass
/// multiplies the incoming gradient by the same saved mask.
struct Block<S: KernelScalar> {
    let attnNorm, ffnNorm: RMSNorm<S>
    let attention: Attention<S>
    let ffn: FeedForward<S>
    let T, d: Int
    let xn1, rstd1, h, xn2, rstd2: UnsafeMutablePointer<S>
    let profileBox = ProfileBox()
    /// Residual dropout: probability, the forward context (training flag, step, seed), the two
    /// sublayers' mask streams, and buffers for each sublayer's output and mask (nil when p = 0).
    let dropout: S
    let context: ForwardContext
    let attnStream, ffnStream: UInt64
    let attnOut, attnMask, ffnOut, ffnMask: UnsafeMutablePointer<S>?

    var dropping: Bool { dropout > 0 && context.training }

    /// The mask seed of one sublayer at the current step.
    func dropoutSeed(_ stream: UInt64) -> UInt64 { context.seed ^ stream &+ UInt64(context.step) &* 0x9E37_79B9_7F4A_7C15 }

    init(
        index i: Int, config c: ModelConfig, params: Slab<S>, grads: Slab<S>, pool: BufferPool, context: ForwardContext,
        routerClock: Stopwatch, rope: (UnsafePointer<S>, UnsafePointer<S>), attnScratch: [UnsafeMutablePointer<S>], ffnScratch: [UnsafeMutablePointer<S>],
        moeScratch: MoELayer<S>.Scratch?, routerShared: AnyObject?, tokenIds: UnsafePointer<Int32>,
        expertParallel: (ExpertExchange, ExpertParallelLayer<S>.Scratch)?
    ) {
        let p = "layers.\(i)."
        T = c.batch * c.seqLen; d = c.dModel
        attnNorm = RMSNorm(weight: params.pointer(p + "attn_norm.weight"), weightGrad: grads.pointer(p + "attn_norm.weight"), dim: d, eps: S(c.normEps))
        ffnNorm = RMSNorm(weight: params.pointer(p + "moe_norm.weight"), weightGrad: grads.pointer(p + "moe_norm.weight"), dim: d, eps: S(c.normEps))
        xn1 = pool.make(T * d); rstd1 = pool.make(T); h = pool.make(T * d); xn2 = pool.make(T * d); rstd2 = pool.make(T)
        dropout = S(c.dropout)
        self.context = context
        attnStream = stableHash("resid-dropout:\(i):attn"); ffnStream = stableHash("resid-dropout:\(i):ffn")
        if c.dropout > 0 {
            attnOut = pool.make(T * d); attnMask = pool.make(T * d); ffnOut = pool.make(T * d); ffnMask = pool.make(T * d)
        } else {
            attnOut = nil; attnMask = nil; ffnOut = nil; ffnMask = nil
        }
        attention = Attention(
            params: params, grads: grads, prefix: p + "attn.", B: c.batch, seqLen: c.seqLen, d: d, H: c.heads,
            rope: (cos: rope.0, sin: rope.1),
            saved: Attention<S>.savedCount(B: c.batch, S: c.seqLen, d: d, H: c.heads).map { pool.make($0) },
            scratch: attnScratch)
        if c.isDense {
            ffn = .dense(
                DenseFFN(
                    params: params, grads: grads, prefix: p + "ffn.", T: T, d: d, F: c.denseWidth,
                    saved: DenseFFN<S>.savedCount(T: T, F: c.denseWidth).map { pool.make($0) }, scratch: ffnScratch))
        } else {
            ffn = .moe(
                MoELayer(
                    layer: i, config: c, params: params, grads: grads, pool: pool, shared: routerShared,
                    context: context, tokenIds: tokenIds, routerClock: routerClock, scratch: moeScratch!,
                    expertParallel: expertParallel))
        }
    }

    func forward(xOut: UnsafeMutablePointer<S>, xIn: UnsafePointer<S>, stats: RoutingStats?) {
        let p = profileBox.profile
        timed(p, .normsAndElementwise) {
            attnNorm.forward(y: xn1, rstd: rstd1, x: xIn, rows: T)
            h.update(from: xIn, count: T * d)
        }
        let drop = dropping
        if drop, let attnOut, let attnMask {
            attnOut.update(repeating: 0, count: T * d)
            attention.forward(y: attnOut, x: xn1, profile: p)
            timed(p, .normsAndElementwise) {
                S.dropout(attnOut, attnMask, T * d, dropout, dropoutSeed(attnStream), offset: context.rowOffset * d)
                S.axpy(h, attnOut, T * d, 1)
            }
        } else {
            attention.forward(y: h, x: xn1, profile: p)
        }
        timed(p, .normsAndElementwise) {
            ffnNorm.forward(y: xn2, rstd: rstd2, x: h, rows: T)
            xOut.update(from: h, count: T * d)
        }
        let y = drop ? ffnOut! : xOut
        if drop { y.update(repeating: 0, count: T * d) }
        switch ffn {
        case .dense(let f): timed(p, .denseFFN) { f.forward(y: y, x: xn2) }
        case .moe(let m): m.forward(y: y, x: xn2, stats: stats)
        }
        if drop, let ffnOut, let ffnMask {
            timed(p, .normsAndElementwise) {
                S.dropout(ffnOut, ffnMask, T * d, dropout, dropoutSeed(ffnStream), offset: context.rowOffset * d)
                S.axpy(xOut, ffnOut, T * d, 1)
            }
        }
    }

    /// On entry `dx` = dL/dxOut; on exit dL/dxIn. `dxn` is scratch [T, d].
    func backward(dx: UnsafeMutablePointer<S>, dxn: UnsafeMutablePointer<S>, xIn: UnsafePointer<S>, balanceCoef: S) {
        let p = profileBox.profile
        let drop = dropping
        // With dropout, the sublayers see dL/d(output) = dL/dx * mask (their output buffers are free now).
        var dyF = UnsafePointer(dx)
        if drop, let ffnOut, let ffnMask {
            ffnOut.update(from: dx, count: T * d)
            S.multiply(ffnOut, ffnMask, T * d)
            dyF = UnsafePointer(ffnOut)
        }
        switch ffn {
        case .dense(let f): timed(p, .denseFFN) { f.backward(dx: dxn, dy: dyF, x: xn2) }
        case .moe(let m): m.backward(dx: dxn, dy: dyF, x: xn2, balanceCoef: balanceCoef)
        }
        timed(p, .normsAndElementwise) { ffnNorm.backward(dx: dx, dy: dxn, x: h, rstd: rstd2, rows: T) }
        var dyA = UnsafePointer(dx)
        if drop, let attnOut, let attnMask {
            attnOut.update(from: dx, count: T * d)
            S.multiply(attnOut, attnMask, T * d)
            dyA = UnsafePointer(attnOut)
        }
        attention.backward(dx: dxn, dy: dyA, x: xn1, profile: p)
        timed(p, .normsAndElementwise) { attnNorm.backward(dx: dx, dy: dxn, x: xIn, rstd: rstd1, rows: T) }
    }
}

/// Holds a block's profile (blocks are structs; this lets the model switch profiling on later).
final class ProfileBox { var profile: StepProfile? }

/// Fills a tensor according to its `TensorInit`.
public enum Initializer {
    public static func fill<S: KernelScalar>(_ buf: UnsafeMutableBufferPointer<S>, spec: TensorSpec, rng: inout Xoshiro256) {
        switch spec.initializer {
        case .ones: buf.update(repeating: 1)
        case .zeros: buf.update(repeating: 0)
        case .constant(let v): buf.update(repeating: S(v))
        case .normal(let std): for j in 0..<buf.count { buf[j] = S(rng.normal() * std) }
        case .uniform(let bound): for j in 0..<buf.count { buf[j] = S((2 * rng.uniform() - 1) * bound) }
        case .orthogonal(let gain, let rowNorm):
            // Rows over the last dimension: Gram-Schmidt on Gaussian rows (orthonormal while
            // rows <= cols), scaled to length `gain`, or to `rowNorm` when that is positive.
            let cols = spec.shape.last!, rows = spec.count / cols
            var m = (0..<spec.count).map { _ in rng.normal() }
            for r in 0..<rows {
                for q in 0..<min(r, cols) where r < cols {
                    var dot = 0.0
                    for c in 0..<cols { dot += m[r * cols + c] * m[q * cols + c] }
                    for c in 0..<cols { m[r * cols + c] -= dot * m[q * cols + c] }
                }
                var norm = 0.0
                for c in 0..<cols { norm += m[r * cols + c] * m[r * cols + c] }
                for c in 0..<cols { m[r * cols + c] /= max(norm.squareRoot(), 1e-12) }  // unit rows
            }
            let scale = rowNorm > 0 ? rowNorm : gain
            for j in 0..<m.count { m[j] *= scale }
            for j in 0..<buf.count { buf[j] = S(m[j]) }
        }
    }
}
