import Foundation
import RMoECore
import RMoEModel

/// What the trainer does differently over several ranks (docs/architecture.md section 10).
///
/// Data parallelism: every rank holds the whole model; gradients are summed in rank order.
/// Expert parallelism (`expert_parallel`): every rank holds E / N experts of every MoE layer and the
/// rest whole; the replicated tensors' gradients are summed in rank order, each expert's gradient
/// is complete on its own rank (its rows came from every rank), the gradient norm adds every
/// rank's expert part, and checkpoints hold whole tensors: rank 0 gathers the shards to write them,
/// and every rank takes its slice when loading. Every function here is collective: all ranks call
/// it at the same point.
extension Trainer {
    /// Sums the gradients over the ranks in rank order: the whole slab under data parallelism, the
    /// replicated tensors (packed into one buffer) under expert parallelism.
    func reduceGradients() throws {
        let c0 = System.now()
        defer { commSeconds += System.now() - c0 }
        guard let stage = replicatedStage?.baseAddress else {
            try comm.sumInRankOrder(model.grads.base, count: model.layout.totalCount)
            return
        }
        var at = 0
        for r in replicated { (stage + at).update(from: model.grads.base + r.lowerBound, count: r.count); at += r.count }
        try comm.sumInRankOrder(stage, count: at)
        at = 0
        for r in replicated { (model.grads.base + r.lowerBound).update(from: stage + at, count: r.count); at += r.count }
    }

    /// Clips to `grad_clip` by the global gradient norm; returns the norm before clipping. Under
    /// expert parallelism the norm adds the replicated tensors' squares (the same on every rank)
    /// and every rank's expert squares (summed in rank order).
    func clipGradients() throws -> Double {
        guard model.layout.isSharded else { return AdamW.clip(model.grads, maxNorm: config.gradClip) }
        let whole = AdamW.sumOfSquares(model.grads) { $0.shard == nil }
        let mine = AdamW.sumOfSquares(model.grads) { $0.shard != nil }
        let c0 = System.now()
        let experts = try comm.sumInRankOrder([mine])[0]
        commSeconds += System.now() - c0
        let norm = (whole + experts).squareRoot()
        AdamW.clip(model.grads, norm: norm, maxNorm: config.gradClip)
        return norm
    }

    /// Checks that every rank holds bitwise the same replicated parameters (a 64-bit FNV-1a hash,
    /// gathered): data parallelism relies on it; a difference stops the run.
    func verifyReplicas() throws {
        guard comm.isDistributed else { return }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        model.params.base.withMemoryRebound(to: UInt32.self, capacity: model.layout.totalCount) { p in
            for r in replicated { for i in r { h = (h ^ UInt64(p[i])) &* 0x0000_0100_0000_01b3 } }
        }
        // Two exact halves, as doubles.
        let all = try comm.gather([Double(h >> 32), Double(h & 0xffff_ffff)])
        if let bad = all.firstIndex(where: { $0 != all[0] }) {
            throw RMoEError(
                "rank \(bad)'s parameters differ from rank 0's at step \(step): the ranks ran different code or data (same binary and corpus on every node?); the run stops rather than train replicas apart"
            )
        }
        replicaChecks += 1
    }

    /// Throws `TrainingDiverged` if any parameter is non-finite (checked before every save; under
    /// expert parallelism every rank's experts are checked).
    func ensureFiniteParameters() throws {
        var bad = model.firstNonFiniteTensor()
        if model.layout.isSharded {
            let flags = try comm.gather([bad == nil ? 0 : 1])
            if bad == nil, let r = flags.firstIndex(where: { $0[0] != 0 }) { bad = "an expert tensor on rank \(r)" }
        }
        if let name = bad {
            throw TrainingDiverged(step: step, what: "parameter tensor \(name) is non-finite", lastCheckpoint: lastCheckpointStep)
        }
    }

