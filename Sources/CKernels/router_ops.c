/* Element-wise pieces of the baseline routers (docs/routers.md 2.2 - 2.5):
 *   GELU (exact erf form) u -> u Phi(u), derivative Phi(u) + u phi(u);
 *   row L2 normalisation y = x / max(||x||, eps), backward dx += (dy - y <y, dy>) / ||x||
 *     (dy / eps where the norm was clamped);
 *   inverted dropout with a counter-based mask (the mask of element i depends only on seed and i). */
/* Defines (grep-able; FN(x) expands to x_f32 and x_f64): rk_gelu_fwd_f32, rk_gelu_fwd_f64, rk_gelu_bwd_f32,
 * rk_gelu_bwd_f64, rk_l2norm_rows_f32, rk_l2norm_rows_f64, rk_l2norm_rows_bwd_f32, rk_l2norm_rows_bwd_f64,
 * rk_dropout_f32, rk_dropout_f64, rk_mul_f32, rk_mul_f64. */
#ifndef RK_TEMPLATE_BODY
#define RK_TEMPLATE_BODY
#include "rk_internal.h"

/* erf for float: Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7), branch-free. */
static inline float rk_erff(float x) {
    float ax = x < 0 ? -x : x;
    float t = 1.0f / (1.0f + 0.3275911f * ax);
    float y = 1.0f - (((((1.061405429f * t - 1.453152027f) * t) + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t
                         * rk_expf(-ax * ax);
    return x < 0 ? -y : y;
}

static inline uint64_t rk_mix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

#include "rk_begin_f32.h"
#define ERF rk_erff
#include __FILE__
#undef ERF
#include "rk_end.h"
#include "rk_begin_f64.h"
#define ERF erf
#include __FILE__
#undef ERF
#include "rk_end.h"
#else
#include "rk_rowops.h"

void FN(rk_gelu_fwd)(T *a, const T *u, long n) {
    RK_FOR(n >= RK_PAR_MIN, long, i, n, a[i] = u[i] * (T)0.5 * ((T)1 + ERF(u[i] * (T)0.70710678118654752)););
}

void FN(rk_gelu_bwd)(T *du, const T *da, const T *u, long n) {
    RK_FOR(n >= RK_PAR_MIN, long, i, n, {
        T cdf = (T)0.5 * ((T)1 + ERF(u[i] * (T)0.70710678118654752));
        T pdf = EXP((T)-0.5 * u[i] * u[i]) * (T)0.39894228040143268;
        du[i] = da[i] * (cdf + u[i] * pdf);
    });
}

void FN(rk_l2norm_rows)(T *y, T *norms, const T *x, int N, int D, T eps) {
    RK_FOR((long)N * D >= RK_PAR_MIN, int, n, N, {
        const T *xr = x + (long)n * D;
        T *yr = y + (long)n * D;
        T nr = SQRT(FN(rk_row_dot)(xr, xr, D));
        norms[n] = nr;
        T inv = (T)1 / (nr > eps ? nr : eps);
        for (int i = 0; i < D; i++) yr[i] = xr[i] * inv;
    });
}

void FN(rk_l2norm_rows_bwd)(T *dx, const T *dy, const T *y, const T *norms, int N, int D, T eps) {
    RK_FOR((long)N * D >= RK_PAR_MIN, int, n, N, {
        const T *dyr = dy + (long)n * D, *yr = y + (long)n * D;
        T *dxr = dx + (long)n * D;
        if (norms[n] > eps) {
            T dot = FN(rk_row_dot)(yr, dyr, D), inv = (T)1 / norms[n];
            for (int i = 0; i < D; i++) dxr[i] += (dyr[i] - yr[i] * dot) * inv;
        } else {
            for (int i = 0; i < D; i++) dxr[i] += dyr[i] / eps;
        }
    });
}

void FN(rk_dropout)(T *a, T *mask, long n, T p, uint64_t seed, long offset) {
    T keep = (T)1 / ((T)1 - p);
    uint64_t threshold = (uint64_t)((double)p * 18446744073709551616.0);
    RK_FOR(n >= RK_PAR_MIN, long, i, n, {
        T m = rk_mix64(seed ^ rk_mix64((uint64_t)(offset + i))) < threshold ? (T)0 : keep;
        mask[i] = m;
        a[i] *= m;
    });
}

void FN(rk_mul)(T *y, const T *x, long n) {
    RK_FOR(n >= 4 * RK_PAR_MIN, long, i, n, y[i] *= x[i];);
}

#endif
