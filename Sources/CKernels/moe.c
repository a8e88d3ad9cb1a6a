/* The thread-pooled expert dispatcher (docs/architecture.md section 7).
 *
 * rk_moe_route sorts the T*k (token, slot) pairs by expert with a stable counting sort and cuts
 * the work into tasks whose bounds depend only on the routing: row tiles of at most RK_MOE_TILE
 * rows per expert (an expert with many tokens becomes several tasks, so threads stay balanced),
 * and, for the backward pass, tiles of output rows of each expert's weight gradients (each tile
 * sums over all of its expert's rows, so no two tasks write the same element). Tasks run on the
 * OpenMP team with single-threaded BLAS and a dynamic schedule; since every output element is
 * produced by one task in one fixed order, results do not depend on the thread count.
 *
 * Forward:  gather Xe[row] = x[token]; per expert H = Xe W1^T (| Xe W3^T), G = act(H),
 *           Ye = G W2^T; combine y[t] += sum_j w[t,j] Ye[pos(t,j)].
 * Backward: combine_bwd gives dYe and the gate-logit gradient; row tiles give dG, dH, dXe;
 *           weight tiles give dW1, dW3, dW2 (and biases); scatter dx[t] = sum_j dXe[pos(t,j)]. */
/* Defines (grep-able; FN(x) expands to x_f32 and x_f64): rk_moe_gather_f32, rk_moe_gather_f64,
 * rk_moe_experts_fwd_f32, rk_moe_experts_fwd_f64, rk_moe_combine_f32, rk_moe_combine_f64,
 * rk_moe_combine_bwd_f32, rk_moe_combine_bwd_f64, rk_moe_experts_bwd_f32, rk_moe_experts_bwd_f64,
 * rk_moe_scatter_f32, rk_moe_scatter_f64. */
#ifndef RK_TEMPLATE_BODY
#define RK_TEMPLATE_BODY
#include "rk_internal.h"

#define RK_MOE_TILE 256   /* rows per expert task */
#define RK_MOE_WTILE 128  /* output rows per weight-gradient task */

int rk_moe_task_capacity(int T, int E, int k, int d, int f) {
    int rows = T * k / RK_MOE_TILE + E + 1;
    int wt = E * ((d + RK_MOE_WTILE - 1) / RK_MOE_WTILE + 2 * ((f + RK_MOE_WTILE - 1) / RK_MOE_WTILE));
    return rows > wt ? rows : wt;
}

/* Weight task a before b? Larger cost (expert rows x output rows) first, then (expert, matrix, row). */
static int rk_wtask_before(const int32_t *a, const int32_t *b, const int32_t *counts) {
    long ca = (long)counts[a[0]] * (a[3] - a[2]), cb = (long)counts[b[0]] * (b[3] - b[2]);
    if (ca != cb) return ca > cb;
    for (int i = 0; i < 3; i++) if (a[i] != b[i]) return a[i] < b[i];
    return 0;
}

void rk_moe_route(rk_route_t *r, int d, int f, int relu) {
    int T = r->ntok, E = r->nexp, k = r->topk;
    for (int e = 0; e < E; e++) r->counts[e] = 0;
    for (long i = 0; i < (long)T * k; i++) r->counts[r->idx[i]]++;
    r->offsets[0] = 0;
    for (int e = 0; e < E; e++) r->offsets[e + 1] = r->offsets[e] + r->counts[e];
    /* Stable placement: pairs in (token, slot) order. offsets[] is reused as a cursor, then restored. */
    for (long i = 0; i < (long)T * k; i++) {
        int e = r->idx[i];
        int row = r->offsets[e]++;
        r->pos[i] = row;
        r->rowtok[row] = (int32_t)(i / k);
    }
    for (int e = E; e > 0; e--) r->offsets[e] = r->offsets[e - 1];
    r->offsets[0] = 0;
    /* Row tiles, largest experts first (better balance under the dynamic schedule). */
    int nt = 0;
    for (int e = 0; e < E; e++)
        for (int r0 = r->offsets[e]; r0 < r->offsets[e + 1]; r0 += RK_MOE_TILE) {
            int r1 = r0 + RK_MOE_TILE < r->offsets[e + 1] ? r0 + RK_MOE_TILE : r->offsets[e + 1];
            r->tasks[3 * nt] = e; r->tasks[3 * nt + 1] = r0; r->tasks[3 * nt + 2] = r1;
            nt++;
        }
    r->ntasks = nt;
    /* Weight tiles: matrix 0 = w2 (out rows d), 1 = w1 (out rows f), 2 = w3 (out rows f). */
    int nw = 0;
    for (int e = 0; e < E; e++) {
        if (r->counts[e] == 0) continue;
        for (int m = 0; m < (relu ? 2 : 3); m++) {
            int rows = m == 0 ? d : f;
            for (int o0 = 0; o0 < rows; o0 += RK_MOE_WTILE) {
                int32_t *w = r->wtasks + 4 * nw++;
                w[0] = e; w[1] = m; w[2] = o0; w[3] = o0 + RK_MOE_WTILE < rows ? o0 + RK_MOE_WTILE : rows;
            }
        }
    }
    r->nwtasks = nw;
    /* Insertion sort (a few hundred tasks at most). */
    for (int i = 1; i < nw; i++) {
        int32_t cur[4];
        memcpy(cur, r->wtasks + 4 * i, sizeof cur);
        int j = i - 1;
        while (j >= 0 && rk_wtask_before(cur, r->wtasks + 4 * j, r->counts)) {
            memcpy(r->wtasks + 4 * (j + 1), r->wtasks + 4 * j, sizeof cur);
            j--;
        }
        memcpy(r->wtasks + 4 * (j + 1), cur, sizeof cur);
    }
}

