import RMoECore

/// The Mixture-of-Experts layer (docs/routers.md section 1, docs/architecture.md sections 2 and 7):
///
///     z = router(x)                                   [T, E]
///     S_t = top-k of z_t,  w_t = softmax(z_t[S_t])      (dropless: every token gets its k experts)
///     y += sum_j w_tj F_{S_tj}(x_t)                     F = SwiGLU or ReLU expert
///     balance = E sum_e f_e P_e,  f_e = n_e/(Tk),  P_e = sum_t p_te/(Tk),  p = softmax(z) (XMoE: its own scores)
///
/// Experts are stacked `experts.w1` [E, f, d], `w3` [E, f, d], `w2` [E, d, f] (ReLU: `b1` [E, f],
/// `b2` [E, d], no w3). The dispatch (sort, gather, per-expert products, combine) runs in the C
/// dispatcher on the thread team. Backward: gradients reach the router only through the selected
/// gate values and the balance loss (docs/routers.md 1.5). Under expert parallelism the expert
/// products run on the experts' processes (`ExpertParallelLayer`); everything else stays here.
public final class MoELayer<S: KernelScalar> {
    public let router: any RouterLayer<S>
    public let routing: Routing
    let T, d, E, k, f, hs: Int
    let relu: Bool
    let w1, w2, dw1, dw2: UnsafeMutablePointer<S>
    let w3, dw3, b1, db1, b2, db2: UnsafeMutablePointer<S>?
    // Saved for backward.
    public let logits, probs: UnsafeMutablePointer<S>  // [T, E]
    let gate: UnsafeMutablePointer<S>  // [T, k]
    let Xe, H, G, Ye: UnsafeMutablePointer<S>  // [Tk, d], [Tk, hs], [Tk, f], [Tk, d]
    // Shared scratch.
    let scratch: Scratch
    /// Balance loss of the last forward pass (unweighted), from this batch's tokens alone.
    public private(set) var balanceLoss = 0.0
    /// When the batch is split over ranks or micro-batches: the forward pass also records the
    /// column sums of p (`columnSums`), and the backward pass takes the balance gradient with the
    /// whole batch's expert counts (`batchCounts`) and token count (`batchTokens`) once they are set.
    public var recordColumnSums = false
    public let columnSums: UnsafeMutablePointer<Double>
    public let batchCounts: UnsafeMutablePointer<Int32>
    public var batchTokens: Int? = nil
    let layer: Int
    let routerClock: Stopwatch
    /// Benchmark breakdown (off unless set).
    var profile: StepProfile?
    /// Expert parallelism: this process holds only its shard of the experts (nil: all of them).
    let expertParallel: ExpertParallelLayer<S>?

    /// Backward scratch shared by all MoE layers of a model.
    public struct Scratch {
        let dYe, dXe, dH, dG, dz: UnsafeMutablePointer<S>
        /// `expertsHere`: false under expert parallelism (the expert scratch is on the experts' side).
        public init(_ c: ModelConfig, _ pool: BufferPool, expertsHere: Bool = true) {
            let T = c.batch * c.seqLen, Tk = T * c.topK, rows = expertsHere ? Tk : 1
            dYe = pool.make(Tk * c.dModel); dXe = pool.make(Tk * c.dModel)
            dH = pool.make(rows * c.expertHiddenStride); dG = pool.make(rows * c.expertWidth); dz = pool.make(T * c.experts)
        }
    }

    init(
        layer i: Int, config c: ModelConfig, params: Slab<S>, grads: Slab<S>, pool: BufferPool, shared: AnyObject?,
        context: ForwardContext, tokenIds: UnsafePointer<Int32>, routerClock: Stopwatch, scratch: Scratch,
        expertParallel: (ExpertExchange, ExpertParallelLayer<S>.Scratch)? = nil
    ) {
        layer = i
        self.routerClock = routerClock
        T = c.batch * c.seqLen; d = c.dModel; E = c.experts; k = c.topK; f = c.expertWidth
        relu = c.isReLUExpert; hs = c.expertHiddenStride
        let p = "layers.\(i).moe.experts."
        func opt(_ s: Slab<S>, _ n: String) -> UnsafeMutablePointer<S>? { s.layout.offset(of: p + n) != nil ? s.pointer(p + n) : nil }
        w1 = params.pointer(p + "w1"); dw1 = grads.pointer(p + "w1")
        w2 = params.pointer(p + "w2"); dw2 = grads.pointer(p + "w2")
        w3 = opt(params, "w3"); dw3 = opt(grads, "w3")
        b1 = opt(params, "b1"); db1 = opt(grads, "b1"); b2 = opt(params, "b2"); db2 = opt(grads, "b2")
        routing = Routing(tokens: T, experts: E, topK: k, dModel: d, expertWidth: f)
        logits = pool.make(T * E); probs = pool.make(T * E); gate = pool.make(T * k)
        columnSums = pool.make(E); batchCounts = pool.make(E)
        Xe = pool.make(T * k * d); Ye = pool.make(T * k * d)
        if let (exchange, epScratch) = expertParallel {
            self.expertParallel = ExpertParallelLayer(exchange: exchange, config: c, pool: pool, scratch: epScratch)
            H = pool.make(1); G = pool.make(1)  // the expert activations live on the experts' process
        } else {
            self.expertParallel = nil
            H = pool.make(T * k * hs); G = pool.make(T * k * f)
        }
        self.scratch = scratch
        let env = RouterEnvironment(
            config: c, layer: i, params: params, grads: grads, buffers: pool, shared: shared, context: context,
            tokenIds: tokenIds)
        router = Routers.family(of: c.router)!.make(env)
    }

