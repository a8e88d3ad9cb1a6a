import Foundation
import RMoECore
import RMoEModel
import CKernels

/// Time of one training step (forward, backward, clip, AdamW) on random tokens, after warm-up.
/// Several configs (routers) are measured interleaved, repetition by repetition, so that they see
/// the same machine state and their ratios are taken side by side.
public enum StepBench {
    public struct Result: Sendable {
        public var router: String
        public var threads: Int
        public var timing: Timing
        public var tokens: Int
        /// Matmul FLOPs of the step: forward plus twice the forward for the backward pass, causal
        /// attention at full square size (`flopsCausal`: at half the square).
        public var flops: Double
        public var flopsCausal: Double = 0
        /// Bytes of parameters + gradients + both AdamW moments, and of activations and scratch.
        public var stateBytes = 0, activationBytes = 0
        /// The routers' part (forward and backward) of the timed steps' wall time.
        public var routerShare = 0.0
        /// The routers' part of the step's matmul FLOPs.
        public var routerFlopShare = 0.0
        public var tokensPerSecond: Double { Double(tokens) / timing.median }
        public var gflops: Double { flops / timing.median / 1e9 }
        public var gflopsCausal: Double { flopsCausal / timing.median / 1e9 }
    }

    /// One model ready to step.
    final class Runner {
        let model: LanguageModel<Float>
        let opt: AdamW<Float>
        let inference: Bool
        init(_ c: ModelConfig, inference: Bool) throws {
            model = try LanguageModel<Float>(config: c)
            model.initialize(seed: 1)
            opt = AdamW<Float>(layout: model.layout)
            self.inference = inference
            var rng = Xoshiro256(seed: 9)
            for i in 0..<model.rows {
                model.tokens[i] = Int32(rng.below(c.vocab))
                model.targets[i] = Int32(rng.below(c.vocab))
            }
        }
        func step() {
            if inference {
                model.forward(training: false)
            } else {
                let t0 = System.now()
                model.grads.zero()
                model.profile?.add(.optimizer, since: t0)
                model.forward(training: true)
                model.backward()
                let t1 = System.now()
                AdamW.clip(model.grads, maxNorm: 1)
                opt.step(params: model.params, grads: model.grads, lr: 1e-4)
                model.profile?.add(.optimizer, since: t1)
            }
        }
    }

    public static func run(configs: [ModelConfig], threads: Int, reps: Int = 10, warmup: Int = 2, inference: Bool = false) throws -> [Result] {
        Runtime.setThreads(threads)
        let runners = try configs.map { try Runner($0, inference: inference) }
        for r in runners { for _ in 0..<warmup { r.step() } }
        var samples = [[Double]](repeating: [], count: runners.count)
        let routerStart = runners.map { $0.model.routerClock.seconds }
        for _ in 0..<reps {
            for (i, r) in runners.enumerated() {
                let t0 = System.now()
                r.step()
                samples[i].append(System.now() - t0)
            }
        }
        return configs.enumerated().map { i, c in
            let m = runners[i].model
            let total = samples[i].reduce(0, +)
            return Result(
                router: c.router, threads: threads, timing: Timing(samples: samples[i]), tokens: c.batch * c.seqLen,
                flops: c.forwardFlops * (inference ? 1 : 3), flopsCausal: c.forwardFlopsCausal * (inference ? 1 : 3),
                stateBytes: 4 * m.layout.totalCount * MemoryLayout<Float>.stride, activationBytes: m.activationBytes,
                routerShare: total > 0 ? (m.routerClock.seconds - routerStart[i]) / total : 0,
                routerFlopShare: c.isDense ? 0 : (Routers.family(of: c.router)?.forwardFlops(c) ?? 0) / c.forwardFlops)
        }
    }

    /// Seconds per step spent in each part of the step (profiled steps, after warm-up), and the
    /// median step time of the same steps.
    public static func breakdown(config: ModelConfig, threads: Int, reps: Int = 5, inference: Bool = false)
        throws -> (parts: [(StepProfile.Part, Double)], step: Double)
    {
        Runtime.setThreads(threads)
        let r = try Runner(config, inference: inference)
        for _ in 0..<2 { r.step() }
        let profile = StepProfile()
        r.model.profile = profile
        let t = Timing.measure(warmup: 0, reps: reps) { r.step() }
        r.model.profile = nil
        return (StepProfile.Part.allCases.map { ($0, profile.seconds[$0.rawValue] / Double(reps)) }, t.median)
    }

    public static func run(config: ModelConfig, threads: Int, reps: Int = 10, warmup: Int = 2, inference: Bool = false) throws -> Result {
        try run(configs: [config], threads: threads, reps: reps, warmup: warmup, inference: inference)[0]
    }
}

/// AdamW's update against the machine's memory bandwidth: the update streams the parameters,
/// gradients and both moments (4 reads, 3 writes of 4 bytes per parameter); a copy loop over the
/// same number of bytes (one read, one write per element) measured in the same process is the bar.
public enum AdamWBench {
    public struct Result: Sendable {
        public var parameters: Int
        public var adamw: Timing, copy: Timing
        /// GB/s of the update (7 x 4 bytes per parameter) and of the copy of the same traffic.
        public var adamwGBs: Double { 28 * Double(parameters) / adamw.median / 1e9 }
        public var copyGBs: Double { 28 * Double(parameters) / copy.median / 1e9 }
    }

    public static func run(config: ModelConfig, threads: Int, reps: Int) throws -> Result {
        Runtime.setThreads(threads)
        let m = try LanguageModel<Float>(config: config)
        m.initialize(seed: 1)
        let opt = AdamW<Float>(layout: m.layout)
        let n = m.layout.totalCount
        for i in 0..<n { m.grads.base[i] = Float(i % 7) * 1e-3 }
        let adamw = Timing.measure(warmup: 2, reps: reps) { opt.step(params: m.params, grads: m.grads, lr: 1e-4) }
        // 3.5 floats read and 3.5 written per parameter: the same 28 bytes of traffic as the update.
        let count = 7 * n / 2
        let src = UnsafeMutablePointer<Float>.allocate(capacity: count), dst = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { src.deallocate(); dst.deallocate() }
        src.initialize(repeating: 1, count: count); dst.initialize(repeating: 0, count: count)
        let copy = Timing.measure(warmup: 2, reps: reps) { rk_copy_parallel(dst, src, count) }
        return Result(parameters: n, adamw: adamw, copy: copy)
    }
}
