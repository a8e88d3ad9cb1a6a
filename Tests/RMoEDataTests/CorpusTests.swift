import Foundation
import Testing
@testable import RMoECore
@testable import RMoEData

@Suite("Corpora and batches")
struct CorpusTests {
    /// A tiny source whose likelihood can be enumerated over every state path.
    static func tinySource() -> SyntheticSource {
        var p = SyntheticSource.Parameters()
        p.states = 3; p.vocab = 4; p.branching = 2; p.emissionSupport = 3; p.seed = 7
        return SyntheticSource(p)
    }

    @Test("the forward algorithm equals brute-force enumeration of state paths")
    func forwardAlgorithmExact() {
        let s = Self.tinySource()
        let H = 3, V = 4
        let tokens: [Int32] = [2, 0, 3, 3, 1, 0]
        var total = 0.0
        var path = [Int](repeating: 0, count: tokens.count)
        func visit(_ t: Int) {
            if t == tokens.count {
                var p = s.stationary[path[0]] * s.emission[path[0] * V + Int(tokens[0])]
                for i in 1..<tokens.count {
                    p *= s.transition[path[i - 1] * H + path[i]] * s.emission[path[i] * V + Int(tokens[i])]
                }
                total += p
                return
            }
            for h in 0..<H { path[t] = h; visit(t + 1) }
        }
        visit(0)
        #expect(abs(s.negativeLogLikelihood(tokens) - (-log(total))) < 1e-12)
    }

    @Test("rows are distributions; the stationary distribution is stationary; sampling matches it")
    func sourceIsConsistent() {
        let s = Self.tinySource()
        for i in 0..<3 {
            #expect(abs(s.transition[i * 3..<(i + 1) * 3].reduce(0, +) - 1) < 1e-12)
            #expect(abs(s.emission[i * 4..<(i + 1) * 4].reduce(0, +) - 1) < 1e-12)
        }
        for j in 0..<3 {
            let next = (0..<3).reduce(0.0) { $0 + s.stationary[$1] * s.transition[$1 * 3 + j] }
            #expect(abs(next - s.stationary[j]) < 1e-12)
        }
        // Token frequencies of a long sample against the stationary emission mix.
        let n = 200_000
        let sample = s.sample(n, split: "train")
        for v in 0..<4 {
            let expected = (0..<3).reduce(0.0) { $0 + s.stationary[$1] * s.emission[$1 * 4 + v] }
            let observed = Double(sample.lazy.filter { $0 == Int32(v) }.count) / Double(n)
            #expect(abs(observed - expected) < 0.01)
        }
        // The mean log-loss of the sample under the source approaches its floor (entropy rate).
        let rate = s.negativeLogLikelihood(sample) / Double(n)
        let floor = s.protocolFloor(sample, seqLen: 64)
        #expect(floor >= rate - 0.01)  // a window has less context than the stream
    }

    @Test("the same seed gives the same corpus; another seed another")
    func syntheticDeterministic() {
        var p = SyntheticSource.Parameters()
        p.trainTokens = 5000; p.evalTokens = 500
        let a = SyntheticSource(p).corpus(seqLen: 32), b = SyntheticSource(p).corpus(seqLen: 32)
        #expect(a.train == b.train && a.floor == b.floor)
        p.seed = 99
        #expect(SyntheticSource(p).corpus(seqLen: 32).train != a.train)
    }

    @Test("evaluation windows predict every token but the first exactly once")
    func evalWindowsCover() {
        for n in [2, 3, 17, 33, 64, 65] {
            let toks = (0..<n).map { Int32($0) }
            let w = EvalWindows(tokens: toks, seqLen: 8)
            var predicted: [Int32] = []
            let B = 3
            var input = [Int32](repeating: 0, count: B * 8), target = input
            var first = 0
            while first < w.windowCount {
                w.fill(first: first, batch: B, input: &input, target: &target)
                for i in 0..<(B * 8) where target[i] >= 0 {
                    #expect(target[i] == input[i] + 1)
                    predicted.append(target[i])
                }
                first += B
            }
            #expect(predicted == Array(toks.dropFirst()), "n = \(n)")
        }
    }

    @Test("training batches depend only on seed and step")
    func batchesDeterministic() throws {
        let toks = (0..<1000).map { Int32($0 % 251) }
        let b = try TrainBatches(tokens: toks, seqLen: 16, batch: 4, seed: 3)
        var i1 = [Int32](repeating: 0, count: 64), t1 = i1, i2 = i1, t2 = i1
        b.fill(step: 5, input: &i1, target: &t1)
        b.fill(step: 6, input: &i2, target: &t2)
        b.fill(step: 5, input: &i2, target: &t2)
        #expect(i1 == i2 && t1 == t2)
        for r in 0..<4 { for j in 0..<16 { #expect(t1[r * 16 + j] == (i1[r * 16 + j] + 1) % 251) } }
    }

    static var dataAvailable: Bool { (try? CorpusCatalog.locateWikiText(dataDir: nil)) != nil }

    @Test("WikiText-2 words and bytes: the published counts", .enabled(if: dataAvailable, "WikiText-2 not found (set RMOE_DATA)"))
    func wikiText() throws {
        let w = try CorpusCatalog.load("wikitext2", dataDir: nil)
        #expect(w.vocabSize == 33_278)
        #expect(w.train.count == 2_088_628 && w.valid.count == 217_646 && w.test.count == 245_569)
        #expect(w.vocabulary?.contains("<eos>") == true && w.vocabulary?.contains("<unk>") == true)
        let b = try CorpusCatalog.load("wikitext2-bytes", dataDir: nil)
        #expect(b.train.count == 10_797_148 && b.valid.count == 1_121_681 && b.test.count == 1_256_449)
        // The SHA-1s published for the official files (docs/data.md).
        for (split, tokens) in [("train", b.train), ("valid", b.valid), ("test", b.test)] {
            #expect(SHA1.hex(SHA1.hash(tokens.map { UInt8($0) })) == CorpusCatalog.wikiText2SHA1[split], "\(split)")
        }
    }

    @Test("a missing corpus names where it looked and how to fix it")
    func missing() {
        #expect { try CorpusCatalog.load("enwik8", dataDir: "/nonexistent") } throws: { e in
            let m = (e as? RMoEError)?.message ?? ""
            return m.contains("/nonexistent") && m.contains("--data-dir")
        }
        #expect { try CorpusCatalog.load("wikipedia", dataDir: nil) } throws: { e in
            (e as? RMoEError)?.message.contains("unknown corpus") == true
        }
    }
}
