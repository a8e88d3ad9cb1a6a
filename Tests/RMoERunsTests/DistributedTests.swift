import Foundation
import RMoETestSupport
import Testing

@testable import RMoECore
@testable import RMoERuns

/// Data parallelism over Open MPI (2 ranks under `mpirun`) and its single-process twin,
/// gradient accumulation. Where `mpirun` is missing the MPI tests print why and check nothing.
@Suite("Data parallelism: mpirun -np 2 and grad_accum", .serialized)
struct DistributedTests {
    static let mpirun = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// The TINY model on a small synthetic corpus.
    static func tiny(steps: Int, out: String, extra: [String] = []) -> [String] {
        [
            "train", "--corpus", "synthetic", "--router", "rmoe", "--steps", "\(steps)", "--layers", "4", "--d-model", "64", "--heads", "2",
            "--seq-len", "64", "--batch", "8", "--set", "experts=8", "--set", "top_k=2", "--set", "expert_width=64", "--set", "router_dim=32",
            "--set", "synthetic_train_tokens=40000", "--set", "synthetic_eval_tokens=4000", "--set", "log_every=1", "--set", "eval_every=0",
            "--set", "checkpoint_every=10", "--set", "final_eval_windows=16", "--threads", "1", "--out", out, "--quiet",
        ] + extra
    }

