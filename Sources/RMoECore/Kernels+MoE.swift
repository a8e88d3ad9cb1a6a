import CKernels

/// The MoE and router kernels (gate, dispatcher, recurrent cells), forwarded to the C kernels of
/// each precision like `KernelScalar`'s; `KernelScalar` inherits these requirements.
public protocol MoEKernelScalar {
    /// Row softmax of `z * scale`: p [N, E].
    static func softmaxRows(_ p: UnsafeMutablePointer<Self>, _ z: UnsafePointer<Self>, _ N: Int, _ E: Int, _ scale: Self)
    /// Top-k of each row of z [N, E] (ties: lower index first, slots by descending logit) and the gate weights w [N, k] = softmax over the selected logits.
    static func topKGate(_ idx: UnsafeMutablePointer<Int32>, _ w: UnsafeMutablePointer<Self>, _ z: UnsafePointer<Self>, _ N: Int, _ E: Int, _ k: Int)
    /// Switch balance loss `E sum_e f_e P_e`, f_e = n_e / (Tk), P_e = sum_t p_te / (Tk).
    static func balanceLoss(_ p: UnsafePointer<Self>, _ counts: UnsafePointer<Int32>, _ N: Int, _ E: Int, _ k: Int) -> Double
    /// `dscore +=` coef * d(balance loss)/d(score) through p = softmax(score * invTau), for N rows of a
    /// batch of `total` tokens whose expert counts are `counts`.
    static func balanceBackward(
        _ dscore: UnsafeMutablePointer<Self>, _ p: UnsafePointer<Self>, _ counts: UnsafePointer<Int32>, _ N: Int, total: Int, _ E: Int, _ k: Int,
        _ coef: Self, _ invTau: Self)
    /// out[e] = sum over the N rows of p[n, e] (double, row order).
    static func balanceColumnSums(_ out: UnsafeMutablePointer<Double>, _ p: UnsafePointer<Self>, _ N: Int, _ E: Int)
    /// Xe[row] = x[token of row] for the T*k sorted rows.
    static func moeGather(_ Xe: UnsafeMutablePointer<Self>, _ x: UnsafePointer<Self>, _ route: UnsafePointer<rk_route_t>, _ d: Int)
    /// Every expert on its row tiles (see rk_kernels.h).
    static func moeExpertsForward(
        _ H: UnsafeMutablePointer<Self>, _ G: UnsafeMutablePointer<Self>, _ Ye: UnsafeMutablePointer<Self>, _ Xe: UnsafePointer<Self>,
        _ w1: UnsafePointer<Self>, _ w3: UnsafePointer<Self>?, _ w2: UnsafePointer<Self>, _ b1: UnsafePointer<Self>?, _ b2: UnsafePointer<Self>?,
        _ route: UnsafePointer<rk_route_t>, _ d: Int, _ f: Int, _ relu: Bool)
    /// y[t] += sum_j w[t,j] Ye[pos(t,j)].
    static func moeCombine(_ y: UnsafeMutablePointer<Self>, _ Ye: UnsafePointer<Self>, _ w: UnsafePointer<Self>, _ route: UnsafePointer<rk_route_t>, _ d: Int)
    /// dYe and the gate-logit gradient dz [T, E] (written).
    static func moeCombineBackward(
        _ dYe: UnsafeMutablePointer<Self>, _ dz: UnsafeMutablePointer<Self>, _ dy: UnsafePointer<Self>, _ Ye: UnsafePointer<Self>, _ w: UnsafePointer<Self>,
        _ route: UnsafePointer<rk_route_t>, _ d: Int)
    /// Experts backward: dXe, dH, dG written; weight gradients accumulate.
    static func moeExpertsBackward(
        _ dXe: UnsafeMutablePointer<Self>, _ dH: UnsafeMutablePointer<Self>, _ dG: UnsafeMutablePointer<Self>, _ dw1: UnsafeMutablePointer<Self>,
        _ dw3: UnsafeMutablePointer<Self>?, _ dw2: UnsafeMutablePointer<Self>, _ db1: UnsafeMutablePointer<Self>?, _ db2: UnsafeMutablePointer<Self>?,
        _ dYe: UnsafePointer<Self>, _ Xe: UnsafePointer<Self>, _ H: UnsafePointer<Self>, _ G: UnsafePointer<Self>, _ w1: UnsafePointer<Self>,
        _ w3: UnsafePointer<Self>?, _ w2: UnsafePointer<Self>, _ route: UnsafePointer<rk_route_t>, _ d: Int, _ f: Int, _ relu: Bool)
    /// dx[t] = sum_j dXe[pos(t,j)] (written).
    static func moeScatter(_ dx: UnsafeMutablePointer<Self>, _ dXe: UnsafePointer<Self>, _ route: UnsafePointer<rk_route_t>, _ d: Int)
    /// GRU cell element-wise part (PyTorch GRUCell); hprev nil = zero state.
    static func gruForward(
        _ h: UnsafeMutablePointer<Self>, _ r: UnsafeMutablePointer<Self>, _ u: UnsafeMutablePointer<Self>, _ n: UnsafeMutablePointer<Self>,
        _ q: UnsafeMutablePointer<Self>, _ gi: UnsafePointer<Self>, _ gh: UnsafePointer<Self>, _ hprev: UnsafePointer<Self>?, _ N: Int, _ p: Int)
    /// GRU backward: dgi, dgh [N, 3p] written; dhprev = dh * u written (if given).
    static func gruBackward(
        _ dgi: UnsafeMutablePointer<Self>, _ dgh: UnsafeMutablePointer<Self>, _ dhprev: UnsafeMutablePointer<Self>?, _ dh: UnsafePointer<Self>,
        _ r: UnsafePointer<Self>, _ u: UnsafePointer<Self>, _ n: UnsafePointer<Self>, _ q: UnsafePointer<Self>, _ hprev: UnsafePointer<Self>?, _ N: Int,
        _ p: Int)
    /// h = tanh(gi + gh) over n elements.
    static func rnnForward(_ h: UnsafeMutablePointer<Self>, _ gi: UnsafePointer<Self>, _ gh: UnsafePointer<Self>, _ n: Int)
    /// da = dh (1 - h^2) over n elements.
    static func rnnBackward(_ da: UnsafeMutablePointer<Self>, _ dh: UnsafePointer<Self>, _ h: UnsafePointer<Self>, _ n: Int)
}

