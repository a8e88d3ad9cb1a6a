import Foundation
import RMoECore
import RMoEData
import RMoEModel

/// `rmoe analyze`: the routing analyses of docs/routers.md section 4 on a trained model, over the first
/// `tokens` predicted tokens of a split (evaluation windows, in order).
public struct RoutingAnalysis: Sendable {
    public var label: String
    public var router: String
    public var tokens: Int
    public var layers: Int, experts: Int, topK: Int
    /// The paper's cross-layer MI (per-token MI of binned distributions), [L][L].
    public var mi: [[Double]]
    /// MI between layers' top-1 expert choices across tokens, [L][L] (not the paper's metric).
    public var top1MI: [[Double]]
    public var similarity: [Double]
    public var similarityRandomInit: [Double]
    /// Off-diagonal pairwise expert similarities per layer (for box plots).
    public var pairwise: [[Double]]
    public var entropy: [[Double]]  // per layer, per token (nats)
    public var innerBalance: [Double]  // median p(1)/p(2) per layer
    public var outerBalance: [Double]  // median sum of top-k p per layer
    public var selection: [[Double]]  // n_e / (T k) per layer
    public var routerWeight: String
    public var routerWeightNorm: [Double], routerWeightStd: [Double]

    public var miMeanOffDiagonal: Double { RoutingMetrics.meanOffDiagonal(mi) }
    public var similarityMean: Double { similarity.reduce(0, +) / Double(max(similarity.count, 1)) }

    /// Bins of the per-layer entropy histograms (figure and JSON).
    public static let entropyBins = 30

    public var json: String {
        func arr(_ xs: [Double]) -> JSONValue { .array(xs.map { .double($0) }) }
        func mat(_ m: [[Double]]) -> JSONValue { .array(m.map(arr)) }
        // The histogram of entropy_<label>.svg: per layer, counts in bins equal-width bins over [0, ln E].
        let bins = Self.entropyBins
        let hist = entropy.map { h -> JSONValue in
            let top = log(Double(experts))
            var counts = [Int](repeating: 0, count: bins)
            for v in h where v.isFinite { counts[min(bins - 1, max(0, Int(v / top * Double(bins))))] += 1 }
            return .array(counts.map { .int($0) })
        }
        let pairs: [(String, JSONValue)] = [
            ("label", .string(label)), ("router", .string(router)), ("tokens", .int(tokens)),
            ("layers", .int(layers)), ("experts", .int(experts)), ("top_k", .int(topK)),
            ("mi", mat(mi)), ("mi_mean_offdiag", .double(miMeanOffDiagonal)),
            ("top1_mi", mat(top1MI)), ("top1_mi_mean_offdiag", .double(RoutingMetrics.meanOffDiagonal(top1MI))),
            ("expert_similarity", arr(similarity)), ("expert_similarity_mean", .double(similarityMean)),
            ("expert_similarity_pairwise_offdiag", mat(pairwise)),
            ("expert_similarity_random_init", arr(similarityRandomInit)),
            ("expert_similarity_random_init_mean", .double(similarityRandomInit.reduce(0, +) / Double(max(similarityRandomInit.count, 1)))),
            ("entropy_mean", arr(entropy.map { $0.reduce(0, +) / Double(max($0.count, 1)) })),
            ("entropy_histogram_bins", .int(bins)), ("entropy_histogram_0_to_lnE", .array(hist)),
            ("inner_balance_median", arr(innerBalance)), ("outer_balance_median", arr(outerBalance)),
            ("selection_frequency", mat(selection)),
            ("router_weight", .string(routerWeight)), ("router_weight_norm", arr(routerWeightNorm)), ("router_weight_std", arr(routerWeightStd)),
        ]
        return "{\n" + pairs.map { "  \(JSONText.quote($0.0)): \($0.1.jsonText)" }.joined(separator: ",\n") + "\n}\n"
    }
}

