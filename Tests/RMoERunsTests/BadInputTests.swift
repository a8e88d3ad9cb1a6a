import Foundation
import Testing
import RMoETestSupport
@testable import RMoECore
@testable import RMoERuns
@testable import RMoEReport

/// Every hostile or careless input a review found (and the ones handled before) through the real
/// command line: exit code 1, exactly one line on stderr, no backtrace, nothing written outside the
/// case's own folder. With `RMOE_BAD_INPUTS_BINARY=<rmoe>` the cases run against that binary and
/// nothing is asserted; with `RMOE_BAD_INPUTS_REPORT=<file>` a markdown table of the outcomes is
/// written (how the closing note's before/after table is made).
@Suite("Bad inputs: one clear line, exit 1, nothing touched", .serialized)
struct BadInputTests {
    struct Case: Sendable {
        var input: String
        var args: [String]
        /// Prepares fixtures in the case's folder (the working directory of the command).
        var setup: @Sendable (_ dir: String, _ binary: String) throws -> Void = { _, _ in }
        /// A phrase the error line must hold.
        var expect: String
    }

    /// A tiny synthetic training run into `run/`, plus `extra` arguments.
    static func train(_ extra: [String]) -> [String] {
        [
            "train", "--corpus", "synthetic", "--steps", "4", "--layers", "1", "--d-model", "16", "--heads", "2", "--seq-len", "16",
            "--batch", "2", "--set", "experts=4", "--set", "top_k=2", "--set", "expert_width=8", "--set", "synthetic_train_tokens=5000",
            "--set", "synthetic_eval_tokens=1000", "--set", "checkpoint_every=2", "--set", "log_every=2", "--set", "eval_every=2",
            "--out", "run", "--quiet",
        ] + extra
    }

    static func write(_ path: String, _ text: String) throws {
        try text.write(toFile: path, atomically: false, encoding: .utf8)
    }

