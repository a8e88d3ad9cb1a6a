import Benchmark
import Foundation
import RMoECore
import RMoERuns
import RMoEBench
import RMoEModel

// The SMALL configuration of the issue tracker: d=256, L=8, 4 heads, FFN width 512, sequence 256,
// batch 8, vocabulary 256. Threads: $RMOE_THREADS (default 2).

let threads = Int(ProcessInfo.processInfo.environment["RMOE_THREADS"] ?? "") ?? 2

func smallConfig() -> ModelConfig {
    var c = ModelConfig()
    c.router = "dense"
    c.dModel = 256; c.layers = 8; c.heads = 4; c.ffnWidth = 512; c.seqLen = 256; c.batch = 8; c.vocab = 256
    return c
}

enum Metric {
    static let gflops = BenchmarkMetric.custom("GFLOP/s", polarity: .prefersLarger, useScalingFactor: false)
    static let gbps = BenchmarkMetric.custom("GB/s", polarity: .prefersLarger, useScalingFactor: false)
    static let tokens = BenchmarkMetric.custom("tokens/s", polarity: .prefersLarger, useScalingFactor: false)
    static let timeRatio = BenchmarkMetric.custom("step time / smoe (permille)", polarity: .prefersSmaller, useScalingFactor: false)
    static let flopRatio = BenchmarkMetric.custom("FLOPs / smoe (permille)", polarity: .prefersSmaller, useScalingFactor: false)
    static let routerShare = BenchmarkMetric.custom("router share of time (permille)", polarity: .prefersSmaller, useScalingFactor: false)
    static let routerFlopShare = BenchmarkMetric.custom("router share of FLOPs (permille)", polarity: .prefersSmaller, useScalingFactor: false)
}

func buffer(_ n: Int, seed: UInt64, scale: Double = 1) -> UnsafeMutablePointer<Float> {
    var rng = Xoshiro256(seed: seed)
    let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
    for i in 0..<n { p[i] = Float(rng.normal() * scale) }
    return p
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock], warmupIterations: 2, maxDuration: .seconds(3), maxIterations: 50)
    Runtime.setThreads(threads)
    let cfg = smallConfig()

    // sgemm at the model's own shapes (the toolkit's tiled product on the thread team).
    for s in GemmBench.shapes(for: cfg) {
        Benchmark("sgemm \(s.name) \(s.M)x\(s.N)x\(s.K)", configuration: .init(metrics: [.wallClock, Metric.gflops])) { b in
            let lda = s.transA ? s.M : s.K, ldb = s.transB ? s.K : s.N
            let a = buffer(s.M * s.K, seed: 1), bm = buffer(s.K * s.N, seed: 2), c = buffer(s.M * s.N, seed: 3)
            defer { a.deallocate(); bm.deallocate(); c.deallocate() }
            b.startMeasurement()
            let t0 = System.now()
            for _ in b.scaledIterations { Float.gemm(s.transA, s.transB, s.M, s.N, s.K, 1, a, lda, bm, ldb, 0, c, s.N) }
            let dt = System.now() - t0
            b.stopMeasurement()
            b.measurement(Metric.gflops, Int(s.flops * Double(b.scaledIterations.count) / dt / 1e9))
        }
    }

    // Fused kernels in GB/s (bytes read + written per call).
    let T = cfg.batch * cfg.seqLen, d = cfg.dModel, F = cfg.denseWidth, V = cfg.vocab
    let kernelCases:
        [(String, Double, (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void)] = [
            ("rmsnorm forward", Double(2 * T * d * 4), { x, y, w, r in Float.rmsnormForward(y, r, x, w, T, d, 1e-6) }),
            ("rmsnorm backward", Double(4 * T * d * 4), { x, y, w, r in Float.rmsnormBackward(y, w, x, x, w, r, T, d) }),
            ("swiglu forward", Double(3 * T * F * 4), { x, y, _, _ in Float.swigluForward(y, x, T, F) }),
            ("swiglu backward", Double(5 * T * F * 4), { x, y, _, _ in Float.swigluBackward(y, x, x, T, F) }),
            (
                "rope forward", Double(2 * T * 2 * d * 4),
                { x, _, w, r in Float.rope(x, w, r, T, cfg.seqLen, 2 * cfg.heads, d / cfg.heads, 3 * d, inverse: false) }
            ),
            ("cross-entropy fwd+bwd", Double(2 * T * V * 4), { x, _, _, r in Float.crossEntropy(r, x, targets, T, V, gradScale: 1) }),
        ]
    for (name, bytes, body) in kernelCases {
        Benchmark("kernel \(name)", configuration: .init(metrics: [.wallClock, Metric.gbps])) { b in
            let n = T * 2 * max(F, 3 * d, V)
            let x = buffer(n, seed: 4), y = buffer(n, seed: 5), w = buffer(n, seed: 6), r = buffer(n, seed: 7, scale: 0.1)
            for i in 0..<n { r[i] = abs(r[i]) + 0.5 }
            defer { x.deallocate(); y.deallocate(); w.deallocate(); r.deallocate() }
            b.startMeasurement()
            let t0 = System.now()
            for _ in b.scaledIterations { body(x, y, w, r) }
            let dt = System.now() - t0
            b.stopMeasurement()
            b.measurement(Metric.gbps, Int(bytes * Double(b.scaledIterations.count) / dt / 1e9))
        }
    }
    Benchmark("kernel adamw 7M", configuration: .init(metrics: [.wallClock, Metric.gbps])) { b in
        let n = 7_000_000
        let p = buffer(n, seed: 1), m = buffer(n, seed: 2, scale: 0.01), v = buffer(n, seed: 3, scale: 0.01), g = buffer(n, seed: 4, scale: 0.01)
        for i in 0..<n { v[i] = abs(v[i]) }
        defer { p.deallocate(); m.deallocate(); v.deallocate(); g.deallocate() }
        b.startMeasurement()
        let t0 = System.now()
        for _ in b.scaledIterations {
            Float.adamw(p, m, v, g, n, lr: 1e-9, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, biasCorrection1: 0.5, biasCorrection2: 0.5)
        }
        let dt = System.now() - t0
        b.stopMeasurement()
        b.measurement(Metric.gbps, Int(Double(7 * n * 4) * Double(b.scaledIterations.count) / dt / 1e9))
    }

    // SMALL training steps (dense, and MoE with smoe and rmoe: E=16, k=4, f=128, p=64): time,
    // tokens/s, and heap allocations per step after warm-up (mallocCountTotal; expected 0).
    for router in ["dense", "smoe", "rmoe"] {
        Benchmark(
            "train step \(router) SMALL",
            configuration: .init(
                metrics: [.wallClock, Metric.tokens, .mallocCountTotal],
                warmupIterations: 2, maxDuration: .seconds(10), maxIterations: 15)
        ) { b in
            let fixture = StepFixture.make(router)
            b.startMeasurement()
            let t0 = System.now()
            for _ in b.scaledIterations { fixture.step() }
            let dt = System.now() - t0
            b.stopMeasurement()
            b.measurement(Metric.tokens, Int(Double(fixture.model.rows * b.scaledIterations.count) / dt))
        }
    }
    routerOverheadBenchmarks()
}

