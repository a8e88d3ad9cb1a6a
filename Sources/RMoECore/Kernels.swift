import CKernels

/// A floating-point type the kernels run in: `Float` for training, `Double` for gradient checks.
/// Each requirement forwards to the C kernel of that precision (`rk_*_f32` / `rk_*_f64`, one
/// template in `Sources/CKernels`), so a Double model runs exactly the code a Float model runs.
///
/// All matrices are row-major. Backward kernels document whether they accumulate (`+=`) or write.
public protocol KernelScalar: BinaryFloatingPoint, Sendable, LosslessStringConvertible, MoEKernelScalar, RouterKernelScalar
where Self.RawSignificand: FixedWidthInteger {
    /// `C[M,N] = alpha op(A) op(B) + beta C`, tiled over the thread team (single-threaded BLAS per tile).
    static func gemm(
        _ transA: Bool, _ transB: Bool, _ M: Int, _ N: Int, _ K: Int, _ alpha: Self,
        _ A: UnsafePointer<Self>, _ lda: Int, _ B: UnsafePointer<Self>, _ ldb: Int,
        _ beta: Self, _ C: UnsafeMutablePointer<Self>, _ ldc: Int)
    /// The same product as one BLAS call on the calling thread.
    static func gemmSerial(
        _ transA: Bool, _ transB: Bool, _ M: Int, _ N: Int, _ K: Int, _ alpha: Self,
        _ A: UnsafePointer<Self>, _ lda: Int, _ B: UnsafePointer<Self>, _ ldb: Int,
        _ beta: Self, _ C: UnsafeMutablePointer<Self>, _ ldc: Int)
    /// Up to four independent products (none writes what another reads or writes) in one parallel
    /// region, bitwise the same as `gemm` called on each in turn; `nil` jobs are skipped.
    static func gemmGroup(_ a: GemmJob<Self>, _ b: GemmJob<Self>, _ c: GemmJob<Self>?, _ d: GemmJob<Self>?)
    /// RMSNorm: `y = x * rstd * w`, `rstd = 1/sqrt(mean(x^2) + eps)`; x, y [N, D], rstd [N].
    static func rmsnormForward(
        _ y: UnsafeMutablePointer<Self>, _ rstd: UnsafeMutablePointer<Self>,
        _ x: UnsafePointer<Self>, _ w: UnsafePointer<Self>, _ N: Int, _ D: Int, _ eps: Self)
    /// RMSNorm backward; dx and dw accumulate.
    static func rmsnormBackward(
        _ dx: UnsafeMutablePointer<Self>, _ dw: UnsafeMutablePointer<Self>,
        _ dy: UnsafePointer<Self>, _ x: UnsafePointer<Self>, _ w: UnsafePointer<Self>,
        _ rstd: UnsafePointer<Self>, _ N: Int, _ D: Int)
    /// Rotate-half RoPE in place on `heads` heads of width `hd` at the start of each row (stride `ld`);
    /// row n has position n % S; `inverse` rotates back (the backward pass).
    static func rope(
        _ x: UnsafeMutablePointer<Self>, _ cos: UnsafePointer<Self>, _ sin: UnsafePointer<Self>,
        _ N: Int, _ S: Int, _ heads: Int, _ hd: Int, _ ld: Int, inverse: Bool)
    /// Causal attention: qkv [B*S, 3d] -> out [B*S, d], probabilities P [B*H, S, S] saved.
    static func attentionForward(
        _ out: UnsafeMutablePointer<Self>, _ P: UnsafeMutablePointer<Self>,
        _ qkv: UnsafePointer<Self>, _ B: Int, _ S: Int, _ H: Int, _ hd: Int, _ scale: Self)
    /// Attention backward: dqkv [B*S, 3d] written; scratch [B*H, S, S].
    static func attentionBackward(
        _ dqkv: UnsafeMutablePointer<Self>, _ scratch: UnsafeMutablePointer<Self>,
        _ dout: UnsafePointer<Self>, _ P: UnsafePointer<Self>, _ qkv: UnsafePointer<Self>,
        _ B: Int, _ S: Int, _ H: Int, _ hd: Int, _ scale: Self)
    /// SwiGLU gate: a [N, 2F] (a1 | a3) -> g [N, F] = silu(a1) * a3.
    static func swigluForward(_ g: UnsafeMutablePointer<Self>, _ a: UnsafePointer<Self>, _ N: Int, _ F: Int)
    /// SwiGLU backward: da [N, 2F] written.
    static func swigluBackward(
        _ da: UnsafeMutablePointer<Self>, _ dg: UnsafePointer<Self>, _ a: UnsafePointer<Self>,
        _ N: Int, _ F: Int)
    /// Cross-entropy per row (targets < 0 ignored); if `gradScale != 0` the logits are replaced by
    /// `(softmax - onehot) * gradScale`.
    static func crossEntropy(
        _ losses: UnsafeMutablePointer<Self>, _ logits: UnsafeMutablePointer<Self>,
        _ targets: UnsafePointer<Int32>, _ N: Int, _ V: Int, gradScale: Self)
    /// x[n] = emb[tok[n]].
    static func embeddingForward(
        _ x: UnsafeMutablePointer<Self>, _ tok: UnsafePointer<Int32>, _ emb: UnsafePointer<Self>,
        _ N: Int, _ D: Int)
    /// demb[tok[n]] += dx[n].
    static func embeddingBackward(
        _ demb: UnsafeMutablePointer<Self>, _ dx: UnsafePointer<Self>, _ tok: UnsafePointer<Int32>,
        _ N: Int, _ D: Int)
    /// y = a + b (y may alias a or b).
    static func add(_ y: UnsafeMutablePointer<Self>, _ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, _ n: Int)
    /// y += x.
    static func accumulate(_ y: UnsafeMutablePointer<Self>, _ x: UnsafePointer<Self>, _ n: Int)
    /// x *= s.
    static func scale(_ x: UnsafeMutablePointer<Self>, _ n: Int, _ s: Self)
    /// out[D] += column sums of x [N, D].
    static func columnSumAccumulate(_ out: UnsafeMutablePointer<Self>, _ x: UnsafePointer<Self>, _ N: Int, _ D: Int)
    /// Sum of squares in Double, thread-count independent.
    static func sumOfSquares(_ x: UnsafePointer<Self>, _ n: Int) -> Double
    /// One AdamW update (PyTorch arithmetic) of n parameters.
    static func adamw(
        _ p: UnsafeMutablePointer<Self>, _ m: UnsafeMutablePointer<Self>, _ v: UnsafeMutablePointer<Self>,
        _ g: UnsafePointer<Self>, _ n: Int, lr: Self, beta1: Self, beta2: Self, eps: Self,
        weightDecay: Self, biasCorrection1: Self, biasCorrection2: Self)
    /// AdamW over whole slabs in one parallel region: `tasks` holds (start, end, tensor) triples
    /// of element ranges, `lr` and `weightDecay` one value per tensor; the same bits as `adamw`
    /// called tensor by tensor.
    static func adamwTasks(
        _ p: UnsafeMutablePointer<Self>, _ m: UnsafeMutablePointer<Self>, _ v: UnsafeMutablePointer<Self>,
        _ g: UnsafePointer<Self>, tasks: UnsafePointer<Int>, count: Int, total: Int, lr: UnsafePointer<Self>,
        weightDecay: UnsafePointer<Self>, beta1: Self, beta2: Self, eps: Self, biasCorrection1: Self, biasCorrection2: Self)
}

