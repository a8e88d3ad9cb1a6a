import Foundation
import RMoETestSupport
import Testing

@testable import RMoECore
@testable import RMoERuns

/// `eval` and `analyze` on checkpoints without rmoe metadata (`--set` gives what shapes cannot
/// imply), and `analyze` never writing one checkpoint's analysis over another's.
@Suite("eval and analyze: foreign checkpoints, one file per analysis", .serialized)
struct ForeignCheckpointTests {
    static let tiny = [
        "--corpus", "synthetic", "--steps", "6", "--layers", "2", "--d-model", "32", "--heads", "2", "--seq-len", "16", "--batch", "4",
        "--set", "experts=4", "--set", "top_k=2", "--set", "expert_width=16", "--set", "synthetic_train_tokens=4000",
        "--set", "synthetic_eval_tokens=2000", "--set", "eval_every=0", "--set", "final_eval_windows=8", "--threads", "1", "--quiet",
    ]

    static func loss(_ out: String) -> Double? {
        let line = out.split(separator: "\n").last.map { Array($0.utf8) } ?? []
        return (try? JSON.object(line, origin: "eval output"))?["loss"] as? Double
    }

    @Test("a checkpoint stripped of its metadata evaluates to the same loss given --set")
    func evalForeign() throws {
        let dir = Fixtures.tempDir()
        #expect(try Fixtures.runCLI(["train", "--router", "rmoe"] + Self.tiny + ["--out", dir + "/run"]).status == 0)
        let file = try SafeTensorsFile.read(path: dir + "/run/model.safetensors")
        var w = SafeTensorsWriter(metadata: [:])
        for name in file.names { w.add(name: name, shape: file.info(name)!.shape, floats: try file.floats(name)) }
        try w.write(to: dir + "/foreign.safetensors")
        let own = try Fixtures.runCLI(["eval", "--checkpoint", dir + "/run/model.safetensors", "--windows", "8", "--threads", "1"])
        // Without metadata the defaults apply (corpus, seq_len, router ...) and must be set.
        let fields = [
            "--set", "router=rmoe", "--set", "heads=2", "--set", "top_k=2", "--set", "corpus=synthetic", "--set", "seq_len=16",
            "--set", "batch=4", "--set", "synthetic_train_tokens=4000", "--set", "synthetic_eval_tokens=2000",
        ]
        let foreign = try Fixtures.runCLI(["eval", "--checkpoint", dir + "/foreign.safetensors", "--windows", "8", "--threads", "1"] + fields)
        #expect(own.status == 0 && foreign.status == 0, "\(own.err) \(foreign.err)")
        #expect(Self.loss(own.out) != nil && Self.loss(own.out) == Self.loss(foreign.out))
        // A router that does not fit the tensors is an error naming a tensor.
        var wrong = fields
        wrong[1] = "router=smoe"
        let bad = try Fixtures.runCLI(["eval", "--checkpoint", dir + "/foreign.safetensors"] + wrong)
        #expect(bad.status == 1 && bad.err.contains("layers.0.moe.router"), "\(bad.err)")
        let an = try Fixtures.runCLI(
            ["analyze", "--checkpoint", dir + "/foreign.safetensors", "--tokens", "256", "--out", dir + "/an", "--threads", "1"] + fields)
        #expect(an.status == 0, "\(an.err)")
    }

    @Test("analyze: two checkpoints of one router get two files; an existing file is kept unless --overwrite")
    func analyzeNoOverwrite() throws {
        let dir = Fixtures.tempDir()
        for s in ["1", "2"] {
            #expect(try Fixtures.runCLI(["train", "--router", "smoe", "--seed", s] + Self.tiny + ["--out", dir + "/s" + s]).status == 0)
        }
        let args = [
            "analyze", "--checkpoint", dir + "/s1/model.safetensors", "--checkpoint", dir + "/s2/model.safetensors", "--tokens", "256",
            "--out", dir + "/an", "--threads", "1",
        ]
        let r = try Fixtures.runCLI(args)
        #expect(r.status == 0, "\(r.err)")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir + "/an").filter { $0.hasSuffix(".json") }.sorted()
        #expect(names == ["analysis-smoe-2.json", "analysis-smoe.json"])
        let before = FileManager.default.contents(atPath: dir + "/an/analysis-smoe.json")
        let again = try Fixtures.runCLI(args)
        #expect(again.status == 1 && again.err.contains("--overwrite"), "\(again.err)")
        #expect(FileManager.default.contents(atPath: dir + "/an/analysis-smoe.json") == before)
        #expect(try Fixtures.runCLI(args + ["--overwrite"]).status == 0)
    }
}
