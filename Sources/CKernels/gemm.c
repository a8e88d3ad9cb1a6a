/* Matrix products. rk_gemm splits C into tiles of rows (or of columns when C has few rows) whose
 * size depends only on the shape; each tile is one single-threaded BLAS call, and the tiles run
 * on the OpenMP team. Every element of C is therefore computed by the same BLAS call whatever the
 * thread count, so results are bitwise identical for 1, 2 or more threads. */
/* Defines (grep-able; FN(x) expands to x_f32 and x_f64): rk_gemm_serial_f32, rk_gemm_serial_f64,
 * rk_gemm_f32, rk_gemm_f64. */
#ifndef RK_TEMPLATE_BODY
#define RK_TEMPLATE_BODY
#include "rk_internal.h"

/* Tile edge for a dimension of n: about n/8, a multiple of 32, at least 64, at most 512. */
static int rk_tile(int n) {
    int t = (n + 7) / 8;
    t = (t + 31) / 32 * 32;
    if (t < 64) t = 64;
    if (t > 512) t = 512;
    return t;
}

#include "rk_begin_f32.h"
#include __FILE__
#include "rk_end.h"
#include "rk_begin_f64.h"
#include __FILE__
#include "rk_end.h"
#else

void FN(rk_gemm_serial)(int transA, int transB, int M, int N, int K, T alpha, const T *A, int lda,
                        const T *B, int ldb, T beta, T *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    GEMM(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
         M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void FN(rk_gemm)(int transA, int transB, int M, int N, int K, T alpha, const T *A, int lda,
                 const T *B, int ldb, T beta, T *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    double flops = 2.0 * M * N * (double)K;
    /* Below 1 MFLOP (or with both sides small) one call beats a parallel region. The bound was
     * 4 MFLOP; at 1 the recurrent router's products at TINY (512 x 96 x 32) run on the team, and
     * the TINY rmoe step measured about 4% faster, forward 5% (README, Performance). */
    if (flops < 1.0e6 || (M < 128 && N < 128)) {
        FN(rk_gemm_serial)(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    if (M >= 128) {
        /* Row tiles of C: rows [r0, r1) of op(A). op(A) = A: row r starts at A + r*lda;
         * op(A) = A^T: row r of A^T is column r of A, at A + r. */
        int tm = rk_tile(M);
        int nt = (M + tm - 1) / tm;
        RK_FOR1(1, int, t, nt, {
            int r0 = t * tm, r1 = r0 + tm < M ? r0 + tm : M;
            const T *At = transA ? A + r0 : A + (long)r0 * lda;
            FN(rk_gemm_serial)(transA, transB, r1 - r0, N, K, alpha, At, lda, B, ldb, beta,
                               C + (long)r0 * ldc, ldc);
        });
    } else {
        /* Column tiles of C: columns [c0, c1) of op(B). op(B) = B: column c at B + c;
         * op(B) = B^T: column c of B^T is row c of B, at B + c*ldb. */
        int tn = rk_tile(N);
        int nt = (N + tn - 1) / tn;
        RK_FOR1(1, int, t, nt, {
            int c0 = t * tn, c1 = c0 + tn < N ? c0 + tn : N;
            const T *Bt = transB ? B + (long)c0 * ldb : B + c0;
            FN(rk_gemm_serial)(transA, transB, M, c1 - c0, K, alpha, A, lda, Bt, ldb, beta,
                               C + c0, ldc);
        });
    }
}

#endif
