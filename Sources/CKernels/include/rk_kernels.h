/*
 * rk_kernels.h -- the C kernels of the rmoe toolkit.
 *
 * Every kernel exists for float (suffix _f32) and double (suffix _f64); both are generated from
 * one template (tmpl/*.h), so the Double gradient checks exercise the same code as training.
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

/* Runtime: thread count of the one OpenMP team used for all parallel work. */
void rk_init(void);
void rk_set_threads(int n);
int rk_get_threads(void);
/* Sets OpenBLAS's own thread count (benchmarks compare our tiles with threaded BLAS). */
void rk_set_blas_threads(int n);
/* Runs body(ctx, i) for i in [0, n) on the OpenMP team (dynamic schedule). For Swift callers. */
void rk_parallel_for(long n, void *ctx, void (*body)(void *ctx, long i));

#define RK_DECLARE(T, SFX) \
/* C[M,N] = alpha * op(A) op(B) + beta * C, tiles of rows (or columns) of C run in parallel,  \
   each a single-threaded BLAS call. transA/transB: 0 = N, 1 = T. */                            \
void rk_gemm_##SFX(int transA, int transB, int M, int N, int K, T alpha, const T *A, int lda,    \
                   const T *B, int ldb, T beta, T *C, int ldc);                                    \
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
/* out[D] += column sums of x [N, D] (bias gradients). */                                        \
void rk_colsum_acc_##SFX(T *out, const T *x, int N, int D);                                      \
/* Sum of squares in double, over fixed chunks summed in order (thread-count independent). */    \
double rk_sumsq_##SFX(const T *x, long n);                                                       \
/* AdamW step (PyTorch semantics): p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;  \
   p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps), bc = 1 - beta^step. */                     \
void rk_adamw_##SFX(T *p, T *m, T *v, const T *g, long n, T lr, T b1, T b2, T eps, T wd,         \
                    T bc1, T bc2);

RK_DECLARE(float, f32)
RK_DECLARE(double, f64)

/* Scalar math used by the kernels, exposed so tests can compare it with libm. */
float rk_expf_scalar(float x);

#ifdef __cplusplus
}
#endif
#endif
