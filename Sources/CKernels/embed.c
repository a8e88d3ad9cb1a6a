/* Token embedding: x[n] = emb[tok[n]]. Backward scatters: demb[tok[n]] += dx[n]. The scatter runs
 * in column slices, each visiting the tokens in order, so repeated tokens add up in a fixed order. */
/* Defines (grep-able; FN(x) expands to x_f32 and x_f64): rk_embed_fwd_f32, rk_embed_fwd_f64,
 * rk_embed_bwd_f32, rk_embed_bwd_f64. */
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

void FN(rk_embed_fwd)(T *x, const int32_t *tok, const T *emb, int N, int D) {
    RK_FOR((long)N * D >= RK_PAR_MIN, int, n, N, memcpy(x + (long)n * D, emb + (long)tok[n] * D, sizeof(T) * D););
}

void FN(rk_embed_bwd)(T *demb, const T *dx, const int32_t *tok, int N, int D) {
    const int slice = 32;
    int ns = (D + slice - 1) / slice;
    RK_FOR((long)N * D >= RK_PAR_MIN, int, s, ns, {
        int c0 = s * slice, c1 = c0 + slice < D ? c0 + slice : D;
        for (int n = 0; n < N; n++) {
            T *dst = demb + (long)tok[n] * D;
            const T *src = dx + (long)n * D;
            for (int c = c0; c < c1; c++) dst[c] += src[c];
        }
    });
}

#endif
