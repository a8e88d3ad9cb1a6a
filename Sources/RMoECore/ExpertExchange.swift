/// The all-to-all exchanges of expert parallelism (GShard, DeepSpeed-MoE, Tutel): every process
/// sends each other process the rows routed to that process's experts and receives the rows
/// routed to its own. Implemented over MPI by `RMoEDistributed.Communicator`; the MoE layer only
/// sees this protocol.
///
/// The calls sit inside the forward and backward passes, which cannot throw: a failed exchange is
/// recorded (later exchanges then do nothing) and the trainer calls `throwIfFailed()` after each
/// pass. All processes make the same calls in the same order (lockstep).
public protocol ExpertExchange: AnyObject {
    /// This process's slice of the experts.
    var shard: ExpertShard { get }
    /// Exchanges `perProcess` Int32s with every process: `send[q * perProcess ..< (q + 1) * perProcess]`
    /// goes to process q; `recv[s * perProcess ...]` comes from process s.
    func exchangeCounts(_ send: UnsafePointer<Int32>, _ recv: UnsafeMutablePointer<Int32>, perProcess: Int)
    /// Sends `sendBytes[q]` bytes to process q from `send` (blocks in process order) and receives
    /// `recvBytes[s]` bytes from process s into `recv` (blocks in process order).
    func exchangeRows(
        _ send: UnsafeRawPointer, sendBytes: UnsafePointer<Int32>, _ recv: UnsafeMutableRawPointer, recvBytes: UnsafePointer<Int32>)
    /// Throws the first failure since the last call (and clears it).
    func throwIfFailed() throws
    /// Seconds spent in the exchanges so far.
    var exchangeSeconds: Double { get }
}
