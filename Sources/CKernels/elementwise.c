/* Element-wise helpers: residual add (forward) and accumulate (its backward), scaling, bias
 * column sums and the deterministic sum of squares used by gradient clipping. */
/* Defines (grep-able; FN(x) expands to x_f32 and x_f64): rk_add_f32, rk_add_f64, rk_acc_f32, rk_acc_f64,
 * rk_scale_f32, rk_scale_f64, rk_axpy_f32, rk_axpy_f64, rk_bias_rows_f32, rk_bias_rows_f64, rk_dot_f32,
 * rk_dot_f64, rk_colsum_acc_f32, rk_colsum_acc_f64, rk_sumsq_f32, rk_sumsq_f64. */
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

void FN(rk_add)(T *y, const T *a, const T *b, long n) {
    RK_FOR(n >= 4 * RK_PAR_MIN, long, i, n, y[i] = a[i] + b[i];);
}

void FN(rk_acc)(T *y, const T *x, long n) {
    RK_FOR(n >= 4 * RK_PAR_MIN, long, i, n, y[i] += x[i];);
}

void FN(rk_scale)(T *x, long n, T s) {
    RK_FOR(n >= 4 * RK_PAR_MIN, long, i, n, x[i] *= s;);
}

void FN(rk_axpy)(T *y, const T *x, long n, T a) {
    RK_FOR(n >= 4 * RK_PAR_MIN, long, i, n, y[i] += a * x[i];);
}

void FN(rk_bias_rows)(T *y, const T *b, int N, int D) {
    RK_FOR((long)N * D >= 4 * RK_PAR_MIN, int, n, N, memcpy(y + (long)n * D, b, sizeof(T) * D););
}

double FN(rk_dot)(const T *x, const T *y, long n) {
    /* At most 64 chunks whose bounds depend on n only; 8 running sums per chunk (vectorisable);
     * chunks added in order, so the result does not depend on the thread count. */
    enum { MAXC = 64, LANES = 8 };
    double part[MAXC];
    long chunk = (n + MAXC - 1) / MAXC;
    if (chunk < 4096) chunk = 4096;
    int nc = (int)((n + chunk - 1) / chunk);
    RK_FOR(n >= 4 * RK_PAR_MIN, int, c, nc, {
        long i0 = c * chunk, i1 = i0 + chunk < n ? i0 + chunk : n;
        double acc[LANES] = {0};
        long i = i0;
        for (; i + LANES <= i1; i += LANES)
            for (int l = 0; l < LANES; l++) acc[l] += (double)x[i + l] * (double)y[i + l];
        double s = 0;
        for (; i < i1; i++) s += (double)x[i] * (double)y[i];
        for (int l = 0; l < LANES; l++) s += acc[l];
        part[c] = s;
    });
    double total = 0;
    for (int c = 0; c < nc; c++) total += part[c];
    return total;
}

void FN(rk_colsum_acc)(T *out, const T *x, int N, int D) {
    const int slice = 32;
    int ns = (D + slice - 1) / slice;
    RK_FOR((long)N * D >= RK_PAR_MIN, int, s, ns, {
        int c0 = s * slice, c1 = c0 + slice < D ? c0 + slice : D;
        for (int n = 0; n < N; n++) {
            const T *xr = x + (long)n * D;
            for (int c = c0; c < c1; c++) out[c] += xr[c];
        }
    });
}

/* Sum of squares: the dot product of x with itself (same chunks, same order). */
double FN(rk_sumsq)(const T *x, long n) { return FN(rk_dot)(x, x, n); }

#endif