#include "rk_begin_f32.h"
#include __FILE__
#include "rk_end.h"
#include "rk_begin_f64.h"
#include __FILE__
#include "rk_end.h"
#else
#include "rk_rowops.h"

void FN(rk_moe_gather)(T *Xe, const T *x, const rk_route_t *r, int d) {
    long rows = (long)r->ntok * r->topk;
    RK_FOR(rows * d >= RK_PAR_MIN, long, i, rows, memcpy(Xe + i * d, x + (long)r->rowtok[i] * d, sizeof(T) * d););
}

void FN(rk_moe_experts_fwd)(T *H, T *G, T *Ye, const T *Xe, const T *w1, const T *w3, const T *w2,
                            const T *b1, const T *b2, const rk_route_t *r, int d, int f, int relu) {
    const int hs = relu ? f : 2 * f;
    RK_FOR_DYNAMIC(ti, r->ntasks, {
        int e = r->tasks[3 * ti], r0 = r->tasks[3 * ti + 1], rows = r->tasks[3 * ti + 2] - r0;
        const T *X = Xe + (long)r0 * d;
        T *Hr = H + (long)r0 * hs, *Gr = G + (long)r0 * f, *Yr = Ye + (long)r0 * d;
        const T *W1 = w1 + (long)e * f * d, *W2 = w2 + (long)e * d * f;
        if (relu) {
            for (int i = 0; i < rows; i++) memcpy(Hr + (long)i * f, b1 + (long)e * f, sizeof(T) * f);
            FN(rk_gemm_serial)(0, 1, rows, f, d, 1, X, d, W1, d, 1, Hr, f);
            for (long i = 0; i < (long)rows * f; i++) Gr[i] = Hr[i] > 0 ? Hr[i] : 0;
            for (int i = 0; i < rows; i++) memcpy(Yr + (long)i * d, b2 + (long)e * d, sizeof(T) * d);
            FN(rk_gemm_serial)(0, 1, rows, d, f, 1, Gr, f, W2, f, 1, Yr, d);
        } else {
            const T *W3 = w3 + (long)e * f * d;
            FN(rk_gemm_serial)(0, 1, rows, f, d, 1, X, d, W1, d, 0, Hr, hs);
            FN(rk_gemm_serial)(0, 1, rows, f, d, 1, X, d, W3, d, 0, Hr + f, hs);
            for (int i = 0; i < rows; i++) FN(rk_swiglu_row)(Gr + (long)i * f, Hr + (long)i * hs, Hr + (long)i * hs + f, f);
            FN(rk_gemm_serial)(0, 1, rows, d, f, 1, Gr, f, W2, f, 0, Yr, d);
        }
    });
}

void FN(rk_moe_combine)(T *y, const T *Ye, const T *w, const rk_route_t *r, int d) {
    int k = r->topk;
    RK_FOR((long)r->ntok * k * d >= RK_PAR_MIN, int, t, r->ntok, {
        T *yr = y + (long)t * d;
        for (int j = 0; j < k; j++) {
            const T *src = Ye + (long)r->pos[(long)t * k + j] * d;
            T wj = w[(long)t * k + j];
            for (int c = 0; c < d; c++) yr[c] += wj * src[c];
        }
    });
}

