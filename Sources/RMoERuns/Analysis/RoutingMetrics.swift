import Foundation

/// The routing analyses of docs/routers.md section 4, as plain functions on arrays (tested against
/// hand-computed values).
public enum RoutingMetrics {
    /// numpy `digitize(p, linspace(0, 1, 100))`: the index i with edges[i-1] <= p < edges[i], for
    /// 100 evenly spaced edges from 0 to 1 inclusive. Values in [0, 1) map to 1...99, exactly 1.0
    /// (and anything above) to 100, negative values to 0.
    @inline(__always)
    public static func bin(_ p: Double) -> Int {
        if p < 0 { return 0 }
        if p >= 1 { return 100 }
        // edges[i] = i / 99; the answer is the number of edges <= p, computed exactly:
        var i = Int((p * 99).rounded(.down)) + 1
        // Guard against rounding at an edge: edges[i-1] <= p < edges[i].
        while i > 1 && Double(i - 1) / 99 > p { i -= 1 }
        while i < 100 && Double(i) / 99 <= p { i += 1 }
        return i
    }

    /// Plug-in mutual information (natural log) of two label sequences of equal length, as
    /// scikit-learn's `mutual_info_score`: sum_{a,c} (N_ac/n) ln(n N_ac / (N_a N_c)).
    public static func mutualInformation(_ a: [Int], _ c: [Int]) -> Double {
        precondition(a.count == c.count)
        let n = a.count
        guard n > 0 else { return 0 }
        var joint: [Int: Int] = [:], ma: [Int: Int] = [:], mc: [Int: Int] = [:]
        for i in 0..<n {
            joint[a[i] &* 1_000_003 &+ c[i], default: 0] += 1
            ma[a[i], default: 0] += 1
            mc[c[i], default: 0] += 1
        }
        var mi = 0.0
        let nn = Double(n)
        for i in 0..<n {
            // Visit each joint cell once: at its first occurrence.
            let key = a[i] &* 1_000_003 &+ c[i]
            guard let nac = joint[key], nac > 0 else { continue }
            joint[key] = 0
            let p = Double(nac) / nn
            mi += p * log(nn * Double(nac) / (Double(ma[a[i]]!) * Double(mc[c[i]]!)))
        }
        return max(mi, 0)
    }

    /// The paper's cross-layer "mutual information" (docs/routers.md 4.1): for every token, the plug-in MI
    /// between the binned routing distributions of layers i and j (the E experts are the samples),
    /// averaged over tokens. `bins[l][t]` holds token t's E bin labels in layer l. Returns [L][L].
    public static func crossLayerMI(bins: [[[Int]]]) -> [[Double]] {
        let L = bins.count
        guard L > 0, let N = bins.first?.count, N > 0 else { return [] }
        var m = [[Double]](repeating: [Double](repeating: 0, count: L), count: L)
        for i in 0..<L {
            for j in i..<L {
                var s = 0.0
                for t in 0..<N { s += mutualInformation(bins[i][t], bins[j][t]) }
                m[i][j] = s / Double(N)
                m[j][i] = m[i][j]
            }
        }
        return m
    }

    /// MI between layers' top-1 expert choices across tokens (a different quantity, labelled so).
    public static func topOneMI(_ top1: [[Int]]) -> [[Double]] {
        let L = top1.count
        var m = [[Double]](repeating: [Double](repeating: 0, count: L), count: L)
        for i in 0..<L { for j in i..<L { m[i][j] = mutualInformation(top1[i], top1[j]); m[j][i] = m[i][j] } }
        return m
    }

    /// Mean of the off-diagonal entries of a square matrix.
    public static func meanOffDiagonal(_ m: [[Double]]) -> Double {
        let L = m.count
        guard L > 1 else { return .nan }
        var s = 0.0
        for i in 0..<L { for j in 0..<L where i != j { s += m[i][j] } }
        return s / Double(L * (L - 1))
    }

    /// The similarity matrix S = M M^T of one layer (docs/routers.md 4.2): expert e's row of M is the
    /// concatenation of its L2-normalised blocks (key = mean over the hidden rows of W1 (and W3),
    /// value = mean over the hidden columns of W2). `blocks[e]` are expert e's block vectors.
    public static func similarityMatrix(_ blocks: [[[Double]]], normalize: Bool = true) -> [[Double]] {
        let m: [[Double]] = blocks.map { bs in
            bs.flatMap { b -> [Double] in
                guard normalize else { return b }
                let n = b.reduce(0) { $0 + $1 * $1 }.squareRoot()
                return n > 0 ? b.map { $0 / n } : b
            }
        }
        return m.map { a in m.map { b in zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } } }
    }

    /// A layer's expert similarity: the mean of all E^2 entries of S, diagonal included, so identical
    /// experts give the number of blocks (2 for two-matrix experts, 3 for SwiGLU).
    public static func expertSimilarity(_ blocks: [[[Double]]], normalize: Bool = true) -> Double {
        let s = similarityMatrix(blocks, normalize: normalize)
        guard !s.isEmpty else { return .nan }
        return s.flatMap { $0 }.reduce(0, +) / Double(s.count * s.count)
    }

    public static func median(_ xs: [Double]) -> Double {
        let v = xs.filter { !$0.isNaN }.sorted()
        guard !v.isEmpty else { return .nan }
        return v.count % 2 == 1 ? v[v.count / 2] : (v[v.count / 2 - 1] + v[v.count / 2]) / 2
    }
}
