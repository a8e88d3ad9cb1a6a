import RMoECore

/// Expert parallelism for one MoE layer (GShard, DeepSpeed-MoE, Tutel; docs/architecture.md
/// section 10): N processes each hold E_l = E / N experts; the router, top-k and combine stay on the
/// token's home process (so a recurrent router's state never leaves it), and the expert rows
/// travel:
///
///     forward:  Xe [Tk, d] (home, sorted by global expert)  --alltoallv-->  rows of my experts,
///               process-major [R, d]  --gather-->  expert-major Xl [R, d]  --experts-->  Yl
///               --combine (weight 1)-->  process-major  --alltoallv-->  Ye [Tk, d] (home)
///     backward: dYe [Tk, d]  --alltoallv-->  process-major  --gather-->  dYl  --experts bwd-->
///               dXl (my experts' weight gradients accumulate)  --scatter-->  process-major
///               --alltoallv-->  dXe [Tk, d] (home)
///
/// Home rows are sorted by global expert e = q E_l + j, so the rows for process q are one block;
/// a process receives at most N T k rows (every process's rows for its experts). The rows of one
/// local expert are ordered by source process, then by the source's order: fixed for a fixed N,
/// so runs stay bitwise reproducible. A local `Routing` (k = 1, E_l experts) over the received
/// rows drives the same gather, expert and combine kernels as a single process.
final class ExpertParallelLayer<S: KernelScalar> {
    let exchange: ExpertExchange
    let N, El, d, f, hs: Int
    let relu: Bool
    /// Rows received per (source process, local expert) [N * El].
    let recvCounts: UnsafeMutablePointer<Int32>
    /// Bytes sent to / received from each process [N].
    let sendBytes, recvBytes: UnsafeMutablePointer<Int32>
    /// The received rows grouped by local expert (saved for backward).
    let local: Routing
    /// Saved for backward: the expert-major inputs and hidden activations of the received rows.
    let Xl, H, G: UnsafeMutablePointer<S>
    let scratch: Scratch
    /// Rows received by the last forward pass.
    private(set) var received = 0

    /// Buffers every MoE layer of a model shares (maxRows = N T k rows).
    struct Scratch {
        let stage, a, b, dH, dG, ones: UnsafeMutablePointer<S>
        init(maxRows R: Int, d: Int, f: Int, hs: Int, pool: BufferPool) {
            stage = pool.make(R * d); a = pool.make(R * d); b = pool.make(R * d)
            dH = pool.make(R * hs); dG = pool.make(R * f); ones = pool.make(R)
            ones.update(repeating: 1, count: R)
        }
        static func maxRows(_ c: ModelConfig, processes: Int) -> Int { processes * c.batch * c.seqLen * c.topK }
    }

    init(exchange: ExpertExchange, config c: ModelConfig, pool: BufferPool, scratch: Scratch) {
        self.exchange = exchange
        N = exchange.shard.count; El = exchange.shard.localExperts(c.experts)
        d = c.dModel; f = c.expertWidth; hs = c.expertHiddenStride; relu = c.isReLUExpert
        let R = Scratch.maxRows(c, processes: N)
        recvCounts = pool.make(N * El); sendBytes = pool.make(N); recvBytes = pool.make(N)
        local = Routing(tokens: R, experts: El, topK: 1, dModel: d, expertWidth: f)
        Xl = pool.make(R * d); H = pool.make(R * hs); G = pool.make(R * f)
        self.scratch = scratch
    }

    /// Ye [Tk, d] = the experts applied to Xe [Tk, d] (home rows sorted by global expert, `counts`
    /// rows per global expert), wherever the experts live.
    func forward(
        Ye: UnsafeMutablePointer<S>, Xe: UnsafePointer<S>, counts: UnsafePointer<Int32>, w1: UnsafePointer<S>, w3: UnsafePointer<S>?,
        w2: UnsafePointer<S>, b1: UnsafePointer<S>?, b2: UnsafePointer<S>?
    ) {
        let s = scratch, row = Int32(d * MemoryLayout<S>.stride)
        exchange.exchangeCounts(counts, recvCounts, perProcess: El)
        var rows = 0
        for q in 0..<N {
            var out: Int32 = 0, inn: Int32 = 0
            for j in 0..<El { out += counts[q * El + j]; inn += recvCounts[q * El + j] }
            sendBytes[q] = out * row; recvBytes[q] = inn * row
            rows += Int(inn)
        }
        received = rows
        exchange.exchangeRows(Xe, sendBytes: sendBytes, s.stage, recvBytes: recvBytes)
        // The local routing: row i of the received block belongs to local expert j.
        local.setTokens(rows)
        var i = 0
        for q in 0..<N {
            for j in 0..<El {
                for _ in 0..<Int(recvCounts[q * El + j]) { local.idx[i] = Int32(j); i += 1 }
            }
        }
        local.route(dModel: d, expertWidth: f, relu: relu)
        S.moeGather(Xl, s.stage, local.pointer, d)
        S.moeExpertsForward(H, G, s.a, Xl, w1, w3, w2, b1, b2, local.pointer, d, f, relu)
        s.stage.update(repeating: 0, count: rows * d)
        S.moeCombine(s.stage, s.a, s.ones, local.pointer, d)  // back to process-major (weight 1: exact)
        exchange.exchangeRows(s.stage, sendBytes: recvBytes, Ye, recvBytes: sendBytes)
    }

    /// dXe [Tk, d] (written) from dYe [Tk, d] (home rows); the local experts' weight gradients accumulate.
    func backward(
        dXe: UnsafeMutablePointer<S>, dYe: UnsafePointer<S>, dw1: UnsafeMutablePointer<S>, dw3: UnsafeMutablePointer<S>?,
        dw2: UnsafeMutablePointer<S>, db1: UnsafeMutablePointer<S>?, db2: UnsafeMutablePointer<S>?, w1: UnsafePointer<S>,
        w3: UnsafePointer<S>?, w2: UnsafePointer<S>
    ) {
        let s = scratch
        exchange.exchangeRows(dYe, sendBytes: sendBytes, s.stage, recvBytes: recvBytes)
        S.moeGather(s.a, s.stage, local.pointer, d)
        S.moeExpertsBackward(s.b, s.dH, s.dG, dw1, dw3, dw2, db1, db2, s.a, Xl, H, G, w1, w3, w2, local.pointer, d, f, relu)
        S.moeScatter(s.stage, s.b, local.pointer, d)
        exchange.exchangeRows(s.stage, sendBytes: recvBytes, dXe, recvBytes: sendBytes)
    }
}