/// One product of `KernelScalar.gemmGroup`: `C[M,N] = alpha op(A) op(B) + beta C`, row-major.
public struct GemmJob<S: KernelScalar> {
    public var transA, transB: Bool
    public var M, N, K: Int
    public var alpha: S
    public var A: UnsafePointer<S>
    public var lda: Int
    public var B: UnsafePointer<S>
    public var ldb: Int
    public var beta: S
    public var C: UnsafeMutablePointer<S>
    public var ldc: Int

    /// The arguments of `KernelScalar.gemm`, in its order.
    @inline(__always)
    public init(
        _ transA: Bool, _ transB: Bool, _ M: Int, _ N: Int, _ K: Int, _ alpha: S, _ A: UnsafePointer<S>, _ lda: Int,
        _ B: UnsafePointer<S>, _ ldb: Int, _ beta: S, _ C: UnsafeMutablePointer<S>, _ ldc: Int
    ) {
        self.transA = transA; self.transB = transB; self.M = M; self.N = N; self.K = K; self.alpha = alpha
        self.A = A; self.lda = lda; self.B = B; self.ldb = ldb; self.beta = beta; self.C = C; self.ldc = ldc
    }

    /// Runs this one product (`KernelScalar.gemm`).
    @inline(__always)
    public func run() { S.gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) }
}

