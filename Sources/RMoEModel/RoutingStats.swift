import Foundation
import RMoECore

/// Routing statistics accumulated over forward passes (evaluation): per layer, how many
/// (token, slot) pairs each expert received, the mean entropy of the full routing distribution
/// and the mean balance loss.
public final class RoutingStats: @unchecked Sendable {
    public let layers: Int, experts: Int
    /// counts[l][e]: pairs routed to expert e in layer l.
    public private(set) var counts: [[Int]]
    public private(set) var entropySum: [Double]
    public private(set) var balanceSum: [Double]
    public private(set) var tokens = 0
    public private(set) var batches = 0

    public init(layers: Int, experts: Int) {
        self.layers = layers; self.experts = experts
        counts = Array(repeating: Array(repeating: 0, count: experts), count: layers)
        entropySum = Array(repeating: 0, count: layers)
        balanceSum = Array(repeating: 0, count: layers)
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
        balanceSum[l] += balance
        if l == layers - 1 { tokens += T; batches += 1 }
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
    /// Mean balance loss per layer (1/k at perfect balance).
    public var meanBalance: [Double] { balanceSum.map { batches > 0 ? $0 / Double(batches) : .nan } }
}

/// Accumulated wall time of the routers' forward and backward passes.
public final class Stopwatch: @unchecked Sendable {
    public var seconds = 0.0
    public init() {}
}
