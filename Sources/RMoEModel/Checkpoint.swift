import RMoECore

/// Checkpoints as safetensors (docs/architecture.md section 4): F32 tensors under the parameter names,
/// the run's config as JSON in `__metadata__["config"]`. The optimizer state (both AdamW moments
/// as `exp_avg.<name>` / `exp_avg_sq.<name>`, the parameters again, and the step) goes into a
/// second file, `train-state.safetensors`, which alone is enough to resume exactly: it is written
/// in one atomic rename, so it is never out of step with itself.
public enum Checkpoint {
    public static let format = "rmoe-1"

    /// Adds every tensor of `slab` under `prefix + name` (converted to F32).
    static func add<S: KernelScalar>(_ slab: Slab<S>, prefix: String = "", to w: inout SafeTensorsWriter) {
        for (i, spec) in slab.layout.specs.enumerated() {
            let b = slab.buffer(at: i)
            if S.self == Float.self {
                b.withMemoryRebound(to: Float.self) { w.add(name: prefix + spec.name, shape: spec.shape, floats: UnsafeBufferPointer($0)) }
            } else {
                w.add(name: prefix + spec.name, shape: spec.shape, floats: b.map { Float($0) })
            }
        }
    }

    /// Writes the model's parameters (atomically).
    public static func saveModel<S: KernelScalar>(_ params: Slab<S>, to path: String, metadata: [String: String]) throws {
        var w = SafeTensorsWriter(metadata: metadata.merging(["format": format]) { a, _ in a })
        add(params, to: &w)
        try w.write(to: path)
    }

    /// Writes parameters and AdamW moments (atomically).
    public static func saveTrainState<S: KernelScalar>(
        params: Slab<S>, optimizer: AdamW<S>, to path: String,
        metadata: [String: String]
    ) throws {
        try saveTrainState(
            params: params, expAvg: optimizer.expAvg, expAvgSq: optimizer.expAvgSq, updates: optimizer.updates, to: path, metadata: metadata)
    }

    /// The same from the slabs themselves (e.g. whole tensors gathered from expert shards).
    public static func saveTrainState<S: KernelScalar>(
        params: Slab<S>, expAvg: Slab<S>, expAvgSq: Slab<S>, updates: Int, to path: String, metadata: [String: String]
    ) throws {
        var md = metadata
        md["format"] = format
        md["optimizer_updates"] = String(updates)
        var w = SafeTensorsWriter(metadata: md)
        add(params, to: &w)
        add(expAvg, prefix: "exp_avg.", to: &w)
        add(expAvgSq, prefix: "exp_avg_sq.", to: &w)
        try w.write(to: path)
    }

    /// Fills `slab` from the file's tensors named `prefix + name`. Every tensor of the layout must be
    /// present with its whole shape (an expert-sharded slab takes its slice of the experts); with
    /// `strict`, the file may hold nothing else.
    public static func load<S: KernelScalar>(
        _ slab: Slab<S>, from file: SafeTensorsFile, prefix: String = "",
        strict: Bool = true
    ) throws {
        let what = "checkpoint \(file.source)"
        for (i, spec) in slab.layout.specs.enumerated() {
            let name = prefix + spec.name
            guard let info = file.info(name) else {
                throw RMoEError(
                    "\(what) has no tensor '\(name)'; it was written for another model or router: check the config (layers, router, router_bias, expert) against the checkpoint"
                )
            }
            guard info.shape == spec.fullShape else {
                throw RMoEError(
                    "\(what): tensor '\(name)' has shape \(info.shape) but the config needs \(spec.fullShape); fix the config (d_model, experts, expert_width, router_dim, ...) to match the checkpoint"
                )
            }
            // A checkpoint holds whole tensors; an expert shard takes its slice.
            let values = try file.floats(name)
            let first = (spec.shard?.index ?? 0) * spec.count
            let dst = slab.pointer(at: i)
            for j in 0..<spec.count { dst[j] = S(values[first + j]) }
        }
        if strict {
            let known = Set(slab.layout.specs.map { prefix + $0.name })
            if let extra = file.names.first(where: { $0.hasPrefix(prefix) && !known.contains($0) && (prefix.isEmpty ? !$0.hasPrefix("exp_avg") : true) }) {
                throw RMoEError(
                    "\(what) holds tensor '\(extra)' that this model does not have; the checkpoint was written for another config (router, router_bias, expert or layers)"
                )
            }
        }
    }

    /// Restores parameters and AdamW moments from a train-state file.
    /// Every tensor of the model must be there with its shape, and nothing else may be.
    public static func loadTrainState<S: KernelScalar>(params: Slab<S>, optimizer: AdamW<S>, from file: SafeTensorsFile) throws {
        try load(params, from: file, strict: true)
        try load(optimizer.expAvg, from: file, prefix: "exp_avg.", strict: true)
        try load(optimizer.expAvgSq, from: file, prefix: "exp_avg_sq.", strict: true)
        let known = Set(params.layout.specs.flatMap { [$0.name, "exp_avg." + $0.name, "exp_avg_sq." + $0.name] })
        if let extra = file.names.first(where: { !known.contains($0) }) {
            throw RMoEError(
                "train state \(file.source) holds tensor '\(extra)' that this model does not have; it was written for another config (router, layers, experts, ...)"
            )
        }
        guard let u = file.metadata["optimizer_updates"].flatMap(Int.init), u >= 0 else {
            throw RMoEError(
                "train state \(file.source) has no valid step counter (optimizer_updates = \(file.metadata["optimizer_updates"] ?? "missing")); the run folder is damaged: start the run again"
            )
        }
        optimizer.updates = u
    }
}
