/* RMSNorm forward and backward. y = x * rstd * w with rstd = 1 / sqrt(mean(x^2) + eps).
 * Backward, with g = dy * w:  dx = rstd * g - x * rstd^3 * <g, x> / D,  dw = sum_n dy * x * rstd. */
/* Defines (grep-able; FN(x) expands to x_f32 and x_f64): rk_rmsnorm_fwd_f32, rk_rmsnorm_fwd_f64,
 * rk_rmsnorm_bwd_f32, rk_rmsnorm_bwd_f64. */
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

void FN(rk_rmsnorm_fwd)(T *y, T *rstd, const T *x, const T *w, int N, int D, T eps) {
    RK_FOR((long)N * D >= RK_PAR_MIN, int, n, N, {
        const T *xr = x + (long)n * D;
        T *yr = y + (long)n * D;
        T ss = FN(rk_row_dot)(xr, xr, D);
        T r = (T)1 / SQRT(ss / (T)D + eps);
        rstd[n] = r;
        for (int i = 0; i < D; i++) yr[i] = xr[i] * r * w[i];
    });
}

void FN(rk_rmsnorm_bwd)(T *dx, T *dw, const T *dy, const T *x, const T *w, const T *rstd, int N,
                        int D) {
    /* dw: column slices, each summing over all rows in order (deterministic, no scratch). */
    const int slice = 32;
    int ns = (D + slice - 1) / slice;
    RK_FOR((long)N * D >= RK_PAR_MIN, int, s, ns, {
        int c0 = s * slice, c1 = c0 + slice < D ? c0 + slice : D;
        for (int n = 0; n < N; n++) {
            const T *dyr = dy + (long)n * D, *xr = x + (long)n * D;
            T r = rstd[n];
            for (int c = c0; c < c1; c++) dw[c] += dyr[c] * xr[c] * r;
        }
    });
    RK_FOR((long)N * D >= RK_PAR_MIN, int, n, N, {
        const T *dyr = dy + (long)n * D, *xr = x + (long)n * D;
        T *dxr = dx + (long)n * D;
        T r = rstd[n];
        T dot = FN(rk_row_dot3)(dyr, w, xr, D);
        T c = dot * r * r * r / (T)D;
        for (int i = 0; i < D; i++) dxr[i] += dyr[i] * w[i] * r - xr[i] * c;
    });
}

#endif