// Router overhead at SMALL (E=16, k=4, f=128, p=64), as `rmoe bench router`: each router's step
// timed interleaved with smoe's in one process; its time and FLOP ratios to smoe and its share of
// the step's time and FLOPs, in permille.
func routerOverheadBenchmarks() {
    for router in Routers.names where router != "dense" && router != "smoe" {
        Benchmark(
            "router \(router) vs smoe SMALL",
            configuration: .init(
                metrics: [Metric.timeRatio, Metric.flopRatio, Metric.routerShare, Metric.routerFlopShare],
                warmupIterations: 0, maxDuration: .seconds(60), maxIterations: 1)
        ) { b in
            var smoe = smallConfig()
            smoe.router = "smoe"; smoe.ffnWidth = 0; smoe.experts = 16; smoe.topK = 4; smoe.expertWidth = 128; smoe[RMoERouter.routerDim] = 64
            var other = smoe
            other.router = router
            let r = try StepBench.run(configs: [smoe, other], threads: threads, reps: 5)
            b.measurement(Metric.timeRatio, Int((1000 * r[1].timing.median / r[0].timing.median).rounded()))
            b.measurement(Metric.flopRatio, Int((1000 * r[1].flops / r[0].flops).rounded()))
            b.measurement(Metric.routerShare, Int((1000 * r[1].routerShare).rounded()))
            b.measurement(Metric.routerFlopShare, Int((1000 * r[1].routerFlopShare).rounded()))
        }
    }
}

nonisolated(unsafe) let targets: UnsafeMutablePointer<Int32> = {
    let n = 8 * 256
    let p = UnsafeMutablePointer<Int32>.allocate(capacity: n)
    for i in 0..<n { p[i] = Int32(i * 7 % 256) }
    return p
}()

/// Models built once per router (outside the measured region), so a measurement sees only steps.
final class StepFixture: @unchecked Sendable {
    nonisolated(unsafe) static var cache: [String: StepFixture] = [:]
    static func make(_ router: String) -> StepFixture {
        if let f = cache[router] { return f }
        let f = StepFixture(router)
        cache[router] = f
        return f
    }

    let model: LanguageModel<Float>
    let optimizer: AdamW<Float>

    init(_ router: String) {
        Runtime.setThreads(threads)
        var c = smallConfig()
        c.router = router
        model = try! LanguageModel<Float>(config: c)
        model.initialize(seed: 1)
        optimizer = AdamW(layout: model.layout)
        var rng = Xoshiro256(seed: 2)
        for i in 0..<model.rows { model.tokens[i] = Int32(rng.below(256)); model.targets[i] = Int32(rng.below(256)) }
    }

    func step() {
        model.grads.zero()
        model.forward(training: true)
        model.backward()
        AdamW.clip(model.grads, maxNorm: 1)
        optimizer.step(params: model.params, grads: model.grads, lr: 1e-4)
    }
}