extension Float: MoEKernelScalar {
    public static func softmaxRows(_ p: UnsafeMutablePointer<Float>, _ z: UnsafePointer<Float>, _ N: Int, _ E: Int, _ scale: Float) {
        rk_softmax_rows_f32(p, z, Int32(truncatingIfNeeded: N), Int32(truncatingIfNeeded: E), scale)
    }
    public static func topKGate(_ idx: UnsafeMutablePointer<Int32>, _ w: UnsafeMutablePointer<Float>, _ z: UnsafePointer<Float>, _ N: Int, _ E: Int, _ k: Int) {
        rk_topk_gate_f32(idx, w, z, Int32(truncatingIfNeeded: N), Int32(truncatingIfNeeded: E), Int32(truncatingIfNeeded: k))
    }
    public static func balanceLoss(_ p: UnsafePointer<Float>, _ counts: UnsafePointer<Int32>, _ N: Int, _ E: Int, _ k: Int) -> Double {
        return rk_balance_loss_f32(p, counts, Int32(truncatingIfNeeded: N), Int32(truncatingIfNeeded: E), Int32(truncatingIfNeeded: k))
    }
    public static func balanceBackward(
        _ dscore: UnsafeMutablePointer<Float>, _ p: UnsafePointer<Float>, _ counts: UnsafePointer<Int32>, _ N: Int, total: Int, _ E: Int, _ k: Int,
        _ coef: Float, _ invTau: Float
    ) {
        rk_balance_bwd_f32(
            dscore, p, counts, Int32(truncatingIfNeeded: N), total, Int32(truncatingIfNeeded: E), Int32(truncatingIfNeeded: k), coef, invTau)
    }
    public static func balanceColumnSums(_ out: UnsafeMutablePointer<Double>, _ p: UnsafePointer<Float>, _ N: Int, _ E: Int) {
        rk_balance_colsums_f32(out, p, Int32(truncatingIfNeeded: N), Int32(truncatingIfNeeded: E))
    }
    public static func moeGather(_ Xe: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ route: UnsafePointer<rk_route_t>, _ d: Int) {
        rk_moe_gather_f32(Xe, x, route, Int32(truncatingIfNeeded: d))
    }
    public static func moeExpertsForward(
        _ H: UnsafeMutablePointer<Float>, _ G: UnsafeMutablePointer<Float>, _ Ye: UnsafeMutablePointer<Float>, _ Xe: UnsafePointer<Float>,
        _ w1: UnsafePointer<Float>, _ w3: UnsafePointer<Float>?, _ w2: UnsafePointer<Float>, _ b1: UnsafePointer<Float>?, _ b2: UnsafePointer<Float>?,
        _ route: UnsafePointer<rk_route_t>, _ d: Int, _ f: Int, _ relu: Bool
    ) { rk_moe_experts_fwd_f32(H, G, Ye, Xe, w1, w3, w2, b1, b2, route, Int32(truncatingIfNeeded: d), Int32(truncatingIfNeeded: f), relu ? 1 : 0) }
    public static func moeCombine(
        _ y: UnsafeMutablePointer<Float>, _ Ye: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ route: UnsafePointer<rk_route_t>, _ d: Int
    ) { rk_moe_combine_f32(y, Ye, w, route, Int32(truncatingIfNeeded: d)) }
    public static func moeCombineBackward(
        _ dYe: UnsafeMutablePointer<Float>, _ dz: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ Ye: UnsafePointer<Float>,
        _ w: UnsafePointer<Float>, _ route: UnsafePointer<rk_route_t>, _ d: Int
    ) { rk_moe_combine_bwd_f32(dYe, dz, dy, Ye, w, route, Int32(truncatingIfNeeded: d)) }
    public static func moeExpertsBackward(
        _ dXe: UnsafeMutablePointer<Float>, _ dH: UnsafeMutablePointer<Float>, _ dG: UnsafeMutablePointer<Float>, _ dw1: UnsafeMutablePointer<Float>,
        _ dw3: UnsafeMutablePointer<Float>?, _ dw2: UnsafeMutablePointer<Float>, _ db1: UnsafeMutablePointer<Float>?, _ db2: UnsafeMutablePointer<Float>?,
        _ dYe: UnsafePointer<Float>, _ Xe: UnsafePointer<Float>, _ H: UnsafePointer<Float>, _ G: UnsafePointer<Float>, _ w1: UnsafePointer<Float>,
        _ w3: UnsafePointer<Float>?, _ w2: UnsafePointer<Float>, _ route: UnsafePointer<rk_route_t>, _ d: Int, _ f: Int, _ relu: Bool
    ) {
        rk_moe_experts_bwd_f32(
            dXe, dH, dG, dw1, dw3, dw2, db1, db2, dYe, Xe, H, G, w1, w3, w2, route, Int32(truncatingIfNeeded: d), Int32(truncatingIfNeeded: f), relu ? 1 : 0)
    }
    public static func moeScatter(_ dx: UnsafeMutablePointer<Float>, _ dXe: UnsafePointer<Float>, _ route: UnsafePointer<rk_route_t>, _ d: Int) {
        rk_moe_scatter_f32(dx, dXe, route, Int32(truncatingIfNeeded: d))
    }
    public static func gruForward(
        _ h: UnsafeMutablePointer<Float>, _ r: UnsafeMutablePointer<Float>, _ u: UnsafeMutablePointer<Float>, _ n: UnsafeMutablePointer<Float>,
        _ q: UnsafeMutablePointer<Float>, _ gi: UnsafePointer<Float>, _ gh: UnsafePointer<Float>, _ hprev: UnsafePointer<Float>?, _ N: Int, _ p: Int
    ) { rk_gru_fwd_f32(h, r, u, n, q, gi, gh, hprev, Int32(truncatingIfNeeded: N), Int32(truncatingIfNeeded: p)) }
    public static func gruBackward(
        _ dgi: UnsafeMutablePointer<Float>, _ dgh: UnsafeMutablePointer<Float>, _ dhprev: UnsafeMutablePointer<Float>?, _ dh: UnsafePointer<Float>,
        _ r: UnsafePointer<Float>, _ u: UnsafePointer<Float>, _ n: UnsafePointer<Float>, _ q: UnsafePointer<Float>, _ hprev: UnsafePointer<Float>?, _ N: Int,
        _ p: Int
    ) { rk_gru_bwd_f32(dgi, dgh, dhprev, dh, r, u, n, q, hprev, Int32(truncatingIfNeeded: N), Int32(truncatingIfNeeded: p)) }
    public static func rnnForward(_ h: UnsafeMutablePointer<Float>, _ gi: UnsafePointer<Float>, _ gh: UnsafePointer<Float>, _ n: Int) {
        rk_rnn_fwd_f32(h, gi, gh, n)
    }
    public static func rnnBackward(_ da: UnsafeMutablePointer<Float>, _ dh: UnsafePointer<Float>, _ h: UnsafePointer<Float>, _ n: Int) {
        rk_rnn_bwd_f32(da, dh, h, n)
    }
}

