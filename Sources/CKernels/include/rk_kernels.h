/*
 * rk_kernels.h -- the C kernels of the rmoe toolkit.
 *
 * Every kernel exists for float (suffix _f32) and double (suffix _f64); both are generated from
 * one template per file (each .c includes itself once per precision), so the Double gradient checks exercise the same code as training.
 * Conventions (as in llm.c): row-major, outputs first, then inputs, then sizes. A backward
 * kernel that says "accumulates" adds (+=) into its gradient outputs; "writes" overwrites.
 * Kernels parallelise with OpenMP over work items whose boundaries do not depend on the thread
 * count, so results are bitwise identical for any number of threads. BLAS is always called
 * single-threaded (rk_init pins OpenBLAS to one thread); parallelism comes from our own tiles.
 */
#ifndef RK_KERNELS_H
#define RK_KERNELS_H
#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Limits the kernels rely on (ModelConfig checks them before any kernel runs). */
#define RK_MAX_TOPK 64      /* experts per token: moe.c keeps one gate gradient per slot on the stack */
#define RK_MAX_EXPERTS 1024 /* experts per layer: gate.c keeps one balance gradient per expert on the stack */

/* Runtime: thread count of the one OpenMP team used for all parallel work. */
void rk_init(void);
void rk_set_threads(int n);
int rk_get_threads(void);
/* Sets OpenBLAS's own thread count (benchmarks compare our tiles with threaded BLAS). */
void rk_set_blas_threads(int n);
/* Runs body(ctx, i) for i in [0, n) on the OpenMP team (dynamic schedule). For Swift callers. */
void rk_parallel_for(long n, void *ctx, void (*body)(void *ctx, long i));
/* dst = src over n floats on the thread team (the memory-bandwidth bar of the AdamW benchmark). */
void rk_copy_parallel(float *dst, const float *src, long n);
/* Measured FMA peak of the thread team in GFLOP/s (float, 16-wide FMA chains for about `seconds`). */
double rk_fma_peak_gflops(double seconds);

/* Routing of one MoE layer: which sorted row each (token, slot) pair went to, and the work list
 * of the expert tasks. Built by rk_moe_route from the top-k expert ids; shared by the float and
 * double dispatch kernels. All arrays are owned by the caller (sized with rk_moe_task_capacity). */
typedef struct {
    int ntok, nexp, topk;   /* tokens T, experts E, slots per token k */
    const int32_t *idx;     /* [T, k] expert of each slot (input) */
    int32_t *counts;        /* [E] (token, slot) pairs per expert */
    int32_t *offsets;       /* [E + 1] first sorted row of each expert */
    int32_t *pos;           /* [T * k] sorted row of pair (t, j) */
    int32_t *rowtok;        /* [T * k] token of each sorted row */
    int32_t *tasks;         /* [capacity * 3] (expert, row begin, row end) of the row-tile tasks */
    int ntasks;
    int32_t *wtasks;        /* [capacity * 4] (expert, matrix, out-row begin, out-row end) weight tasks */
    int nwtasks;
} rk_route_t;

/* Upper bounds of the task lists for T tokens, E experts, k slots, widths d and f. */
int rk_moe_task_capacity(int T, int E, int k, int d, int f);
/* Stable counting sort of the (token, slot) pairs by expert (token order, then slot order, within
 * an expert), and the task lists: row tiles of at most RK_MOE_TILE rows per expert (so experts
 * with many tokens are split), and weight-gradient tiles ordered by cost. Depends only on idx. */
void rk_moe_route(rk_route_t *r, int d, int f, int relu);

#define RK_DECLARE(T, SFX) \
/* C[M,N] = alpha * op(A) op(B) + beta * C, tiles of rows (or columns) of C run in parallel,  \
   each a single-threaded BLAS call. transA/transB: 0 = N, 1 = T. */                            \
void rk_gemm_##SFX(int transA, int transB, int M, int N, int K, T alpha, const T *A, int lda,    \
                   const T *B, int ldb, T beta, T *C, int ldc);                                    \
