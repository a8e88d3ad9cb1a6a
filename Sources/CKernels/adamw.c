/* AdamW, exactly PyTorch's torch.optim.AdamW (foreach=False) arithmetic:
 *   p *= 1 - lr * wd
 *   m = b1 * m + (1 - b1) * g          (PyTorch: m.lerp_(g, 1 - b1))
 *   v = b2 * v + (1 - b2) * g * g
 *   p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps),   bc = 1 - beta^step. */
/* Defines (grep-able; FN(x) expands to x_f32 and x_f64): rk_adamw_f32, rk_adamw_f64. */
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

void FN(rk_adamw)(T *p, T *m, T *v, const T *g, long n, T lr, T b1, T b2, T eps, T wd, T bc1,
                  T bc2) {
    T decay = (T)1 - lr * wd;
    T step = lr / bc1;
    T sbc2 = SQRT(bc2);
    RK_FOR(n >= 4 * RK_PAR_MIN, long, i, n, {
        T gi = g[i];
        T mi = m[i] * b1 + gi * ((T)1 - b1);
        T vi = v[i] * b2 + gi * gi * ((T)1 - b2);
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * decay - step * mi / (SQRT(vi) / sbc2 + eps);
    });
}

#endif
