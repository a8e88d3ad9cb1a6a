import Foundation
import Testing
import RMoETestSupport
@testable import RMoECore
@testable import RMoERuns
@testable import RMoEReport

/// Bad input ends in one clear line on stderr and a non-zero exit, and writes nothing half-way.
@Suite("Command line: errors a user can cause", .serialized)
struct CLITests {
    static func oneLineError(_ args: [String], mentions: String, env: [String: String] = [:]) throws {
        let r = try Fixtures.runCLI(args, cwd: Fixtures.tempDir("cwd"), env: env)
        #expect(r.status != 0, "\(args) exited 0")
        let lines = r.err.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        #expect(lines.count == 1, "stderr of \(args): \(r.err)")
        #expect(r.err.contains(mentions), "stderr of \(args): \(r.err)")
    }

    @Test("unknown corpus") func unknownCorpus() throws {
        try Self.oneLineError(["train", "--corpus", "wiki", "--steps", "1"], mentions: "wiki")
    }

    @Test("missing corpus files") func missingCorpus() throws {
        try Self.oneLineError(
            ["train", "--corpus", "wikitext2-bytes", "--data-dir", "/nonexistent"], mentions: "WikiText-2 not found",
            env: ["RMOE_DATA": "/nonexistent"])
    }

    @Test("bad --set") func badSet() throws {
        try Self.oneLineError(["train", "--set", "lr=fast"], mentions: "lr")
        try Self.oneLineError(["train", "--set", "no_such_field=1"], mentions: "no_such_field")
    }

    @Test("missing config file") func missingConfigFile() throws {
        try Self.oneLineError(["train", "--config", "/nonexistent.json"], mentions: "/nonexistent.json")
    }

    @Test("corrupt and truncated checkpoints") func corruptCheckpoint() throws {
        let dir = Fixtures.tempDir()
        // A real checkpoint, then damaged copies.
        let r = try Fixtures.runCLI([
            "train", "--corpus", "synthetic", "--steps", "2", "--layers", "1", "--d-model", "16", "--heads", "2",
            "--seq-len", "8", "--batch", "2", "--set", "log_every=1", "--set", "checkpoint_every=1",
            "--set", "synthetic_train_tokens=2000", "--set", "synthetic_eval_tokens=500", "--out", dir + "/run", "--quiet",
        ])
        #expect(r.status == 0, "\(r.err)")
        let good = try Data(contentsOf: URL(fileURLWithPath: dir + "/run/model.safetensors"))
        try good.prefix(good.count / 2).write(to: URL(fileURLWithPath: dir + "/truncated.safetensors"))
        var bad = good
        bad[10] = 0x7B  // inside the JSON header
        bad[11] = 0x7B
        try bad.write(to: URL(fileURLWithPath: dir + "/corrupt.safetensors"))
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir + "/tiny.safetensors"))
        for f in ["truncated", "corrupt", "tiny"] {
            try Self.oneLineError(["eval", "--checkpoint", dir + "/\(f).safetensors"], mentions: "\(f).safetensors")
        }
        try Self.oneLineError(["eval", "--checkpoint", dir + "/absent.safetensors"], mentions: "absent.safetensors")
        // Resume of a folder that is not a run.
        try Self.oneLineError(["train", "--resume", dir], mentions: "not a run folder")
        // An existing run is not overwritten by accident.
        try Self.oneLineError(["train", "--out", dir + "/run", "--steps", "2"], mentions: "--resume")
    }

    @Test("bench experts: bad lists are refused; a tiny run prints one JSON line per expert count")
    func benchExperts() throws {
        try Self.oneLineError(["bench", "experts", "--experts", "8,x"], mentions: "--experts")
        try Self.oneLineError(["bench", "experts", "--experts", "2,8"], mentions: "top_k")
        let tiny = [
            "--set", "d_model=16", "--set", "layers=1", "--set", "heads=2", "--set", "expert_width=8", "--set", "router_dim=8",
            "--set", "top_k=2", "--set", "seq_len=8", "--set", "batch=2",
        ]
        let r = try Fixtures.runCLI(
            ["bench", "experts", "--experts", "2,4", "--threads", "1", "--reps", "1", "--json"] + tiny,
            cwd: Fixtures.tempDir("cwd"))
        #expect(r.status == 0, "\(r.err)")
        let rows = r.out.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let steps = rows.filter { $0["bench"] as? String == "experts" }, adamw = rows.filter { $0["bench"] as? String == "adamw" }
        #expect(steps.map { $0["experts"] as? Int } == [2, 4])
        #expect(steps.first?["ratio_to_first"] as? Double == 1.0)
        // AdamW against a copy of the same bytes, per E.
        #expect(adamw.map { $0["experts"] as? Int } == [2, 4])
        #expect(adamw.allSatisfy { ($0["adamw_gb_per_s"] as? Double ?? 0) > 0 && ($0["copy_gb_per_s"] as? Double ?? 0) > 0 })
    }
}
