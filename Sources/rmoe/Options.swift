import ArgumentParser
import RMoECore
import RMoEData
import RMoERuns
import RMoEModel

// Options with a fixed set of values are parsed by ArgumentParser from the enums' raw values.
extension CorpusName: ExpressibleByArgument {}
extension Corpus.Split: ExpressibleByArgument {}

/// List options take ArgumentParser's array parsing (`--threads 1 2`) and, as before, commas (`--threads 1,2`).
func listItems(_ values: [String]) -> [String] {
    values.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}

/// Integers of a list option, each checked by `ok`; `option` and `example` make the error message.
func intList(_ values: [String], option: String, example: String, rule: String, _ ok: (Int) -> Bool) throws -> [Int] {
    let items = listItems(values)
    let ints = items.compactMap(Int.init)
    guard !ints.isEmpty, ints.count == items.count, ints.allSatisfy(ok) else {
        throw RMoEError("\(option) '\(values.joined(separator: " "))' is not a list of integers \(rule); write e.g. \(option) \(example)")
    }
    return ints
}

/// Options shared by every command that builds a run config.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "A JSON config file of fields (applied over the defaults).")
    var config: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Set any config field, e.g. --set lr=3e-4 (repeatable; applied last).", valueName: "key=value"))
    var assignments: [String] = []

    @Option(help: "Corpus.") var corpus: CorpusName?
    // (Threads: `rmoe train --threads N` or --set threads=N; the benchmarks take their own --threads list.)
    @Option(help: "Router name (dense = dense FFN).") var router: String?
    @Option(help: "Training steps.") var steps: Int?
    @Option(help: "Seed of initialisation and batch order.") var seed: Int?
    @Option(help: "Number of layers.") var layers: Int?
    @Option(name: .customLong("d-model"), help: "Model width.") var dModel: Int?
    @Option(help: "Attention heads.") var heads: Int?
    @Option(help: "Sequences per step.") var batch: Int?
    @Option(name: .customLong("seq-len"), help: "Tokens per sequence.") var seqLen: Int?
    @Flag(
        name: .customLong("expert-parallel"),
        help: "Under mpirun: each rank holds experts / ranks of every MoE layer's experts (= --set expert_parallel=true).")
    var expertParallel = false

    /// The named options as `key=value` assignments (they count as command-line settings).
    var namedAssignments: [String] {
        var a: [String] = []
        if let corpus { a.append("corpus=\(corpus.rawValue)") }
        if let router { a.append("router=\(router)") }
        if let steps { a.append("steps=\(steps)") }
        if let seed { a.append("seed=\(seed)") }
        if let layers { a.append("layers=\(layers)") }
        if let dModel { a.append("d_model=\(dModel)") }
        if let heads { a.append("heads=\(heads)") }
        if let batch { a.append("batch=\(batch)") }
        if let seqLen { a.append("seq_len=\(seqLen)") }
        if expertParallel { a.append("expert_parallel=true") }
        return a
    }

    /// Every command-line setting, in the order applied.
    var allAssignments: [String] { namedAssignments + assignments }

    /// defaults < file < command line.
    func resolve(base: RunConfig = RunConfig()) throws -> RunConfig {
        var c = base
        if let config { try c.apply(file: config) }
        for a in namedAssignments { try c.apply(assignment: a, origin: "option") }
        for a in assignments { try c.apply(assignment: a, origin: "--set") }
        try c.validate()
        return c
    }
}

struct DataOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Folder holding the corpora (searched before $RMOE_DATA and ./data).")
    var dataDir: String?
}

/// `--config` / `--set` for the commands that read a checkpoint (`eval`, `analyze`, `grads`): the
/// fields a checkpoint without rmoe metadata cannot imply (heads, top_k, router, router_bias,
/// expert, corpus, ...), or overrides of its own config; sizes come from the tensor shapes.
struct CheckpointOptions: ParsableArguments {
    @Option(name: .long, help: "A JSON config file of fields the checkpoint's metadata lacks or that override it.")
    var config: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Set a config field (repeatable), e.g. --set heads=4.", valueName: "key=value"))
    var assignments: [String] = []

    func resolve(_ file: SafeTensorsFile) throws -> RunConfig {
        try CheckpointConfig.resolve(file, configFile: config, assignments: assignments)
    }
}
