import Foundation
import RMoECore

/// Routing statistics accumulated over forward passes (evaluation): per layer, how many
/// (token, slot) pairs each expert received, the mean entropy of the full routing distribution
/// and the mean balance loss.
public final class RoutingStats: @unchecked Sendable {
    public let layers: Int, experts: Int, topK: Int
    /// counts[l][e]: pairs routed to expert e in layer l.
    public private(set) var counts: [[Int]]
    public private(set) var entropySum: [Double]
    public private(set) var balanceSum: [Double]
    /// Summed over tokens: the probability mass softmax(z) puts on the k selected experts.
    public private(set) var topKMassSum: [Double]
    public private(set) var tokens = 0
    public private(set) var batches = 0

    public init(layers: Int, experts: Int, topK: Int) {
        self.layers = layers; self.experts = experts; self.topK = topK
        counts = Array(repeating: Array(repeating: 0, count: experts), count: layers)
        entropySum = Array(repeating: 0, count: layers)
        balanceSum = Array(repeating: 0, count: layers)
        topKMassSum = Array(repeating: 0, count: layers)
    }

    func add<S: KernelScalar>(layer l: Int, probs: UnsafePointer<S>, routing: Routing, balance: Double, tokens T: Int) {
        let E = experts
        for e in 0..<E { counts[l][e] += Int(routing.counts[e]) }
        var h = 0.0
        for t in 0..<T {
            for e in 0..<E {
                let p = Double(probs[t * E + e])
                if p > 0 { h -= p * Foundation.log(p) }
            }
        }
        entropySum[l] += h
        var mass = 0.0
        let k = routing.topK
        for t in 0..<T {
            for j in 0..<k { mass += Double(probs[t * E + Int(routing.idx[t * k + j])]) }
        }
        topKMassSum[l] += mass
        balanceSum[l] += balance
        if l == layers - 1 { tokens += T; batches += 1 }
    }

    /// Every accumulated number, flattened (counts as doubles: exact), for adding the statistics of
    /// several processes; `unpack` sets them back.
    public var packed: [Double] {
        counts.flatMap { $0.map(Double.init) } + entropySum + balanceSum + topKMassSum + [Double(tokens), Double(batches)]
    }

    public func unpack(_ v: [Double]) {
        var at = 0
        for l in 0..<layers { for e in 0..<experts { counts[l][e] = Int(v[at]); at += 1 } }
        for l in 0..<layers { entropySum[l] = v[at]; at += 1 }
        for l in 0..<layers { balanceSum[l] = v[at]; at += 1 }
        for l in 0..<layers { topKMassSum[l] = v[at]; at += 1 }
        tokens = Int(v[at]); batches = Int(v[at + 1])
    }

    /// Load of each expert relative to uniform (1 = perfectly balanced), per layer.
    public var relativeLoad: [[Double]] {
        counts.map { c in
            let total = Double(c.reduce(0, +))
            return c.map { total > 0 ? Double($0) * Double(experts) / total : 0 }
        }
    }
    /// Mean routing entropy (nats) per layer.
    public var meanEntropy: [Double] { entropySum.map { tokens > 0 ? $0 / Double(tokens) : .nan } }
    /// Mean top-k probability mass per layer (k/E for a uniform router, 1 for a one-hot one).
    public var meanTopKMass: [Double] { topKMassSum.map { tokens > 0 ? $0 / Double(tokens) : .nan } }
    /// Mean balance loss per layer (1/k at perfect balance).
    public var meanBalance: [Double] { balanceSum.map { batches > 0 ? $0 / Double(batches) : .nan } }

    /// One layer's summary, as written with every evaluation.
    public struct Layer: Sendable, Equatable {
        /// (token, slot) pairs routed to each expert.
        public var tokensPerExpert: [Int]
        /// Coefficient of variation of `tokensPerExpert` (population std / mean; 0 = perfectly even).
        public var cv: Double
        /// Largest expert's share of the pairs (1/E = perfectly even, 1 = collapse).
        public var maxShare: Double
        /// Experts that received no token.
        public var deadExperts: Int
        /// Mean entropy (nats) of the full routing distribution softmax(z) per token.
        public var entropy: Double
        /// Mean balance loss times k: 1.0 means perfectly balanced (docs/routers.md 1.6 (a) is 1/k there).
        public var balance: Double
        /// Mean probability mass of softmax(z) on the k selected experts (k/E = uniform routing).
        public var topKMass: Double
    }

    /// Per-layer summaries.
    public var summary: [Layer] {
        (0..<layers).map { l in
            let c = counts[l], n = Double(experts)
            let total = Double(c.reduce(0, +))
            let mean = total / n
            let variance = c.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
            return Layer(
                tokensPerExpert: c, cv: mean > 0 ? variance.squareRoot() / mean : 0,
                maxShare: total > 0 ? Double(c.max() ?? 0) / total : 0, deadExperts: c.filter { $0 == 0 }.count,
                entropy: meanEntropy[l], balance: meanBalance[l] * Double(topK), topKMass: meanTopKMass[l])
        }
    }
}

/// Accumulated wall time of the routers' forward and backward passes.
public final class Stopwatch: @unchecked Sendable {
    public var seconds = 0.0
    public init() {}
}
