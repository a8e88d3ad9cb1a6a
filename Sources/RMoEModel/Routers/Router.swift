import RMoECore

/// One layer's router: maps the MoE input x [T, d] to logits z [T, E] (docs/routers.md section 2).
/// Routers of one model may share state (RMoE's recurrent state passed from layer to layer);
/// the model runs the routers' forward passes in layer order and their backward passes in
/// reverse layer order, which is what such sharing relies on.
public protocol RouterLayer<Scalar>: AnyObject {
    associatedtype Scalar: KernelScalar
    /// z = router(x); x [T, d], z [T, E] written.
    func forward(x: UnsafePointer<Scalar>, logits: UnsafeMutablePointer<Scalar>)
    /// Given dL/dz (which the router may overwrite), accumulates its parameter gradients and adds
    /// the router path's gradient into dx [T, d].
    func backward(x: UnsafePointer<Scalar>, dLogits: UnsafeMutablePointer<Scalar>, dx: UnsafeMutablePointer<Scalar>)
    /// Scores the balance loss and the analyses take the softmax of, when they are not the logits
    /// (XMoE: the raw cosine at its own temperature). nil: softmax(z).
    var balanceScores: BalanceScores<Scalar>? { get }
    /// A router matrix [E, d] that is computed rather than stored (HyperRouter's generated W), as
    /// of the last forward pass, for the router-weight statistics; nil when it is a parameter.
    var generatedWeight: [Double]? { get }
}

extension RouterLayer {
    public var generatedWeight: [Double]? { nil }
}

/// Scores [T, E] whose softmax at temperature 1 / invTau feeds the balance loss, and the buffer
/// the balance gradient with respect to them goes to (zeroed by the MoE layer before use).
public struct BalanceScores<S: KernelScalar> {
    public let scores: UnsafeMutablePointer<S>
    public let grad: UnsafeMutablePointer<S>
    public let invTau: S
}

/// What a router needs to build itself: the model's slabs (it finds its tensors by name), a
/// buffer pool for its activations, and the state its family shares across layers.
public struct RouterEnvironment<S: KernelScalar> {
    public let config: ModelConfig
    public let layer: Int
    public let params: Slab<S>
    public let grads: Slab<S>
    public let buffers: BufferPool
    public let shared: AnyObject?
    /// Whether the current forward pass trains, and its step (for router dropout).
    public let context: ForwardContext
    /// The batch's token ids [B * S], filled before every forward pass (for routers that route by token).
    public let tokenIds: UnsafePointer<Int32>
    public var tokens: Int { config.batch * config.seqLen }
    public var prefix: String { "layers.\(layer).moe.router." }

    /// Parameter and gradient pointers of a tensor (nil if absent). `name` is relative to this
    /// layer's router (`weight`, `proj.bias`) unless it starts with `router_rnn.` (shared tensors).
    public func tensor(_ name: String) -> (w: UnsafeMutablePointer<S>, g: UnsafeMutablePointer<S>)? {
        let full = name.hasPrefix("router_rnn.") ? name : prefix + name
        guard params.layout.offset(of: full) != nil else { return nil }
        return (params.pointer(full), grads.pointer(full))
    }
}

/// Per-forward-pass facts a layer may need: training or evaluation, and the step number (dropout
/// masks are drawn from (seed, step, layer), so a resumed run draws the same masks).
public final class ForwardContext: @unchecked Sendable {
    public var training = false
    public var step = 0
    public var seed: UInt64 = 0
    /// Row (token position in [B * S]) of the whole batch that this model's row 0 is: nonzero when
    /// the batch is split over ranks or micro-batches, so that dropout draws the same masks.
    public var rowOffset = 0
    public init() {}
}

/// One router of a family: its name, a one-line description with its reference, and the paper's
/// numbers for it when the paper reports it (enwik8 test BPC, WikiText-103 test PPL; docs/routers.md 3.5).
public struct RouterMember: Sendable {
    public let name: String
    public let summary: String
    public let paperBPC: Double?
    public let paperPPL: Double?
    public init(_ name: String, _ summary: String, paperBPC: Double? = nil, paperPPL: Double? = nil) {
        self.name = name; self.summary = summary; self.paperBPC = paperBPC; self.paperPPL = paperPPL
    }
}

