import CKernels

/// The routing of one MoE layer for one batch: the top-k expert ids of every token, and what the
/// C dispatcher derives from them (`rk_moe_route`): per-expert counts and offsets, the sorted row
/// of every (token, slot) pair, and the task lists. All memory is allocated once, here.
public final class Routing: @unchecked Sendable {
    public let tokens: Int, experts: Int, topK: Int
    /// Top-k expert ids [T, k] (filled by the gate).
    public let idx: UnsafeMutablePointer<Int32>
    /// The C description handed to the dispatch kernels.
    public let raw: UnsafeMutablePointer<rk_route_t>
    private let storage: UnsafeMutablePointer<Int32>
    private let capacity: Int

    public init(tokens T: Int, experts E: Int, topK k: Int, dModel d: Int, expertWidth f: Int) {
        tokens = T; experts = E; topK = k
        capacity = Int(rk_moe_task_capacity(Int32(T), Int32(E), Int32(k), Int32(d), Int32(f)))
        let n = T * k + E + (E + 1) + T * k + T * k + 3 * capacity + 4 * capacity
        storage = .allocate(capacity: n)
        storage.initialize(repeating: 0, count: n)
        idx = storage
        let counts = idx + T * k, offsets = counts + E, pos = offsets + E + 1, rowtok = pos + T * k
        let tasks = rowtok + T * k, wtasks = tasks + 3 * capacity
        raw = .allocate(capacity: 1)
        raw.initialize(
            to: rk_route_t(
                ntok: Int32(T), nexp: Int32(E), topk: Int32(k), idx: UnsafePointer(idx), counts: counts,
                offsets: offsets, pos: pos, rowtok: rowtok, tasks: tasks, ntasks: 0, wtasks: wtasks, nwtasks: 0))
    }

    deinit {
        storage.deallocate()
        raw.deallocate()
    }

    /// Routes the first `n` tokens only, from now on (n at most `tokens`): the receiving side of
    /// expert parallelism, whose row count changes every step.
    public func setTokens(_ n: Int) {
        precondition(n >= 0 && n <= tokens, "routing of \(n) tokens exceeds its capacity \(tokens)")
        raw.pointee.ntok = Int32(n)
    }

    /// Sorts the pairs by expert and builds the task lists (after `idx` is filled).
    public func route(dModel d: Int, expertWidth f: Int, relu: Bool) {
        rk_moe_route(raw, Int32(d), Int32(f), relu ? 1 : 0)
    }

    /// (token, slot) pairs per expert [E].
    public var counts: UnsafePointer<Int32> { UnsafePointer(raw.pointee.counts) }
    public var pointer: UnsafePointer<rk_route_t> { UnsafePointer(raw) }
}
