import Foundation
import RMoETestSupport
import Testing

@testable import RMoECore
@testable import RMoEModel
@testable import RMoERuns

/// Expert parallelism over Open MPI (`mpirun -np 2 rmoe train --expert-parallel`): each rank holds
/// half of every layer's experts; the results must be those of one process, the checkpoints whole.
@Suite("Expert parallelism: mpirun -np 2 --expert-parallel", .serialized)
struct ExpertParallelTests {
    typealias D = DistributedTests

    @Test("2 ranks: within 1e-4 of one process over 50 steps, reproducible; the checkpoint evaluates alike in one process; half the experts per rank")
    func equivalence() throws {
        guard D.mpirun != nil else { print("skipped: mpirun not found (install openmpi-bin)"); return }
        let base = Fixtures.tempDir()
        #expect(try Fixtures.runCLI(D.tiny(steps: 50, out: base + "/one")).status == 0)
        let r = try D.mpi(2, D.tiny(steps: 50, out: base + "/ep", extra: ["--expert-parallel"]))
        #expect(r.status == 0, "\(r.err)")
        let one = D.losses(base + "/one"), ep = D.losses(base + "/ep")
        #expect(ep.count == 50)
        #expect(D.maxRelativeDifference(one, ep) < 1e-4, "\(D.maxRelativeDifference(one, ep))")
        let again = try D.mpi(2, D.tiny(steps: 50, out: base + "/ep-again", extra: ["--expert-parallel"]))
        #expect(again.status == 0 && D.losses(base + "/ep-again") == ep)
        // Whole tensors in the checkpoint: one process evaluates it to the distributed run's loss.
        let fin = try JSON.objectFile(base + "/ep/final.json"), finOne = try JSON.objectFile(base + "/one/final.json")
        #expect(fin["expert_parallel"] as? Bool == true && fin["trainable_params"] as? Int == finOne["trainable_params"] as? Int)
        let e = try Fixtures.runCLI(["eval", "--checkpoint", base + "/ep/model.safetensors", "--split", "valid", "--windows", "16", "--threads", "1"])
        #expect(e.status == 0, "\(e.err)")
        let line = e.out.split(separator: "\n").last.map { Array($0.utf8) } ?? []
        let evalLoss = (try? JSON.object(line, origin: "eval output"))?["loss"] as? Double
        let validLoss = fin["valid_loss"] as? Double
        #expect(
            evalLoss != nil && validLoss != nil && abs(evalLoss! - validLoss!) < 1e-6 * abs(validLoss!),
            "eval \(String(describing: evalLoss)) vs run \(String(describing: validLoss))")
        // Per-rank state: the experts' share halves.
        var c = ModelConfig()
        c.dModel = 64; c.layers = 4; c.heads = 2; c.experts = 8; c.topK = 2; c.expertWidth = 64; c.router = "smoe"
        let experts = try TensorLayout(c.parameterSpecs()).parameterCount { $0.name.contains(".experts.") }
        let shard = try TensorLayout(c.parameterSpecs(shard: ExpertShard(index: 1, count: 2))).parameterCount { $0.name.contains(".experts.") }
        #expect(shard * 2 == experts)
        let stateOne = finOne["rank_state_bytes"] as? Int ?? 0, stateEP = fin["rank_state_bytes"] as? Int ?? 0
        #expect(stateOne - stateEP >= 16 * experts / 2 - 16 * 64, "\(stateOne) vs \(stateEP)")
    }

    @Test("every router and both expert kinds train under expert parallelism as in one process")
    func everyRouter() throws {
        guard D.mpirun != nil else { print("skipped: mpirun not found (install openmpi-bin)"); return }
        let base = Fixtures.tempDir()
        var cases = Routers.names.filter { $0 != "dense" }.map { ($0, [String]()) }
        cases.append(("smoe", ["--set", "expert=relu"]))
        for (router, extra) in cases {
            let args =
                [
                    "train", "--corpus", "synthetic", "--router", router, "--steps", "4", "--layers", "2", "--d-model", "32", "--heads", "2",
                    "--seq-len", "16", "--batch", "4", "--set", "experts=4", "--set", "top_k=2", "--set", "expert_width=16",
                    "--set", "synthetic_train_tokens=4000", "--set", "synthetic_eval_tokens=1000", "--set", "log_every=1", "--set", "eval_every=0",
                    "--set", "final_eval_windows=4", "--threads", "1", "--quiet",
                ] + extra
            let name = router + (extra.isEmpty ? "" : "-relu")
            let one = try Fixtures.runCLI(args + ["--out", base + "/one-" + name])
            let ep = try D.mpi(2, args + ["--out", base + "/ep-" + name, "--expert-parallel"])
            #expect(one.status == 0 && ep.status == 0, "\(name): \(one.err) \(ep.err)")
            let d = D.maxRelativeDifference(D.losses(base + "/one-" + name), D.losses(base + "/ep-" + name))
            #expect(D.losses(base + "/ep-" + name).count == 4 && d < 1e-5, "\(name): \(d)")
        }
    }

    @Test("resume under expert parallelism is exact, and a run moves between one process and expert-parallel ranks")
    func resume() throws {
        guard D.mpirun != nil else { print("skipped: mpirun not found (install openmpi-bin)"); return }
        let base = Fixtures.tempDir()
        let ep = ["--expert-parallel"]
        #expect(try D.mpi(2, D.tiny(steps: 30, out: base + "/whole", extra: ep)).status == 0)
        #expect(try D.mpi(2, D.tiny(steps: 10, out: base + "/parts", extra: ep)).status == 0)
        let r = try D.mpi(2, ["train", "--resume", base + "/parts", "--steps", "30", "--quiet"])
        #expect(r.status == 0, "\(r.err)")
        #expect(D.losses(base + "/parts") == D.losses(base + "/whole"))
        // One process -> expert parallel -> data parallel -> one process.
        #expect(try Fixtures.runCLI(D.tiny(steps: 10, out: base + "/mixed")).status == 0)
        #expect(try D.mpi(2, ["train", "--resume", base + "/mixed", "--steps", "20", "--set", "expert_parallel=true", "--quiet"]).status == 0)
        #expect(try D.mpi(2, ["train", "--resume", base + "/mixed", "--steps", "30", "--set", "expert_parallel=false", "--quiet"]).status == 0)
        let last = try Fixtures.runCLI(["train", "--resume", base + "/mixed", "--steps", "40", "--quiet"])
        #expect(last.status == 0, "\(last.err)")
        let mixed = D.losses(base + "/mixed")
        #expect(mixed.count == 40)
        #expect(D.maxRelativeDifference(Array(mixed.prefix(30)), D.losses(base + "/whole")) < 1e-4)
        // Experts that do not split over the ranks are refused in one line.
        let bad = try D.mpi(2, D.tiny(steps: 2, out: base + "/bad", extra: ep + ["--set", "experts=3", "--set", "top_k=1"]))
        #expect(bad.status != 0 && bad.err.contains("cannot be split over 2 ranks"), "\(bad.err)")
    }
}