/* One product of a group: C = alpha * op(A) op(B) + beta * C. */                                \
typedef struct {                                                                                  \
    int transA, transB, M, N, K, lda, ldb, ldc;                                                   \
    T alpha, beta;                                                                                \
    const T *A, *B;                                                                               \
    T *C;                                                                                         \
} rk_gemm_job_##SFX;                                                                              \
/* Independent products (no job writes what another reads or writes) in one parallel region:  \
   each is cut into the tiles rk_gemm would use, and all tiles share a dynamic schedule, so     \
   the results are bitwise those of rk_gemm called job by job, for any thread count. n <= 8. */ \
void rk_gemm_group_##SFX(const rk_gemm_job_##SFX *jobs, int n);                                  \
/* The same product as one plain BLAS call on the calling thread (reference / inside tasks). */   \
void rk_gemm_serial_##SFX(int transA, int transB, int M, int N, int K, T alpha, const T *A,      \
                          int lda, const T *B, int ldb, T beta, T *C, int ldc);                   \
/* RMSNorm: y = x * rstd * w, rstd = 1/sqrt(mean(x^2) + eps); x, y [N, D]; rstd [N] saved. */     \
void rk_rmsnorm_fwd_##SFX(T *y, T *rstd, const T *x, const T *w, int N, int D, T eps);           \
/* Backward: dx accumulates, dw accumulates. */                                                   \
void rk_rmsnorm_bwd_##SFX(T *dx, T *dw, const T *dy, const T *x, const T *w, const T *rstd,      \
                          int N, int D);                                                          \
/* RoPE (rotate-half) in place on `nheads` heads of width hd at the start of each row of x      \
   (row stride ld); row t has position t % S. cos/sin tables [S, hd/2]. inverse=1 rotates back \
   (the backward pass). */                                                                        \
void rk_rope_##SFX(T *x, const T *cos_t, const T *sin_t, int N, int S, int nheads, int hd,       \
                   int ld, int inverse);                                                          \
/* Causal attention over qkv rows [B*S, 3*H*hd] (q | k | v, head h at columns h*hd).          \
   P [B*H, S, S] = softmax(scale * q k^T) with the causal mask (saved; masked entries 0);     \
   out [B*S, H*hd] = P v. */                                                                      \
void rk_attn_fwd_##SFX(T *out, T *P, const T *qkv, int B, int S, int H, int hd, T scale);        \
/* Backward: dqkv [B*S, 3*H*hd] writes; scratch [B*H, S, S]. */                                   \
void rk_attn_bwd_##SFX(T *dqkv, T *scratch, const T *dout, const T *P, const T *qkv, int B,      \
                       int S, int H, int hd, T scale);                                            \
/* SwiGLU gate: a [N, 2F] = (a1 | a3) per row; g [N, F] = silu(a1) * a3. */                      \
void rk_swiglu_fwd_##SFX(T *g, const T *a, int N, int F);                                        \
/* Backward: da [N, 2F] writes (da1 | da3). */                                                    \
void rk_swiglu_bwd_##SFX(T *da, const T *dg, const T *a, int N, int F);                          \
/* Cross-entropy over rows of logits [N, V] with targets [N] (target < 0: row ignored).       \
   losses [N] written (0 for ignored rows). If grad_scale != 0, logits is overwritten with      \
   d loss / d logits = (softmax - onehot) * grad_scale (0 rows for ignored targets). */          \
