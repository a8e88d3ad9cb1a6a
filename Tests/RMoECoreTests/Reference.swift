import Foundation

/// Naive reference implementations of every kernel: plain loops in Double, written for clarity
/// from the formulas in the kernels' doc comments. Fast kernels are compared with these.
enum Ref {
    /// C[M,N] = alpha op(A) op(B) + beta C (row-major).
    static func gemm(
        _ ta: Bool, _ tb: Bool, _ M: Int, _ N: Int, _ K: Int, _ alpha: Double, _ A: [Double], _ lda: Int,
        _ B: [Double], _ ldb: Int, _ beta: Double, _ C: inout [Double], _ ldc: Int
    ) {
        for i in 0..<M {
            for j in 0..<N {
                var s = 0.0
                for k in 0..<K {
                    let a = ta ? A[k * lda + i] : A[i * lda + k]
                    let b = tb ? B[j * ldb + k] : B[k * ldb + j]
                    s += a * b
                }
                C[i * ldc + j] = alpha * s + (beta == 0 ? 0 : beta * C[i * ldc + j])
            }
        }
    }

    static func rmsnorm(_ x: [Double], _ w: [Double], _ N: Int, _ D: Int, _ eps: Double) -> (y: [Double], rstd: [Double]) {
        var y = [Double](repeating: 0, count: N * D), r = [Double](repeating: 0, count: N)
        for n in 0..<N {
            var ss = 0.0
            for i in 0..<D { ss += x[n * D + i] * x[n * D + i] }
            r[n] = 1 / (ss / Double(D) + eps).squareRoot()
            for i in 0..<D { y[n * D + i] = x[n * D + i] * r[n] * w[i] }
        }
        return (y, r)
    }

    static func rope(_ x: [Double], N: Int, S: Int, heads: Int, hd: Int, ld: Int, theta: Double, inverse: Bool) -> [Double] {
        var y = x
        let half = hd / 2
        for n in 0..<N {
            let pos = Double(n % S)
            for h in 0..<heads {
                for i in 0..<half {
                    let angle = pos / pow(theta, Double(2 * i) / Double(hd))
                    let c = cos(angle), s = inverse ? -sin(angle) : sin(angle)
                    let a = x[n * ld + h * hd + i], b = x[n * ld + h * hd + i + half]
                    y[n * ld + h * hd + i] = a * c - b * s
                    y[n * ld + h * hd + i + half] = b * c + a * s
                }
            }
        }
        return y
    }

    /// Causal attention over qkv [B*S, 3d]; returns out [B*S, d].
    static func attention(_ qkv: [Double], B: Int, S: Int, H: Int, hd: Int) -> [Double] {
        let d = H * hd
        var out = [Double](repeating: 0, count: B * S * d)
        let scale = 1 / Double(hd).squareRoot()
        for b in 0..<B {
            for h in 0..<H {
                for i in 0..<S {
                    var scores = [Double](repeating: 0, count: i + 1)
                    for j in 0...i {
                        var s = 0.0
                        for c in 0..<hd { s += qkv[(b * S + i) * 3 * d + h * hd + c] * qkv[(b * S + j) * 3 * d + d + h * hd + c] }
                        scores[j] = s * scale
                    }
                    let mx = scores.max()!
                    let e = scores.map { exp($0 - mx) }
                    let z = e.reduce(0, +)
                    for c in 0..<hd {
                        var o = 0.0
                        for j in 0...i { o += e[j] / z * qkv[(b * S + j) * 3 * d + 2 * d + h * hd + c] }
                        out[(b * S + i) * d + h * hd + c] = o
                    }
                }
            }
        }
        return out
    }

    static func swiglu(_ a: [Double], N: Int, F: Int) -> [Double] {
        var g = [Double](repeating: 0, count: N * F)
        for n in 0..<N {
            for i in 0..<F {
                let a1 = a[n * 2 * F + i], a3 = a[n * 2 * F + F + i]
                g[n * F + i] = a1 / (1 + exp(-a1)) * a3
            }
        }
        return g
    }

    /// Per-row losses (0 for targets < 0) and the gradient (softmax - onehot) * scale.
    static func crossEntropy(_ z: [Double], _ t: [Int32], N: Int, V: Int, scale: Double) -> (losses: [Double], grad: [Double]) {
        var losses = [Double](repeating: 0, count: N), grad = [Double](repeating: 0, count: N * V)
        for n in 0..<N where t[n] >= 0 {
            let row = Array(z[n * V..<(n + 1) * V])
            let mx = row.max()!
            let lse = mx + log(row.map { exp($0 - mx) }.reduce(0, +))
            losses[n] = lse - row[Int(t[n])]
            for i in 0..<V { grad[n * V + i] = exp(row[i] - lse) * scale }
            grad[n * V + Int(t[n])] -= scale
        }
        return (losses, grad)
    }

    static func adamw(
        p: inout [Double], m: inout [Double], v: inout [Double], g: [Double], lr: Double, b1: Double,
        b2: Double, eps: Double, wd: Double, step: Int
    ) {
        let bc1 = 1 - pow(b1, Double(step)), bc2 = 1 - pow(b2, Double(step))
        for i in 0..<p.count {
            p[i] *= 1 - lr * wd
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
            p[i] -= lr / bc1 * m[i] / ((v[i] / bc2).squareRoot() + eps)
        }
    }
}

/// Deterministic test data.
struct TestRNG {
    var state: UInt64
    init(_ seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> UInt64 {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return state
    }
    /// Uniform in [-1, 1).
    mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-52 - 1 }
    mutating func array(_ n: Int, scale: Double = 1) -> [Double] { (0..<n).map { _ in uniform() * scale } }
}
