import Foundation
import Testing
import RMoETestSupport
@testable import RMoECore
@testable import RMoERuns
@testable import RMoEReport

/// What a run does when its disk fills up, its folder is read-only, or it is killed before its
/// first checkpoint. The first two need a small tmpfs (root, or CAP_SYS_ADMIN); where mounting is
/// not allowed they print why and check nothing.
@Suite("Files: full disk, read-only folders, kill before the first checkpoint", .serialized)
struct FileSystemTests {
    /// A tiny run into `out`.
    static func train(_ out: String, steps: Int = 4, extra: [String] = []) -> [String] {
        [
            "train", "--corpus", "synthetic", "--steps", "\(steps)", "--layers", "1", "--d-model", "16", "--heads", "2", "--seq-len", "16",
            "--batch", "2", "--set", "experts=4", "--set", "top_k=2", "--set", "expert_width=8", "--set", "synthetic_train_tokens=5000",
            "--set", "synthetic_eval_tokens=1000", "--set", "checkpoint_every=2", "--set", "log_every=2", "--set", "eval_every=2",
            "--out", out, "--quiet",
        ] + extra
    }

    static func sh(_ args: [String]) -> (status: Int32, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let pipe = Pipe()
        p.standardError = pipe
        p.standardOutput = FileHandle.nullDevice
        do { try p.run() } catch { return (127, "\(error)") }
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    /// Mounts a tmpfs of `size` at a new folder; nil (with the reason printed) where that is not allowed.
    static func tmpfs(size: String, _ tag: String = #function) -> String? {
        let dir = Fixtures.tempDir(tag)
        let r = sh(["mount", "-t", "tmpfs", "-o", "size=\(size)", "tmpfs", dir])
        if r.status != 0 {
            print("skipped: cannot mount a tmpfs here (\(r.err.trimmingCharacters(in: .whitespacesAndNewlines))); run the tests as root to check this")
            return nil
        }
        return dir
    }

    static func unmount(_ dir: String) { _ = sh(["umount", dir]) }

    static func leftovers(_ dir: String) -> [String] {
        (FileManager.default.enumerator(atPath: dir)?.compactMap { $0 as? String } ?? []).filter { $0.contains(".tmp-") }
    }

    @Test("a full disk: exit 1, one line naming the OS reason, the last checkpoint intact, no temporaries")
    func diskFull() throws {
        guard let fs = Self.tmpfs(size: "4m") else { return }
        defer { Self.unmount(fs) }
        let run = fs + "/run"
        let first = try Fixtures.runCLI(Self.train(run))
        #expect(first.status == 0, "\(first.err)")
        let model = try Data(contentsOf: URL(fileURLWithPath: run + "/model.safetensors"))
        // Fill the disk, then extend the run: its next checkpoint cannot be written.
        _ = Self.sh(["dd", "if=/dev/zero", "of=\(fs)/filler", "bs=64k"])
        let r = try Fixtures.runCLI(["train", "--resume", run, "--steps", "8", "--quiet"])
        #expect(r.status == 1)
        #expect(r.err.split(separator: "\n").count == 1 && r.err.contains("No space left on device"), "\(r.err)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: run + "/model.safetensors")) == model)
        #expect(Self.leftovers(fs).isEmpty, "\(Self.leftovers(fs))")
        // With room again, the run resumes and finishes.
        try FileManager.default.removeItem(atPath: fs + "/filler")
        let again = try Fixtures.runCLI(["train", "--resume", run, "--steps", "8", "--quiet"])
        #expect(again.status == 0, "\(again.err)")
    }

    @Test("a read-only folder: a new run and a resume both exit 1 with one line; nothing changes")
    func readOnly() throws {
        guard let fs = Self.tmpfs(size: "4m") else { return }
        defer { Self.unmount(fs) }
        let run = fs + "/run"
        #expect(try Fixtures.runCLI(Self.train(run)).status == 0)
        let before = try FileManager.default.contentsOfDirectory(atPath: run).sorted()
        guard Self.sh(["mount", "-o", "remount,ro", fs]).status == 0 else {
            print("skipped: cannot remount the tmpfs read-only")
            return
        }
        for args in [Self.train(fs + "/new"), ["train", "--resume", run, "--steps", "8", "--quiet"]] {
            let r = try Fixtures.runCLI(args)
            #expect(r.status == 1, "\(args): \(r.err)")
            #expect(r.err.split(separator: "\n").count == 1 && r.err.contains("Read-only file system"), "\(r.err)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: run).sorted() == before)
        _ = Self.sh(["mount", "-o", "remount,rw", fs])
    }

    @Test("killed before its first checkpoint, the run restarts at step 0 with no duplicated metrics line")
    func killBeforeFirstCheckpoint() throws {
        let base = Fixtures.tempDir()
        let args = Self.train(base + "/ref", steps: 300, extra: ["--set", "checkpoint_every=300", "--set", "eval_every=0"])
        #expect(try Fixtures.runCLI(args).status == 0)
        let run = base + "/killed"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Fixtures.executable)
        p.arguments = args.map { $0 == base + "/ref" ? run : $0 }
        p.environment = Fixtures.cliEnvironment
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Wait for some metrics lines, then kill it (checkpoint_every = 300: none written yet).
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && MetricsLog.read(run + "/metrics.jsonl").count < 3 { Thread.sleep(forTimeInterval: 0.02) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(!FileManager.default.fileExists(atPath: run + "/train-state.safetensors"))
        #expect(!MetricsLog.read(run + "/metrics.jsonl").isEmpty)
        let r = try Fixtures.runCLI(["train", "--resume", run, "--quiet"])
        #expect(r.status == 0, "\(r.err)")
        #expect(Fixtures.trainLosses(run + "/metrics.jsonl") == Fixtures.trainLosses(base + "/ref/metrics.jsonl"))
    }
}
