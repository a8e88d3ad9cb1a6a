/* Private helpers of the C kernels: the template machinery, the OpenMP runtime calls we use
 * (omp.h is not on the Swift toolchain's clang path, so they are declared here) and the scalar
 * math, written so that clang vectorises it (no libm calls in float hot loops, no fast-math). */
#ifndef RK_INTERNAL_H
#define RK_INTERNAL_H
#include "rk_kernels.h"
#include <cblas.h>
#include <math.h>
#include <string.h>
#include <stdint.h>

int omp_get_thread_num(void);
int omp_get_num_threads(void);
int omp_get_max_threads(void);
void omp_set_num_threads(int n);

#define RK_CAT_(a, b) a##_##b
#define RK_CAT(a, b) RK_CAT_(a, b)
/* FN(rk_add) -> rk_add_f32 or rk_add_f64, depending on the SFX of the current instantiation. */
#define FN(name) RK_CAT(name, SFX)

/* Work below this many "element operations" runs on the calling thread: an OpenMP region costs
 * a few microseconds. The decision depends only on sizes, never on the thread count. */
#define RK_PAR_MIN 16384

/* exp for float, Cephes-style: exp(x) = 2^n exp(r), |r| <= ln2/2, degree-6 polynomial.
 * Max error about 1 ulp on [-87.3, 88.3]; returns 0 below -87.3 and clamps above. Branch-free,
 * so loops calling it vectorise. */
static inline float rk_expf(float x) {
    const float hi = 88.3762626647949f, lo = -87.3365447504f;
    float xc = x > hi ? hi : x;
    xc = xc < lo ? lo : xc;
    float n = __builtin_rintf(xc * 1.44269504088896341f);
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500E-4f;
    p = p * r + 1.3981999507E-3f;
    p = p * r + 8.3334519073E-3f;
    p = p * r + 4.1665795894E-2f;
    p = p * r + 1.6666665459E-1f;
    p = p * r + 5.0000001201E-1f;
    p = p * r * r + r + 1.0f;
    int32_t e = ((int32_t)n + 127) << 23;
    float s;
    memcpy(&s, &e, sizeof s);
    float y = p * s;
    return x < lo ? 0.0f : y;
}

/* tanh for float, Cephes-style: odd polynomial below 0.625, 1 - 2 / (exp(2|x|) + 1) above
 * (both computed, then selected, so loops vectorise). Relative error about 2 ulp. */
static inline float rk_tanhf(float x) {
    float ax = x < 0 ? -x : x;
    float z = x * x;
    float small = ((((-5.70498872745E-3f * z + 2.06390887954E-2f) * z - 5.37397155531E-2f) * z
                    + 1.33314422036E-1f) * z - 3.33332819422E-1f) * z * x + x;
    float big = 1.0f - 2.0f / (rk_expf(2.0f * ax) + 1.0f);
    big = x < 0 ? -big : big;
    return ax < 0.625f ? small : big;
}

/* Parallel loops. Each kernel loop is written once and expanded twice: an OpenMP worksharing
 * loop when there is more than one thread and the work is large enough, and a plain loop
 * otherwise. (Entering an OpenMP construct that then runs serialised - an `if` clause that is
 * false, or a team of one - makes libomp allocate on every call; a training step must not.)
 * RK_FOR gives each thread one contiguous chunk, RK_FOR1 deals iterations round-robin. The
 * chunks are computed here rather than by an `omp for` construct, whose schedule set-up in
 * Debian's libomp 14 allocates 512 bytes per thread on every loop. */
int rk_get_threads(void);
#define RK_FOR(cond, type, i, n, ...)                                               \
    do {                                                                            \
        type rk_n_ = (n);                                                           \
        if ((cond) && rk_get_threads() > 1) {                                       \
            _Pragma("omp parallel") {                                               \
                type rk_nth_ = (type)omp_get_num_threads();                         \
                type rk_chunk_ = (rk_n_ + rk_nth_ - 1) / rk_nth_;                   \
                type rk_lo_ = (type)omp_get_thread_num() * rk_chunk_;               \
                type rk_hi_ = rk_lo_ + rk_chunk_ < rk_n_ ? rk_lo_ + rk_chunk_ : rk_n_; \
                for (type i = rk_lo_; i < rk_hi_; i++) __VA_ARGS__                  \
            }                                                                       \
        } else {                                                                    \
            for (type i = 0; i < rk_n_; i++) __VA_ARGS__                            \
        }                                                                           \
    } while (0)
#define RK_FOR1(cond, type, i, n, ...)                                              \
    do {                                                                            \
        type rk_n_ = (n);                                                           \
        if ((cond) && rk_get_threads() > 1) {                                       \
            _Pragma("omp parallel") {                                               \
                type rk_nth_ = (type)omp_get_num_threads();                         \
                for (type i = (type)omp_get_thread_num(); i < rk_n_; i += rk_nth_)  \
                    __VA_ARGS__                                                     \
            }                                                                       \
        } else {                                                                    \
            for (type i = 0; i < rk_n_; i++) __VA_ARGS__                            \
        }                                                                           \
    } while (0)

/* Dynamic schedule by hand: the schedule(dynamic) code of this clang needs a newer libomp than
 * Debian's. Iterations are claimed from an atomic counter; results must not depend on which
 * thread runs an iteration (each writes its own outputs). */
#define RK_FOR_DYNAMIC(i, n, ...)                                                  \
    do {                                                                            \
        long rk_next_ = 0, rk_n_ = (n);                                             \
        if (rk_n_ > 1 && rk_get_threads() > 1) {                                    \
            _Pragma("omp parallel") for (;;) {                                      \
                long i = __atomic_fetch_add(&rk_next_, 1, __ATOMIC_RELAXED);        \
                if (i >= rk_n_) break;                                              \
                __VA_ARGS__                                                         \
            }                                                                       \
        } else {                                                                    \
            for (long i = 0; i < rk_n_; i++) __VA_ARGS__                            \
        }                                                                           \
    } while (0)

static inline float rk_sigmoidf(float x) { return 1.0f / (1.0f + rk_expf(-x)); }
static inline double rk_sigmoidd(double x) { return 1.0 / (1.0 + exp(-x)); }

#endif