    /// The slabs as whole tensors on rank 0 (expert shards gathered in rank order = expert
    /// order), nil on the other ranks.
    func wholeSlabs(_ slabs: [Slab<Float>]) throws -> [Slab<Float>]? {
        guard model.layout.isSharded else { return comm.isRoot ? slabs : nil }
        let full = comm.isRoot ? try TensorLayout(config.model.parameterSpecs()) : nil
        var out: [Slab<Float>] = []
        for slab in slabs {
            let whole = full.map { Slab<Float>($0) }
            for (i, spec) in slab.layout.specs.enumerated() {
                let dst = whole?.pointer(spec.name)
                if spec.shard != nil {
                    try comm.gatherToRoot(slab.pointer(at: i), count: spec.count, into: dst)
                } else if let dst {
                    dst.update(from: slab.pointer(at: i), count: spec.count)
                }
            }
            if let whole { out.append(whole) }
        }
        return comm.isRoot ? out : nil
    }

    /// Writes the parameters to `path` (rank 0; nil elsewhere) as whole tensors.
    func saveWeights(to path: String?, metadata: [String: String]) throws {
        guard let whole = try wholeSlabs([model.params]), let path else { return }
        try Checkpoint.saveModel(whole[0], to: path, metadata: metadata)
    }

    /// The train state and the weights, on rank 0, after the replica and finiteness checks.
    func saveCheckpoint() throws {
        try verifyReplicas()
        try ensureFiniteParameters()
        let whole = try wholeSlabs([model.params, optimizer.expAvg, optimizer.expAvgSq])
        lastCheckpointStep = step
        guard let whole, let files else { return }
        let md = metadata([
            "step": String(step), "train_seconds": String(trainSeconds),
            "router_seconds": String(routerSeconds), "step_seconds": String(stepSeconds), "best_valid_loss": String(bestValid),
            "best_step": String(bestStep),
        ])
        try Checkpoint.saveTrainState(
            params: whole[0], expAvg: whole[1], expAvgSq: whole[2], updates: optimizer.updates, to: files.trainState, metadata: md)
        try Checkpoint.saveModel(whole[0], to: files.model, metadata: md)
    }

    /// Rank 0's file at `path`, parsed on every rank (its bytes are broadcast, so the other ranks
    /// need no shared file system).
    func readOnEveryRank(_ path: String?) throws -> SafeTensorsFile {
        let bytes = try comm.broadcast(comm.isRoot ? try SafeTensorsFile.readBytes(path: path!) : [])
        return try SafeTensorsFile.parse(bytes: bytes, source: comm.isRoot ? path! : "rank 0's \(path ?? "checkpoint")")
    }

    /// Loads the best-validation weights for the final evaluation when the run kept them and they
    /// are not the last ones; every rank takes them (its slice of the experts).
    func useBestWeights() throws -> Bool {
        var use = config.selectBest && bestStep > 0 && bestStep != step && (files.map { $0.exists($0.best) } ?? false)
        if comm.isDistributed { use = try comm.broadcast(use ? "1" : "") == "1" }
        guard use else { return false }
        try Checkpoint.load(model.params, from: try readOnEveryRank(files?.best))
        return true
    }

    /// After `resume` on rank 0: every rank takes rank 0's parameters, AdamW moments and counters
    /// (under expert parallelism: its slice of the experts from rank 0's train state).
    public func syncFromRoot() throws {
        guard comm.isDistributed else { return }
        if model.layout.isSharded {
            let resumed = try comm.broadcast(step > 0 ? "1" : "") == "1"
            if resumed {
                let state = try readOnEveryRank(files?.trainState)
                if !comm.isRoot { try Checkpoint.loadTrainState(params: model.params, optimizer: optimizer, from: state) }
            }
        } else {
            let bytes = model.layout.totalCount * MemoryLayout<Float>.stride
            for slab in [model.params, optimizer.expAvg, optimizer.expAvgSq] { try comm.broadcast(UnsafeMutableRawPointer(slab.base), bytes: bytes) }
        }
        var counters: [Int64] = [
            Int64(step), Int64(optimizer.updates), Int64(bestStep), Int64(bitPattern: bestValid.bitPattern), Int64(lastCheckpointStep),
        ]
        try counters.withUnsafeMutableBytes { try comm.broadcast($0.baseAddress!, bytes: $0.count) }
        step = Int(counters[0]); optimizer.updates = Int(counters[1]); bestStep = Int(counters[2])
        bestValid = Double(bitPattern: UInt64(bitPattern: counters[3])); lastCheckpointStep = Int(counters[4])
    }
}
