/* The MoE gate: full softmax (for the balance loss and the analyses), top-k selection with gate
 * weights = softmax over the k selected logits (docs/routers.md 1.3), and the Switch balance loss
 * (docs/routers.md 1.6 form (a)) with its gradient. */
/* Defines (grep-able; FN(x) expands to x_f32 and x_f64): rk_softmax_rows_f32, rk_softmax_rows_f64,
 * rk_topk_gate_f32, rk_topk_gate_f64, rk_balance_loss_f32, rk_balance_loss_f64, rk_balance_bwd_f32,
 * rk_balance_bwd_f64, rk_balance_colsums_f32, rk_balance_colsums_f64. */
#ifndef RK_TEMPLATE_BODY
#define RK_TEMPLATE_BODY
#include "rk_internal.h"
#include "rk_begin_f32.h"
#include __FILE__
#include "rk_end.h"
#include "rk_begin_f64.h"
#include __FILE__
#include "rk_end.h"
#else

void FN(rk_softmax_rows)(T *p, const T *z, int N, int E, T scale) {
    RK_FOR((long)N * E >= RK_PAR_MIN, int, n, N, {
        const T *zr = z + (long)n * E;
        T *pr = p + (long)n * E;
        T mx = zr[0] * scale;
        for (int e = 1; e < E; e++) mx = zr[e] * scale > mx ? zr[e] * scale : mx;
        T sum = 0;
        for (int e = 0; e < E; e++) { pr[e] = EXP(zr[e] * scale - mx); sum += pr[e]; }
        T inv = (T)1 / sum;
        for (int e = 0; e < E; e++) pr[e] *= inv;
    });
}

void FN(rk_topk_gate)(int32_t *idx, T *w, const T *z, int N, int E, int k) {
    RK_FOR((long)N * E * k >= RK_PAR_MIN, int, n, N, {
        const T *zr = z + (long)n * E;
        int32_t *ir = idx + (long)n * k;
        T *wr = w + (long)n * k;
        for (int j = 0; j < k; j++) {
            int best = -1;
            for (int e = 0; e < E; e++) {
                int taken = 0;
                for (int i = 0; i < j; i++) taken |= ir[i] == e;
                if (taken) continue;
                if (best < 0 || zr[e] > zr[best]) best = e;   /* strict: ties keep the lower index */
            }
            ir[j] = best;
        }
        T mx = zr[ir[0]], sum = 0;
        for (int j = 0; j < k; j++) { wr[j] = EXP(zr[ir[j]] - mx); sum += wr[j]; }
        for (int j = 0; j < k; j++) wr[j] /= sum;
    });
}

double FN(rk_balance_loss)(const T *p, const int32_t *counts, int N, int E, int k) {
    double Tk = (double)N * k, loss = 0;
    for (int e = 0; e < E; e++) {
        double col = 0;
        for (int n = 0; n < N; n++) col += p[(long)n * E + e];
        loss += (counts[e] / Tk) * (col / Tk);
    }
    return E * loss;
}

void FN(rk_balance_colsums)(double *out, const T *p, int N, int E) {
    for (int e = 0; e < E; e++) {
        double col = 0;
        for (int n = 0; n < N; n++) col += p[(long)n * E + e];
        out[e] = col;
    }
}

void FN(rk_balance_bwd)(T *dscore, const T *p, const int32_t *counts, int N, long Ntotal, int E, int k,
                        T coef, T inv_tau) {
    double Tk = (double)Ntotal * k;
    T dp[RK_MAX_EXPERTS];
    int EE = E < RK_MAX_EXPERTS ? E : RK_MAX_EXPERTS;
    for (int e = 0; e < EE; e++) dp[e] = (T)(coef * E * counts[e] / (Tk * Tk));
    RK_FOR((long)N * E >= RK_PAR_MIN, int, n, N, {
        const T *pr = p + (long)n * E;
        T *dr = dscore + (long)n * E;
        T dot = 0;
        for (int e = 0; e < EE; e++) dot += pr[e] * dp[e];
        for (int e = 0; e < EE; e++) dr[e] += inv_tau * pr[e] * (dp[e] - dot);
    });
}

#endif
