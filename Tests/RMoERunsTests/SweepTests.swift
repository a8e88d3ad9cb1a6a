import Foundation
import Testing
import RMoETestSupport
@testable import RMoECore
@testable import RMoERuns
@testable import RMoEReport
@testable import RMoEModel

@Suite("Sweeps: presets, resume after kill -9, shards, report", .serialized)
struct SweepTests {
    @Test("every preset parses and resolves; ablation-bytes is 8 routers x 3 seeds")
    func presets() throws {
        for p in Presets.all {
            let spec = try SweepSpec.parse(p.text, origin: p.name)
            #expect(spec.name == p.name)
            #expect(try !spec.runs().isEmpty)
        }
        #expect(try Presets.load("ablation-bytes").runs().count == 24)
        #expect(try Presets.load("depth").runs().map(\.id).contains("rmoe-np-r0.5-s1-layers12"))
        #expect(try Presets.load("recurrence").runs().first { $0.label == "rmoe-np-r1.0" }?.config.model[RMoERouter.alpha] == 1.0)
        // scale-long is scale's 4-layer runs made longer: same folders, and each a valid extension.
        let scale4 = try Presets.load("scale").runs().filter { $0.id.hasSuffix("-layers4") }
        let long = try Presets.load("scale-long").runs()
        #expect(long.map(\.id) == scale4.map(\.id))
        for (a, b) in zip(scale4, long) {
            #expect(b.config.steps > a.config.steps)
            let (cont, _) = try RunConfig.continuation(saved: a.config, requested: b.config, origin: a.id)
            #expect(cont.steps == b.config.steps)
        }
        // scale-recipe's seed-1 pair is scale-causes' enwik8 pair: same folders and configs.
        let causes = try Presets.load("scale-causes").runs()
        let recipe1 = try Presets.load("scale-recipe").runs().filter { $0.id.hasSuffix("-s1") }
        #expect(recipe1.map(\.id) == ["smoe-enwik8-s1", "rmoe-enwik8-s1"])
        for r in recipe1 {
            let c = try #require(causes.first { $0.id == r.id })
            #expect(c.config == r.config)
        }
        // scale-recipe-l8 is scale-recipe's seeds 1-3 at 8 layers and nothing else (seed-1 folders first, as before).
        let recipe123 = try Presets.load("scale-recipe").runs().filter { ["-s1", "-s2", "-s3"].contains(where: $0.id.hasSuffix) }
        let deep = try Presets.load("scale-recipe-l8").runs()
        #expect(deep.map(\.id) == recipe123.map(\.id))
        #expect(Array(deep.prefix(2).map(\.id)) == recipe1.map(\.id))
        for (a, b) in zip(recipe123, deep) {
            #expect(b.config.model.layers == 8 && a.config.model.layers == 4)
            var shallow = b.config
            shallow.model.layers = 4
            #expect(shallow == a.config)
        }
    }

    @Test("bad sweep files end in one clear error")
    func badSpecs() {
        for (text, phrase) in [
            ("{\"name\": \"x\", \"routers\": [\"smoe\"], \"grids\": {}}", "grids"),
            ("{\"name\": \"x\", \"routers\": [\"smoe\"], \"base\": {\"layerz\": 2}}", "layerz"),
            ("{\"name\": \"x\", \"routers\": [\"nosuch\"]}", "nosuch"),
            ("{\"routers\": [\"smoe\"]}", "name"),
        ] {
            #expect { try SweepSpec.parse(text, origin: "t") } throws: { ($0 as? RMoEError)?.message.contains(phrase) == true }
        }
    }

    /// The lines of every run's metrics.jsonl without the timing fields.
    static func curves(_ dir: String) throws -> [String: [String]] {
        var out: [String: [String]] = [:]
        for id in try FileManager.default.contentsOfDirectory(atPath: dir + "/runs") {
            out[id] = MetricsLog.read(dir + "/runs/\(id)/metrics.jsonl").map { m in
                ["step", "split", "loss", "ce", "balance_loss", "grad_norm", "bits_per_token"].compactMap { k in m[k].map { "\(k)=\($0)" } }.joined(
                    separator: " ")
            }
        }
        return out
    }

