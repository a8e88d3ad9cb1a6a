/* Recurrent cells of the RMoE router (PyTorch GRUCell / RNNCell(tanh) semantics), element-wise
 * parts only: the caller does the matmuls gi = x' W_ih^T + b_ih and gh = h W_hh^T + b_hh [N, 3p]
 * (gate order r, z, n).
 *   r = sigmoid(gi_r + gh_r), u = sigmoid(gi_z + gh_z), n = tanh(gi_n + r * gh_n),
 *   h = (1 - u) * n + u * h_prev.
 * Backward (docs/routers.md 2.7), given dh:
 *   dn = dh (1-u), du = dh (h_prev - n), da_n = dn (1-n^2), da_u = du u (1-u),
 *   dq = da_n r, da_r = da_n q r (1-r);  dgi = [da_r | da_u | da_n], dgh = [da_r | da_u | dq],
 *   dh_prev = dh u (the caller adds dgh W_hh). */
/* Defines (grep-able; FN(x) expands to x_f32 and x_f64): rk_gru_fwd_f32, rk_gru_fwd_f64, rk_gru_bwd_f32,
 * rk_gru_bwd_f64, rk_rnn_fwd_f32, rk_rnn_fwd_f64, rk_rnn_bwd_f32, rk_rnn_bwd_f64. */
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

void FN(rk_gru_fwd)(T *h, T *r, T *u, T *nn, T *q, const T *gi, const T *gh, const T *hprev,
                    int N, int p) {
    RK_FOR((long)N * p >= RK_PAR_MIN, int, t, N, {
        const T *gir = gi + (long)t * 3 * p, *ghr = gh + (long)t * 3 * p;
        long o = (long)t * p;
        for (int i = 0; i < p; i++) {
            T rr = SIGMOID(gir[i] + ghr[i]);
            T uu = SIGMOID(gir[p + i] + ghr[p + i]);
            T qq = ghr[2 * p + i];
            T n = TANH(gir[2 * p + i] + rr * qq);
            T hp = hprev ? hprev[o + i] : 0;
            r[o + i] = rr; u[o + i] = uu; q[o + i] = qq; nn[o + i] = n;
            h[o + i] = ((T)1 - uu) * n + uu * hp;
        }
    });
}

void FN(rk_gru_bwd)(T *dgi, T *dgh, T *dhprev, const T *dh, const T *r, const T *u, const T *nn,
                    const T *q, const T *hprev, int N, int p) {
    RK_FOR((long)N * p >= RK_PAR_MIN, int, t, N, {
        T *dgir = dgi + (long)t * 3 * p, *dghr = dgh + (long)t * 3 * p;
        long o = (long)t * p;
        for (int i = 0; i < p; i++) {
            T g = dh[o + i], uu = u[o + i], n = nn[o + i], rr = r[o + i], qq = q[o + i];
            T hp = hprev ? hprev[o + i] : 0;
            T dan = g * ((T)1 - uu) * ((T)1 - n * n);
            T dau = g * (hp - n) * uu * ((T)1 - uu);
            T dar = dan * qq * rr * ((T)1 - rr);
            dgir[i] = dar; dgir[p + i] = dau; dgir[2 * p + i] = dan;
            dghr[i] = dar; dghr[p + i] = dau; dghr[2 * p + i] = dan * rr;
            if (dhprev) dhprev[o + i] = g * uu;
        }
    });
}

/* tanh RNN cell: h = tanh(gi + gh); backward da = dh (1 - h^2) (written). */
void FN(rk_rnn_fwd)(T *h, const T *gi, const T *gh, long n) {
    RK_FOR(n >= RK_PAR_MIN, long, i, n, h[i] = TANH(gi[i] + gh[i]););
}

void FN(rk_rnn_bwd)(T *da, const T *dh, const T *h, long n) {
    RK_FOR(n >= RK_PAR_MIN, long, i, n, da[i] = dh[i] * ((T)1 - h[i] * h[i]););
}

#endif