    /// `mpirun -np n rmoe args` (as root it needs --allow-run-as-root; --bind-to none lets a rank use its threads).
    static func mpi(_ n: Int, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
        try Fixtures.runCLI(
            ["-np", "\(n)", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", Fixtures.executable] + args,
            binary: mpirun!)
    }

    static func losses(_ dir: String) -> [Double] {
        MetricsLog.read(dir + "/metrics.jsonl").filter { ($0["split"] as? String) == "train" }.map { ($0["loss"] as! NSNumber).doubleValue }
    }

    static func maxRelativeDifference(_ a: [Double], _ b: [Double]) -> Double {
        zip(a, b).map { abs($0 - $1) / abs($0) }.max() ?? .infinity
    }

    @Test("grad_accum = 2 trains the single-process model within rounding; dropout masks follow the rows")
    func accumulationTwin() throws {
        let base = Fixtures.tempDir()
        for (name, extra) in [
            ("one", [String]()), ("two", ["--set", "grad_accum=2"]), ("drop1", ["--set", "dropout=0.1"]),
            ("drop2", ["--set", "dropout=0.1", "--set", "grad_accum=2"]),
        ] {
            let r = try Fixtures.runCLI(Self.tiny(steps: 20, out: base + "/" + name, extra: extra))
            #expect(r.status == 0, "\(r.err)")
        }
        let d = Self.maxRelativeDifference(Self.losses(base + "/one"), Self.losses(base + "/two"))
        let dd = Self.maxRelativeDifference(Self.losses(base + "/drop1"), Self.losses(base + "/drop2"))
        #expect(Self.losses(base + "/two").count == 20)
        #expect(d < 1e-5, "grad_accum: \(d)")
        #expect(dd < 1e-5, "grad_accum with dropout: \(dd)")
        // A batch that the parts do not divide is refused.
        let bad = try Fixtures.runCLI(Self.tiny(steps: 2, out: base + "/bad", extra: ["--set", "grad_accum=3"]))
        #expect(bad.status == 1 && bad.err.contains("not divisible"), "\(bad.err)")
    }

    @Test("2 ranks: bitwise the grad_accum = 2 twin, within 1e-4 of one process over 50 steps, identical replicas")
    func dataParallel() throws {
        guard Self.mpirun != nil else { print("skipped: mpirun not found (install openmpi-bin)"); return }
        let base = Fixtures.tempDir()
        #expect(try Fixtures.runCLI(Self.tiny(steps: 50, out: base + "/one")).status == 0)
        #expect(try Fixtures.runCLI(Self.tiny(steps: 50, out: base + "/twin", extra: ["--set", "grad_accum=2"])).status == 0)
        let r = try Self.mpi(2, Self.tiny(steps: 50, out: base + "/mpi"))
        #expect(r.status == 0, "\(r.err)")
        #expect(Self.losses(base + "/mpi") == Self.losses(base + "/twin"))
        #expect(Self.maxRelativeDifference(Self.losses(base + "/one"), Self.losses(base + "/mpi")) < 1e-4)
        let fin = try JSON.objectFile(base + "/mpi/final.json")
        #expect(fin["ranks"] as? Int == 2 && (fin["replica_checks"] as? Int ?? 0) >= 5)
        // Reproducible for a fixed N.
        let again = try Self.mpi(2, Self.tiny(steps: 50, out: base + "/mpi-again"))
        #expect(again.status == 0 && Self.losses(base + "/mpi-again") == Self.losses(base + "/mpi"))
    }

    @Test("resume under MPI is exact, and a run resumes across a change of the number of ranks")
    func resumeUnderMPI() throws {
        guard Self.mpirun != nil else { print("skipped: mpirun not found (install openmpi-bin)"); return }
        let base = Fixtures.tempDir()
        #expect(try Self.mpi(2, Self.tiny(steps: 40, out: base + "/whole")).status == 0)
        #expect(try Self.mpi(2, Self.tiny(steps: 20, out: base + "/parts")).status == 0)
        let r = try Self.mpi(2, ["train", "--resume", base + "/parts", "--steps", "40", "--quiet"])
        #expect(r.status == 0, "\(r.err)")
        #expect(Self.losses(base + "/parts") == Self.losses(base + "/whole"))
        // One process's run continued by two ranks, and back.
        #expect(try Fixtures.runCLI(Self.tiny(steps: 20, out: base + "/mixed")).status == 0)
        #expect(try Self.mpi(2, ["train", "--resume", base + "/mixed", "--steps", "30", "--quiet"]).status == 0)
        #expect(try Fixtures.runCLI(["train", "--resume", base + "/mixed", "--steps", "40", "--quiet"]).status == 0)
        #expect(Self.losses(base + "/mixed").count == 40)
    }

    @Test("a sweep under mpirun: each run once, by whichever rank is free (or by groups of ranks); the report at the end")
    func sweepUnderMPI() throws {
        guard Self.mpirun != nil else { print("skipped: mpirun not found (install openmpi-bin)"); return }
        let dir = Fixtures.tempDir()
        let r = try Self.mpi(2, ["sweep", "smoke", "--out", dir, "--quiet", "--set", "steps=10"])
        #expect(r.status == 0, "\(r.err)")
        let ids = try FileManager.default.contentsOfDirectory(atPath: dir + "/runs").sorted()
        #expect(ids == ["rmoe-s1", "smoe-s1"])
        for id in ids { #expect(Self.losses(dir + "/runs/" + id).count == 2) }  // log_every 5: no run trained twice
        #expect(FileManager.default.fileExists(atPath: dir + "/table.md"))
        // --ranks-per-run 2: both ranks train each run together (here expert parallel).
        let together = Fixtures.tempDir()
        let g = try Self.mpi(
            2, ["sweep", "smoke", "--out", together, "--quiet", "--set", "steps=10", "--ranks-per-run", "2", "--set", "expert_parallel=true"])
        #expect(g.status == 0, "\(g.err)")
        for id in ids {
            let fin = try JSON.objectFile(together + "/runs/\(id)/final.json")
            #expect(fin["ranks"] as? Int == 2 && fin["expert_parallel"] as? Bool == true)
            #expect(Self.losses(together + "/runs/" + id).count == 2)
        }
        let odd = try Self.mpi(2, ["sweep", "smoke", "--out", Fixtures.tempDir(), "--quiet", "--ranks-per-run", "3"])
        #expect(odd.status != 0 && odd.err.contains("groups of 3"), "\(odd.err)")
    }

    @Test("a rank killed mid-run ends the job with a non-zero status; the checkpoint stays loadable")
    func rankKilled() throws {
        guard let mpirun = Self.mpirun else { print("skipped: mpirun not found (install openmpi-bin)"); return }
        let dir = Fixtures.tempDir() + "/run"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: mpirun)
        p.arguments =
            ["-np", "2", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", Fixtures.executable]
            + Self.tiny(steps: 100_000, out: dir)
        p.environment = Fixtures.cliEnvironment
        let errPipe = Pipe()
        p.standardOutput = FileHandle.nullDevice
        p.standardError = errPipe
        try p.run()
        // Wait for a checkpoint, then kill rank 1.
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline && !FileManager.default.fileExists(atPath: dir + "/train-state.safetensors") { Thread.sleep(forTimeInterval: 0.1) }
        let ranks = Process()
        ranks.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        ranks.arguments = ["pkill", "-9", "-f", "-n", Fixtures.executable + " train --corpus synthetic --router rmoe --steps 100000"]
        try ranks.run(); ranks.waitUntilExit()
        p.waitUntilExit()
        let err = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationStatus != 0)
        #expect(err.contains("rank") || err.contains("process"), "\(err)")
        // The last checkpoint loads: a single process resumes the run (briefly).
        let r = try Fixtures.runCLI(["train", "--resume", dir, "--steps", "\(Self.losses(dir).count + 10)", "--quiet"])
        #expect(r.status == 0, "\(r.err)")
    }
}

@Suite("Slurm job arrays")
struct SlurmTests {
    @Test("scripts/slurm-sweep.sh: two array tasks fill one sweep folder; a resubmitted task finds its runs done")
    func jobArray() throws {
        let dir = Fixtures.tempDir()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        for task in ["1", "2", "2"] {
            let r = try Fixtures.runCLI(
                [root + "/scripts/slurm-sweep.sh", "smoke", "--out", dir, "--quiet", "--set", "steps=10"], binary: "/bin/bash",
                env: ["SLURM_ARRAY_TASK_ID": task, "SLURM_ARRAY_TASK_COUNT": "2", "SLURM_CPUS_PER_TASK": "1", "RMOE_BIN": Fixtures.executable])
            #expect(r.status == 0, "task \(task): \(r.err)")
        }
        let ids = try FileManager.default.contentsOfDirectory(atPath: dir + "/runs").sorted()
        #expect(ids == ["rmoe-s1", "smoe-s1"])
        for id in ids { #expect(FileManager.default.fileExists(atPath: dir + "/runs/\(id)/final.json")) }
        let cfg = try JSON.objectFile(dir + "/runs/smoe-s1/config.json")
        #expect(cfg["threads"] as? Int == 1)
        // Without the array variables the script says what it needs.
        let bare = try Fixtures.runCLI([root + "/scripts/slurm-sweep.sh", "smoke"], binary: "/bin/bash")
        #expect(bare.status != 0 && bare.err.contains("SLURM_ARRAY_TASK_ID"))
    }
}