void rk_xent_##SFX(T *losses, T *logits, const int32_t *targets, int N, int V, T grad_scale);    \
/* Embedding: x[n] = emb[tok[n]]; backward demb[tok[n]] += dx[n] (accumulates). */              \
void rk_embed_fwd_##SFX(T *x, const int32_t *tok, const T *emb, int N, int D);                   \
void rk_embed_bwd_##SFX(T *demb, const T *dx, const int32_t *tok, int N, int D);                 \
/* y = a + b (n elements; y may alias a or b). Residual add; its backward is rk_acc. */         \
void rk_add_##SFX(T *y, const T *a, const T *b, long n);                                         \
/* y += x. */                                                                                     \
void rk_acc_##SFX(T *y, const T *x, long n);                                                     \
/* x *= s. */                                                                                     \
void rk_scale_##SFX(T *x, long n, T s);                                                          \
/* y += a * x. */                                                                                \
void rk_axpy_##SFX(T *y, const T *x, long n, T a);                                               \
/* Every row of y [N, D] = b [D] (bias broadcast). */                                             \
void rk_bias_rows_##SFX(T *y, const T *b, int N, int D);                                         \
/* Dot product in double over fixed chunks (thread-count independent). */                        \
double rk_dot_##SFX(const T *x, const T *y, long n);                                             \
/* out[D] += column sums of x [N, D] (bias gradients). */                                        \
void rk_colsum_acc_##SFX(T *out, const T *x, int N, int D);                                      \
/* Sum of squares in double, over fixed chunks summed in order (thread-count independent). */    \
double rk_sumsq_##SFX(const T *x, long n);                                                       \
/* AdamW step (PyTorch semantics): p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;  \
   p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps), bc = 1 - beta^step. */                     \
void rk_adamw_##SFX(T *p, T *m, T *v, const T *g, long n, T lr, T b1, T b2, T eps, T wd,         \
                    T bc1, T bc2);                                                                \
/* The same AdamW over slabs in one parallel region: tasks [ntasks][3] = (start, end, tensor)    \
   element ranges, lr[tensor] and wd[tensor] per tensor, total = elements over all tasks. */      \
void rk_adamw_tasks_##SFX(T *p, T *m, T *v, const T *g, const long *tasks, int ntasks, long total, \
                          const T *lr, const T *wd, T b1, T b2, T eps, T bc1, T bc2);            \
/* Row softmax of z * scale: p [N, E]. */                                                         \
void rk_softmax_rows_##SFX(T *p, const T *z, int N, int E, T scale);                             \
/* Top-k of each row of z [N, E] (ties: lower index first; slots in descending order) and the   \
   gate weights w [N, k] = softmax over the selected logits. */                                   \
void rk_topk_gate_##SFX(int32_t *idx, T *w, const T *z, int N, int E, int k);                    \
/* Switch balance loss E * sum_e f_e P_e with f_e = n_e / (T k), P_e = sum_t p_te / (T k). */     \
double rk_balance_loss_##SFX(const T *p, const int32_t *counts, int N, int E, int k);            \
/* out[e] = sum over the N rows of p[n, e], in row order, in double (a batch's part of P_e).  */   \
void rk_balance_colsums_##SFX(double *out, const T *p, int N, int E);                             \
/* Its gradient times coef for the N rows given, taken through p = softmax(score * inv_tau):      \
   dscore accumulates inv_tau * p * (dp - <p, dp>), dp_te = coef E n_e / (T k)^2 with T = Ntotal,  \
   the tokens of the whole batch (all ranks and micro-batches; counts are the whole batch's).   */ \
void rk_balance_bwd_##SFX(T *dscore, const T *p, const int32_t *counts, int N, long Ntotal, int E, int k,     \
                          T coef, T inv_tau);                                                     \
/* Gather: Xe[row] = x[rowtok[row]] for the T*k sorted rows. */                                   \
void rk_moe_gather_##SFX(T *Xe, const T *x, const rk_route_t *r, int d);                         \
/* Experts on their row tiles. swiglu: H = [Xe w1^T | Xe w3^T] [rows, 2f], G = silu(H1) * H3,     \
   Ye = G w2^T. relu: H = Xe w1^T + b1 [rows, f], G = relu(H), Ye = G w2^T + b2.                 \
   w1, w3 [E, f, d], w2 [E, d, f], b1 [E, f], b2 [E, d] (w3 / b1 / b2 may be NULL when unused). */\
void rk_moe_experts_fwd_##SFX(T *H, T *G, T *Ye, const T *Xe, const T *w1, const T *w3,          \
                              const T *w2, const T *b1, const T *b2, const rk_route_t *r, int d,  \
                              int f, int relu);                                                   \