    /// A sweep file with the given routers and seeds.
    static func sweep(_ dir: String, routers: String = #"["smoe"]"#, seeds: String = "[1]", extra: String = "") throws {
        try write(
            dir + "/sweep.json",
            #"{"name": "bad", "base": {"corpus": "synthetic", "steps": 2, "layers": 1, "d_model": 16, "heads": 2, "seq_len": 16, "batch": 2, "synthetic_train_tokens": 5000, "synthetic_eval_tokens": 1000}, "routers": "#
                + routers + #", "seeds": "# + seeds + extra + "}")
    }

    /// A checkpoint whose metadata config asks for a model of about 100 TB.
    static func hugeCheckpoint(_ dir: String) throws {
        // Only fields every version knows, so that older binaries read it too.
        var w = SafeTensorsWriter(metadata: ["config": #"{"corpus": "synthetic", "d_model": 65536, "layers": 1024, "vocab": 256}"#])
        w.add(name: "norm.weight", shape: [4], floats: [1, 1, 1, 1])
        try w.write(to: dir + "/huge.safetensors")
    }

    static func foreign(_ dir: String, shape: [Int]) throws {
        var w = SafeTensorsWriter(metadata: [:])
        w.add(name: "tok_emb.weight", shape: shape, floats: shape.isEmpty ? [1] : [])
        w.add(name: "layers.0.attn_norm.weight", shape: [4], floats: [1, 1, 1, 1])
        try w.write(to: dir + "/foreign.safetensors")
        var t = SafeTensorsWriter(metadata: [:])
        t.add(name: "tokens", shape: [1, 3], int32s: [1, 2, 3])
        try t.write(to: dir + "/tokens.safetensors")
    }

    /// Runs `binary` with `args` in `dir`; fails the setup when it fails.
    static func run(_ binary: String, _ args: [String], in dir: String) throws {
        let r = try Fixtures.runCLI(args, cwd: dir, binary: binary)
        if r.status != 0 { throw RMoEError("fixture command \(args.joined(separator: " ")) failed: \(r.err)") }
    }

    /// Rewrites a safetensors file with some metadata changed.
    static func patchMetadata(_ path: String, _ changes: [String: String]) throws {
        let f = try SafeTensorsFile.read(path: path)
        var w = SafeTensorsWriter(metadata: f.metadata.merging(changes) { _, b in b })
        for n in f.names { w.add(name: n, shape: f.info(n)!.shape, floats: try f.floats(n)) }
        try w.write(to: path)
    }

    static let cases: [Case] = [
        Case(input: "`--set d_model=4294967296`", args: train(["--set", "d_model=4294967296"]), expect: "d_model"),
        Case(input: "`--set seq_len=2^40`", args: train(["--set", "seq_len=1099511627776"]), expect: "seq_len"),
        Case(input: "`--set expert_width=2^50`", args: train(["--set", "expert_width=1125899906842624"]), expect: "expert_width"),
        Case(input: "`--set synthetic_train_tokens=1e14`", args: train(["--set", "synthetic_train_tokens=1e14"]), expect: "synthetic_train_tokens"),
        Case(input: "`train --threads 3000000000`", args: train(["--threads", "3000000000"]), expect: "threads"),
        Case(
            input: "`eval` of a checkpoint whose metadata config asks for ~100 TB (the sizes come from its tensors)",
            args: ["eval", "--checkpoint", "huge.safetensors"], setup: { d, _ in try hugeCheckpoint(d) }, expect: "tok_emb.weight"),
        Case(
            input: "`analyze` of the same checkpoint", args: ["analyze", "--checkpoint", "huge.safetensors", "--out", "an"],
            setup: { d, _ in try hugeCheckpoint(d) }, expect: "tok_emb.weight"),
        Case(
            input: "`grads` on a foreign checkpoint with a 0-d `tok_emb.weight`",
            args: ["grads", "--checkpoint", "foreign.safetensors", "--tokens", "tokens.safetensors", "--out", "g.safetensors"],
            setup: { d, _ in try foreign(d, shape: []) }, expect: "tok_emb.weight"),
        Case(
            input: "`grads` on a foreign checkpoint with a [2^40, 0] `tok_emb.weight`",
            args: ["grads", "--checkpoint", "foreign.safetensors", "--tokens", "tokens.safetensors", "--out", "g.safetensors"],
            setup: { d, _ in try foreign(d, shape: [1 << 40, 0]) }, expect: "tok_emb.weight"),
        Case(
            input: "`train --resume` of a train-state with step -3", args: ["train", "--resume", "run", "--quiet"],
            setup: { d, b in
                try run(b, train(["--set", "checkpoint_every=2"]).map { $0 == "4" ? "2" : $0 }, in: d)
                try FileManager.default.removeItem(atPath: d + "/run/final.json")
                try patchMetadata(d + "/run/train-state.safetensors", ["step": "-3", "optimizer_updates": "-3"])
            }, expect: "step"),
        Case(input: "`--set lr=1e30 --set grad_clip=0` (divergence)", args: train(["--set", "lr=1e30", "--set", "grad_clip=0"]), expect: "diverged"),
        Case(
            input: "WikiText-2 with an empty valid split",
            args: [
                "train", "--corpus", "wikitext2-bytes", "--data-dir", "data", "--steps", "2",
                "--layers", "1", "--d-model", "16", "--heads", "2", "--seq-len", "16", "--batch", "2", "--out", "run",
            ],
            setup: { d, _ in
                try FileManager.default.createDirectory(atPath: d + "/data/wikitext-2", withIntermediateDirectories: true)
                try write(d + "/data/wikitext-2/wiki.train.tokens", String(repeating: "some training text. ", count: 100))
                try write(d + "/data/wikitext-2/wiki.valid.tokens", "")
                try write(d + "/data/wikitext-2/wiki.test.tokens", String(repeating: "test text. ", count: 20))
            }, expect: "valid split"),
        Case(
            input: "sweep router label `../../X`", args: ["sweep", "sweep.json", "--out", "sw", "--quiet"],
            setup: { d, _ in try sweep(d, routers: #"[{"label": "../../X", "router": "smoe"}]"#) }, expect: "label"),
        Case(
            input: "sweep seeds `[\"a\", 2]`", args: ["sweep", "sweep.json", "--out", "sw", "--quiet"],
            setup: { d, _ in try sweep(d, seeds: #"["a", 2]"#) }, expect: "seed"),
        Case(
            input: "sweep seeds `[1.7]`", args: ["sweep", "sweep.json", "--out", "sw", "--quiet"],
            setup: { d, _ in try sweep(d, seeds: "[1.7]") }, expect: "seed"),
        Case(
            input: "sweep whose grid gives two runs one id (`lr: [0.001, \"0.001\"]`)", args: ["sweep", "sweep.json", "--out", "sw", "--quiet"],
            setup: { d, _ in try sweep(d, extra: #", "grid": {"lr": [0.001, "0.001"]}"#) }, expect: "runs/"),
        Case(
            input: "config file with a duplicate key", args: train(["--config", "c.json"]),
            setup: { d, _ in try write(d + "/c.json", #"{"lr": 0.001, "lr": 0.002}"#) }, expect: "duplicate key"),
        Case(
            input: "config file with a trailing comma", args: train(["--config", "c.json"]),
            setup: { d, _ in try write(d + "/c.json", #"{"lr": 0.001,}"#) }, expect: "trailing comma"),
        Case(
            input: "config file with `\"steps\": 18446744073709551615`", args: train(["--config", "c.json"]),
            setup: { d, _ in try write(d + "/c.json", #"{"steps": 18446744073709551615}"#) }, expect: "18446744073709551615"),
        Case(
            input: "gzip bomb as `wiki.train.tokens.gz` (100 KB -> 105 MB)",
            args: ["train", "--corpus", "wikitext2-bytes", "--data-dir", "data", "--steps", "2", "--out", "run"],
            setup: { d, _ in
                let w = d + "/data/wikitext-2"
                try FileManager.default.createDirectory(atPath: w, withIntermediateDirectories: true)
                FileManager.default.createFile(atPath: w + "/wiki.train.tokens", contents: Data(count: 105 << 20))
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                p.arguments = ["gzip", "-9", "-f", w + "/wiki.train.tokens"]
                try p.run(); p.waitUntilExit()
                try write(w + "/wiki.valid.tokens", String(repeating: "valid text. ", count: 100))
                try write(w + "/wiki.test.tokens", String(repeating: "test text. ", count: 100))
            }, expect: "wiki.train.tokens.gz"),
        Case(
            input: "`train --resume` with a train-state of another config (layers 2 into layers 1)", args: ["train", "--resume", "run", "--quiet"],
            setup: { d, b in
                try run(b, train([]), in: d)
                try run(b, train(["--layers", "2", "--out", "other"]), in: d)
                try FileManager.default.removeItem(atPath: d + "/run/final.json")
                try FileManager.default.removeItem(atPath: d + "/run/train-state.safetensors")
                try FileManager.default.copyItem(atPath: d + "/other/train-state.safetensors", toPath: d + "/run/train-state.safetensors")
            }, expect: "config"),
        Case(
            input: "`train --resume DIR --set lr=0.5`", args: ["train", "--resume", "run", "--set", "lr=0.5"],
            setup: { d, b in try run(b, train([]), in: d) }, expect: "lr"),
        // Handled before this round.
        Case(input: "unknown field `--set lrr=1`", args: train(["--set", "lrr=1"]), expect: "unknown config field"),
        Case(
            input: "`eval` of a file that is not safetensors", args: ["eval", "--checkpoint", "c.json"],
            setup: { d, _ in try write(d + "/c.json", "{}") }, expect: "c.json"),
        Case(input: "`sweep --shard 3/2`", args: ["sweep", "smoke", "--shard", "3/2", "--out", "sw"], expect: "shard"),
        Case(input: "`train --resume` of a folder that is not a run", args: ["train", "--resume", "nothing"], expect: "not a run folder"),
    ]

    /// Every file under `dir`, relative.
    static func tree(_ dir: String) -> Set<String> {
        Set((FileManager.default.enumerator(atPath: dir)?.compactMap { $0 as? String }) ?? [])
    }

    @Test("each bad input: exit 1, one line on stderr, no backtrace, nothing outside the case's folder")
    func badInputs() throws {
        let env = ProcessInfo.processInfo.environment
        let binary = env["RMOE_BAD_INPUTS_BINARY"] ?? Fixtures.executable
        let asserting = env["RMOE_BAD_INPUTS_BINARY"] == nil
        var table = "| input | exit | stderr lines | first stderr line |\n|---|---|---|---|\n"
        for c in Self.cases {
            // base/a/b is the working directory: a path escaping it shows up in base or base/a.
            let base = Fixtures.tempDir("bad"), dir = base + "/a/b"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try c.setup(dir, binary)
            let before = Self.tree(base)
            let r = try Fixtures.runCLI(c.args, cwd: dir, binary: binary, env: ["RMOE_DATA": ""])
            let lines = r.err.split(separator: "\n", omittingEmptySubsequences: true)
            let first = lines.first.map(String.init) ?? (r.status > 128 ? "(killed by signal \(r.status - 128))" : "")
            let shown = (first.count > 160 ? String(first.prefix(157)) + "..." : first).replacingOccurrences(of: "|", with: "\\|")
            table += "| \(c.input) | \(r.status) | \(lines.count) | \(shown) |\n"
            guard asserting else { continue }
            #expect(r.status == 1, "\(c.input): exit \(r.status), stderr \(r.err)")
            #expect(lines.count == 1, "\(c.input): \(r.err)")
            #expect(first.contains(c.expect), "\(c.input): '\(first)' lacks '\(c.expect)'")
            #expect(!r.err.contains("Fatal error") && !r.err.contains("Stack dump") && !r.err.contains("backtrace"), "\(c.input)")
            // Nothing new outside dir; inside dir only the run's own folders.
            let after = Self.tree(base)
            let outside = after.subtracting(before).filter { !$0.hasPrefix("a/b/") }
            #expect(outside.isEmpty, "\(c.input): wrote \(outside.sorted())")
        }
        if let path = env["RMOE_BAD_INPUTS_REPORT"] { try table.write(toFile: path, atomically: true, encoding: .utf8) }
    }
}
