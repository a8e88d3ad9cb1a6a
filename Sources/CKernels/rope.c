/* Rotary position embedding, rotate-half convention (Llama / Hugging Face): within each head of
 * width hd, element i (< hd/2) is paired with element i + hd/2:
 *   y1 = x1 cos - x2 sin,  y2 = x2 cos + x1 sin,  angle = pos * theta^(-2i/hd).
 * The backward pass is the inverse rotation (sin -> -sin) applied to the gradient. */
/* Defines (grep-able; FN(x) expands to x_f32 and x_f64): rk_rope_f32, rk_rope_f64. */
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

void FN(rk_rope)(T *x, const T *cos_t, const T *sin_t, int N, int S, int nheads, int hd, int ld,
                 int inverse) {
    int half = hd / 2;
    T sgn = inverse ? (T)-1 : (T)1;
    RK_FOR((long)N * nheads * hd >= RK_PAR_MIN, int, n, N, {
        const T *c = cos_t + (long)(n % S) * half, *s = sin_t + (long)(n % S) * half;
        for (int h = 0; h < nheads; h++) {
            T *x1 = x + (long)n * ld + (long)h * hd, *x2 = x1 + half;
            for (int i = 0; i < half; i++) {
                T a = x1[i], b = x2[i], sn = sgn * s[i];
                x1[i] = a * c[i] - b * sn;
                x2[i] = b * c[i] + a * sn;
            }
        }
    });
}

#endif
