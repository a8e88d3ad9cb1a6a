import ArgumentParser
import Foundation
import RMoECore
import RMoERuns
import RMoEBench
import RMoEModel

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks, measured side by side in one process. Every subcommand takes --json (one object per line).",
        subcommands: [Step.self, Router.self, Experts.self, Dispatch.self, Sgemm.self, Kernels.self, Ranks.self])

    struct Common: ParsableArguments {
        @Option(parsing: .upToNextOption, help: "Thread counts to measure (--threads 1 2, or 1,2).") var threads: [String] = ["1", "2"]
        @Flag(help: "Print one JSON object per result instead of a table.") var json = false
        @Option(help: "Timed repetitions per measurement.") var reps: Int = 10

        /// The base model config once per value, with `set` applied, each validated.
        static func variants<V>(of base: ModelConfig, _ values: [V], _ set: (inout ModelConfig, V) -> Void) throws -> [ModelConfig] {
            try values.map { v in
                var c = base
                set(&c, v)
                try c.validate()
                return c
            }
        }

        var threadList: [Int] {
            get throws {
                try intList(threads, option: "--threads", example: "1 2", rule: "from 1 to \(Runtime.maxThreads)") { $0 >= 1 && $0 <= Runtime.maxThreads }
            }
        }
    }

    struct Step: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Training-step (or forward-only) time, tokens/s and GFLOP/s; SMALL config by default.")
        @OptionGroup var common: Common
        @OptionGroup var options: ConfigOptions
        @Flag(help: "Time the forward pass alone.") var inference = false
        @Flag(help: "Split the step into attention, expert FFN, dispatch, router, norms and element-wise work, loss, optimizer.")
        var breakdown = false

        func run() throws {
            let config = try options.resolve()
            let maxThreads = try common.threadList.max()!
            let peak = try MachinePeak.measure(threads: maxThreads)
            if !common.json {
                print(
                    String(
                        format: "machine: FMA peak %.0f GFLOP/s on %d thread(s) (measured now), sgemm ceiling %.0f GFLOP/s (2048^3)",
                        peak.fmaGflops, maxThreads, peak.sgemmGflops))
            }
            for t in try common.threadList {
                let r = try StepBench.run(config: config.model, threads: t, reps: common.reps, inference: inference)
                if common.json {
                    print(
                        JSONText.object([
                            ("bench", .string(inference ? "forward" : "step")), ("router", .string(r.router)), ("threads", .int(t)),
                            ("ms_median", .double(r.timing.median * 1e3)), ("ms_min", .double(r.timing.min * 1e3)), ("ms_max", .double(r.timing.max * 1e3)),
                            ("tokens_per_s", .double(r.tokensPerSecond.rounded())), ("flops_per_step", .double(r.flops)),
                            ("flops_per_step_causal", .double(r.flopsCausal)), ("gflops_causal", .double(r.gflopsCausal)),
                            ("fraction_of_fma_peak_causal", .double(r.gflopsCausal / (peak.fmaGflops * Double(t) / Double(maxThreads)))),
                            ("gflops", .double(r.gflops)), ("sgemm_ceiling_gflops", .double(peak.sgemmGflops)),
                            ("fraction_of_sgemm_ceiling", .double(r.gflops / peak.sgemmGflops)),
                            ("fma_peak_gflops", .double(peak.fmaGflops * Double(t) / Double(maxThreads))),
                            ("fraction_of_fma_peak", .double(r.gflops / (peak.fmaGflops * Double(t) / Double(maxThreads)))),
                            ("state_bytes", .int(r.stateBytes)), ("activation_bytes", .int(r.activationBytes)),
                            ("peak_rss_bytes", .int(System.peakResidentBytes)),
                        ]))
                } else {
                    print(
                        String(
                            format:
                                "%@ %@, %d thread(s): %.1f ms median (min %.1f, max %.1f), %@ tokens/s, %.2f GFLOP/step, %.1f GFLOP/s = %.0f%% of the %.0f GFLOP/s sgemm ceiling",
                            r.router, inference ? "forward" : "training step", t, r.timing.median * 1e3, r.timing.min * 1e3, r.timing.max * 1e3,
                            formatCount(r.tokensPerSecond), r.flops / 1e9, r.gflops, 100 * r.gflops / peak.sgemmGflops, peak.sgemmGflops)
                            + String(format: ", %.0f%% of the FMA peak", 100 * r.gflops / (peak.fmaGflops * Double(t) / Double(maxThreads))))
                    print(
                        String(
                            format:
                                "    counting causal attention at half the square: %.2f GFLOP/step, %.1f GFLOP/s = %.0f%% of the FMA peak (the counts above use the full square)",
                            r.flopsCausal / 1e9, r.gflopsCausal, 100 * r.gflopsCausal / (peak.fmaGflops * Double(t) / Double(maxThreads))))
                    let need = Double(r.stateBytes + r.activationBytes)
                    print(
                        String(
                            format: "    memory: parameters+gradients+moments %.1f MB + activations %.1f MB = %.1f MB; process peak RSS %.1f MB (%.2fx)",
                            Double(r.stateBytes) / 1e6, Double(r.activationBytes) / 1e6, need / 1e6,
                            Double(System.peakResidentBytes) / 1e6, Double(System.peakResidentBytes) / need))
                }
                if breakdown {
                    let b = try StepBench.breakdown(config: config.model, threads: t, reps: common.reps, inference: inference)
                    let total = b.parts.reduce(0) { $0 + $1.1 }
                    for (part, sec) in b.parts where sec > 0 {
                        if common.json {
                            print(
                                JSONText.object([
                                    ("bench", .string("breakdown")), ("router", .string(config.model.router)), ("threads", .int(t)),
                                    ("part", .string(part.name)), ("ms", .double(sec * 1e3)), ("share", .double(sec / total)),
                                ]))
                        } else {
                            print(
                                String(
                                    format: "    %@ %8.1f ms  %5.1f%%", part.name.padding(toLength: 50, withPad: " ", startingAt: 0), sec * 1e3,
                                    100 * sec / total))
                        }
                    }
                    if !common.json {
                        print(
                            String(
                                format: "    %@ %8.1f ms (profiled steps: %.1f ms median)", "sum".padding(toLength: 50, withPad: " ", startingAt: 0),
                                total * 1e3, b.step * 1e3))
                    }
                }
            }
        }
    }

    struct Router: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Router overhead: training-step time of each router (interleaved in one run), its ratio to smoe and its FLOP ratio.")
        @OptionGroup var common: Common
        @OptionGroup var options: ConfigOptions
        @Option(parsing: .upToNextOption, help: "Routers (smoe is always measured, as the reference); default: every MoE router.")
        var routers: [String] = Routers.names.filter { $0 != "dense" }
        @Flag(help: "Time the forward pass alone.") var inference = false

        func run() throws {
            let base = try options.resolve()
            var names = listItems(routers)
            if !names.contains("smoe") { names.insert("smoe", at: 0) }
            let configs = try Common.variants(of: base.model, names) { $0.router = $1 }
            for t in try common.threadList {
                let results = try StepBench.run(configs: configs, threads: t, reps: common.reps, inference: inference)
                let ref = results.first { $0.router == "smoe" }!
                for r in results {
                    let ratio = Ratio(r.timing, ref.timing), flopRatio = r.flops / ref.flops
                    if common.json {
                        print(
                            JSONText.object(
                                [
                                    ("bench", .string(inference ? "router-forward" : "router")), ("router", .string(r.router)), ("threads", .int(t)),
                                    ("ms_median", .double(r.timing.median * 1e3)), ("ms_min", .double(r.timing.min * 1e3)),
                                    ("ms_max", .double(r.timing.max * 1e3)), ("tokens_per_s", .double(r.tokensPerSecond.rounded())),
                                    ("flops_per_step", .double(r.flops)), ("gflops", .double(r.gflops)),
                                ] + ratio.json("ratio_to_smoe") + [
                                    ("flop_ratio_to_smoe", .double(flopRatio)), ("router_share", .double(r.routerShare)),
                                    ("router_flop_share", .double(r.routerFlopShare)),
                                ]))
                    } else {
                        print(
                            String(
                                format:
                                    "%@ %d thread(s): %7.1f ms median (min %.1f, max %.1f)  %@ tok/s  %.1f GFLOP/s  FLOPs x%.3f of smoe  router %.1f%% of time, %.1f%% of FLOPs  time %@ of smoe",
                                r.router.padding(toLength: 12, withPad: " ", startingAt: 0), t, r.timing.median * 1e3, r.timing.min * 1e3,
                                r.timing.max * 1e3, formatCount(r.tokensPerSecond), r.gflops, flopRatio,
                                100 * r.routerShare, 100 * r.routerFlopShare, ratio.text))
                    }
                }
            }
        }
    }

    struct Dispatch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Expert FFN through the dispatcher against the same products as whole-expert single-threaded sgemms (one stream per thread) and against one dense FFN of the same FLOPs."
        )
        @OptionGroup var common: Common
        @OptionGroup var options: ConfigOptions

        func run() throws {
            let config = try options.resolve()
            for t in try common.threadList {
                let r = DispatchBench.run(config: config.model, threads: t, reps: max(common.reps, 10))
                if common.json {
                    print(
                        JSONText.object(
                            [
                                ("bench", .string("dispatch")), ("threads", .int(t)), ("experts", .int(config.model.experts)),
                                ("ms_median", .double(r.dispatcher.median * 1e3)), ("ideal_ms_median", .double(r.ideal.median * 1e3)),
                                ("gflops", .double(r.flops / r.dispatcher.median / 1e9)),
                            ] + Ratio(r.ideal, r.dispatcher).json("ratio_to_ideal") + [("dense_ms_median", .double(r.dense.median * 1e3))]
                                + Ratio(r.dense, r.dispatcher).json("ratio_to_dense")))
                } else {
                    print(
                        String(
                            format:
                                "experts forward, E=%d k=%d f=%d, %d thread(s): dispatcher %.2f ms (%.1f GFLOP/s); whole-expert sgemm streams %.2f ms: dispatcher at %.0f%% of them; one dense FFN of width k*f (same FLOPs) %.2f ms (%.1f GFLOP/s): dispatcher at %.0f%% of it",
                            config.model.experts, config.model.topK, config.model.expertWidth, t, r.dispatcher.median * 1e3,
                            r.flops / r.dispatcher.median / 1e9, r.ideal.median * 1e3, 100 * r.ratio,
                            r.dense.median * 1e3, r.flops / r.dense.median / 1e9, 100 * r.denseRatio)
                            + "\n    dispatcher speed relative to the streams \(Ratio(r.ideal, r.dispatcher).text), to the dense FFN \(Ratio(r.dense, r.dispatcher).text)"
                    )
                }
            }
        }
    }

    struct Sgemm: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "sgemm GFLOP/s at the model's shapes: tiled (ours) vs threaded OpenBLAS vs 1-thread OpenBLAS.")
        @OptionGroup var common: Common
        @OptionGroup var options: ConfigOptions

        func run() throws {
            let config = try options.resolve()
            for t in try common.threadList {
                let rows = GemmBench.run(shapes: GemmBench.shapes(for: config.model), threads: t, reps: common.reps)
                if !common.json {
                    print("threads \(t): GFLOP/s, median (slowest-fastest repetition); tiled, BLAS x\(t), BLAS x1; then tiled / BLAS x\(t) time")
                }
                for r in rows {
                    if common.json {
                        print(
                            JSONText.object(
                                [
                                    ("bench", .string("sgemm")), ("shape", .string(r.shape.name)), ("threads", .int(t)),
                                    ("M", .int(r.shape.M)), ("N", .int(r.shape.N)), ("K", .int(r.shape.K)),
                                    ("gflops_tiled", .double(r.gflops(r.tiled))), ("gflops_blas_threaded", .double(r.gflops(r.blasThreaded))),
                                    ("gflops_blas_single", .double(r.gflops(r.blasSingle))),
                                    ("gflops_tiled_low", .double(r.gflopsRange(r.tiled).low)), ("gflops_tiled_high", .double(r.gflopsRange(r.tiled).high)),
                                    ("gflops_blas_threaded_low", .double(r.gflopsRange(r.blasThreaded).low)),
                                    ("gflops_blas_threaded_high", .double(r.gflopsRange(r.blasThreaded).high)),
                                ] + Ratio(r.tiled, r.blasThreaded).json("time_ratio_tiled_to_blas")))
                    } else {
                        func g(_ t: Timing) -> String {
                            let (lo, hi) = r.gflopsRange(t)
                            return String(format: "%7.1f (%.0f-%.0f)", r.gflops(t), lo, hi)
                        }
                        print(
                            String(
                                format: "  %@ %5d x %5d x %5d  ", r.shape.name.padding(toLength: 12, withPad: " ", startingAt: 0), r.shape.M, r.shape.N,
                                r.shape.K) + [g(r.tiled), g(r.blasThreaded), g(r.blasSingle)].joined(separator: "  ") + "  "
                                + Ratio(r.tiled, r.blasThreaded).text)
                    }
                }
            }
        }
    }

    struct Kernels: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Fused kernels in GB/s: C + OpenMP against Swift SIMD on the toolkit's own thread pool.")
        @OptionGroup var common: Common

        func run() throws {
            for t in try common.threadList {
                let rows = KernelBench.run(threads: t, reps: max(common.reps, 20))
                for r in rows {
                    if common.json {
                        print(
                            JSONText.object([
                                ("bench", .string("kernel")), ("kernel", .string(r.kernel)), ("runtime", .string(r.runtime)),
                                ("threads", .int(t)), ("ms_median", .double(r.timing.median * 1e3)),
                                ("ms_min", .double(r.timing.min * 1e3)), ("ms_max", .double(r.timing.max * 1e3)),
                                ("gb_per_s", .double(r.gbPerSecond)),
                            ]))
                    } else {
                        print(
                            String(
                                format: "%@ %@ %d thread(s): %7.3f ms median (min %.3f, max %.3f)  %6.1f GB/s",
                                r.kernel.padding(toLength: 12, withPad: " ", startingAt: 0), r.runtime.padding(toLength: 18, withPad: " ", startingAt: 0), t,
                                r.timing.median * 1e3, r.timing.min * 1e3, r.timing.max * 1e3, r.gbPerSecond))
                    }
                }
            }
        }
    }
}