extension KernelScalar {
    /// Two independent products in one parallel region (`gemmGroup`).
    @inline(__always)
    public static func gemmGroup(_ a: GemmJob<Self>, _ b: GemmJob<Self>) { gemmGroup(a, b, nil, nil) }
}

@inline(__always) private func i32(_ x: Int) -> Int32 { Int32(truncatingIfNeeded: x) }
@inline(__always) private func flag(_ b: Bool) -> Int32 { b ? 1 : 0 }

extension Float: KernelScalar {
    public static func gemm(
        _ ta: Bool, _ tb: Bool, _ M: Int, _ N: Int, _ K: Int, _ alpha: Float,
        _ A: UnsafePointer<Float>, _ lda: Int, _ B: UnsafePointer<Float>, _ ldb: Int,
        _ beta: Float, _ C: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        rk_gemm_f32(flag(ta), flag(tb), i32(M), i32(N), i32(K), alpha, A, i32(lda), B, i32(ldb), beta, C, i32(ldc))
    }
    public static func gemmSerial(
        _ ta: Bool, _ tb: Bool, _ M: Int, _ N: Int, _ K: Int, _ alpha: Float,
        _ A: UnsafePointer<Float>, _ lda: Int, _ B: UnsafePointer<Float>, _ ldb: Int,
        _ beta: Float, _ C: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        rk_gemm_serial_f32(flag(ta), flag(tb), i32(M), i32(N), i32(K), alpha, A, i32(lda), B, i32(ldb), beta, C, i32(ldc))
    }
    public static func gemmGroup(_ a: GemmJob<Float>, _ b: GemmJob<Float>, _ c: GemmJob<Float>?, _ d: GemmJob<Float>?) {
        func job(_ j: GemmJob<Float>?) -> rk_gemm_job_f32 {
            guard let j else { return rk_gemm_job_f32() }  // M = N = 0: skipped
            return rk_gemm_job_f32(
                transA: flag(j.transA), transB: flag(j.transB), M: i32(j.M), N: i32(j.N), K: i32(j.K), lda: i32(j.lda),
                ldb: i32(j.ldb), ldc: i32(j.ldc), alpha: j.alpha, beta: j.beta, A: j.A, B: j.B, C: j.C)
        }
        var jobs = (job(a), job(b), job(c), job(d))
        withUnsafePointer(to: &jobs) { $0.withMemoryRebound(to: rk_gemm_job_f32.self, capacity: 4) { rk_gemm_group_f32($0, 4) } }
    }
    public static func rmsnormForward(
        _ y: UnsafeMutablePointer<Float>, _ rstd: UnsafeMutablePointer<Float>,
        _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ N: Int, _ D: Int, _ eps: Float
    ) {
        rk_rmsnorm_fwd_f32(y, rstd, x, w, i32(N), i32(D), eps)
    }
    public static func rmsnormBackward(
        _ dx: UnsafeMutablePointer<Float>, _ dw: UnsafeMutablePointer<Float>,
        _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
        _ rstd: UnsafePointer<Float>, _ N: Int, _ D: Int
    ) {
        rk_rmsnorm_bwd_f32(dx, dw, dy, x, w, rstd, i32(N), i32(D))
    }
    public static func rope(
        _ x: UnsafeMutablePointer<Float>, _ cos: UnsafePointer<Float>, _ sin: UnsafePointer<Float>,
        _ N: Int, _ S: Int, _ heads: Int, _ hd: Int, _ ld: Int, inverse: Bool
    ) {
        rk_rope_f32(x, cos, sin, i32(N), i32(S), i32(heads), i32(hd), i32(ld), flag(inverse))
    }
    public static func attentionForward(
        _ out: UnsafeMutablePointer<Float>, _ P: UnsafeMutablePointer<Float>,
        _ qkv: UnsafePointer<Float>, _ B: Int, _ S: Int, _ H: Int, _ hd: Int, _ scale: Float
    ) {
        rk_attn_fwd_f32(out, P, qkv, i32(B), i32(S), i32(H), i32(hd), scale)
    }
    public static func attentionBackward(
        _ dqkv: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>,
        _ dout: UnsafePointer<Float>, _ P: UnsafePointer<Float>, _ qkv: UnsafePointer<Float>,
        _ B: Int, _ S: Int, _ H: Int, _ hd: Int, _ scale: Float
    ) {
        rk_attn_bwd_f32(dqkv, scratch, dout, P, qkv, i32(B), i32(S), i32(H), i32(hd), scale)
    }
    public static func swigluForward(_ g: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ N: Int, _ F: Int) {
        rk_swiglu_fwd_f32(g, a, i32(N), i32(F))
    }
    public static func swigluBackward(
        _ da: UnsafeMutablePointer<Float>, _ dg: UnsafePointer<Float>,
        _ a: UnsafePointer<Float>, _ N: Int, _ F: Int
    ) {
        rk_swiglu_bwd_f32(da, dg, a, i32(N), i32(F))
    }
    public static func crossEntropy(
        _ losses: UnsafeMutablePointer<Float>, _ logits: UnsafeMutablePointer<Float>,
        _ targets: UnsafePointer<Int32>, _ N: Int, _ V: Int, gradScale: Float
    ) {
        rk_xent_f32(losses, logits, targets, i32(N), i32(V), gradScale)
    }
    public static func embeddingForward(
        _ x: UnsafeMutablePointer<Float>, _ tok: UnsafePointer<Int32>,
        _ emb: UnsafePointer<Float>, _ N: Int, _ D: Int
    ) {
        rk_embed_fwd_f32(x, tok, emb, i32(N), i32(D))
    }
    public static func embeddingBackward(
        _ demb: UnsafeMutablePointer<Float>, _ dx: UnsafePointer<Float>,
        _ tok: UnsafePointer<Int32>, _ N: Int, _ D: Int
    ) {
        rk_embed_bwd_f32(demb, dx, tok, i32(N), i32(D))
    }
    public static func add(_ y: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) {
        rk_add_f32(y, a, b, n)
    }
    public static func accumulate(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) {
        rk_acc_f32(y, x, n)
    }
    public static func scale(_ x: UnsafeMutablePointer<Float>, _ n: Int, _ s: Float) { rk_scale_f32(x, n, s) }
    public static func columnSumAccumulate(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ N: Int, _ D: Int) {
        rk_colsum_acc_f32(out, x, i32(N), i32(D))
    }
    public static func sumOfSquares(_ x: UnsafePointer<Float>, _ n: Int) -> Double { rk_sumsq_f32(x, n) }
    public static func adamw(
        _ p: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>,
        _ g: UnsafePointer<Float>, _ n: Int, lr: Float, beta1: Float, beta2: Float, eps: Float,
        weightDecay: Float, biasCorrection1: Float, biasCorrection2: Float
    ) {
        rk_adamw_f32(p, m, v, g, n, lr, beta1, beta2, eps, weightDecay, biasCorrection1, biasCorrection2)
    }

