/* Causal multi-head attention, one task per (sequence, head), each task on one thread with
 * single-threaded BLAS. The causal mask is exploited in row blocks of RK_ATT_BLOCK queries:
 * block [r0, r1) only needs keys [0, r1), so about half the flops of the full square are done.
 *
 * Forward, per (b, h), with q, k, v [S, hd] (strided rows of qkv):
 *   P = softmax_row(scale * q k^T), masked j > i;   out = P v
 * Backward, with dO = d out:
 *   dP = dO v^T;  dS = P * (dP - rowsum(P * dP)) * scale;  dq = dS k;  dk = dS^T q;  dv = P^T dO */
/* Defines (grep-able; FN(x) expands to x_f32 and x_f64): rk_attn_fwd_f32, rk_attn_fwd_f64, rk_attn_bwd_f32,
 * rk_attn_bwd_f64. */
#ifndef RK_TEMPLATE_BODY
#define RK_TEMPLATE_BODY
#include "rk_internal.h"
#define RK_ATT_BLOCK 64
#include "rk_begin_f32.h"
#include __FILE__
#include "rk_end.h"
#include "rk_begin_f64.h"
#include __FILE__
#include "rk_end.h"
#else
#include "rk_rowops.h"

void FN(rk_attn_fwd)(T *out, T *P, const T *qkv, int B, int S, int H, int hd, T scale) {
    const int d = H * hd, ld = 3 * d;
    RK_FOR1(B * H > 1, int, task, B * H, {
        int b = task / H, h = task % H;
        const T *q = qkv + (long)b * S * ld + (long)h * hd, *k = q + d, *v = q + 2 * d;
        T *Pb = P + (long)task * S * S;
        T *o = out + (long)b * S * d + (long)h * hd;
        for (int r0 = 0; r0 < S; r0 += RK_ATT_BLOCK) {
            int r1 = r0 + RK_ATT_BLOCK < S ? r0 + RK_ATT_BLOCK : S, br = r1 - r0;
            T *Pr = Pb + (long)r0 * S;
            FN(rk_gemm_serial)(0, 1, br, r1, hd, scale, q + (long)r0 * ld, ld, k, ld, 0, Pr, S);
            for (int i = r0; i < r1; i++) {
                T *row = Pb + (long)i * S;
                T mx = FN(rk_row_max)(row, i + 1);
                T sum = FN(rk_row_exp_sum)(row, i + 1, mx);
                T inv = (T)1 / sum;
                for (int j = 0; j <= i; j++) row[j] *= inv;
                for (int j = i + 1; j < r1; j++) row[j] = 0;
            }
            FN(rk_gemm_serial)(0, 0, br, hd, r1, 1, Pr, S, v, ld, 0, o + (long)r0 * d, d);
        }
    });
}

void FN(rk_attn_bwd)(T *dqkv, T *scratch, const T *dout, const T *P, const T *qkv, int B, int S,
                     int H, int hd, T scale) {
    const int d = H * hd, ld = 3 * d;
    RK_FOR1(B * H > 1, int, task, B * H, {
        int b = task / H, h = task % H;
        const T *q = qkv + (long)b * S * ld + (long)h * hd, *k = q + d, *v = q + 2 * d;
        T *dq = dqkv + (long)b * S * ld + (long)h * hd, *dk = dq + d, *dv = dq + 2 * d;
        const T *Pb = P + (long)task * S * S;
        T *dP = scratch + (long)task * S * S;
        const T *dO = dout + (long)b * S * d + (long)h * hd;
        for (int i = 0; i < S; i++) {
            memset(dk + (long)i * ld, 0, sizeof(T) * hd);
            memset(dv + (long)i * ld, 0, sizeof(T) * hd);
        }
        for (int r0 = 0; r0 < S; r0 += RK_ATT_BLOCK) {
            int r1 = r0 + RK_ATT_BLOCK < S ? r0 + RK_ATT_BLOCK : S, br = r1 - r0;
            const T *Pr = Pb + (long)r0 * S;
            T *dPr = dP + (long)r0 * S;
            const T *dOr = dO + (long)r0 * d;
            /* dv[0:r1] += P_r^T dO_r */
            FN(rk_gemm_serial)(1, 0, r1, hd, br, 1, Pr, S, dOr, d, 1, dv, ld);
            /* dP_r = dO_r v[0:r1]^T */
            FN(rk_gemm_serial)(0, 1, br, r1, hd, 1, dOr, d, v, ld, 0, dPr, S);
            for (int i = r0; i < r1; i++) {
                const T *p = Pb + (long)i * S;
                T *g = dP + (long)i * S;
                T dot = FN(rk_row_dot)(p, g, i + 1);
                for (int j = 0; j <= i; j++) g[j] = p[j] * (g[j] - dot) * scale;
                for (int j = i + 1; j < r1; j++) g[j] = 0;
            }
            /* dq_r = dS_r k[0:r1];  dk[0:r1] += dS_r^T q_r */
            FN(rk_gemm_serial)(0, 0, br, hd, r1, 1, dPr, S, k, ld, 0, dq + (long)r0 * ld, ld);
            FN(rk_gemm_serial)(1, 0, r1, hd, br, 1, dPr, S, q + (long)r0 * ld, ld, 1, dk, ld);
        }
    });
}

#endif
