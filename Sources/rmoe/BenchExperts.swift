import ArgumentParser
import Foundation
import RMoECore
import RMoERuns
import RMoEBench
import RMoEModel

extension Bench {
    /// `rmoe bench experts`: training-step time as the number of experts E grows at fixed top-k and
    /// expert width f (so the FLOPs per token stay the same apart from the router's E columns).
    /// The configurations are timed interleaved in one process, so the ratios are side by side.
    struct Experts: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Step time against the number of experts at fixed top-k and expert width (interleaved in one run), as ratios to the first.")
        @OptionGroup var common: Common
        @OptionGroup var options: ConfigOptions
        @Option(parsing: .upToNextOption, help: "Expert counts (--experts 8 16 64, or 8,16,64); ratios are to the first.") var experts: [String] = [
            "8", "16", "64",
        ]
        @Flag(help: "Time the forward pass alone.") var inference = false

        func run() throws {
            let base = try options.resolve()
            let counts = try intList(experts, option: "--experts", example: "8 64", rule: "from top_k (\(base.model.topK)) to 1024") {
                $0 >= base.model.topK && $0 <= 1024
            }
            let configs = try Common.variants(of: base.model, counts) { $0.experts = $1 }
            for t in try common.threadList {
                let results = try StepBench.run(configs: configs, threads: t, reps: common.reps, inference: inference)
                let ref = results[0]
                for (e, r) in zip(counts, results) {
                    let ratio = Ratio(r.timing, ref.timing), flopRatio = r.flops / ref.flops
                    if common.json {
                        print(
                            JSONText.object(
                                [
                                    ("bench", .string(inference ? "experts-forward" : "experts")), ("router", .string(r.router)), ("experts", .int(e)),
                                    ("threads", .int(t)), ("ms_median", .double(r.timing.median * 1e3)), ("ms_min", .double(r.timing.min * 1e3)),
                                    ("ms_max", .double(r.timing.max * 1e3)), ("flops_per_step", .double(r.flops)),
                                ] + ratio.json("ratio_to_first") + [("flop_ratio_to_first", .double(flopRatio))]))
                    } else {
                        print(
                            String(
                                format: "%@ E=%-4d %d thread(s): %7.1f ms median (min %.1f, max %.1f)  FLOPs x%.3f of E=%d  time %@",
                                r.router, e, t, r.timing.median * 1e3, r.timing.min * 1e3, r.timing.max * 1e3, flopRatio, counts[0], ratio.text))
                    }
                }
                // AdamW over each E's parameters against a copy loop of the same traffic, in this process.
                for (e, c) in zip(counts, configs) where !inference {
                    let a = try AdamWBench.run(config: c, threads: t, reps: common.reps)
                    if common.json {
                        print(
                            JSONText.object([
                                ("bench", .string("adamw")), ("experts", .int(e)), ("threads", .int(t)), ("parameters", .int(a.parameters)),
                                ("ms_median", .double(a.adamw.median * 1e3)), ("adamw_gb_per_s", .double(a.adamwGBs)),
                                ("copy_gb_per_s", .double(a.copyGBs)), ("fraction_of_copy", .double(a.adamwGBs / a.copyGBs)),
                            ]))
                    } else {
                        print(
                            String(
                                format: "  AdamW E=%-4d %d thread(s): %.1f ms for %@ parameters: %.1f GB/s; a copy of the same bytes: %.1f GB/s (%.0f%%)",
                                e, t, a.adamw.median * 1e3, formatCount(Double(a.parameters)), a.adamwGBs, a.copyGBs, 100 * a.adamwGBs / a.copyGBs))
                    }
                }
            }
        }
    }
}
