import CMPI
import Foundation
import RMoECore

/// The processes of one job and the collective operations the trainer needs, over Open MPI when
/// the process was started by `mpirun` (or another MPI launcher), otherwise a single process.
///
/// Every reduction here sums in **rank order** (rank 0's part, plus rank 1's, plus ...), so that
/// a result does not depend on MPI's implementation-defined reduction order: for a fixed number of
/// ranks a run is bitwise reproducible, and N ranks compute bitwise what one process computes with
/// N micro-batches summed in order (`grad_accum`). The float reduction is an Alltoall of chunks, a
/// local sum in rank order of the chunk each rank owns, then an Allgather (the bytes of a ring).
public final class Communicator: @unchecked Sendable {
    public let rank: Int
    public let size: Int
    let mpi: Bool
    /// Scratch for the chunked reduction (grown on demand, then reused: no allocation per step).
    private var sendBuffer: UnsafeMutablePointer<Float>?, recvBuffer: UnsafeMutablePointer<Float>?, capacity = 0
    /// Expert parallelism: the first failed exchange, the seconds spent exchanging, and the
    /// displacement arrays (allocated once).
    var exchangeError: Error?
    public internal(set) var exchangeSeconds = 0.0
    /// Bytes this rank has sent to other ranks in the reductions and exchanges (not counting
    /// broadcasts and small gathers), for `rmoe bench ranks`.
    public internal(set) var bytesSent = 0
    var exchangeDisplacements: UnsafeMutablePointer<Int32>?

    public var isDistributed: Bool { size > 1 }
    public var isRoot: Bool { rank == 0 }

    /// The MPI communicator (the world, or a group of it); unused without MPI.
    let handle: MPI_Comm?

    private init(rank: Int, size: Int, mpi: Bool, handle: MPI_Comm? = nil) {
        self.rank = rank; self.size = size; self.mpi = mpi; self.handle = handle
    }

    /// A single process (no MPI).
    public static let single = Communicator(rank: 0, size: 1, mpi: false)

    nonisolated(unsafe) private static var worldInstance: Communicator?