    public static func adamwTasks(
        _ p: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>,
        _ g: UnsafePointer<Float>, tasks: UnsafePointer<Int>, count: Int, total: Int, lr: UnsafePointer<Float>,
        weightDecay: UnsafePointer<Float>, beta1: Float, beta2: Float, eps: Float, biasCorrection1: Float, biasCorrection2: Float
    ) {
        rk_adamw_tasks_f32(p, m, v, g, tasks, i32(count), total, lr, weightDecay, beta1, beta2, eps, biasCorrection1, biasCorrection2)
    }
}

extension Double: KernelScalar {
    public static func gemm(
        _ ta: Bool, _ tb: Bool, _ M: Int, _ N: Int, _ K: Int, _ alpha: Double,
        _ A: UnsafePointer<Double>, _ lda: Int, _ B: UnsafePointer<Double>, _ ldb: Int,
        _ beta: Double, _ C: UnsafeMutablePointer<Double>, _ ldc: Int
    ) {
        rk_gemm_f64(flag(ta), flag(tb), i32(M), i32(N), i32(K), alpha, A, i32(lda), B, i32(ldb), beta, C, i32(ldc))
    }
    public static func gemmSerial(
        _ ta: Bool, _ tb: Bool, _ M: Int, _ N: Int, _ K: Int, _ alpha: Double,
        _ A: UnsafePointer<Double>, _ lda: Int, _ B: UnsafePointer<Double>, _ ldb: Int,
        _ beta: Double, _ C: UnsafeMutablePointer<Double>, _ ldc: Int
    ) {
        rk_gemm_serial_f64(flag(ta), flag(tb), i32(M), i32(N), i32(K), alpha, A, i32(lda), B, i32(ldb), beta, C, i32(ldc))
    }
    public static func gemmGroup(_ a: GemmJob<Double>, _ b: GemmJob<Double>, _ c: GemmJob<Double>?, _ d: GemmJob<Double>?) {
        func job(_ j: GemmJob<Double>?) -> rk_gemm_job_f64 {
            guard let j else { return rk_gemm_job_f64() }  // M = N = 0: skipped
            return rk_gemm_job_f64(
                transA: flag(j.transA), transB: flag(j.transB), M: i32(j.M), N: i32(j.N), K: i32(j.K), lda: i32(j.lda),
                ldb: i32(j.ldb), ldc: i32(j.ldc), alpha: j.alpha, beta: j.beta, A: j.A, B: j.B, C: j.C)
        }
        var jobs = (job(a), job(b), job(c), job(d))
        withUnsafePointer(to: &jobs) { $0.withMemoryRebound(to: rk_gemm_job_f64.self, capacity: 4) { rk_gemm_group_f64($0, 4) } }
    }
    public static func rmsnormForward(
        _ y: UnsafeMutablePointer<Double>, _ rstd: UnsafeMutablePointer<Double>,
        _ x: UnsafePointer<Double>, _ w: UnsafePointer<Double>, _ N: Int, _ D: Int, _ eps: Double
    ) {
        rk_rmsnorm_fwd_f64(y, rstd, x, w, i32(N), i32(D), eps)
    }
    public static func rmsnormBackward(
        _ dx: UnsafeMutablePointer<Double>, _ dw: UnsafeMutablePointer<Double>,
        _ dy: UnsafePointer<Double>, _ x: UnsafePointer<Double>, _ w: UnsafePointer<Double>,
        _ rstd: UnsafePointer<Double>, _ N: Int, _ D: Int
    ) {
        rk_rmsnorm_bwd_f64(dx, dw, dy, x, w, rstd, i32(N), i32(D))
    }
    public static func rope(
        _ x: UnsafeMutablePointer<Double>, _ cos: UnsafePointer<Double>, _ sin: UnsafePointer<Double>,
        _ N: Int, _ S: Int, _ heads: Int, _ hd: Int, _ ld: Int, inverse: Bool
    ) {
        rk_rope_f64(x, cos, sin, i32(N), i32(S), i32(heads), i32(hd), i32(ld), flag(inverse))
    }
    public static func attentionForward(
        _ out: UnsafeMutablePointer<Double>, _ P: UnsafeMutablePointer<Double>,
        _ qkv: UnsafePointer<Double>, _ B: Int, _ S: Int, _ H: Int, _ hd: Int, _ scale: Double
    ) {
        rk_attn_fwd_f64(out, P, qkv, i32(B), i32(S), i32(H), i32(hd), scale)
    }
    public static func attentionBackward(
        _ dqkv: UnsafeMutablePointer<Double>, _ scratch: UnsafeMutablePointer<Double>,
        _ dout: UnsafePointer<Double>, _ P: UnsafePointer<Double>, _ qkv: UnsafePointer<Double>,
        _ B: Int, _ S: Int, _ H: Int, _ hd: Int, _ scale: Double
    ) {
        rk_attn_bwd_f64(dqkv, scratch, dout, P, qkv, i32(B), i32(S), i32(H), i32(hd), scale)
    }
    public static func swigluForward(_ g: UnsafeMutablePointer<Double>, _ a: UnsafePointer<Double>, _ N: Int, _ F: Int) {
        rk_swiglu_fwd_f64(g, a, i32(N), i32(F))
    }
    public static func swigluBackward(
        _ da: UnsafeMutablePointer<Double>, _ dg: UnsafePointer<Double>,
        _ a: UnsafePointer<Double>, _ N: Int, _ F: Int
    ) {
        rk_swiglu_bwd_f64(da, dg, a, i32(N), i32(F))
    }
    public static func crossEntropy(
        _ losses: UnsafeMutablePointer<Double>, _ logits: UnsafeMutablePointer<Double>,
        _ targets: UnsafePointer<Int32>, _ N: Int, _ V: Int, gradScale: Double
    ) {
        rk_xent_f64(losses, logits, targets, i32(N), i32(V), gradScale)
    }
    public static func embeddingForward(
        _ x: UnsafeMutablePointer<Double>, _ tok: UnsafePointer<Int32>,
        _ emb: UnsafePointer<Double>, _ N: Int, _ D: Int
    ) {
        rk_embed_fwd_f64(x, tok, emb, i32(N), i32(D))
    }
    public static func embeddingBackward(
        _ demb: UnsafeMutablePointer<Double>, _ dx: UnsafePointer<Double>,
        _ tok: UnsafePointer<Int32>, _ N: Int, _ D: Int
    ) {
        rk_embed_bwd_f64(demb, dx, tok, i32(N), i32(D))
    }
    public static func add(_ y: UnsafeMutablePointer<Double>, _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ n: Int) {
        rk_add_f64(y, a, b, n)
    }
    public static func accumulate(_ y: UnsafeMutablePointer<Double>, _ x: UnsafePointer<Double>, _ n: Int) {
        rk_acc_f64(y, x, n)
    }
    public static func scale(_ x: UnsafeMutablePointer<Double>, _ n: Int, _ s: Double) { rk_scale_f64(x, n, s) }
    public static func columnSumAccumulate(_ out: UnsafeMutablePointer<Double>, _ x: UnsafePointer<Double>, _ N: Int, _ D: Int) {
        rk_colsum_acc_f64(out, x, i32(N), i32(D))
    }
    public static func sumOfSquares(_ x: UnsafePointer<Double>, _ n: Int) -> Double { rk_sumsq_f64(x, n) }
    public static func adamw(
        _ p: UnsafeMutablePointer<Double>, _ m: UnsafeMutablePointer<Double>, _ v: UnsafeMutablePointer<Double>,
        _ g: UnsafePointer<Double>, _ n: Int, lr: Double, beta1: Double, beta2: Double, eps: Double,
        weightDecay: Double, biasCorrection1: Double, biasCorrection2: Double
    ) {
        rk_adamw_f64(p, m, v, g, n, lr, beta1, beta2, eps, weightDecay, biasCorrection1, biasCorrection2)
    }