void FN(rk_moe_combine_bwd)(T *dYe, T *dz, const T *dy, const T *Ye, const T *w, const rk_route_t *r,
                            int d) {
    int k = r->topk, E = r->nexp;
    RK_FOR((long)r->ntok * k * d >= RK_PAR_MIN, int, t, r->ntok, {
        const T *g = dy + (long)t * d;
        T a[RK_MAX_TOPK];
        T s = 0;
        for (int j = 0; j < k; j++) {
            long row = r->pos[(long)t * k + j];
            T wj = w[(long)t * k + j];
            a[j] = FN(rk_row_dot)(g, Ye + row * d, d);
            s += wj * a[j];
            T *dst = dYe + row * d;
            for (int c = 0; c < d; c++) dst[c] = wj * g[c];
        }
        T *dzr = dz + (long)t * E;
        for (int e = 0; e < E; e++) dzr[e] = 0;
        for (int j = 0; j < k; j++) dzr[r->idx[(long)t * k + j]] = w[(long)t * k + j] * (a[j] - s);
    });
}

void FN(rk_moe_experts_bwd)(T *dXe, T *dH, T *dG, T *dw1, T *dw3, T *dw2, T *db1, T *db2,
                            const T *dYe, const T *Xe, const T *H, const T *G, const T *w1,
                            const T *w3, const T *w2, const rk_route_t *r, int d, int f, int relu) {
    const int hs = relu ? f : 2 * f;
    /* Row tiles: dG = dYe W2, dH = act'(H) dG, dXe = dH1 W1 (+ dH3 W3). */
    RK_FOR_DYNAMIC(ti, r->ntasks, {
        int e = r->tasks[3 * ti], r0 = r->tasks[3 * ti + 1], rows = r->tasks[3 * ti + 2] - r0;
        const T *W1 = w1 + (long)e * f * d, *W2 = w2 + (long)e * d * f;
        T *dGr = dG + (long)r0 * f, *dHr = dH + (long)r0 * hs;
        const T *Hr = H + (long)r0 * hs;
        FN(rk_gemm_serial)(0, 0, rows, f, d, 1, dYe + (long)r0 * d, d, W2, f, 0, dGr, f);
        if (relu) {
            for (long i = 0; i < (long)rows * f; i++) dHr[i] = Hr[i] > 0 ? dGr[i] : 0;
            FN(rk_gemm_serial)(0, 0, rows, d, f, 1, dHr, f, W1, d, 0, dXe + (long)r0 * d, d);
        } else {
            for (int i = 0; i < rows; i++) {
                const T *h1 = Hr + (long)i * hs;
                T *d1 = dHr + (long)i * hs;
                FN(rk_swiglu_bwd_row)(d1, d1 + f, dGr + (long)i * f, h1, h1 + f, f);
            }
            const T *W3 = w3 + (long)e * f * d;
            FN(rk_gemm_serial)(0, 0, rows, d, f, 1, dHr, hs, W1, d, 0, dXe + (long)r0 * d, d);
            FN(rk_gemm_serial)(0, 0, rows, d, f, 1, dHr + f, hs, W3, d, 1, dXe + (long)r0 * d, d);
        }
    });
    /* Weight tiles: each owns output rows [o0, o1) of one expert's matrix, summing all its rows. */
    RK_FOR_DYNAMIC(wi, r->nwtasks, {
        const int32_t *wt = r->wtasks + 4 * wi;
        int e = wt[0], m = wt[1], o0 = wt[2], o1 = wt[3];
        int R0 = r->offsets[e], n = r->counts[e];
        if (m == 0) {
            FN(rk_gemm_serial)(1, 0, o1 - o0, f, n, 1, dYe + (long)R0 * d + o0, d, G + (long)R0 * f, f, 1,
                               dw2 + (long)e * d * f + (long)o0 * f, f);
            if (db2)
                for (int i = 0; i < n; i++) {
                    const T *src = dYe + (long)(R0 + i) * d;
                    for (int c = o0; c < o1; c++) db2[(long)e * d + c] += src[c];
                }
        } else {
            const T *src = dH + (long)R0 * hs + (m == 2 ? f : 0);
            T *dw = (m == 1 ? dw1 : dw3) + (long)e * f * d + (long)o0 * d;
            FN(rk_gemm_serial)(1, 0, o1 - o0, d, n, 1, src + o0, hs, Xe + (long)R0 * d, d, 1, dw, d);
            if (m == 1 && db1)
                for (int i = 0; i < n; i++) {
                    const T *row = src + (long)i * hs;
                    for (int c = o0; c < o1; c++) db1[(long)e * f + c] += row[c];
                }
        }
    });
}

void FN(rk_moe_scatter)(T *dx, const T *dXe, const rk_route_t *r, int d) {
    int k = r->topk;
    RK_FOR((long)r->ntok * k * d >= RK_PAR_MIN, int, t, r->ntok, {
        T *dst = dx + (long)t * d;
        memcpy(dst, dXe + (long)r->pos[(long)t * k] * d, sizeof(T) * d);
        for (int j = 1; j < k; j++) {
            const T *src = dXe + (long)r->pos[(long)t * k + j] * d;
            for (int c = 0; c < d; c++) dst[c] += src[c];
        }
    });
}

#endif
