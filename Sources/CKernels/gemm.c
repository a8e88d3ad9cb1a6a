/* Matrix products. rk_gemm splits C into tiles of rows (or of columns when C has few rows) whose
 * size depends only on the shape; each tile is one single-threaded BLAS call, and the tiles run
 * on the OpenMP team. Every element of C is therefore computed by the same BLAS call whatever the
 * thread count, so results are bitwise identical for 1, 2 or more threads. rk_gemm_group runs
 * the tiles of several independent products in one region (a layer's weight and input
 * gradients, a router's four backward products): fewer joins, and one product's few large
 * tiles balance against another's many small ones. */
/* Defines (grep-able; FN(x) expands to x_f32 and x_f64): rk_gemm_serial_f32, rk_gemm_serial_f64,
 * rk_gemm_tiles_f32, rk_gemm_tiles_f64, rk_gemm_tile_f32, rk_gemm_tile_f64, rk_gemm_f32, rk_gemm_f64,
 * rk_gemm_group_f32, rk_gemm_group_f64. */
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

/* Tiles of a product: 0 = one call on the calling thread (below 1 MFLOP, or both sides small:
 * one call beats a parallel region; the bound was 4 MFLOP, at 1 the recurrent router's products
 * at TINY (512 x 96 x 32) run on the team, and the TINY rmoe step measured about 4% faster,
 * forward 5%: README, Performance); otherwise the count of row tiles (M >= 128) or column tiles.
 * *edge gets the tile edge. Depends only on the shape. */
static int FN(rk_gemm_tiles)(const FN(rk_gemm_job) *j, int *edge) {
    double flops = 2.0 * j->M * j->N * (double)j->K;
    if (j->M <= 0 || j->N <= 0 || flops < 1.0e6 || (j->M < 128 && j->N < 128)) return 0;
    int n = j->M >= 128 ? j->M : j->N;
    *edge = rk_tile(n);
    return (n + *edge - 1) / *edge;
}

/* Tile t of a product (edge from rk_gemm_tiles; tiles < 0: the whole product). Row tiles: rows
 * [r0, r1) of op(A), at A + r*lda (or A + r when op(A) = A^T). Column tiles: columns [c0, c1)
 * of op(B), at B + c (or B + c*ldb when op(B) = B^T). */
static void FN(rk_gemm_tile)(const FN(rk_gemm_job) *j, int edge, int t) {
    if (edge <= 0) {
        FN(rk_gemm_serial)(j->transA, j->transB, j->M, j->N, j->K, j->alpha, j->A, j->lda, j->B, j->ldb, j->beta,
                           j->C, j->ldc);
    } else if (j->M >= 128) {
        int r0 = t * edge, r1 = r0 + edge < j->M ? r0 + edge : j->M;
        const T *At = j->transA ? j->A + r0 : j->A + (long)r0 * j->lda;
        FN(rk_gemm_serial)(j->transA, j->transB, r1 - r0, j->N, j->K, j->alpha, At, j->lda, j->B, j->ldb, j->beta,
                           j->C + (long)r0 * j->ldc, j->ldc);
    } else {
        int c0 = t * edge, c1 = c0 + edge < j->N ? c0 + edge : j->N;
        const T *Bt = j->transB ? j->B + (long)c0 * j->ldb : j->B + c0;
        FN(rk_gemm_serial)(j->transA, j->transB, j->M, c1 - c0, j->K, j->alpha, j->A, j->lda, Bt, j->ldb, j->beta,
                           j->C + c0, j->ldc);
    }
}

void FN(rk_gemm)(int transA, int transB, int M, int N, int K, T alpha, const T *A, int lda,
                 const T *B, int ldb, T beta, T *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    FN(rk_gemm_job) j = {transA, transB, M, N, K, lda, ldb, ldc, alpha, beta, A, B, C};
    int edge = 0, nt = FN(rk_gemm_tiles)(&j, &edge);
    if (nt == 0) {
        FN(rk_gemm_tile)(&j, 0, 0);
        return;
    }
    RK_FOR1(1, int, t, nt, FN(rk_gemm_tile)(&j, edge, t););
}

void FN(rk_gemm_group)(const FN(rk_gemm_job) *jobs, int n) {
    enum { MAXJ = 8 };
    int order[MAXJ], edge[MAXJ], tiles[MAXJ], first[MAXJ + 1];
    double cost[MAXJ];
    if (n > MAXJ) n = MAXJ;
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (jobs[i].M <= 0 || jobs[i].N <= 0) continue;
        edge[i] = 0;
        int nt = FN(rk_gemm_tiles)(&jobs[i], &edge[i]);
        tiles[i] = nt > 0 ? nt : 1;
        cost[i] = 2.0 * jobs[i].M * jobs[i].N * (double)jobs[i].K / tiles[i];
        /* Larger tiles first (insertion by cost, then job order): better balance under the dynamic schedule. */
        int k = m++;
        while (k > 0 && cost[order[k - 1]] < cost[i]) { order[k] = order[k - 1]; k--; }
        order[k] = i;
    }
    first[0] = 0;
    for (int k = 0; k < m; k++) first[k + 1] = first[k] + tiles[order[k]];
    RK_FOR_DYNAMIC(task, first[m], {
        int k = 0;
        while (task >= first[k + 1]) k++;
        int i = order[k];
        FN(rk_gemm_tile)(&jobs[i], edge[i], (int)(task - first[k]));
    });
}

#endif
