import Foundation
import Testing
import RMoETestSupport
@testable import RMoECore
@testable import RMoERuns
@testable import RMoEReport
@testable import RMoEModel

/// `rmoe grads` on a checkpoint without metadata (as another program would write it).
@Suite("rmoe grads: parity file formats", .serialized)
struct GradsCommandTests {
    @Test("a foreign checkpoint and token file give the in-process loss and gradients, bitwise")
    func foreignCheckpoint() throws {
        let dir = Fixtures.tempDir()
        var mc = ModelConfig()
        mc.vocab = 40; mc.dModel = 16; mc.layers = 2; mc.heads = 2; mc.experts = 4; mc.topK = 2; mc.expertWidth = 8
        mc[RMoERouter.routerDim] = 6; mc.router = "rmoe"; mc.seqLen = 9; mc.batch = 3; mc.initStd = 0.1
        let m = try LanguageModel<Float>(config: mc)
        m.initialize(seed: 5)
        // The checkpoint, with no metadata at all.
        var w = SafeTensorsWriter(metadata: [:])
        for (i, spec) in m.layout.specs.enumerated() { w.add(name: spec.name, shape: spec.shape, floats: Array(m.params.buffer(at: i))) }
        try w.write(to: dir + "/foreign.safetensors")
        var rng = Xoshiro256(seed: 6)
        let toks = (0..<(3 * 10)).map { _ in Int32(rng.below(40)) }
        var tw = SafeTensorsWriter(metadata: [:])
        tw.add(name: "tokens", shape: [3, 10], int32s: toks)
        try tw.write(to: dir + "/tokens.safetensors")
        // In process.
        for b in 0..<3 { for j in 0..<9 { m.tokens[b * 9 + j] = toks[b * 10 + j]; m.targets[b * 9 + j] = toks[b * 10 + j + 1] } }
        m.grads.zero()
        let loss = m.forward(training: true)
        m.backward()
        // Through the command line.
        let r = try Fixtures.runCLI([
            "grads", "--checkpoint", dir + "/foreign.safetensors", "--tokens", dir + "/tokens.safetensors",
            "--out", dir + "/grads.safetensors", "--set", "router=rmoe", "--set", "heads=2", "--set", "top_k=2",
        ])
        #expect(r.status == 0, "\(r.err)")
        // Numbers are read with Swift's exact Double(String): Foundation's JSON parser may round the 17th digit.
        func number(_ key: String) -> Double? {
            guard let r0 = r.out.range(of: "\"\(key)\": ") else { return nil }
            return Double(r.out[r0.upperBound...].prefix { "0123456789.eE+-".contains($0) })
        }
        #expect(number("loss") == loss)
        #expect(number("ce") == m.lastCrossEntropy)
        let g = try SafeTensorsFile.read(path: dir + "/grads.safetensors")
        for (i, spec) in m.layout.specs.enumerated() {
            #expect(try g.floats(spec.name) == Array(m.grads.buffer(at: i)), "\(spec.name)")
        }
        #expect(g.metadata["loss"] != nil && g.metadata["balance_term"] != nil)
        // A config that disagrees with the shapes names the tensor.
        let bad = try Fixtures.runCLI([
            "grads", "--checkpoint", dir + "/foreign.safetensors", "--tokens", dir + "/tokens.safetensors",
            "--out", dir + "/g2.safetensors", "--set", "router=smoe", "--set", "heads=2", "--set", "top_k=2",
        ])
        #expect(bad.status != 0)
        #expect(bad.err.contains("layers.0.moe.router.weight") || bad.err.contains("layers.0.moe.router.proj"), "\(bad.err)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/g2.safetensors"))
        let relu = try Fixtures.runCLI([
            "grads", "--checkpoint", dir + "/foreign.safetensors", "--tokens", dir + "/tokens.safetensors",
            "--out", dir + "/g3.safetensors", "--set", "router=rmoe", "--set", "expert=relu",
        ])
        #expect(relu.status != 0 && relu.err.contains("w3"), "\(relu.err)")
    }
}
