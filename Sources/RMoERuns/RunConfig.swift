import Foundation
import RMoECore
import RMoEData
import RMoEModel

/// Everything a run depends on, with defaults. Researchers change it with a config file and
/// `--set key=value`; precedence is defaults < file < command line. The field table below is the
/// only list of field names: it parses, validates, prints and saves them.
public struct RunConfig: Sendable, Equatable {
    public var model = ModelConfig()
    /// Corpus name (see `rmoe corpus list`).
    public var corpus = CorpusName.synthetic
    public var steps = 1000
    public var seed = 1
    /// Threads for all parallel work; 0 = every core.
    public var threads = 0
    // Optimizer and schedule.
    public var lr = 1e-3
    public var lrMin = 1e-4
    public var schedule = Schedule.cosine
    public var warmup = 100
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var adamEps = 1e-8
    public var weightDecay = 0.0
    public var gradClip = 1.0
    /// Micro-batches per step: each step's batch goes through the model in `grad_accum` parts whose
    /// gradients are summed (the single-process twin of that many data-parallel ranks).
    public var gradAccum = 1
    /// Under `mpirun -np N`: each rank holds E / N experts of every MoE layer and tokens travel to
    /// their experts' ranks (expert parallelism); otherwise every rank holds every expert (data
    /// parallelism). No effect in a single process.
    public var expertParallel = false
    /// Learning-rate multiplier of the router parameters (every `layers.*.moe.router.*` tensor and
    /// the shared `router_rnn.*`): they train at `router_lr_scale` times the scheduled rate.
    public var routerLRScale = 1.0
    /// Horizon of the cosine schedule in steps (0 = `steps`). Extending a finished cosine run with a
    /// larger `--steps` keeps its original horizon here, so the learning rate stays at `lr_min`.
    public var scheduleSteps = 0
    // Logging, evaluation and checkpoints.
    public var logEvery = 10
    public var evalEvery = 200
    public var evalBatches = 16
    public var checkpointEvery = 200
    /// Steps whose weights are kept as `model-step<N>.safetensors` (analyses over training).
    public var keepSteps = StepList()
    /// Evaluate the whole valid and test splits at the end.
    public var finalEval = true
    /// Cap on windows per split in the final evaluation (0 = the whole split).
    public var finalEvalWindows = 0
    /// Keep the best-validation weights (best.safetensors) and evaluate those at the end.
    public var selectBest = true
    // Synthetic corpus.
    public var synthetic = SyntheticSource.Parameters()

    public init() {}

    /// Threads actually used.
    public var resolvedThreads: Int { threads > 0 ? threads : System.coreCount }
}

/// One named config field: how to read it from text or JSON, how to write it, and its help line.
public struct ConfigField: Sendable {
    public let name: String
    public let help: String
    public let type: String
    let read: @Sendable (RunConfig) -> JSONValue
    let write: @Sendable (inout RunConfig, JSONValue, String) throws -> Void
}

extension RunConfig {
    static func field<V: ConfigValue>(
        _ name: String, _ kp: WritableKeyPath<RunConfig, V> & Sendable, _ help: String,
        check: (@Sendable (V) -> String?)? = nil
    ) -> ConfigField {
        let help = V.choices.map { help + " (\($0))" } ?? help
        return ConfigField(
            name: name, help: help, type: V.typeName,
            read: { $0[keyPath: kp].json },
            write: { cfg, value, origin in
                guard let v = V(json: value) else {
                    throw RMoEError("\(origin): \(name) = \(value.plainText) is not a valid \(V.typeName); \(help)")
                }
                if let problem = check?(v) {
                    throw RMoEError("\(origin): \(name) = \(value.plainText): \(problem)")
                }
                cfg[keyPath: kp] = v
            })
    }

    static let positive: @Sendable (Int) -> String? = { $0 > 0 ? nil : "must be positive" }
    static let nonNegative: @Sendable (Int) -> String? = { $0 >= 0 ? nil : "must be zero or positive" }
    static let positiveReal: @Sendable (Double) -> String? = { $0 > 0 && $0.isFinite ? nil : "must be a positive number" }
    static let nonNegativeReal: @Sendable (Double) -> String? = { $0 >= 0 && $0.isFinite ? nil : "must be zero or a positive number" }
    static let unitInterval: @Sendable (Double) -> String? = { $0 >= 0 && $0 < 1 ? nil : "must be in [0, 1)" }
    /// An integer in `range` (sizes and counts get upper bounds, so no product of them overflows).
    static func within(_ range: ClosedRange<Int>) -> @Sendable (Int) -> String? {
        { range.contains($0) ? nil : "must be between \(range.lowerBound) and \(range.upperBound)" }
    }
    static let maxSteps = 1 << 40

