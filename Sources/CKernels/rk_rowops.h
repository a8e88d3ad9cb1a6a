/* Row reductions with 16 fixed lanes, included inside each template instantiation. Without
 * fast-math the compiler may not reorder a sum, so the lanes are explicit: the order is fixed
 * (lane i sums elements i, i+16, ...; lanes are then added in order) and the loops vectorise. */
#define RK_LANES 16

static inline T FN(rk_row_max)(const T *x, int n) {
    T m = x[0];
    int i = 0;
    if (n >= RK_LANES) {
        T acc[RK_LANES];
        for (int l = 0; l < RK_LANES; l++) acc[l] = x[l];
        for (i = RK_LANES; i + RK_LANES <= n; i += RK_LANES)
            for (int l = 0; l < RK_LANES; l++) acc[l] = x[i + l] > acc[l] ? x[i + l] : acc[l];
        m = acc[0];
        for (int l = 1; l < RK_LANES; l++) m = acc[l] > m ? acc[l] : m;
    }
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

/* x[i] = exp(x[i] - shift) in place; returns the sum. */
static inline T FN(rk_row_exp_sum)(T *x, int n, T shift) {
    T acc[RK_LANES] = {0};
    int i = 0;
    for (; i + RK_LANES <= n; i += RK_LANES)
        for (int l = 0; l < RK_LANES; l++) {
            T e = EXP(x[i + l] - shift);
            x[i + l] = e;
            acc[l] += e;
        }
    T s = 0;
    for (; i < n; i++) {
        T e = EXP(x[i] - shift);
        x[i] = e;
        s += e;
    }
    for (int l = 0; l < RK_LANES; l++) s += acc[l];
    return s;
}

/* sum of exp(x[i] - shift), x unchanged. */
static inline T FN(rk_row_sum_exp)(const T *x, int n, T shift) {
    T acc[RK_LANES] = {0};
    int i = 0;
    for (; i + RK_LANES <= n; i += RK_LANES)
        for (int l = 0; l < RK_LANES; l++) acc[l] += EXP(x[i + l] - shift);
    T s = 0;
    for (; i < n; i++) s += EXP(x[i] - shift);
    for (int l = 0; l < RK_LANES; l++) s += acc[l];
    return s;
}

static inline T FN(rk_row_dot)(const T *a, const T *b, int n) {
    T acc[RK_LANES] = {0};
    int i = 0;
    for (; i + RK_LANES <= n; i += RK_LANES)
        for (int l = 0; l < RK_LANES; l++) acc[l] += a[i + l] * b[i + l];
    T s = 0;
    for (; i < n; i++) s += a[i] * b[i];
    for (int l = 0; l < RK_LANES; l++) s += acc[l];
    return s;
}

/* sum of a[i] * b[i] * c[i]. */
static inline T FN(rk_row_dot3)(const T *a, const T *b, const T *c, int n) {
    T acc[RK_LANES] = {0};
    int i = 0;
    for (; i + RK_LANES <= n; i += RK_LANES)
        for (int l = 0; l < RK_LANES; l++) acc[l] += a[i + l] * b[i + l] * c[i + l];
    T s = 0;
    for (; i < n; i++) s += a[i] * b[i] * c[i];
    for (int l = 0; l < RK_LANES; l++) s += acc[l];
    return s;
}
#undef RK_LANES

/* SwiGLU on one row of n: g = silu(a1) * a3, silu(u) = u sigmoid(u). The pointers must not
 * overlap (restrict: without it the backward loop, with two outputs and three inputs, is left
 * scalar, about 7 times slower than the forward one). */
static inline void FN(rk_swiglu_row)(T *restrict g, const T *restrict a1, const T *restrict a3, int n) {
    for (int i = 0; i < n; i++) g[i] = a1[i] * SIGMOID(a1[i]) * a3[i];
}

/* Its backward: da1 = dg a3 s (1 + a1 (1 - s)), da3 = dg silu(a1), s = sigmoid(a1). */
static inline void FN(rk_swiglu_bwd_row)(T *restrict da1, T *restrict da3, const T *restrict dg, const T *restrict a1,
                                         const T *restrict a3, int n) {
    for (int i = 0; i < n; i++) {
        T s = SIGMOID(a1[i]);
        da1[i] = dg[i] * a3[i] * s * ((T)1 + a1[i] * ((T)1 - s));
        da3[i] = dg[i] * a1[i] * s;
    }
}
