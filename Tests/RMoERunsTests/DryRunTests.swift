import Foundation
import RMoETestSupport
import Testing

/// `--dry-run`: the plan and its cost, nothing written.
@Suite("dry runs")
struct DryRunTests {
    @Test("train --dry-run and sweep --dry-run print runs, parameters, FLOPs, memory and time, and write nothing")
    func dryRun() throws {
        let dir = Fixtures.tempDir()
        let t = try Fixtures.runCLI(
            [
                "train", "--router", "rmoe", "--steps", "50", "--layers", "2", "--d-model", "32", "--heads", "2", "--seq-len", "16", "--batch", "4",
                "--threads", "1", "--out", dir + "/run", "--dry-run",
            ])
        #expect(t.status == 0, "\(t.err)")
        #expect(t.out.contains("| \(dir)/run | rmoe | 2 |") && t.out.contains("GFLOP/step") && t.out.contains("total: "), "\(t.out)")
        let s = try Fixtures.runCLI(["sweep", "smoke", "--out", dir + "/sweep", "--set", "steps=10", "--set", "threads=1", "--dry-run"])
        #expect(s.status == 0, "\(s.err)")
        #expect(s.out.contains("| smoe-s1 | smoe |") && s.out.contains("| rmoe-s1 | rmoe |"), "\(s.out)")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] == [])
    }
}
