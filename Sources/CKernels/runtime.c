/* The one parallel runtime of the toolkit: an OpenMP team (libomp). OpenBLAS is pinned to one
 * thread so that BLAS never spawns a second pool under our tasks. */
#include "rk_internal.h"
#include <time.h>

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

/* The machine's FMA peak: every thread of the team runs independent float FMA chains, 16 wide
 * where the CPU has AVX-512 and 8 wide (AVX2) otherwise (chosen at run time, so a portable build
 * still measures the machine's own peak), enough chains to cover the FMA latency, for about
 * `seconds`; returns GFLOP/s (2 per FMA lane). */
typedef float rk_v16 __attribute__((vector_size(64)));
typedef float rk_v8 __attribute__((vector_size(32)));

__attribute__((target("avx512f"))) static double rk_fma_thread16(long iters) {
    rk_v16 a[12], b, c;
    for (int i = 0; i < 12; i++) a[i] = (rk_v16){0} + (float)i * 1e-3f;
    b = (rk_v16){0} + 0.999999f;
    c = (rk_v16){0} + 1e-7f;
    for (long it = 0; it < iters; it++) {
        for (int i = 0; i < 12; i++) a[i] = a[i] * b + c;   /* contracted to one FMA */
        __asm__ volatile("" : "+v"(a[0]), "+v"(a[1]), "+v"(a[2]), "+v"(a[3]), "+v"(a[4]), "+v"(a[5]));
    }
    float s = 0;
    for (int i = 0; i < 12; i++) for (int j = 0; j < 16; j++) s += a[i][j];
    return s;
}

static double rk_fma_thread8(long iters) {
    rk_v8 a[12], b, c;
    for (int i = 0; i < 12; i++) a[i] = (rk_v8){0} + (float)i * 1e-3f;
    b = (rk_v8){0} + 0.999999f;
    c = (rk_v8){0} + 1e-7f;
    for (long it = 0; it < iters; it++) {
        for (int i = 0; i < 12; i++) a[i] = a[i] * b + c;
        __asm__ volatile("" : "+x"(a[0]), "+x"(a[1]), "+x"(a[2]), "+x"(a[3]), "+x"(a[4]), "+x"(a[5]));
    }
    float s = 0;
    for (int i = 0; i < 12; i++) for (int j = 0; j < 8; j++) s += a[i][j];
    return s;
}

static int rk_fma_width(void) { return __builtin_cpu_supports("avx512f") ? 16 : 8; }

static double rk_fma_thread(long iters) { return rk_fma_width() == 16 ? rk_fma_thread16(iters) : rk_fma_thread8(iters); }

double rk_fma_peak_gflops(double seconds) {
    long iters = 1000000;
    double t0 = 0, t1 = 0, sink = 0;
    for (;;) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        if (rk_threads > 1) {
#pragma omp parallel reduction(+ : sink)
            sink += rk_fma_thread(iters);
        } else {
            sink += rk_fma_thread(iters);
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        t0 = a.tv_sec + a.tv_nsec * 1e-9; t1 = b.tv_sec + b.tv_nsec * 1e-9;
        if (t1 - t0 >= seconds || iters > (1L << 40)) break;
        iters *= 2;
    }
    if (sink == 12345.0) return 0;   /* keep the result alive */
    return (double)iters * 12 * rk_fma_width() * 2 * rk_threads / (t1 - t0) / 1e9;
}

/* The memory-bandwidth bar of the AdamW benchmark: dst = src over n floats, in one contiguous
 * chunk per thread of the team (as AdamW's loop splits its tensors). */
void rk_copy_parallel(float *dst, const float *src, long n) {
    RK_FOR(n >= 4 * RK_PAR_MIN, long, i, n, { dst[i] = src[i]; });
}