public enum Analyzer {
    /// Analyses `model` (its current weights) on the first `tokens` predicted tokens of `split`.
    public static func analyze(model: LanguageModel<Float>, corpus: Corpus, split: Corpus.Split, tokens: Int, label: String) throws -> RoutingAnalysis {
        let c = model.config
        guard !c.isDense else { throw RMoEError("a dense model has no routing to analyse; give an MoE checkpoint") }
        let L = c.layers, E = c.experts, k = c.topK, S = c.seqLen, B = c.batch
        let windows = EvalWindows(tokens: corpus.tokens(split), seqLen: S)
        let wanted = min(tokens, windows.predictedCount)
        var bins = [[[Int]]](repeating: [], count: L)
        var top1 = [[Int]](repeating: [], count: L)
        var entropy = [[Double]](repeating: [], count: L)
        var ib = [[Double]](repeating: [], count: L), ob = [[Double]](repeating: [], count: L)
        var counts = [[Double]](repeating: [Double](repeating: 0, count: E), count: L)
        var taken = 0, first = 0
        let layers = model.moeLayers
        var p = [Double](repeating: 0, count: E)
        while taken < wanted && first < windows.windowCount {
            windows.fill(first: first, batch: B, input: model.tokens, target: model.targets)
            model.forward(training: false)
            for t in 0..<(B * S) where model.targets[t] >= 0 && taken < wanted {
                for (l, layer) in layers.enumerated() {
                    // Full routing distribution (docs/routers.md 4.1 and 1.3): softmax(z_t), or for XMoE the
                    // softmax of its raw cosine scores at the balance temperature 0.3.
                    let (src, scale): (UnsafeMutablePointer<Float>, Double) =
                        layer.router.balanceScores.map { ($0.scores, Double($0.invTau)) } ?? (layer.logits, 1)
                    var mx = -Double.infinity
                    for e in 0..<E { mx = max(mx, scale * Double(src[t * E + e])) }
                    var z = 0.0
                    for e in 0..<E { p[e] = exp(scale * Double(src[t * E + e]) - mx); z += p[e] }
                    for e in 0..<E { p[e] /= z }
                    bins[l].append(p.map(RoutingMetrics.bin))
                    let order = (0..<E).sorted { p[$0] > p[$1] || (p[$0] == p[$1] && $0 < $1) }
                    top1[l].append(order[0])
                    entropy[l].append(-p.reduce(0) { $0 + ($1 > 0 ? $1 * log($1) : 0) })
                    if E > 1 { ib[l].append(p[order[1]] > 0 ? p[order[0]] / p[order[1]] : .infinity) }
                    ob[l].append(order.prefix(k).reduce(0) { $0 + p[$1] })
                    for j in 0..<k { counts[l][Int(layer.routing.idx[t * k + j])] += 1 }
                }
                taken += 1
            }
            first += B
        }
        let (sim, pairwise) = similarity(model)
        let fresh = try LanguageModel<Float>(config: c)
        fresh.initialize(seed: 12345)
        let (simInit, _) = similarity(fresh)
        let (wname, norms, stds) = routerWeights(model)
        return RoutingAnalysis(
            label: label, router: c.router, tokens: taken, layers: L, experts: E, topK: k,
            mi: RoutingMetrics.crossLayerMI(bins: bins), top1MI: RoutingMetrics.topOneMI(top1),
            similarity: sim, similarityRandomInit: simInit, pairwise: pairwise, entropy: entropy,
            innerBalance: ib.map(RoutingMetrics.median), outerBalance: ob.map(RoutingMetrics.median),
            selection: counts.map { c in c.map { $0 / Double(max(taken * k, 1)) } },
            routerWeight: wname, routerWeightNorm: norms, routerWeightStd: stds)
    }

    /// Expert similarity per layer (docs/routers.md 4.2) and each layer's off-diagonal pairwise values.
    static func similarity(_ m: LanguageModel<Float>) -> ([Double], [[Double]]) {
        let c = m.config, E = c.experts, f = c.expertWidth, d = c.dModel
        var sims: [Double] = [], pairs: [[Double]] = []
        for l in 0..<c.layers {
            let pre = "layers.\(l).moe.experts."
            let w1 = m.params.pointer(pre + "w1"), w2 = m.params.pointer(pre + "w2")
            let w3: UnsafeMutablePointer<Float>? = m.layout.offset(of: pre + "w3") != nil ? m.params.pointer(pre + "w3") : nil
            var blocks: [[[Double]]] = []
            for e in 0..<E {
                func rowMean(_ w: UnsafeMutablePointer<Float>) -> [Double] {  // [f, d] -> mean over the f rows
                    (0..<d).map { j in (0..<f).reduce(0.0) { $0 + Double(w[e * f * d + $1 * d + j]) } / Double(f) }
                }
                let v = (0..<d).map { i in (0..<f).reduce(0.0) { $0 + Double(w2[e * d * f + i * f + $1]) } / Double(f) }  // [d, f] -> mean over columns
                blocks.append([rowMean(w1)] + (w3.map { [rowMean($0)] } ?? []) + [v])
            }
            let S = RoutingMetrics.similarityMatrix(blocks)
            sims.append(S.flatMap { $0 }.reduce(0, +) / Double(E * E))
            // Off-diagonal entries over the number of blocks: each pair's cosine, averaged over its blocks.
            let nb = Double(blocks[0].count)
            pairs.append((0..<E).flatMap { a in ((a + 1)..<E).map { S[a][$0] / nb } })
        }
        return (sims, pairs)
    }

    /// Frobenius norm and std of each layer's router matrix (docs/routers.md 4.3): the tensor the
    /// router family names (`RouterFamily.analysisWeight`: RMoE's output map, SMoE's W, ...), or the
    /// generated W of the last forward pass (HyperRouter); NaN for a router without weights.
    static func routerWeights(_ m: LanguageModel<Float>) -> (String, [Double], [Double]) {
        let weight = Routers.family(of: m.config.router)?.analysisWeight(m.config)
        let name = weight ?? (m.moeLayers.first?.router.generatedWeight != nil ? "generated W" : "none")
        var norms: [Double] = [], stds: [Double] = []
        for l in 0..<m.config.layers {
            guard
                let xs = m.moeLayers[l].router.generatedWeight
                    ?? weight.map({ m.params.buffer("layers.\(l).moe.router." + $0).map(Double.init) }), !xs.isEmpty
            else {
                norms.append(.nan); stds.append(.nan)
                continue
            }
            let mean = xs.reduce(0, +) / Double(xs.count)
            norms.append(xs.reduce(0) { $0 + $1 * $1 }.squareRoot())
            stds.append((xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(xs.count - 1, 1))).squareRoot())
        }
        return (name, norms, stds)
    }

}
