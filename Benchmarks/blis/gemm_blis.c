/* OpenBLAS against BLIS on the single-threaded products of a training step (issue 15's "BLIS for
 * small shapes" lever). rk_gemm runs every product as tiles of one-thread BLAS calls, so the
 * question is which library is faster per call at the step's tile shapes.
 *
 * Both libraries export cblas_sgemm; BLIS is therefore called through its own typed API
 * (bli_sgemm with row and column strides), linked from its static archive after OpenBLAS, so
 * cblas_sgemm still resolves to OpenBLAS. Each shape runs OpenBLAS and BLIS alternately
 * (`rounds` times, best of each), about 0.2 GFLOP per timing, C = op(A) op(B) with beta 0;
 * the last column is the largest relative difference between the two results (they sum in
 * different orders, so they agree to rounding, not bitwise).
 *
 * Build and run: Benchmarks/blis/run.sh (installs libblis-serial-dev when missing). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "blis.h"

void openblas_set_num_threads(int);
char *openblas_get_corename(void);

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* C[M,N] = op(A) op(B), row-major; op(A) is [M,K], op(B) is [K,N]. */
typedef struct { const char *name; int transA, transB, M, N, K; } shape_t;

static void with_openblas(const shape_t *s, const float *A, const float *B, float *C) {
    cblas_sgemm(CblasRowMajor, s->transA ? CblasTrans : CblasNoTrans, s->transB ? CblasTrans : CblasNoTrans, s->M,
                s->N, s->K, 1.0f, A, s->transA ? s->M : s->K, B, s->transB ? s->K : s->N, 0.0f, C, s->N);
}

static void with_blis(const shape_t *s, const float *A, const float *B, float *C) {
    float one = 1.0f, zero = 0.0f;
    /* Row-major storage: row stride = leading dimension, column stride 1; BLIS applies the transposes. */
    bli_sgemm(s->transA ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, s->transB ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, s->M, s->N,
              s->K, &one, (float *)A, s->transA ? s->M : s->K, 1, (float *)B, s->transB ? s->K : s->N, 1, &zero, C, s->N,
              1);
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 3;
    openblas_set_num_threads(1);
    bli_init();
    /* TINY: d 64, 2 heads (hd 32), f 64, 512 tokens, 128 rows per expert, vocabulary 256; rk_gemm
     * cuts 512-row products into 64-row tiles. SMALL: d 256, f 128, 2048 tokens (256-row tiles),
     * 512 rows per expert, hd 64. N = no transpose, T = transposed (weights are [out, in]). */
    static const shape_t shapes[] = {
        {"TINY qkv tile       NT", 0, 1, 64, 192, 64},   {"TINY wo tile        NT", 0, 1, 64, 64, 64},
        {"TINY head tile      NT", 0, 1, 64, 256, 64},   {"TINY dx tile        NN", 0, 0, 64, 64, 192},
        {"TINY qkv dW         TN", 1, 0, 192, 64, 512},  {"TINY wo dW          TN", 1, 0, 64, 64, 512},
        {"TINY expert w1      NT", 0, 1, 128, 64, 64},   {"TINY expert w2      NT", 0, 1, 128, 64, 64},
        {"TINY expert dX      NN", 0, 0, 128, 64, 64},   {"TINY expert dW      TN", 1, 0, 64, 64, 128},
        {"TINY attn q k^T     NT", 0, 1, 64, 64, 32},    {"TINY attn P v       NN", 0, 0, 64, 32, 64},
        {"TINY attn P^T dO    TN", 1, 0, 64, 32, 64},    {"SMALL qkv tile      NT", 0, 1, 256, 768, 256},
        {"SMALL dx tile       NN", 0, 0, 256, 256, 768}, {"SMALL qkv dW tile   TN", 1, 0, 96, 256, 2048},
        {"SMALL expert w1     NT", 0, 1, 512, 128, 256}, {"SMALL expert w2     NT", 0, 1, 512, 256, 128},
        {"SMALL expert dX     NN", 0, 0, 512, 256, 128}, {"SMALL expert dW     TN", 1, 0, 128, 256, 512},
        {"SMALL attn q k^T    NT", 0, 1, 64, 256, 64},   {"SMALL attn P v      NN", 0, 0, 64, 64, 256},
    };
    const int n = sizeof shapes / sizeof shapes[0];
    const size_t cap = 1 << 21;
    float *A = malloc(cap * sizeof(float)), *B = malloc(cap * sizeof(float));
    float *C1 = malloc(cap * sizeof(float)), *C2 = malloc(cap * sizeof(float));
    for (size_t i = 0; i < cap; i++) {
        A[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
        B[i] = (float)((i * 104729) % 997) / 997.0f - 0.5f;
    }
    printf("OpenBLAS (%s kernels) against BLIS %s (%s kernels); one thread each; GFLOP/s, best of %d alternating rounds\n",
           openblas_get_corename(), bli_info_get_version_str(), bli_arch_string(bli_arch_query_id()), rounds);
    printf("%-24s %6s %6s %6s %10s %8s %9s %10s\n", "product", "M", "N", "K", "OpenBLAS", "BLIS", "BLIS/OB", "max rel");
    double sum_ratio_log = 0;
    for (int s = 0; s < n; s++) {
        const shape_t *x = &shapes[s];
        double flops = 2.0 * x->M * x->N * x->K;
        int reps = (int)(2e8 / flops) + 1;
        double best_ob = 1e30, best_bl = 1e30;
        for (int r = 0; r < rounds; r++) {
            double t0 = now();
            for (int i = 0; i < reps; i++) with_openblas(x, A, B, C1);
            double t1 = now();
            for (int i = 0; i < reps; i++) with_blis(x, A, B, C2);
            double t2 = now();
            if (t1 - t0 < best_ob) best_ob = t1 - t0;
            if (t2 - t1 < best_bl) best_bl = t2 - t1;
        }
        double worst = 0;
        for (long i = 0; i < (long)x->M * x->N; i++) {
            double d = fabs((double)C1[i] - C2[i]) / (fabs((double)C1[i]) + 1e-3);
            if (d > worst) worst = d;
        }
        double ob = flops * reps / best_ob * 1e-9, bl = flops * reps / best_bl * 1e-9;
        sum_ratio_log += log(bl / ob);
        printf("%-24s %6d %6d %6d %10.1f %8.1f %8.2fx %10.1e\n", x->name, x->M, x->N, x->K, ob, bl, bl / ob, worst);
    }
    printf("geometric mean BLIS/OpenBLAS: %.2fx over %d products\n", exp(sum_ratio_log / n), n);
    free(A); free(B); free(C1); free(C2);
    return 0;
}