    /// `y += MoE(x)`; x [T, d] (the normed input).
    func forward(y: UnsafeMutablePointer<S>, x: UnsafePointer<S>, stats: RoutingStats?) {
        let t0 = System.now()
        router.forward(x: x, logits: logits)
        routerClock.seconds += System.now() - t0
        profile?.add(.router, since: t0)
        let t1 = System.now()
        S.topKGate(routing.idx, gate, logits, T, E, k)
        routing.route(dModel: d, expertWidth: f, relu: relu)
        if let b = router.balanceScores {
            S.softmaxRows(probs, b.scores, T, E, b.invTau)
        } else {
            S.softmaxRows(probs, logits, T, E, 1)
        }
        balanceLoss = S.balanceLoss(probs, routing.counts, T, E, k)
        if recordColumnSums { S.balanceColumnSums(columnSums, probs, T, E) }
        stats?.add(layer: layer, probs: probs, routing: routing, balance: balanceLoss, tokens: T)
        S.moeGather(Xe, x, routing.pointer, d)
        profile?.add(.dispatch, since: t1)
        timed(profile, .expertFFN) {
            if let ep = expertParallel {
                ep.forward(
                    Ye: Ye, Xe: Xe, counts: routing.counts, w1: w1, w3: w3.map { UnsafePointer($0) }, w2: w2,
                    b1: b1.map { UnsafePointer($0) }, b2: b2.map { UnsafePointer($0) })
            } else {
                S.moeExpertsForward(
                    H, G, Ye, Xe, w1, w3.map { UnsafePointer($0) }, w2, b1.map { UnsafePointer($0) },
                    b2.map { UnsafePointer($0) }, routing.pointer, d, f, relu)
            }
        }
        timed(profile, .dispatch) { S.moeCombine(y, Ye, gate, routing.pointer, d) }
    }

    /// Given dy, writes dx (experts and router paths) and accumulates every gradient; the balance
    /// loss enters with weight `balanceCoef`.
    func backward(dx: UnsafeMutablePointer<S>, dy: UnsafePointer<S>, x: UnsafePointer<S>, balanceCoef: S) {
        let s = scratch
        let t1 = System.now()
        S.moeCombineBackward(s.dYe, s.dz, dy, Ye, gate, routing.pointer, d)
        let counts = batchTokens == nil ? routing.counts : UnsafePointer(batchCounts), total = batchTokens ?? T
        if balanceCoef != 0 {
            if let b = router.balanceScores {
                b.grad.update(repeating: 0, count: T * E)
                S.balanceBackward(b.grad, probs, counts, T, total: total, E, k, balanceCoef, b.invTau)
            } else {
                S.balanceBackward(s.dz, probs, counts, T, total: total, E, k, balanceCoef, 1)
            }
        }
        profile?.add(.dispatch, since: t1)
        timed(profile, .expertFFN) {
            if let ep = expertParallel {
                ep.backward(
                    dXe: s.dXe, dYe: s.dYe, dw1: dw1, dw3: dw3, dw2: dw2, db1: db1, db2: db2, w1: w1, w3: w3.map { UnsafePointer($0) }, w2: w2)
            } else {
                S.moeExpertsBackward(
                    s.dXe, s.dH, s.dG, dw1, dw3, dw2, db1, db2, s.dYe, Xe, H, G, w1, w3.map { UnsafePointer($0) }, w2,
                    routing.pointer, d, f, relu)
            }
        }
        timed(profile, .dispatch) { S.moeScatter(dx, s.dXe, routing.pointer, d) }
        let t0 = System.now()
        router.backward(x: x, dLogits: s.dz, dx: dx)
        routerClock.seconds += System.now() - t0
        profile?.add(.router, since: t0)
    }
}
