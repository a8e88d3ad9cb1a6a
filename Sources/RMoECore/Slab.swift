/// How a tensor is initialised.
public enum TensorInit: Sendable, Equatable {
    /// Normal(0, std).
    case normal(Double)
    /// Uniform(-bound, bound) (PyTorch's default for Linear and recurrent cells: bound 1/sqrt(fan_in)).
    case uniform(Double)
    case ones
    case zeros
    case constant(Double)
    /// Orthogonal rows (QR of a Gaussian) times `gain`, then each row rescaled to norm `rowNorm`.
    case orthogonal(gain: Double, rowNorm: Double)
}

/// One tensor of a model: its checkpoint name, its shape, how it is initialised and how the
/// optimizer treats it.
public struct TensorSpec: Sendable, Equatable {
    public let name: String
    /// The shape this process holds (for an expert-sharded tensor: its slice of the experts).
    public let shape: [Int]
    public let initializer: TensorInit
    /// Weight decay applies (false for norm weights, biases and temperatures).
    public let decay: Bool
    /// Updated by the optimizer (false for frozen routers and hypernetworks).
    public let trainable: Bool
    /// Set when dimension 0 runs over experts and this process holds only its shard of them
    /// (expert parallelism); nil for tensors every process holds whole.
    public let shard: ExpertShard?

    public init(
        _ name: String, _ shape: [Int], init initializer: TensorInit, decay: Bool = true, trainable: Bool = true, shard: ExpertShard? = nil
    ) {
        self.name = name
        self.shape = shape
        self.initializer = initializer
        self.decay = decay
        self.trainable = trainable
        self.shard = shard
    }

    public var count: Int { shape.reduce(1, *) }

    /// The whole tensor's shape (what a checkpoint holds): dimension 0 times the shard count.
    public var fullShape: [Int] { shard.map { [shape[0] * $0.count] + shape.dropFirst() } ?? shape }
}

/// The slice of the experts one process holds under expert parallelism: `count` processes, each
/// holding `experts / count` consecutive experts of every MoE layer; process `index` holds
/// experts `index * E/count ..< (index + 1) * E/count`.
public struct ExpertShard: Sendable, Equatable, Hashable {
    public let index: Int
    public let count: Int
    public init(index: Int, count: Int) { self.index = index; self.count = count }
    /// Every expert in one process.
    public static let whole = ExpertShard(index: 0, count: 1)
    public var isWhole: Bool { count == 1 }
    /// Experts per process for `experts` in all.
    public func localExperts(_ experts: Int) -> Int { experts / count }
    /// The first expert this process holds.
    public func firstExpert(_ experts: Int) -> Int { index * (experts / count) }
}

/// The table of (name, shape) that lays out a slab. Parameters, gradients and both optimizer
/// moments use the same layout, so `offset(of:)` addresses all four. Each tensor starts on a
/// 64-byte boundary (16 Float elements).
public struct TensorLayout: Sendable {
    public let specs: [TensorSpec]
    public let offsets: [Int]
    /// Elements in the slab, padding included.
    public let totalCount: Int
    private let index: [String: Int]

    public init(_ specs: [TensorSpec]) throws {
        var offsets: [Int] = []
        var index: [String: Int] = [:]
        var at = 0
        for (i, s) in specs.enumerated() {
            guard index[s.name] == nil else { throw RMoEError("tensor '\(s.name)' is defined twice in the layout; this is a bug in the model's table") }
            guard s.shape.allSatisfy({ $0 > 0 }) else {
                throw RMoEError("tensor '\(s.name)' has shape \(s.shape); every dimension must be positive: check the model sizes in the config")
            }
            index[s.name] = i
            offsets.append(at)
            at += (s.count + 15) / 16 * 16
        }
        self.specs = specs
        self.offsets = offsets
        self.totalCount = at
        self.index = index
    }

    public func spec(_ name: String) -> TensorSpec? { index[name].map { specs[$0] } }
    public func offset(of name: String) -> Int? { index[name].map { offsets[$0] } }

    /// Whether any tensor is split over expert shards.
    public var isSharded: Bool { specs.contains { $0.shard != nil } }

    /// The element ranges of the slab holding the tensors every process holds whole (under
    /// expert parallelism: everything but the experts), adjacent tensors merged, in slab order.
    public var replicatedRanges: [Range<Int>] {
        var out: [Range<Int>] = []
        for (i, s) in specs.enumerated() where s.shard == nil {
            let end = i + 1 < offsets.count ? offsets[i + 1] : totalCount
            if let last = out.last, last.upperBound == offsets[i] { out[out.count - 1] = last.lowerBound..<end } else { out.append(offsets[i]..<end) }
        }
        return out
    }

    /// Number of parameters (padding excluded), optionally only trainable or only frozen ones.
    public func parameterCount(trainable: Bool? = nil, where filter: (TensorSpec) -> Bool = { _ in true }) -> Int {
        specs.filter { (trainable == nil || $0.trainable == trainable!) && filter($0) }.reduce(0) { $0 + $1.count }
    }
}

/// Memory for every tensor of a `TensorLayout`, zero-initialised, in one allocation.
public final class Slab<S: KernelScalar>: @unchecked Sendable {
    public let layout: TensorLayout
    public let base: UnsafeMutablePointer<S>

    public init(_ layout: TensorLayout) {
        self.layout = layout
        base = .allocate(capacity: max(1, layout.totalCount))
        base.initialize(repeating: 0, count: max(1, layout.totalCount))
    }

    deinit { base.deallocate() }

    public var count: Int { layout.totalCount }

    /// Pointer to the tensor called `name`; a missing name is a programming error.
    public func pointer(_ name: String) -> UnsafeMutablePointer<S> {
        guard let o = layout.offset(of: name) else { fatalError("no tensor '\(name)' in the layout") }
        return base + o
    }

    public func pointer(at position: Int) -> UnsafeMutablePointer<S> { base + layout.offsets[position] }

    public func buffer(_ name: String) -> UnsafeMutableBufferPointer<S> {
        UnsafeMutableBufferPointer(start: pointer(name), count: layout.spec(name)!.count)
    }

    public func buffer(at position: Int) -> UnsafeMutableBufferPointer<S> {
        UnsafeMutableBufferPointer(start: pointer(at: position), count: layout.specs[position].count)
    }

    public func zero() { base.update(repeating: 0, count: layout.totalCount) }

    /// Copies every tensor from `other` (same layout), converting precision.
    public func copy<O: KernelScalar>(from other: Slab<O>) {
        precondition(other.layout.totalCount == layout.totalCount)
        for i in 0..<layout.totalCount { base[i] = S(other.base[i]) }
    }
}

/// Memory for activations and scratch, handed out once at set-up: every buffer of a model comes
/// from one of these, sized for a fixed shape, so the training step never allocates. Buffers are
/// zeroed and live as long as the pool.
public final class BufferPool: @unchecked Sendable {
    private var blocks: [(UnsafeMutableRawPointer, Int)] = []
    /// Bytes handed out.
    public private(set) var bytes = 0

    public init() {}

    public func make<T>(_ count: Int, of type: T.Type = T.self) -> UnsafeMutablePointer<T> {
        let n = max(count, 1) * MemoryLayout<T>.stride
        let p = UnsafeMutableRawPointer.allocate(byteCount: n, alignment: 64)
        p.initializeMemory(as: UInt8.self, repeating: 0, count: n)
        blocks.append((p, n))
        bytes += n
        return p.bindMemory(to: T.self, capacity: max(count, 1))
    }

    deinit { for (p, _) in blocks { p.deallocate() } }
}
