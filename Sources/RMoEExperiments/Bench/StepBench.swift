import Foundation
import RMoECore
import RMoEModel

/// Time of one training step (forward, backward, clip, AdamW) on random tokens, after warm-up.
public enum StepBench {
    public struct Result: Sendable {
        public var router: String
        public var threads: Int
        public var timing: Timing
        public var tokens: Int
        /// Matmul FLOPs of the step: forward plus twice the forward for the backward pass.
        public var flops: Double
        public var tokensPerSecond: Double { Double(tokens) / timing.median }
        public var gflops: Double { flops / timing.median / 1e9 }
    }

    public static func run(config: ModelConfig, threads: Int, reps: Int = 10, warmup: Int = 2, inference: Bool = false) throws -> Result {
        Runtime.setThreads(threads)
        let model = try LanguageModel<Float>(config: config)
        model.initialize(seed: 1)
        let opt = AdamW<Float>(layout: model.layout)
        var rng = Xoshiro256(seed: 9)
        for i in 0..<model.rows {
            model.tokens[i] = Int32(rng.below(config.vocab))
            model.targets[i] = Int32(rng.below(config.vocab))
        }
        let t = Timing.measure(warmup: warmup, reps: reps) {
            if inference {
                model.forward(training: false)
            } else {
                model.grads.zero()
                model.forward(training: true)
                model.backward()
                AdamW.clip(model.grads, maxNorm: 1)
                opt.step(params: model.params, grads: model.grads, lr: 1e-4)
            }
        }
        return Result(router: config.router, threads: threads, timing: t, tokens: model.rows,
                      flops: config.forwardFlops * (inference ? 1 : 3))
    }
}
