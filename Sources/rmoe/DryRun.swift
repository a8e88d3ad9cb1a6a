import Foundation
import RMoEBench
import RMoECore
import RMoEData
import RMoEModel
import RMoERuns

/// `rmoe train --dry-run` and `rmoe sweep NAME --dry-run`: what the runs are and what they cost,
/// without writing anything. The wall time comes from a short calibration on this machine: a few
/// training steps and forward passes of each distinct model at the run's thread count (synthetic
/// tokens; the time of a step does not depend on the data), times the steps and the evaluated
/// windows the config asks for. It is an estimate: other work on the machine, and the evaluation
/// splits' exact sizes, move it.
enum DryRun {
    struct Estimate {
        var parameters = 0, routerParameters = 0
        var flopsPerStep = 0.0, memoryBytes = 0
        var secondsPerStep = 0.0, trainSeconds = 0.0, evalSeconds = 0.0
        var total: Double { trainSeconds + evalSeconds }
    }

    /// Calibrations by model shape and threads, so that a sweep times each shape once.
    final class Calibrator {
        var cache: [String: (step: StepBench.Result, forward: StepBench.Result)] = [:]

        func estimate(_ config: RunConfig) throws -> Estimate {
            var c = config
            c.model.vocab = vocabulary(c)
            let key = "\(c.model)|\(c.resolvedThreads)"
            if cache[key] == nil {
                let step = try StepBench.run(config: c.model, threads: c.resolvedThreads, reps: 3, warmup: 1)
                let forward = try StepBench.run(config: c.model, threads: c.resolvedThreads, reps: 3, warmup: 1, inference: true)
                cache[key] = (step, forward)
            }
            let (step, forward) = cache[key]!
            var e = Estimate()
            let layout = try TensorLayout(c.model.parameterSpecs())
            e.parameters = layout.parameterCount()
            e.routerParameters = Routers.parameterCount(c.model)
            e.flopsPerStep = step.flops
            e.memoryBytes = step.stateBytes + step.activationBytes
            e.secondsPerStep = step.timing.median
            e.trainSeconds = step.timing.median * Double(c.steps)
            // Evaluation: windows of seq_len tokens, `batch` per forward pass.
            let perWindow = forward.timing.median / Double(c.model.batch)
            let (valid, test) = splitTokens(c)
            let validWindows = Double(valid) / Double(c.model.seqLen), testWindows = Double(test) / Double(c.model.seqLen)
            var windows = 0.0
            if c.evalEvery > 0 {
                let periodic = c.evalBatches > 0 ? min(Double(c.evalBatches * c.model.batch), validWindows) : validWindows
                windows += Double(c.steps / c.evalEvery) * periodic
            }
            if c.finalEval {
                let cap = c.finalEvalWindows > 0 ? Double(c.finalEvalWindows) : .infinity
                windows += min(validWindows, cap) + min(testWindows, cap)
            }
            e.evalSeconds = windows * perWindow
            return e
        }
    }

    /// The corpus's vocabulary without loading it.
    static func vocabulary(_ c: RunConfig) -> Int {
        switch c.corpus {
        case .synthetic: c.synthetic.vocab
        case .wikitext2Bytes, .wikitext103Bytes, .enwik8: 256
        case .wikitext2: 33_278
        case .wikitext103: 267_736
        }
    }

    /// Tokens of the valid and test splits (published sizes; the synthetic corpus's from its fields).
    static func splitTokens(_ c: RunConfig) -> (Int, Int) {
        switch c.corpus {
        case .synthetic: (c.synthetic.evalTokens, c.synthetic.evalTokens)
        case .wikitext2Bytes: (1_121_681, 1_256_449)
        case .wikitext2, .wikitext103: (217_646, 245_569)
        case .wikitext103Bytes: (1_159_000, 1_308_000)
        case .enwik8: (5_000_000, 5_000_000)
        }
    }

    static func mb(_ b: Int) -> String { String(format: "%.0f MB", Double(b) / 1e6) }

    /// One line per run and a total.
    static func table(_ rows: [(id: String, config: RunConfig, estimate: Estimate?, status: String)]) -> String {
        var lines = [
            "| run | router | layers | parameters (router) | GFLOP/step | memory | s/step | steps | estimated time |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        var total = 0.0
        for r in rows {
            let c = r.config
            guard let e = r.estimate else {
                lines.append("| \(r.id) | \(c.model.router) | \(c.model.layers) | | | | | \(c.steps) | \(r.status) |")
                continue
            }
            total += e.total
            lines.append(
                "| \(r.id) | \(c.model.router) | \(c.model.layers) | \(formatCount(Double(e.parameters))) (\(formatCount(Double(e.routerParameters)))) | "
                    + String(format: "%.2f", e.flopsPerStep / 1e9) + " | \(mb(e.memoryBytes)) | " + String(format: "%.3f", e.secondsPerStep)
                    + " | \(c.steps) | \(formatDuration(e.total)) (eval \(formatDuration(e.evalSeconds)))\(r.status.isEmpty ? "" : ", " + r.status) |")
        }
        let threads = rows.first.map { $0.config.resolvedThreads } ?? 1
        lines.append("")
        lines.append(
            "total: \(formatDuration(total)) of training and evaluation, one run after another at \(threads) thread(s) each (calibrated now on this machine; an estimate)"
        )
        return lines.joined(separator: "\n")
    }
}