    /// Every field, in the order configs are printed and saved.
    public static let fields: [ConfigField] =
        baseFields.prefix(while: { $0.name != "dropout" })
        + Routers.fields.map(routerField) + baseFields.drop(while: { $0.name != "dropout" })

    /// A router family's field (declared in its file) as a field of the table.
    static func routerField(_ f: AnyRouterField) -> ConfigField {
        ConfigField(
            name: f.name, help: f.help, type: f.typeName,
            read: { $0.model.routerOptions.values[f.name] ?? f.defaultValue },
            write: { cfg, value, origin in
                switch f.parse(value) {
                case .success(let v): cfg.model.routerOptions.set(f.name, v, default: f.defaultValue)
                case .failure(let problem): throw RMoEError("\(origin): \(f.name) = \(value.plainText) \(problem); \(f.help)")
                }
            })
    }

    /// The fields every run has, in the order configs are printed; the routers' own fields go
    /// before `dropout`.
    static let baseFields: [ConfigField] = [
        // Model (docs/architecture.md section 2).
        field("vocab", \.model.vocab, "vocabulary size; always taken from the corpus when training", check: positive),
        field("d_model", \.model.dModel, "model width d", check: positive),
        field("layers", \.model.layers, "number of layers L", check: positive),
        field("heads", \.model.heads, "attention heads", check: positive),
        field("experts", \.model.experts, "experts per layer E", check: positive),
        field("top_k", \.model.topK, "experts per token k", check: positive),
        field("expert_width", \.model.expertWidth, "expert hidden width f", check: positive),
        field("ffn_width", \.model.ffnWidth, "dense FFN hidden width; 0 = top_k * expert_width", check: nonNegative),
        field("expert", \.model.expert, "expert kind: SwiGLU, or ReLU with biases (the enwik8 code's)"),
        field("router", \.model.router, "router name (`rmoe routers` lists them); dense = a dense SwiGLU FFN") { v in
            v == "dense" || Routers.family(of: v) != nil ? nil : "unknown router; use one of: dense, \(Routers.names.joined(separator: ", "))"
        },
        field("router_bias", \.model.routerBias, "biases in router linear maps"),
        field("router_init", \.model.routerInit, "router init: PyTorch Linear/GRU default U(±1/sqrt(fan_in)), or N(0, init_std) with zero biases"),
        field("dropout", \.model.dropout, "residual dropout on every attention and FFN/MoE output (training only; GPT-2's resid_pdrop)") { v in
            v >= 0 && v < 1 ? nil : "must be in [0, 1)"
        },
        field("expert_init", \.model.expertInit, "expert init: N(0, init_std); fastmoe U(±1/sqrt(out*in)); torch U(±1/sqrt(in)) per expert"),
        field("balance_coef", \.model.balanceCoef, "weight of the summed per-layer balance loss", check: nonNegativeReal),
        field("rope_theta", \.model.ropeTheta, "RoPE base", check: positiveReal),
        field("norm_eps", \.model.normEps, "RMSNorm epsilon", check: positiveReal),
        field("init_std", \.model.initStd, "std of the normal init of every matrix", check: nonNegativeReal),
        field("seq_len", \.model.seqLen, "tokens per sequence", check: positive),
        field("batch", \.model.batch, "sequences per step", check: positive),
        // Run.
        field("corpus", \.corpus, "corpus (`rmoe corpus list` says which are found)"),
        field("steps", \.steps, "training steps", check: within(1...maxSteps)),
        field("seed", \.seed, "seed of initialisation and batch order", check: nonNegative),
        field("threads", \.threads, "threads for all parallel work; 0 = every core", check: within(0...4096)),
        // Optimizer.
        field("lr", \.lr, "peak learning rate", check: positiveReal),
        field("lr_min", \.lrMin, "final learning rate of the cosine schedule", check: nonNegativeReal),
        field("schedule", \.schedule, "learning-rate schedule after warm-up"),
        field("warmup", \.warmup, "linear warm-up steps", check: within(0...maxSteps)),
        field("beta1", \.beta1, "AdamW beta1", check: unitInterval),
        field("beta2", \.beta2, "AdamW beta2", check: unitInterval),
        field("adam_eps", \.adamEps, "AdamW epsilon", check: positiveReal),
        field("weight_decay", \.weightDecay, "decoupled weight decay (not on norms, biases, temperatures)", check: nonNegativeReal),
        field("grad_clip", \.gradClip, "global gradient-norm clip; 0 = off", check: nonNegativeReal),
        field(
            "grad_accum", \.gradAccum, "micro-batches per step (batch must divide by ranks x grad_accum); gradients summed in order", check: within(1...4096)),
        field(
            "expert_parallel", \.expertParallel,
            "under mpirun: each rank holds experts / ranks experts of every MoE layer; tokens travel to them (else data parallel)"),
        field(
            "router_lr_scale", \.routerLRScale, "learning-rate multiplier of the router parameters (layers.*.moe.router.*, router_rnn.*)", check: positiveReal),
        field(
            "schedule_steps", \.scheduleSteps, "horizon of the cosine schedule; 0 = steps (an extended run keeps its first horizon)",
            check: within(0...maxSteps)),
        // Logging and evaluation.
        field("log_every", \.logEvery, "steps per metrics line (mean train loss over them)", check: within(1...maxSteps)),
        field("eval_every", \.evalEvery, "steps between validation evaluations; 0 = never", check: within(0...maxSteps)),
        field("eval_batches", \.evalBatches, "batches of the validation split used during training; 0 = the whole split", check: within(0...(1 << 24))),
        field("checkpoint_every", \.checkpointEvery, "steps between checkpoints (a multiple of log_every)", check: within(1...maxSteps)),
        field("keep_steps", \.keepSteps, "steps whose weights are kept as model-step<N>.safetensors, e.g. 1000,3000,6000 (empty = none)"),
        field("final_eval", \.finalEval, "evaluate the whole valid and test splits at the end"),
        field("select_best", \.selectBest, "keep the best-validation weights (best.safetensors) and report those"),
        field("final_eval_windows", \.finalEvalWindows, "cap on sequences per split in the final evaluation; 0 = whole split", check: within(0...maxSteps)),
        // Synthetic corpus.
        field("synthetic_seed", \.synthetic.seedInt, "seed of the synthetic source (shared by all runs)", check: nonNegative),
        field("synthetic_states", \.synthetic.states, "hidden states of the synthetic source", check: within(1...(1 << 20))),
        field("synthetic_vocab", \.synthetic.vocab, "tokens of the synthetic source", check: within(2...(1 << 24))),
        field("synthetic_branching", \.synthetic.branching, "successor states per state", check: within(1...(1 << 20))),
        field("synthetic_emission_support", \.synthetic.emissionSupport, "tokens each state emits", check: within(1...(1 << 24))),
        field("synthetic_train_tokens", \.synthetic.trainTokens, "tokens in the synthetic train split", check: within(1...2_000_000_000)),
        field("synthetic_eval_tokens", \.synthetic.evalTokens, "tokens in each synthetic held-out split", check: within(1...1_000_000_000)),
    ]