    /// Whether an MPI launcher started this process (Open MPI, MPICH/Hydra, PMIx or Slurm's PMI).
    public static var launchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"].contains { env[$0] != nil }
    }

    /// The job's communicator: MPI is initialised only when the process was launched by `mpirun`,
    /// so a plain run starts as fast as ever and computes what it always did.
    public static var world: Communicator {
        if let w = worldInstance { return w }
        guard launchedByMPI else { worldInstance = single; return single }
        var provided: Int32 = 0
        var argc: Int32 = 0
        MPI_Init_thread(&argc, nil, Int32(MPI_THREAD_FUNNELED), &provided)
        MPI_Comm_set_errhandler(rk_mpi_comm_world(), rk_mpi_errors_return())
        var r: Int32 = 0, n: Int32 = 0
        MPI_Comm_rank(rk_mpi_comm_world(), &r)
        MPI_Comm_size(rk_mpi_comm_world(), &n)
        let w = Communicator(rank: Int(r), size: Int(n), mpi: true, handle: rk_mpi_comm_world())
        worldInstance = w
        atexit { Communicator.finalize() }
        return w
    }

    /// Ends MPI (at exit).
    public static func finalize() {
        guard let w = worldInstance, w.mpi else { return }
        var done: Int32 = 0
        MPI_Finalized(&done)
        if done == 0 { MPI_Finalize() }
    }

    /// The ranks split into groups of `groupSize` consecutive ranks (rank / groupSize is the
    /// group): the communicator of this rank's group, whose rank 0 is its leader. Collective over
    /// this communicator.
    public func split(groupSize: Int) throws -> Communicator {
        guard groupSize > 1 else { return .single }
        guard mpi, size % groupSize == 0 else {
            throw RMoEError("\(size) rank(s) cannot be split into groups of \(groupSize); start a multiple of \(groupSize) ranks (mpirun -np)")
        }
        if groupSize == size { return self }
        var group = rk_mpi_comm_null()
        try check(MPI_Comm_split(handle!, Int32(rank / groupSize), Int32(rank), &group), "comm_split")
        MPI_Comm_set_errhandler(group, rk_mpi_errors_return())
        return Communicator(rank: rank % groupSize, size: groupSize, mpi: true, handle: group)
    }

    /// Ends every process of the job with `code` (a rank that failed; the others would wait forever).
    public func abort(code: Int32) -> Never {
        if mpi { MPI_Abort(handle, code) }
        exit(code)
    }

    func check(_ rc: Int32, _ what: String) throws {
        guard rc != rk_mpi_success() else { return }
        var len: Int32 = 0
        var text = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING))
        MPI_Error_string(rc, &text, &len)
        throw RMoEError(
            "MPI \(what) failed on rank \(rank) of \(size) (\(String(cString: text))); a process of the job has died or the network failed: restart the job, it resumes from the last checkpoint"
        )
    }

    public func barrier() throws {
        guard mpi else { return }
        try check(MPI_Barrier(handle), "barrier")
    }

    /// Sums `count` floats of every rank in rank order; every rank gets the sum in `buffer`.
    public func sumInRankOrder(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        guard mpi, size > 1, count > 0 else { return }
        let chunk = (count + size - 1) / size, padded = chunk * size
        if capacity < padded {
            sendBuffer?.deallocate(); recvBuffer?.deallocate()
            sendBuffer = .allocate(capacity: padded); recvBuffer = .allocate(capacity: padded)
            capacity = padded
        }
        let send = sendBuffer!, recv = recvBuffer!
        send.update(from: buffer, count: count)
        if padded > count { (send + count).update(repeating: 0, count: padded - count) }
        // Chunk j of every rank goes to rank j.
        try check(MPI_Alltoall(send, Int32(chunk), rk_mpi_float(), recv, Int32(chunk), rk_mpi_float(), handle), "alltoall")
        bytesSent += 2 * (size - 1) * chunk * MemoryLayout<Float>.stride  // this Alltoall and the Allgather below
        // Rank order: recv holds [rank 0's chunk, rank 1's chunk, ...] of the chunk this rank owns.
        let mine = send + rank * chunk
        mine.update(from: recv, count: chunk)
        for r in 1..<size {
            let part = recv + r * chunk
            for i in 0..<chunk { mine[i] += part[i] }
        }
        try check(MPI_Allgather(mine, Int32(chunk), rk_mpi_float(), recv, Int32(chunk), rk_mpi_float(), handle), "allgather")
        buffer.update(from: recv, count: count)
    }

    /// Every rank's `values` (the same count on every rank), in rank order.
    public func gather(_ values: [Double]) throws -> [[Double]] {
        guard mpi, size > 1 else { return [values] }
        var out = [Double](repeating: 0, count: values.count * size)
        try values.withUnsafeBufferPointer { v in
            try out.withUnsafeMutableBufferPointer { o in
                try check(
                    MPI_Allgather(
                        v.baseAddress, Int32(values.count), rk_mpi_double(), o.baseAddress, Int32(values.count), rk_mpi_double(), handle),
                    "allgather")
            }
        }
        return (0..<size).map { Array(out[($0 * values.count)..<(($0 + 1) * values.count)]) }
    }

    /// Sums doubles of every rank in rank order (every rank gets the same sums).
    public func sumInRankOrder(_ values: [Double]) throws -> [Double] {
        let parts = try gather(values)
        var s = parts[0]
        for p in parts.dropFirst() { for i in s.indices { s[i] += p[i] } }
        return s
    }

    /// Rank 0's bytes, on every rank.
    public func broadcast(_ buffer: UnsafeMutableRawPointer, bytes: Int) throws {
        guard mpi, size > 1, bytes > 0 else { return }
        var off = 0
        while off < bytes {
            let n = min(bytes - off, Int(Int32.max))
            try check(MPI_Bcast(buffer + off, Int32(n), rk_mpi_byte(), 0, handle), "broadcast")
            off += n
        }
    }

    /// Gathers `count` floats of every rank into rank 0's `recv` (rank r's block at r * count).
    public func gatherToRoot(_ send: UnsafePointer<Float>, count: Int, into recv: UnsafeMutablePointer<Float>?) throws {
        guard mpi, size > 1 else {
            if let recv { recv.update(from: send, count: count) }
            return
        }
        try check(MPI_Gather(send, Int32(count), rk_mpi_float(), recv, Int32(count), rk_mpi_float(), 0, handle), "gather")
    }

    /// Rank 0's bytes (any length), on every rank.
    public func broadcast(_ bytes: [UInt8]) throws -> [UInt8] {
        guard mpi, size > 1 else { return bytes }
        var length = [Int64(bytes.count)]
        try length.withUnsafeMutableBytes { try broadcast($0.baseAddress!, bytes: 8) }
        var out = rank == 0 ? bytes : [UInt8](repeating: 0, count: Int(length[0]))
        try out.withUnsafeMutableBytes { if $0.count > 0 { try broadcast($0.baseAddress!, bytes: $0.count) } }
        return out
    }

    /// Rank 0's string, on every rank.
    public func broadcast(_ text: String) throws -> String {
        guard mpi, size > 1 else { return text }
        var length = [Int64(text.utf8.count)]
        try length.withUnsafeMutableBytes { try broadcast($0.baseAddress!, bytes: 8) }
        var bytes = Array(text.utf8)
        if rank != 0 { bytes = [UInt8](repeating: 0, count: Int(length[0])) }
        try bytes.withUnsafeMutableBytes { if $0.count > 0 { try broadcast($0.baseAddress!, bytes: $0.count) } }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Expert parallelism over the world communicator: rank r holds expert shard r of `size`.
extension Communicator: ExpertExchange {
    public var shard: ExpertShard { ExpertShard(index: rank, count: size) }

    public func exchangeCounts(_ send: UnsafePointer<Int32>, _ recv: UnsafeMutablePointer<Int32>, perProcess: Int) {
        guard exchangeError == nil else { return }
        let t0 = System.now()
        defer { exchangeSeconds += System.now() - t0 }
        guard mpi, size > 1 else { recv.update(from: send, count: perProcess); return }
        record(MPI_Alltoall(send, Int32(perProcess), rk_mpi_int(), recv, Int32(perProcess), rk_mpi_int(), handle), "alltoall")
        bytesSent += (size - 1) * perProcess * 4
    }

    public func exchangeRows(
        _ send: UnsafeRawPointer, sendBytes: UnsafePointer<Int32>, _ recv: UnsafeMutableRawPointer, recvBytes: UnsafePointer<Int32>
    ) {
        guard exchangeError == nil else { return }
        let t0 = System.now()
        defer { exchangeSeconds += System.now() - t0 }
        guard mpi, size > 1 else { recv.copyMemory(from: send, byteCount: Int(sendBytes[0])); return }
        if exchangeDisplacements == nil { exchangeDisplacements = .allocate(capacity: 2 * size) }
        let sd = exchangeDisplacements!, rd = sd + size
        var a: Int64 = 0, b: Int64 = 0
        for q in 0..<size {
            sd[q] = Int32(truncatingIfNeeded: a); rd[q] = Int32(truncatingIfNeeded: b)
            a += Int64(sendBytes[q]); b += Int64(recvBytes[q])
        }
        guard a <= Int64(Int32.max), b <= Int64(Int32.max) else {
            exchangeError = RMoEError(
                "expert parallelism: one exchange of \(max(a, b)) bytes exceeds MPI's 2 GiB count limit on rank \(rank); use a smaller batch or more ranks")
            return
        }
        record(MPI_Alltoallv(send, sendBytes, sd, rk_mpi_byte(), recv, recvBytes, rd, rk_mpi_byte(), handle), "alltoallv")
        bytesSent += Int(a) - Int(sendBytes[rank])
    }

    private func record(_ rc: Int32, _ what: String) {
        do { try check(rc, what) } catch { exchangeError = error }
    }

    public func throwIfFailed() throws {
        if let e = exchangeError { exchangeError = nil; throw e }
    }
}