/// A family of routers, one file each: everything router-specific lives in its type. Adding a
/// router means writing such a type and one line in `Routers.families`.
public protocol RouterFamily {
    /// Router names this family implements, with a one-line description, reference and paper numbers.
    static var members: [RouterMember] { get }
    /// The family's own config fields (defaults, checks, help); `config[field]` reads them.
    static var fields: [AnyRouterField] { get }
    /// The paper's numbers for sweep labels that are variants of the members (e.g. `rmoe-np-r0.5`).
    static var paperVariants: [(label: String, bpc: Double?, ppl: Double?)] { get }
    /// Tensors of layer `layer`'s router (full names, `layers.{i}.moe.router.` prefix).
    static func layerSpecs(_ c: ModelConfig, layer: Int) -> [TensorSpec]
    /// Tensors shared by all layers (e.g. `router_rnn.*`).
    static func sharedSpecs(_ c: ModelConfig) -> [TensorSpec]
    /// Router matmul FLOPs of one forward pass over all layers.
    static func forwardFlops(_ c: ModelConfig) -> Double
    /// Elements of activation and scratch memory the routers allocate per layer (memory estimate).
    static func activationElements(_ c: ModelConfig) -> Double
    /// The per-layer tensor (name after `layers.{i}.moe.router.`) whose norm and spread the analyses
    /// report as "the router weight"; nil when the router's weight is generated (see
    /// `RouterLayer.generatedWeight`) or the router has none.
    static func analysisWeight(_ c: ModelConfig) -> String?
    /// Reads the family's widths back from a foreign checkpoint: `shape(name, rank)` gives the shape of
    /// a tensor of layer 0's router (name after the prefix) or of a shared one, nil if absent; a
    /// tensor of another rank, or with a dimension out of bounds, is an error naming it.
    static func inferFields(_ c: inout ModelConfig, shape: (String, Int) throws -> [Int]?) throws
    /// State shared by the layers' routers of one model, if any.
    static func makeShared<S: KernelScalar>(_ c: ModelConfig, buffers: BufferPool, scalar: S.Type) -> AnyObject?
    static func make<S: KernelScalar>(_ env: RouterEnvironment<S>) -> any RouterLayer<S>
}

extension RouterFamily {
    public static var fields: [AnyRouterField] { [] }
    public static var paperVariants: [(label: String, bpc: Double?, ppl: Double?)] { [] }
    public static func sharedSpecs(_ c: ModelConfig) -> [TensorSpec] { [] }
    public static func activationElements(_ c: ModelConfig) -> Double { 0 }
    public static func analysisWeight(_ c: ModelConfig) -> String? { nil }
    public static func inferFields(_ c: inout ModelConfig, shape: (String, Int) throws -> [Int]?) throws {}
    public static func makeShared<S: KernelScalar>(_ c: ModelConfig, buffers: BufferPool, scalar: S.Type) -> AnyObject? { nil }
}

/// The registry of routers.
public enum Routers {
    /// Every router family; a new router adds one line here.
    nonisolated(unsafe) public static let families: [any RouterFamily.Type] = [
        SMoERouter.self, SMoEMLPRouter.self, CosineRouter.self, XMoERouter.self, HyperRouter.self, RMoERouter.self,
        HashRouter.self,
    ]

    public static var names: [String] { families.flatMap { $0.members.map(\.name) } }

    public static func family(of name: String) -> (any RouterFamily.Type)? {
        families.first { $0.members.contains { $0.name == name } }
    }

    /// (name, one-line description with its reference) for `rmoe routers`.
    public static var descriptions: [(name: String, summary: String)] { families.flatMap { $0.members.map { ($0.name, $0.summary) } } }

    /// Every family's config fields, each once (families may share a field, e.g. cosine and xmoe).
    public static var fields: [AnyRouterField] {
        var seen = Set<String>()
        return families.flatMap { f in f.fields }.filter { seen.insert($0.name).inserted }
    }

    /// Checks every router field's current value.
    public static func validateOptions(_ c: ModelConfig) throws {
        for f in fields {
            let v = c.routerOptions.values[f.name] ?? f.defaultValue
            if case .failure(let problem) = f.parse(v) { throw RMoEError("\(f.name) = \(v.plainText): \(problem)") }
        }
    }