extension Double: MoEKernelScalar {
    public static func softmaxRows(_ p: UnsafeMutablePointer<Double>, _ z: UnsafePointer<Double>, _ N: Int, _ E: Int, _ scale: Double) {
        rk_softmax_rows_f64(p, z, Int32(truncatingIfNeeded: N), Int32(truncatingIfNeeded: E), scale)
    }
    public static func topKGate(_ idx: UnsafeMutablePointer<Int32>, _ w: UnsafeMutablePointer<Double>, _ z: UnsafePointer<Double>, _ N: Int, _ E: Int, _ k: Int)
    { rk_topk_gate_f64(idx, w, z, Int32(truncatingIfNeeded: N), Int32(truncatingIfNeeded: E), Int32(truncatingIfNeeded: k)) }
    public static func balanceLoss(_ p: UnsafePointer<Double>, _ counts: UnsafePointer<Int32>, _ N: Int, _ E: Int, _ k: Int) -> Double {
        return rk_balance_loss_f64(p, counts, Int32(truncatingIfNeeded: N), Int32(truncatingIfNeeded: E), Int32(truncatingIfNeeded: k))
    }
    public static func balanceBackward(
        _ dscore: UnsafeMutablePointer<Double>, _ p: UnsafePointer<Double>, _ counts: UnsafePointer<Int32>, _ N: Int, total: Int, _ E: Int, _ k: Int,
        _ coef: Double, _ invTau: Double
    ) {
        rk_balance_bwd_f64(
            dscore, p, counts, Int32(truncatingIfNeeded: N), total, Int32(truncatingIfNeeded: E), Int32(truncatingIfNeeded: k), coef, invTau)
    }
    public static func balanceColumnSums(_ out: UnsafeMutablePointer<Double>, _ p: UnsafePointer<Double>, _ N: Int, _ E: Int) {
        rk_balance_colsums_f64(out, p, Int32(truncatingIfNeeded: N), Int32(truncatingIfNeeded: E))
    }
    public static func moeGather(_ Xe: UnsafeMutablePointer<Double>, _ x: UnsafePointer<Double>, _ route: UnsafePointer<rk_route_t>, _ d: Int) {
        rk_moe_gather_f64(Xe, x, route, Int32(truncatingIfNeeded: d))
    }
    public static func moeExpertsForward(
        _ H: UnsafeMutablePointer<Double>, _ G: UnsafeMutablePointer<Double>, _ Ye: UnsafeMutablePointer<Double>, _ Xe: UnsafePointer<Double>,
        _ w1: UnsafePointer<Double>, _ w3: UnsafePointer<Double>?, _ w2: UnsafePointer<Double>, _ b1: UnsafePointer<Double>?, _ b2: UnsafePointer<Double>?,
        _ route: UnsafePointer<rk_route_t>, _ d: Int, _ f: Int, _ relu: Bool
    ) { rk_moe_experts_fwd_f64(H, G, Ye, Xe, w1, w3, w2, b1, b2, route, Int32(truncatingIfNeeded: d), Int32(truncatingIfNeeded: f), relu ? 1 : 0) }
    public static func moeCombine(
        _ y: UnsafeMutablePointer<Double>, _ Ye: UnsafePointer<Double>, _ w: UnsafePointer<Double>, _ route: UnsafePointer<rk_route_t>, _ d: Int
    ) { rk_moe_combine_f64(y, Ye, w, route, Int32(truncatingIfNeeded: d)) }
    public static func moeCombineBackward(
        _ dYe: UnsafeMutablePointer<Double>, _ dz: UnsafeMutablePointer<Double>, _ dy: UnsafePointer<Double>, _ Ye: UnsafePointer<Double>,
        _ w: UnsafePointer<Double>, _ route: UnsafePointer<rk_route_t>, _ d: Int
    ) { rk_moe_combine_bwd_f64(dYe, dz, dy, Ye, w, route, Int32(truncatingIfNeeded: d)) }
    public static func moeExpertsBackward(
        _ dXe: UnsafeMutablePointer<Double>, _ dH: UnsafeMutablePointer<Double>, _ dG: UnsafeMutablePointer<Double>, _ dw1: UnsafeMutablePointer<Double>,
        _ dw3: UnsafeMutablePointer<Double>?, _ dw2: UnsafeMutablePointer<Double>, _ db1: UnsafeMutablePointer<Double>?, _ db2: UnsafeMutablePointer<Double>?,
        _ dYe: UnsafePointer<Double>, _ Xe: UnsafePointer<Double>, _ H: UnsafePointer<Double>, _ G: UnsafePointer<Double>, _ w1: UnsafePointer<Double>,
        _ w3: UnsafePointer<Double>?, _ w2: UnsafePointer<Double>, _ route: UnsafePointer<rk_route_t>, _ d: Int, _ f: Int, _ relu: Bool
    ) {
        rk_moe_experts_bwd_f64(
            dXe, dH, dG, dw1, dw3, dw2, db1, db2, dYe, Xe, H, G, w1, w3, w2, route, Int32(truncatingIfNeeded: d), Int32(truncatingIfNeeded: f), relu ? 1 : 0)
    }
    public static func moeScatter(_ dx: UnsafeMutablePointer<Double>, _ dXe: UnsafePointer<Double>, _ route: UnsafePointer<rk_route_t>, _ d: Int) {
        rk_moe_scatter_f64(dx, dXe, route, Int32(truncatingIfNeeded: d))
    }
    public static func gruForward(
        _ h: UnsafeMutablePointer<Double>, _ r: UnsafeMutablePointer<Double>, _ u: UnsafeMutablePointer<Double>, _ n: UnsafeMutablePointer<Double>,
        _ q: UnsafeMutablePointer<Double>, _ gi: UnsafePointer<Double>, _ gh: UnsafePointer<Double>, _ hprev: UnsafePointer<Double>?, _ N: Int, _ p: Int
    ) { rk_gru_fwd_f64(h, r, u, n, q, gi, gh, hprev, Int32(truncatingIfNeeded: N), Int32(truncatingIfNeeded: p)) }
    public static func gruBackward(
        _ dgi: UnsafeMutablePointer<Double>, _ dgh: UnsafeMutablePointer<Double>, _ dhprev: UnsafeMutablePointer<Double>?, _ dh: UnsafePointer<Double>,
        _ r: UnsafePointer<Double>, _ u: UnsafePointer<Double>, _ n: UnsafePointer<Double>, _ q: UnsafePointer<Double>, _ hprev: UnsafePointer<Double>?,
        _ N: Int, _ p: Int
    ) { rk_gru_bwd_f64(dgi, dgh, dhprev, dh, r, u, n, q, hprev, Int32(truncatingIfNeeded: N), Int32(truncatingIfNeeded: p)) }
    public static func rnnForward(_ h: UnsafeMutablePointer<Double>, _ gi: UnsafePointer<Double>, _ gh: UnsafePointer<Double>, _ n: Int) {
        rk_rnn_fwd_f64(h, gi, gh, n)
    }
    public static func rnnBackward(_ da: UnsafeMutablePointer<Double>, _ dh: UnsafePointer<Double>, _ h: UnsafePointer<Double>, _ n: Int) {
        rk_rnn_bwd_f64(da, dh, h, n)
    }
}