/* Combine: y[t] += sum_j w[t, j] Ye[pos(t, j)], slots added in order j = 0..k-1. */              \
void rk_moe_combine_##SFX(T *y, const T *Ye, const T *w, const rk_route_t *r, int d);            \
/* Combine backward: dYe[pos(t,j)] = w[t,j] dy[t]; dz [T, E] written: for selected experts        \
   w_j (a_j - sum_i w_i a_i) with a_j = <dy[t], Ye[pos(t,j)]>, 0 elsewhere. */                    \
void rk_moe_combine_bwd_##SFX(T *dYe, T *dz, const T *dy, const T *Ye, const T *w,               \
                              const rk_route_t *r, int d);                                        \
/* Experts backward: dG, dH, dXe written per row tile; dw1, dw3, dw2, db1, db2 accumulate        \
   (weight tiles, each summing over all of its expert's rows in order). */                        \
void rk_moe_experts_bwd_##SFX(T *dXe, T *dH, T *dG, T *dw1, T *dw3, T *dw2, T *db1, T *db2,      \
                              const T *dYe, const T *Xe, const T *H, const T *G, const T *w1,     \
                              const T *w3, const T *w2, const rk_route_t *r, int d, int f,        \
                              int relu);                                                          \
/* Scatter: dx[t] = sum_j dXe[pos(t, j)] (written; slots in order). */                            \
void rk_moe_scatter_##SFX(T *dx, const T *dXe, const rk_route_t *r, int d);                     \
/* GRU cell element-wise parts (PyTorch GRUCell, gates r, z, n): gi, gh [N, 3p] are the input   \
   and hidden products with their biases; saves r, u, n, q = gh_n [N, p]; hprev NULL means 0. */  \
void rk_gru_fwd_##SFX(T *h, T *r, T *u, T *n, T *q, const T *gi, const T *gh, const T *hprev,    \
                      int N, int p);                                                              \
/* GRU backward: dgi, dgh [N, 3p] written; dhprev [N, p] written with the direct path dh * u   \
   (the caller adds dgh W_hh); dhprev or hprev may be NULL. */                                    \
void rk_gru_bwd_##SFX(T *dgi, T *dgh, T *dhprev, const T *dh, const T *r, const T *u,            \
                      const T *n, const T *q, const T *hprev, int N, int p);                      \
/* tanh RNN cell: h = tanh(gi + gh) over n elements; backward da = dh (1 - h^2). */              \
void rk_rnn_fwd_##SFX(T *h, const T *gi, const T *gh, long n);                                   \
void rk_rnn_bwd_##SFX(T *da, const T *dh, const T *h, long n);                                  \
/* GELU, exact erf form: a = u Phi(u); backward du = da (Phi(u) + u phi(u)) (written). */        \
void rk_gelu_fwd_##SFX(T *a, const T *u, long n);                                                \
void rk_gelu_bwd_##SFX(T *du, const T *da, const T *u, long n);                                  \
/* Row L2 normalisation y = x / max(||x||, eps), norms [N] saved; backward dx accumulates. */     \
void rk_l2norm_rows_##SFX(T *y, T *norms, const T *x, int N, int D, T eps);                      \
void rk_l2norm_rows_bwd_##SFX(T *dx, const T *dy, const T *y, const T *norms, int N, int D,      \
                              T eps);                                                             \
/* Inverted dropout in place: mask[i] = 0 with probability p, else 1/(1-p), from (seed, offset + i)
   (offset: the element index of a[0] in the whole batch, so ranks and micro-batches draw its masks). */    \
void rk_dropout_##SFX(T *a, T *mask, long n, T p, uint64_t seed, long offset);                                \
/* y *= x element-wise. */                                                                        \
void rk_mul_##SFX(T *y, const T *x, long n);

RK_DECLARE(float, f32)
RK_DECLARE(double, f64)

/* Scalar math used by the kernels, exposed so tests can compare it with libm. */
float rk_expf_scalar(float x);

#ifdef __cplusplus
}
#endif
#endif