    @Test("kill -9 at any moment, restart: no line lost or duplicated, results identical to an uninterrupted sweep")
    func killAndResume() throws {
        let base = Fixtures.tempDir()
        // Reference: uninterrupted.
        let ref = try Fixtures.runCLI(["sweep", "smoke", "--out", base + "/ref", "--quiet"])
        #expect(ref.status == 0, "\(ref.err)")
        // Interrupted repeatedly with SIGKILL at various moments, then finished.
        let dir = base + "/killed"
        for delay in [0.4, 0.9, 0.25, 1.3, 0.6, 1.7, 0.8, 1.1] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Fixtures.executable)
            p.arguments = ["sweep", "smoke", "--out", dir, "--quiet"]
            p.environment = Fixtures.cliEnvironment
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            Thread.sleep(forTimeInterval: delay)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        let fin = try Fixtures.runCLI(["sweep", "smoke", "--out", dir, "--quiet"])
        #expect(fin.status == 0, "\(fin.err)")
        let a = try Self.curves(base + "/ref"), b = try Self.curves(dir)
        #expect(a.keys.sorted() == b.keys.sorted())
        for id in a.keys { #expect(a[id] == b[id], "\(id)") }
        for (_, lines) in b { #expect(Set(lines).count == lines.count) }
        // Same final numbers.
        for id in a.keys {
            let fa = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: base + "/ref/runs/\(id)/final.json"))) as! [String: Any]
            let fb = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/runs/\(id)/final.json"))) as! [String: Any]
            #expect((fa["test_loss"] as! NSNumber).doubleValue == (fb["test_loss"] as! NSNumber).doubleValue, "\(id)")
        }
        // No temporary files left behind.
        let leftovers = FileManager.default.enumerator(atPath: dir)!.compactMap { $0 as? String }.filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test("a grid may grow in its folder (finished runs are kept); one that leaves runs out is refused")
    func growingGrid() throws {
        let dir = Fixtures.tempDir(), smoke = try #require(Presets.text("smoke"))
        let onlySMoE = dir + "/smoe-only.json", onlyRMoE = dir + "/rmoe-only.json"
        try smoke.replacingOccurrences(of: "\"routers\": [\"smoe\", \"rmoe\"]", with: "\"routers\": [\"smoe\"]").write(
            toFile: onlySMoE, atomically: true, encoding: .utf8)
        try smoke.replacingOccurrences(of: "\"routers\": [\"smoe\", \"rmoe\"]", with: "\"routers\": [\"rmoe\"]").write(
            toFile: onlyRMoE, atomically: true, encoding: .utf8)
        let out = dir + "/sweep"
        let first = try Fixtures.runCLI(["sweep", onlySMoE, "--out", out, "--quiet", "--set", "steps=10"])
        #expect(first.status == 0, "\(first.err)")
        let smoeFinal = try String(contentsOfFile: out + "/runs/smoe-s1/final.json", encoding: .utf8)
        // Grown to smoe and rmoe: smoe is kept as it was, rmoe is trained, sweep.json lists both.
        let grown = try Fixtures.runCLI(["sweep", "smoke", "--out", out, "--quiet", "--set", "steps=10"])
        #expect(grown.status == 0, "\(grown.err)")
        #expect(try String(contentsOfFile: out + "/runs/smoe-s1/final.json", encoding: .utf8) == smoeFinal)
        #expect(FileManager.default.fileExists(atPath: out + "/runs/rmoe-s1/final.json"))
        #expect(try String(contentsOfFile: out + "/sweep.json", encoding: .utf8).contains("\"runs\": [\"smoe-s1\", \"rmoe-s1\"]"))
        // A grid without smoe would mix two sweeps in one folder: one line naming the missing run.
        let shrunk = try Fixtures.runCLI(["sweep", onlyRMoE, "--out", out, "--quiet", "--set", "steps=10"])
        #expect(shrunk.status != 0)
        #expect(shrunk.err.contains("runs this grid lacks: smoe-s1") && shrunk.err.split(separator: "\n").count == 1, "\(shrunk.err)")
    }

    @Test("temporary files of this host's killed writers are removed; live processes' and other hosts' stay")
    func staleTemporaries() throws {
        let dir = Fixtures.tempDir()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        let dead = p.processIdentifier, me = getpid()
        let mine = URL(fileURLWithPath: AtomicFile.temporaryPath(for: "/x")).lastPathComponent.dropFirst("x".count)  // ".tmp-<host>-<pid>"
        let host = mine.dropFirst(".tmp-".count).dropLast("-\(me)".count)
        for name in [
            "model.safetensors.tmp-\(host)-\(dead)", "final.json.tmp-\(host)-\(me)", "table.md.tmp-otherhost-\(dead)",
            "notes.tmp-x", "old.tmp-\(dead)",
        ] {
            FileManager.default.createFile(atPath: dir + "/" + name, contents: Data("x".utf8))
        }
        removeStaleTemporaries(in: dir)
        let left = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(left == ["final.json.tmp-\(host)-\(me)", "notes.tmp-x", "old.tmp-\(dead)", "table.md.tmp-otherhost-\(dead)"])
    }

    @Test("two shards share a folder; the report covers every run; --report rebuilds it")
    func shardsAndReport() throws {
        let dir = Fixtures.tempDir()
        for s in ["2/2", "1/2"] {
            let r = try Fixtures.runCLI(["sweep", "smoke", "--out", dir, "--shard", s, "--quiet", "--set", "steps=10"])
            #expect(r.status == 0, "\(r.err)")
        }
        let csv = try String(contentsOfFile: dir + "/summary.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 3)
        #expect(csv[0].hasPrefix("run,router_label,router,seed"))
        try FileManager.default.removeItem(atPath: dir + "/table.md")
        let r = try Fixtures.runCLI(["sweep", "--report", dir])
        #expect(r.status == 0 && r.out.contains("| rmoe |") && r.out.contains("| smoe |"), "\(r.out) \(r.err)")
        for f in ["valid_curves.svg", "train_curves.svg", "final_bits_per_token.svg", "expert_load.svg"] {
            let svg = try String(contentsOfFile: dir + "/plots/" + f, encoding: .utf8)
            #expect(svg.hasPrefix("<svg") || svg.hasPrefix("<?xml"), "\(f)")
            // Every figure's data next to it.
            let csv = try String(contentsOfFile: dir + "/plots/" + f.replacingOccurrences(of: ".svg", with: ".csv"), encoding: .utf8)
            #expect(csv.split(separator: "\n").count >= 2, "\(f)")
        }
        // report.html: self-contained (no external resources), every figure inline, every run linked.
        let html = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
        #expect(!html.contains("src=\"http") && !html.contains("href=\"http") && !html.contains("<link"))
        #expect(html.components(separatedBy: "<figure").count - 1 == 4 && html.contains("id=\"render-check\""))
        #expect(html.contains("runs/smoe-s1/final.json") && html.contains("runs/rmoe-s1/metrics.jsonl") && html.contains("<table>"))
        // rmoe compare: any run folders together.
        let cmp = Fixtures.tempDir()
        let c = try Fixtures.runCLI(["compare", dir + "/runs/smoe-s1", dir + "/runs/rmoe-s1", "--labels", "a", "b", "--out", cmp])
        #expect(c.status == 0 && c.out.contains("| a |") && c.out.contains("| b |"), "\(c.out) \(c.err)")
        #expect(FileManager.default.fileExists(atPath: cmp + "/report.html") && FileManager.default.fileExists(atPath: cmp + "/plots/valid_curves.csv"))
        let missing = try Fixtures.runCLI(["compare", dir + "/runs/smoe-s1", dir + "/nope", "--out", cmp])
        #expect(missing.status == 1 && missing.err.contains("not a run folder"), "\(missing.err)")
        // A different config in the same folder is refused, naming the field.
        let other = try Fixtures.runCLI(["sweep", "smoke", "--out", dir, "--set", "lr=0.01", "--quiet"])
        #expect(other.status != 0 && other.err.contains("different config") && other.err.contains("lr "), "\(other.err)")
    }
}