    /// The paper's enwik8 test BPC and WikiText-103 test PPL by router or sweep label.
    public static var paperNumbers: [String: (bpc: Double?, ppl: Double?)] {
        var out: [String: (bpc: Double?, ppl: Double?)] = [:]
        for f in families {
            for m in f.members where m.paperBPC != nil || m.paperPPL != nil { out[m.name] = (m.paperBPC, m.paperPPL) }
            for v in f.paperVariants { out[v.label] = (v.bpc, v.ppl) }
        }
        return out
    }

    /// Names of every router tensor of a config (per-layer and shared); empty for a dense model.
    public static func tensorNames(_ c: ModelConfig) -> Set<String> {
        guard !c.isDense, let f = family(of: c.router) else { return [] }
        return Set(((0..<c.layers).flatMap { f.layerSpecs(c, layer: $0) } + f.sharedSpecs(c)).map(\.name))
    }

    /// Parameters of the routers of a config (per-layer and shared), optionally only trainable ones.
    public static func parameterCount(_ c: ModelConfig, trainable: Bool? = nil) -> Int {
        guard let f = family(of: c.router) else { return 0 }
        let specs = (0..<c.layers).flatMap { f.layerSpecs(c, layer: $0) } + f.sharedSpecs(c)
        return specs.filter { trainable == nil || $0.trainable == trainable! }.reduce(0) { $0 + $1.count }
    }
}

/// Inits shared by routers: PyTorch's default for Linear / recurrent cells, or the Hugging Face
/// code's normal(0, init_std) with zero biases (`router_init`).
enum RouterInit {
    static func weight(_ c: ModelConfig, fanIn: Int) -> TensorInit {
        c.routerInit == .torch ? .uniform(1 / Double(fanIn).squareRoot()) : .normal(c.initStd)
    }
    static func bias(_ c: ModelConfig, fanIn: Int) -> TensorInit {
        c.routerInit == .torch ? .uniform(1 / Double(fanIn).squareRoot()) : .zeros
    }
}

/// A router's linear map `y = x W^T (+ b)` with its gradients: W [out, in], b [out] or absent.
struct RouterLinear<S: KernelScalar> {
    let w, dw: UnsafeMutablePointer<S>
    let b, db: UnsafeMutablePointer<S>?
    let inDim, outDim: Int
    let trainable: Bool

    /// `name`: the map's tensors relative to the router ("" for the router's own `weight` / `bias`).
    init(_ env: RouterEnvironment<S>, _ name: String, inDim: Int, outDim: Int, trainable: Bool = true) {
        let base = name.isEmpty ? "" : name + "."
        let t = env.tensor(base + "weight")!
        w = t.w; dw = t.g
        let bias = env.tensor(base + "bias")
        b = bias?.w; db = bias?.g
        self.inDim = inDim; self.outDim = outDim; self.trainable = trainable
    }

    /// y [N, out] = x W^T + b.
    func forward(_ y: UnsafeMutablePointer<S>, _ x: UnsafePointer<S>, _ N: Int) {
        if let b { S.biasRows(y, b, N, outDim) }
        S.gemm(false, true, N, outDim, inDim, 1, x, inDim, w, inDim, b == nil ? 0 : 1, y, outDim)
    }

    /// dW += dy^T x, db += colsum dy (when trainable); dx (+)= dy W when dx is given.
    func backward(dy: UnsafePointer<S>, x: UnsafePointer<S>, dx: UnsafeMutablePointer<S>?, accumulate: Bool, _ N: Int) {
        let weight = trainable ? GemmJob(true, false, outDim, inDim, N, 1, dy, outDim, x, inDim, 1, dw, inDim) : nil
        let input = dx.map { GemmJob(false, false, N, inDim, outDim, 1, dy, outDim, w, inDim, accumulate ? 1 : 0, $0, inDim) }
        if let weight, let input {
            S.gemmGroup(weight, input)  // independent: one parallel region
        } else {
            weight?.run()
            input?.run()
        }
        if trainable, let db { S.columnSumAccumulate(db, dy, N, outDim) }
    }

    static func specs(_ prefix: String, _ c: ModelConfig, inDim: Int, outDim: Int, bias: Bool, trainable: Bool = true) -> [TensorSpec] {
        var s = [TensorSpec(prefix + ".weight", [outDim, inDim], init: RouterInit.weight(c, fanIn: inDim), trainable: trainable)]
        if bias { s.append(TensorSpec(prefix + ".bias", [outDim], init: RouterInit.bias(c, fanIn: inDim), decay: false, trainable: trainable)) }
        return s
    }
}
