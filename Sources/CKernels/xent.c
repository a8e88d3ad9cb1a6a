/* Cross-entropy of each row of logits z [N, V] against its target:
 *   loss_n = logsumexp(z_n) - z_n[target_n],   d loss_n / d z_n = softmax(z_n) - onehot(target_n).
 * The gradient (times grad_scale, usually 1 / number of counted tokens) overwrites the logits,
 * as in llm.c, so the [N, V] buffer is not held twice. Rows with target < 0 are ignored. */
/* Defines (grep-able; FN(x) expands to x_f32 and x_f64): rk_xent_f32, rk_xent_f64. */
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

void FN(rk_xent)(T *losses, T *logits, const int32_t *targets, int N, int V, T grad_scale) {
    RK_FOR((long)N * V >= RK_PAR_MIN, int, n, N, {
        T *z = logits + (long)n * V;
        int tgt = targets[n];
        if (tgt < 0 || tgt >= V) {
            losses[n] = 0;
            if (grad_scale != 0)
                for (int i = 0; i < V; i++) z[i] = 0;
            continue;
        }
        T mx = FN(rk_row_max)(z, V);
        T sum = FN(rk_row_sum_exp)(z, V, mx);
        T lse = mx + LOG(sum);
        losses[n] = lse - z[tgt];
        if (grad_scale != 0) {
            for (int i = 0; i < V; i++) z[i] = EXP(z[i] - lse) * grad_scale;
            z[tgt] -= grad_scale;
        }
    });
}

#endif