    static let fieldIndex: [String: Int] = Dictionary(uniqueKeysWithValues: fields.enumerated().map { ($1.name, $0) })

    public static func field(named name: String) -> ConfigField? { fieldIndex[name].map { fields[$0] } }

    /// Sets one field from text (`--set key=value`); `origin` names where it came from in errors.
    public mutating func set(_ key: String, text: String, origin: String = "--set") throws {
        guard let f = Self.field(named: key) else { throw Self.unknownKey(key, origin: origin) }
        try f.write(&self, .string(text), origin)
    }

    /// Applies one `key=value` assignment.
    public mutating func apply(assignment: String, origin: String = "--set") throws {
        guard let eq = assignment.firstIndex(of: "=") else {
            throw RMoEError("\(origin) '\(assignment)' is not key=value; write for example --set lr=3e-4")
        }
        let key = String(assignment[..<eq]).trimmingCharacters(in: .whitespaces)
        let value = String(assignment[assignment.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
        try set(key, text: value, origin: origin)
    }

    /// Applies a flat JSON object `{"field": value, ...}`; unknown keys are errors.
    public mutating func apply(object pairs: [(String, JSONValue)], origin: String) throws {
        for (key, value) in pairs.sorted(by: { $0.0 < $1.0 }) {
            guard let f = Self.field(named: key) else { throw Self.unknownKey(key, origin: origin) }
            switch value {
            case .int, .double, .bool, .string: try f.write(&self, value, origin)
            default:
                throw RMoEError(
                    "\(origin): \(key) has a value of an unsupported kind (lists and objects are for sweep files); give a number, a string or true/false")
            }
        }
    }

    /// Reads a config file (JSON object of fields) and applies it.
    public mutating func apply(file path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RMoEError("config file \(path) cannot be read; check the path")
        }
        let v = try JSON.parse([UInt8](data), origin: "config file \(path)")
        guard let pairs = v.pairs else {
            throw RMoEError("config file \(path) must hold one JSON object of fields, like {\"lr\": 3e-4}")
        }
        try apply(object: pairs, origin: path)
    }

    static func unknownKey(_ key: String, origin: String) -> RMoEError {
        let close = fields.map(\.name).filter { editDistance($0, key) <= 2 }
        let hint = close.isEmpty ? "`rmoe config --fields` lists every field" : "did you mean \(close.joined(separator: " or "))?"
        return RMoEError("\(origin): unknown config field '\(key)'; \(hint)")
    }

    /// Checks the whole config (sizes, cross-field rules).
    public func validate() throws {
        // Every field's own check again (values set in code, not through `set`, are checked too).
        var copy = self
        for f in Self.fields { try f.write(&copy, f.read(self), "config") }
        try model.validate()
        if checkpointEvery % logEvery != 0 {
            throw RMoEError("checkpoint_every = \(checkpointEvery) must be a multiple of log_every = \(logEvery), so a resumed run logs the same lines")
        }
        if lrMin > lr { throw RMoEError("lr_min = \(lrMin) is above lr = \(lr); lower lr_min") }
    }

    /// The resolved config as JSON, fields in table order.
    public var jsonText: String {
        "{\n" + Self.fields.map { "  \(JSONText.quote($0.name)): \($0.read(self).jsonText)" }.joined(separator: ",\n") + "\n}\n"
    }

    /// The value of a field as text.
    public func value(of name: String) -> String? { Self.field(named: name).map { $0.read(self).plainText } }

    /// `config.json` of a run: the fields as `jsonText`, then the provenance of the file.
    public func fileText(provenance: Provenance) -> String {
        "{\n" + Self.fields.map { "  \(JSONText.quote($0.name)): \($0.read(self).jsonText)" }.joined(separator: ",\n")
            + ",\n  \"provenance\": \(provenance.json.jsonText)\n}\n"
    }

    /// Parses a config saved by `jsonText` or `fileText` (strictly; a `provenance` object is skipped).
    public static func fromJSON(_ text: String, origin: String) throws -> RunConfig {
        guard let pairs = try JSON.parse(text, origin: origin).pairs else {
            throw RMoEError("\(origin) does not hold a JSON config object; the run folder is damaged")
        }
        var c = RunConfig()
        try c.apply(object: pairs.filter { $0.0 != "provenance" }, origin: origin)
        return c
    }

    // MARK: Resuming and extending

    /// Fields a resumed run may change: its length, the threads, the logging, evaluation and
    /// checkpoint intervals, the kept steps, the final evaluation's extent and the cosine horizon.
    /// (Everything else changes the model, the data or the optimisation, so the saved state would not
    /// be this run's.)
    public static let resumableFields: Set<String> = [
        "steps", "threads", "log_every", "eval_every", "eval_batches", "checkpoint_every", "keep_steps", "final_eval",
        "final_eval_windows", "schedule_steps", "grad_accum", "expert_parallel",
    ]

    /// Names of the fields whose values differ, in table order.
    public func differingFields(from other: RunConfig) -> [String] {
        Self.fields.filter { $0.read(self) != $0.read(other) }.map(\.name)
    }

    /// The config a saved run continues with when `requested` asks for changes: only
    /// `resumableFields` may differ (an error names the others). A cosine run whose `steps` grows
    /// keeps its first horizon (`schedule_steps` = the old `steps`), so the steps already trained
    /// are the same as before; the learning rate then stays at `lr_min`. Returns notes saying what
    /// the change does.
    public static func continuation(saved: RunConfig, requested: RunConfig, origin: String) throws -> (config: RunConfig, notes: [String]) {
        var req = requested
        req.model.vocab = saved.model.vocab
        let differing = req.differingFields(from: saved)
        let fixed = differing.filter { !resumableFields.contains($0) }
        if !fixed.isEmpty {
            let detail = fixed.prefix(4).map { "\($0) \(saved.value(of: $0) ?? "?") -> \(req.value(of: $0) ?? "?")" }.joined(separator: ", ")
            throw RMoEError(
                "\(origin) was made with a different config (\(detail)); a resumed run may change only \(resumableFields.sorted().joined(separator: ", ")): start a new run (another --out) instead"
            )
        }
        var notes: [String] = []
        if req.steps != saved.steps {
            if req.schedule == .cosine {
                if req.scheduleSteps == saved.scheduleSteps {
                    let horizon = saved.scheduleSteps > 0 ? saved.scheduleSteps : saved.steps
                    req.scheduleSteps = horizon
                    if req.steps > horizon {
                        notes.append(
                            "steps \(saved.steps) -> \(req.steps): the cosine schedule keeps its horizon of \(horizon) steps, so the learning rate stays at lr_min = \(req.lrMin) after step \(horizon) (set schedule_steps to stretch the schedule; that changes the learning rate of every step not yet trained)"
                        )
                    }
                } else {
                    notes.append(
                        "schedule_steps \(saved.scheduleSteps) -> \(req.scheduleSteps): the cosine schedule is stretched, so learning rates from the resumed step on differ from the original plan"
                    )
                }
            } else {
                notes.append(
                    "steps \(saved.steps) -> \(req.steps): under the constant schedule the extended run is bitwise the run planned \(req.steps) steps long")
            }
        }
        try req.validate()
        return (req, notes)
    }
}

extension SyntheticSource.Parameters {
    var seedInt: Int {
        get { Int(truncatingIfNeeded: seed) }
        set { seed = UInt64(truncatingIfNeeded: newValue) }
    }
}

extension Schedule: ConfigValue {}
extension CorpusName: ConfigValue {}

/// Learning-rate schedule after the linear warm-up.
public enum Schedule: String, ConfigChoice { case cosine, constant }

/// A sorted list of distinct positive step numbers, written "1000,3000,6000" ("" = none).
public struct StepList: ConfigValue, Equatable, Sendable {
    public var steps: [Int]
    public init(_ steps: [Int] = []) { self.steps = steps }
    public static var typeName: String { "comma-separated list of positive steps" }
    public init?(json: JSONValue) {
        switch json {
        case .int(let i) where i > 0: steps = [i]
        case .string(let s):
            var out: [Int] = []
            for part in s.split(separator: ",", omittingEmptySubsequences: false) {
                let t = part.trimmingCharacters(in: .whitespaces)
                if t.isEmpty && s.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                guard let i = Int(t), i > 0 else { return nil }
                out.append(i)
            }
            guard Set(out).count == out.count else { return nil }
            steps = out.sorted()
        default: return nil
        }
    }
    public var json: JSONValue { .string(steps.map(String.init).joined(separator: ",")) }
    public func contains(_ step: Int) -> Bool { steps.contains(step) }
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var prev = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var cur = [i] + [Int](repeating: 0, count: b.count)
        for j in 1...max(b.count, 1) where !b.isEmpty {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        prev = cur
    }
    return prev[b.count]
}

/// `Codable` through the field table: the keys are the config field names (as in `config.json`),
/// and decoding is as strict as a config file (an unknown key or a bad value is an error naming it).
extension RunConfig: Codable {
    struct FieldKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: FieldKey.self)
        for f in Self.fields {
            let key = FieldKey(stringValue: f.name)
            switch f.read(self) {
            case .int(let i): try c.encode(i, forKey: key)
            case .double(let d): try c.encode(d, forKey: key)
            case .bool(let b): try c.encode(b, forKey: key)
            case .string(let s): try c.encode(s, forKey: key)
            case .null, .array, .object: break  // never config values
            }
        }
    }

    public init(from decoder: any Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: FieldKey.self)
        let origin = "decoded config"
        for key in c.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
            guard let f = Self.field(named: key.stringValue) else { throw Self.unknownKey(key.stringValue, origin: origin) }
            let value: JSONValue
            if let b = try? c.decode(Bool.self, forKey: key) {
                value = .bool(b)
            } else if let i = try? c.decode(Int.self, forKey: key) {
                value = .int(i)
            } else if let d = try? c.decode(Double.self, forKey: key) {
                value = .double(d)
            } else if let s = try? c.decode(String.self, forKey: key) {
                value = .string(s)
            } else {
                throw RMoEError("\(origin): \(key.stringValue) has a value of an unsupported kind; give a number, a string or true/false")
            }
            try f.write(&self, value, origin)
        }
    }
}
