import ArgumentParser
import Foundation
import RMoECore
import RMoEExperiments
import RMoEModel

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks, measured side by side in one process. Every subcommand takes --json (one object per line).",
        subcommands: [Step.self, Router.self, Sgemm.self, Kernels.self])

    struct Common: ParsableArguments {
        @Option(help: "Thread counts to measure, comma-separated.") var threads: String = "1,2"
        @Flag(help: "Print one JSON object per result instead of a table.") var json = false
        @Option(help: "Timed repetitions per measurement.") var reps: Int = 10

        var threadList: [Int] {
            get throws {
                let l = threads.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard !l.isEmpty, l.allSatisfy({ $0 >= 1 }) else { throw RMoEError("--threads '\(threads)' is not a list of positive integers; write e.g. --threads 1,2") }
                return l
            }
        }
    }

    struct Step: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Training-step (or forward-only) time, tokens/s and GFLOP/s; SMALL config by default.")
        @OptionGroup var common: Common
        @OptionGroup var options: ConfigOptions
        @Flag(help: "Time the forward pass alone.") var inference = false

        func run() throws {
            let config = try options.resolve()
            let peak = try MachinePeak.measure(threads: common.threadList.max()!)
            for t in try common.threadList {
                let r = try StepBench.run(config: config.model, threads: t, reps: common.reps, inference: inference)
                if common.json {
                    print(JSONText.object([
                        ("bench", .string(inference ? "forward" : "step")), ("router", .string(r.router)), ("threads", .int(t)),
                        ("ms_median", .double(r.timing.median * 1e3)), ("ms_min", .double(r.timing.min * 1e3)), ("ms_max", .double(r.timing.max * 1e3)),
                        ("tokens_per_s", .double(r.tokensPerSecond.rounded())), ("flops_per_step", .double(r.flops)),
                        ("gflops", .double(r.gflops)), ("sgemm_ceiling_gflops", .double(peak.sgemmGflops)),
                        ("fraction_of_sgemm_ceiling", .double(r.gflops / peak.sgemmGflops)),
                    ]))
                } else {
                    print(String(format: "%@ %@, %d thread(s): %.1f ms median (min %.1f, max %.1f), %@ tokens/s, %.2f GFLOP/step, %.1f GFLOP/s = %.0f%% of the %.0f GFLOP/s sgemm ceiling",
                                 r.router, inference ? "forward" : "training step", t, r.timing.median * 1e3, r.timing.min * 1e3, r.timing.max * 1e3,
                                 formatCount(r.tokensPerSecond), r.flops / 1e9, r.gflops, 100 * r.gflops / peak.sgemmGflops, peak.sgemmGflops))
                }
            }
        }
    }

    struct Router: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Router overhead: training-step time of each router (interleaved in one run), its ratio to smoe and its FLOP ratio.")
        @OptionGroup var common: Common
        @OptionGroup var options: ConfigOptions
        @Option(help: "Routers, comma-separated (smoe is always measured, as the reference).")
        var routers: String = "smoe,rmoe,rmoe-np"
        @Flag(help: "Time the forward pass alone.") var inference = false

        func run() throws {
            let base = try options.resolve()
            var names = routers.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
            if !names.contains("smoe") { names.insert("smoe", at: 0) }
            let configs = try names.map { n -> ModelConfig in
                var c = base.model
                c.router = n
                try c.validate()
                return c
            }
            for t in try common.threadList {
                let results = try StepBench.run(configs: configs, threads: t, reps: common.reps, inference: inference)
                let ref = results.first { $0.router == "smoe" }!
                for r in results {
                    let ratio = r.timing.median / ref.timing.median, flopRatio = r.flops / ref.flops
                    if common.json {
                        print(JSONText.object([
                            ("bench", .string(inference ? "router-forward" : "router")), ("router", .string(r.router)), ("threads", .int(t)),
                            ("ms_median", .double(r.timing.median * 1e3)), ("ms_min", .double(r.timing.min * 1e3)), ("ms_max", .double(r.timing.max * 1e3)),
                            ("tokens_per_s", .double(r.tokensPerSecond.rounded())), ("flops_per_step", .double(r.flops)), ("gflops", .double(r.gflops)),
                            ("ratio_to_smoe", .double(ratio)), ("flop_ratio_to_smoe", .double(flopRatio)),
                        ]))
                    } else {
                        print(String(format: "%@ %d thread(s): %7.1f ms median (min %.1f, max %.1f)  %@ tok/s  %.1f GFLOP/s  time x%.3f  FLOPs x%.3f of smoe",
                                     r.router.padding(toLength: 12, withPad: " ", startingAt: 0), t, r.timing.median * 1e3, r.timing.min * 1e3,
                                     r.timing.max * 1e3, formatCount(r.tokensPerSecond), r.gflops, ratio, flopRatio))
                    }
                }
            }
        }
    }

    struct Sgemm: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "sgemm GFLOP/s at the model's shapes: tiled (ours) vs threaded OpenBLAS vs 1-thread OpenBLAS.")
        @OptionGroup var common: Common
        @OptionGroup var options: ConfigOptions

        func run() throws {
            let config = try options.resolve()
            for t in try common.threadList {
                let rows = GemmBench.run(shapes: GemmBench.shapes(for: config.model), threads: t, reps: common.reps)
                if !common.json { print("threads \(t): GFLOP/s (median)     tiled   BLAS x\(t)   BLAS x1") }
                for r in rows {
                    if common.json {
                        print(JSONText.object([("bench", .string("sgemm")), ("shape", .string(r.shape.name)), ("threads", .int(t)),
                                               ("M", .int(r.shape.M)), ("N", .int(r.shape.N)), ("K", .int(r.shape.K)),
                                               ("gflops_tiled", .double(r.gflops(r.tiled))), ("gflops_blas_threaded", .double(r.gflops(r.blasThreaded))),
                                               ("gflops_blas_single", .double(r.gflops(r.blasSingle)))]))
                    } else {
                        print(String(format: "  %@ %5d x %5d x %5d  %7.1f  %8.1f  %8.1f", r.shape.name.padding(toLength: 12, withPad: " ", startingAt: 0), r.shape.M, r.shape.N, r.shape.K,
                                     r.gflops(r.tiled), r.gflops(r.blasThreaded), r.gflops(r.blasSingle)))
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
                        print(JSONText.object([("bench", .string("kernel")), ("kernel", .string(r.kernel)), ("runtime", .string(r.runtime)),
                                               ("threads", .int(t)), ("ms_median", .double(r.timing.median * 1e3)),
                                               ("ms_min", .double(r.timing.min * 1e3)), ("ms_max", .double(r.timing.max * 1e3)),
                                               ("gb_per_s", .double(r.gbPerSecond))]))
                    } else {
                        print(String(format: "%@ %@ %d thread(s): %7.3f ms median (min %.3f, max %.3f)  %6.1f GB/s", r.kernel.padding(toLength: 12, withPad: " ", startingAt: 0), r.runtime.padding(toLength: 18, withPad: " ", startingAt: 0), t,
                                     r.timing.median * 1e3, r.timing.min * 1e3, r.timing.max * 1e3, r.gbPerSecond))
                    }
                }
            }
        }
    }
}
