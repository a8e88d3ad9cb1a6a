/* The one parallel runtime of the toolkit: an OpenMP team (libomp). OpenBLAS is pinned to one
 * thread so that BLAS never spawns a second pool under our tasks. */
#include "rk_internal.h"

static int rk_threads = 1;

void rk_init(void) {
    openblas_set_num_threads(1);
    omp_set_num_threads(rk_threads);
}

void rk_set_threads(int n) {
    rk_threads = n < 1 ? 1 : n;
    omp_set_num_threads(rk_threads);
    openblas_set_num_threads(1);
}

int rk_get_threads(void) { return rk_threads; }

void rk_set_blas_threads(int n) { openblas_set_num_threads(n < 1 ? 1 : n); }

void rk_parallel_for(long n, void *ctx, void (*body)(void *ctx, long i)) {
    if (n <= 0) return;
    if (n == 1 || rk_threads == 1) {
        for (long i = 0; i < n; i++) body(ctx, i);
        return;
    }
    /* Dynamic schedule by hand: the schedule(dynamic) code of this clang needs a newer libomp. */
    long next = 0;
#pragma omp parallel
    for (;;) {
        long i = __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED);
        if (i >= n) break;
        body(ctx, i);
    }
}

float rk_expf_scalar(float x) { return rk_expf(x); }
