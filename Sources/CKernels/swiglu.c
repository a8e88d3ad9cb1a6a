/* SwiGLU gate of the feed-forward layer: g = silu(a1) * a3 with silu(u) = u * sigmoid(u).
 * Backward: da1 = dg * a3 * sigmoid(a1) * (1 + a1 (1 - sigmoid(a1))),  da3 = dg * silu(a1).
 * a is [N, 2F], each row a1 | a3 (the fused w1 | w3 product). */
/* Defines (grep-able; FN(x) expands to x_f32 and x_f64): rk_swiglu_fwd_f32, rk_swiglu_fwd_f64,
 * rk_swiglu_bwd_f32, rk_swiglu_bwd_f64. */
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
#include "rk_rowops.h"

void FN(rk_swiglu_fwd)(T *g, const T *a, int N, int F) {
    RK_FOR((long)N * F >= RK_PAR_MIN, int, n, N, {
        const T *a1 = a + (long)n * 2 * F;
        FN(rk_swiglu_row)(g + (long)n * F, a1, a1 + F, F);
    });
}

void FN(rk_swiglu_bwd)(T *da, const T *dg, const T *a, int N, int F) {
    RK_FOR((long)N * F >= RK_PAR_MIN, int, n, N, {
        const T *a1 = a + (long)n * 2 * F;
        T *da1 = da + (long)n * 2 * F;
        FN(rk_swiglu_bwd_row)(da1, da1 + F, dg + (long)n * F, a1, a1 + F, F);
    });
}

#endif
