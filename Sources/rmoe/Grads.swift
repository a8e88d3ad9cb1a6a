import ArgumentParser
import Foundation
import RMoECore
import RMoERuns
import RMoEModel

struct Grads: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Loss and every parameter's gradient for one batch, written as safetensors (parity with other frameworks).",
        discussion: """
            The token file is a safetensors file with an I32 (or I64) tensor `tokens` of shape [B, S+1]: inputs are \
            columns 0..S-1, targets columns 1..S. The checkpoint may come from another program: sizes follow from the \
            tensor shapes; heads, top_k, router, router_bias, expert and balance_coef come from --config / --set \
            (or from the checkpoint's own metadata when rmoe wrote it). Prints {"loss", "ce", "balance_term", "balance_loss", ...} as one JSON line.
            """)

    @Option(help: "Model checkpoint (safetensors, F32 or F64 tensors under the parameter names).") var checkpoint: String
    @Option(help: "Token file (safetensors with an integer tensor `tokens` [B, S+1]).") var tokens: String
    @Option(help: "Where to write the gradients (safetensors).") var out: String
    @OptionGroup var fields: CheckpointOptions
    @Option(help: "Threads (0 = every core).") var threads: Int = 0
    @Flag(help: "Compute in Double instead of Float.") var double = false

    func validate() throws {
        guard (0...Runtime.maxThreads).contains(threads) else {
            throw ValidationError("--threads \(threads) must be between 0 (every core) and \(Runtime.maxThreads)")
        }
    }

    func run() throws {
        let ck = try SafeTensorsFile.read(path: checkpoint)
        var cfg = try fields.resolve(ck)
        let tf = try SafeTensorsFile.read(path: tokens)
        guard let info = tf.info("tokens"), info.shape.count == 2, info.shape[1] >= 2 else {
            throw RMoEError("token file \(tokens) needs an integer tensor 'tokens' of shape [B, S+1] with S >= 1")
        }
        let toks = try tf.int32s("tokens")
        cfg.model.batch = info.shape[0]
        cfg.model.seqLen = info.shape[1] - 1
        try cfg.model.validate()
        Runtime.setThreads(threads > 0 ? threads : System.coreCount)
        if let bad = toks.first(where: { $0 < 0 || Int($0) >= cfg.model.vocab }) {
            throw RMoEError("token file \(tokens) holds token id \(bad), outside the checkpoint's vocabulary 0..<\(cfg.model.vocab)")
        }
        let line = double ? try compute(Double.self, cfg, ck, toks) : try compute(Float.self, cfg, ck, toks)
        print(line)
    }

    func compute<S: KernelScalar>(_: S.Type, _ cfg: RunConfig, _ ck: SafeTensorsFile, _ toks: [Int32]) throws -> String {
        let m = try LanguageModel<S>(config: cfg.model)
        try Checkpoint.load(m.params, from: ck)
        let B = cfg.model.batch, Sq = cfg.model.seqLen
        for b in 0..<B {
            for j in 0..<Sq {
                m.tokens[b * Sq + j] = toks[b * (Sq + 1) + j]
                m.targets[b * Sq + j] = toks[b * (Sq + 1) + j + 1]
            }
        }
        m.grads.zero()
        let loss = m.forward(training: true)
        m.backward()
        let balance = cfg.model.balanceCoef * m.lastBalance
        let fields: [(String, JSONValue)] = [
            ("loss", .double(loss)), ("ce", .double(m.lastCrossEntropy)),
            ("balance_term", .double(balance)), ("balance_loss", .double(m.lastBalance)),
            ("router", .string(cfg.model.router)), ("tokens", .int(m.lastCountedTokens)),
        ]
        var md: [String: String] = ["config": cfg.jsonText]
        for (k, v) in fields { md[k] = v.plainText }
        try Checkpoint.saveModel(m.grads, to: out, metadata: md)
        return JSONText.object(fields)
    }
}
