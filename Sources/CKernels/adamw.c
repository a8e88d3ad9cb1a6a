/* AdamW, exactly PyTorch's torch.optim.AdamW (foreach=False) arithmetic:
 *   p *= 1 - lr * wd
 *   m = b1 * m + (1 - b1) * g          (PyTorch: m.lerp_(g, 1 - b1))
 *   v = b2 * v + (1 - b2) * g * g
 *   p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps),   bc = 1 - beta^step. */
/* rk_adamw_tasks does the same update over a whole slab in one parallel region: the trainable
 * tensors are cut into tasks (start, end, tensor) of at most a fixed number of elements, each
 * tensor with its own lr and weight decay. Every element gets exactly rk_adamw's arithmetic, so
 * both give the same bits, for any thread count. */
/* Defines (grep-able; FN(x) expands to x_f32 and x_f64): rk_adamw_f32, rk_adamw_f64,
 * rk_adamw_tasks_f32, rk_adamw_tasks_f64, rk_adamw_span_f32, rk_adamw_span_f64. */
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

/* Elements [i0, i1) of one tensor: the arithmetic both entry points share. */
static inline void FN(rk_adamw_span)(T *p, T *m, T *v, const T *g, long i0, long i1, T b1, T b2,
                                     T eps, T decay, T step, T sbc2) {
    for (long i = i0; i < i1; i++) {
        T gi = g[i];
        T mi = m[i] * b1 + gi * ((T)1 - b1);
        T vi = v[i] * b2 + gi * gi * ((T)1 - b2);
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * decay - step * mi / (SQRT(vi) / sbc2 + eps);
    }
}

void FN(rk_adamw)(T *p, T *m, T *v, const T *g, long n, T lr, T b1, T b2, T eps, T wd, T bc1,
                  T bc2) {
    const long chunk = RK_PAR_MIN;
    long chunks = (n + chunk - 1) / chunk;
    RK_FOR(n >= 4 * RK_PAR_MIN, long, c, chunks, {
        long i1 = (c + 1) * chunk < n ? (c + 1) * chunk : n;
        FN(rk_adamw_span)(p, m, v, g, c * chunk, i1, b1, b2, eps, (T)1 - lr * wd, lr / bc1, SQRT(bc2));
    });
}

void FN(rk_adamw_tasks)(T *p, T *m, T *v, const T *g, const long *tasks, int ntasks, long total,
                        const T *lr, const T *wd, T b1, T b2, T eps, T bc1, T bc2) {
    RK_FOR(ntasks > 1 && total >= 4 * RK_PAR_MIN, int, t, ntasks, {
        int s = (int)tasks[3 * t + 2];
        FN(rk_adamw_span)(p, m, v, g, tasks[3 * t], tasks[3 * t + 1], b1, b2, eps, (T)1 - lr[s] * wd[s],
                          lr[s] / bc1, SQRT(bc2));
    });
}

#endif