    public static func adamwTasks(
        _ p: UnsafeMutablePointer<Double>, _ m: UnsafeMutablePointer<Double>, _ v: UnsafeMutablePointer<Double>,
        _ g: UnsafePointer<Double>, tasks: UnsafePointer<Int>, count: Int, total: Int, lr: UnsafePointer<Double>,
        weightDecay: UnsafePointer<Double>, beta1: Double, beta2: Double, eps: Double, biasCorrection1: Double, biasCorrection2: Double
    ) {
        rk_adamw_tasks_f64(p, m, v, g, tasks, i32(count), total, lr, weightDecay, beta1, beta2, eps, biasCorrection1, biasCorrection2)
    }
}

/// Runs `body(ctx, i)` for i in 0..<n on the thread team with a dynamic schedule.
public func rk_parallel_for_swift(
    _ n: Int, _ ctx: UnsafeMutableRawPointer?,
    _ body: @convention(c) (UnsafeMutableRawPointer?, Int) -> Void
) {
    rk_parallel_for(n, ctx, body)
}

/// The toolkit's one parallel runtime (an OpenMP team; OpenBLAS pinned to one thread).
public enum Runtime {
    /// Sets the number of threads for all parallel kernels (and pins BLAS to one thread).
    /// Most experts per token and per layer the kernels handle (`RK_MAX_TOPK`, `RK_MAX_EXPERTS`).
    public static let maxTopK = Int(RK_MAX_TOPK), maxExperts = Int(RK_MAX_EXPERTS)
    /// The most threads a run may ask for.
    public static let maxThreads = 4096
    public static func setThreads(_ n: Int) { rk_set_threads(Int32(min(max(1, n), maxThreads))) }
    public static var threads: Int { Int(rk_get_threads()) }
    /// Threads of OpenBLAS itself; only benchmarks that compare with threaded BLAS change it.
    public static func setBLASThreads(_ n: Int) { rk_set_blas_threads(Int32(min(max(1, n), maxThreads))) }
    /// FMA peak of the current thread team, measured now (GFLOP/s).
    public static func measureFMAPeak(seconds: Double = 0.3) -> Double { rk_fma_peak_gflops(seconds) }
}
