import Foundation
import Testing
import RMoETestSupport
@testable import RMoECore
@testable import RMoERuns
@testable import RMoEReport
import RMoEData
import RMoEModel

@Suite("Config: precedence, strict keys and values")
struct ConfigTests {
    @Test("Codable: JSONEncoder/JSONDecoder round-trip every field; decoding is strict")
    func codable() throws {
        var c = RunConfig()
        try c.apply(assignment: "router=rmoe"); try c.apply(assignment: "lr=0.0025"); try c.apply(assignment: "layers=6")
        try c.apply(assignment: "router_bias=false"); try c.apply(assignment: "corpus=synthetic")
        let data = try JSONEncoder().encode(c)
        let back = try JSONDecoder().decode(RunConfig.self, from: data)
        #expect(back == c)
        let keys = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any]).keys.sorted()
        #expect(keys == RunConfig.fields.map(\.name).sorted())
        #expect(throws: RMoEError.self) { try JSONDecoder().decode(RunConfig.self, from: Data(#"{"layerz": 4}"#.utf8)) }
        #expect(throws: RMoEError.self) { try JSONDecoder().decode(RunConfig.self, from: Data(#"{"lr": "fast"}"#.utf8)) }
        #expect(throws: RMoEError.self) { try JSONDecoder().decode(RunConfig.self, from: Data(#"{"router": "nope"}"#.utf8)) }
    }

    @Test("defaults < file < command line")
    func precedence() throws {
        let dir = Fixtures.tempDir()
        let path = dir + "/c.json"
        try "{\"lr\": 0.002, \"layers\": 3, \"router_bias\": false}".write(toFile: path, atomically: true, encoding: .utf8)
        var c = RunConfig()
        try c.apply(file: path)
        try c.apply(assignment: "lr=5e-4")
        #expect(c.lr == 5e-4)
        #expect(c.model.layers == 3)
        #expect(c.model.routerBias == false)
        #expect(c.model.dModel == 256)
    }

    @Test(
        "unknown keys and bad values are errors naming the key",
        arguments: [
            ("lrr=1", "lrr"), ("lr=abc", "lr"), ("layers=0", "layers"), ("layers=2.5", "layers"), ("corpus=wiki", "corpus"),
            ("schedule=linear", "schedule"), ("router_bias=maybe", "router_bias"), ("noequals", "key=value"),
        ])
    func badSet(assignment: String, named: String) {
        var c = RunConfig()
        #expect { try c.apply(assignment: assignment) } throws: { e in
            (e as? RMoEError)?.message.contains(named) == true && !((e as? RMoEError)?.message.contains("\n") ?? true)
        }
    }

    @Test("an unknown key in a file is an error; a near miss gets a suggestion")
    func unknownInFile() throws {
        let dir = Fixtures.tempDir()
        let path = dir + "/c.json"
        try "{\"d_modle\": 64}".write(toFile: path, atomically: true, encoding: .utf8)
        var c = RunConfig()
        #expect { try c.apply(file: path) } throws: { e in
            let m = (e as? RMoEError)?.message ?? ""
            return m.contains("d_modle") && m.contains("d_model")
        }
    }

    @Test("the saved config parses back to the same config")
    func roundTrip() throws {
        var c = RunConfig()
        c.lr = 3.7e-4; c.model.layers = 5; c.corpus = .wikitext2Bytes; c.model.routerBias = false; c.synthetic.seed = 99
        let back = try RunConfig.fromJSON(c.jsonText, origin: "test")
        #expect(back == c)
        #expect(back.jsonText == c.jsonText)
    }
}

@Suite("The README's library example")
struct LibraryUseTests {
    @Test("train a small rmoe model through the library API")
    func readmeExample() throws {
        var c = RunConfig()
        c.model.router = "rmoe"; c.model[RMoERouter.routerDim] = 16; c.model.layers = 2; c.model.dModel = 32
        c.steps = 20; c.model.seqLen = 32; c.model.batch = 4; c.finalEvalWindows = 16
        c.synthetic.trainTokens = 20_000; c.synthetic.evalTokens = 2_000
        let corpus = try CorpusCatalog.load(c.corpus, dataDir: nil, synthetic: c.synthetic, seqLen: c.model.seqLen)
        let result = try Trainer(config: c, corpus: corpus, files: nil).run()!
        #expect(result.validMetric.isFinite && result.steps == 20)
    }
}
