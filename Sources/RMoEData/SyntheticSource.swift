import Foundation
import RMoECore

/// A seeded hidden Markov source whose exact cross-entropy is known, so a model's loss can be
/// read against the floor no model can beat.
///
/// States: `states` hidden states; each state moves to `branching` successor states (chosen at
/// random) with Dirichlet(1) weights, and emits from `emissionSupport` tokens (chosen at random out
/// of `vocab`) with Dirichlet(0.5) weights. The stream starts from the stationary distribution.
///
/// Floors, computed exactly with the forward algorithm (scaled alphas, log of the normalisers):
/// - `streamFloor`: -log p(split) / n, the entropy rate the split realises;
/// - `floor` (the one reported): the protocol floor. Evaluation cuts a split into windows of
///   seq_len + 1 tokens with stride seq_len and predicts tokens 1...seq_len of each window from the
///   window alone, so the floor is the mean of -log p(x_1..x_S | x_0) with the window's first
///   state drawn from the stationary distribution. A model can approach this, not the stream rate.
public struct SyntheticSource: Sendable {
    public struct Parameters: Codable, Sendable, Equatable {
        public var seed: UInt64 = 1234
        public var states = 32
        public var vocab = 64
        public var branching = 4
        public var emissionSupport = 8
        public var trainTokens = 1_000_000
        public var evalTokens = 100_000
        public init() {}
    }

    public let parameters: Parameters
    /// transition[i * H + j] = p(next = j | i); emission[i * V + v] = p(token v | state i).
    public let transition: [Double]
    public let emission: [Double]
    public let stationary: [Double]

    public init(_ p: Parameters) {
        parameters = p
        let H = p.states, V = p.vocab
        var rng = Xoshiro256(seed: p.seed, stream: stableHash("synthetic:structure"))
        func dirichlet(_ n: Int, _ alpha: Double) -> [Double] {
            // Gamma(alpha) by Marsaglia-Tsang (alpha < 1 via the boost u^(1/alpha)).
            func gamma(_ a: Double) -> Double {
                if a < 1 { return gamma(a + 1) * pow(max(rng.uniform(), 1e-300), 1 / a) }
                let d = a - 1.0 / 3, c = 1 / (9 * d).squareRoot()
                while true {
                    let x = rng.normal(), v0 = 1 + c * x
                    if v0 <= 0 { continue }
                    let v = v0 * v0 * v0, u = rng.uniform()
                    if log(max(u, 1e-300)) < 0.5 * x * x + d - d * v + d * log(v) { return d * v }
                }
            }
            let g = (0..<n).map { _ in gamma(alpha) }
            let s = g.reduce(0, +)
            return g.map { $0 / s }
        }
        func choose(_ k: Int, of n: Int) -> [Int] {
            var idx = Array(0..<n)
            for i in 0..<min(k, n) { idx.swapAt(i, i + rng.below(n - i)) }
            return Array(idx[0..<min(k, n)])
        }
        var T = [Double](repeating: 0, count: H * H), E = [Double](repeating: 0, count: H * V)
        for i in 0..<H {
            let succ = choose(p.branching, of: H), w = dirichlet(succ.count, 1)
            for (j, s) in succ.enumerated() { T[i * H + s] += w[j] }
            let toks = choose(p.emissionSupport, of: V), e = dirichlet(toks.count, 0.5)
            for (j, t) in toks.enumerated() { E[i * V + t] += e[j] }
        }
        // Mix in a little uniform mass so the chain is irreducible and every token is possible.
        for i in 0..<H * H { T[i] = 0.98 * T[i] + 0.02 / Double(H) }
        for i in 0..<H * V { E[i] = 0.99 * E[i] + 0.01 / Double(V) }
        transition = T
        emission = E
        // Stationary distribution by power iteration.
        var pi = [Double](repeating: 1 / Double(H), count: H)
        for _ in 0..<2000 {
            var next = [Double](repeating: 0, count: H)
            for i in 0..<H { for j in 0..<H { next[j] += pi[i] * T[i * H + j] } }
            pi = next
        }
        stationary = pi
    }

    /// Samples `n` tokens of one split (its own random stream).
    public func sample(_ n: Int, split: String) -> [Int32] {
        let H = parameters.states, V = parameters.vocab
        var rng = Xoshiro256(seed: parameters.seed, stream: stableHash("synthetic:split:" + split))
        func draw(_ probs: ArraySlice<Double>) -> Int {
            var u = rng.uniform(), k = probs.startIndex
            while k < probs.endIndex - 1 { u -= probs[k]; if u < 0 { break }; k += 1 }
            return k - probs.startIndex
        }
        var state = draw(stationary[0..<H])
        var out = [Int32](repeating: 0, count: n)
        for t in 0..<n {
            out[t] = Int32(draw(emission[state * V..<(state + 1) * V]))
            state = draw(transition[state * H..<(state + 1) * H])
        }
        return out
    }

    /// -log p(tokens) in nats, the chain started from the stationary distribution.
    public func negativeLogLikelihood<C: Collection>(_ tokens: C) -> Double where C.Element == Int32 {
        let H = parameters.states, V = parameters.vocab
        var alpha = stationary, nll = 0.0
        var first = true
        var next = [Double](repeating: 0, count: H)
        for tok in tokens {
            let v = Int(tok)
            if !first {
                for j in 0..<H { next[j] = 0 }
                for i in 0..<H where alpha[i] != 0 {
                    let a = alpha[i]
                    for j in 0..<H { next[j] += a * transition[i * H + j] }
                }
                alpha = next
            }
            first = false
            var z = 0.0
            for i in 0..<H { alpha[i] *= emission[i * V + v]; z += alpha[i] }
            for i in 0..<H { alpha[i] /= z }
            nll -= log(z)
        }
        return nll
    }

    /// The protocol floor of a split for windows of seqLen + 1 tokens with stride seqLen.
    public func protocolFloor(_ tokens: [Int32], seqLen: Int) -> Double {
        var total = 0.0, count = 0
        var s = 0
        while s + 1 < tokens.count {
            let end = min(s + seqLen + 1, tokens.count)
            let window = tokens[s..<end]
            let first = tokens[s]
            // -log p(x_1..x_S | x_0) = -log p(x_0..x_S) + log p(x_0).
            total += negativeLogLikelihood(window) - negativeLogLikelihood(CollectionOfOne(first))
            count += end - s - 1
            s += seqLen
        }
        return total / Double(max(count, 1))
    }

    /// The corpus with the protocol floors for sequences of `seqLen` tokens.
    public func corpus(seqLen: Int) -> Corpus {
        let p = parameters
        let train = sample(p.trainTokens, split: "train")
        let valid = sample(p.evalTokens, split: "valid")
        let test = sample(p.evalTokens, split: "test")
        let floor: [Corpus.Split: Double] = [
            .train: protocolFloor(Array(train.prefix(200_000)), seqLen: seqLen),
            .valid: protocolFloor(valid, seqLen: seqLen),
            .test: protocolFloor(test, seqLen: seqLen),
        ]
        return Corpus(
            name: "synthetic", level: .synthetic, vocabSize: p.vocab, train: train, valid: valid, test: test,
            source:
                "hidden Markov source: seed \(p.seed), \(p.states) states, vocab \(p.vocab), branching \(p.branching), emission support \(p.emissionSupport)",
            floor: floor)
    }
}
