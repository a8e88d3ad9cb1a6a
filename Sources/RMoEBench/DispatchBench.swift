import Foundation
import RMoECore
import RMoEModel

/// The expert FFN through the dispatcher against its ideal: the same per-expert products as plain
/// single-threaded sgemms, one whole expert per call, the experts dealt to the threads (what two
/// single-threaded sgemm streams of the same shapes achieve), and against one dense FFN of width
/// k·f over the T tokens (the same FLOPs as three large matmuls through `rk_gemm`: X W1ᵀ, X W3ᵀ
/// [T, kf] and G W2ᵀ [T, d]). Forward only, SwiGLU experts.
public enum DispatchBench {
    public struct Result: Sendable {
        public var dispatcher: Timing, ideal: Timing, dense: Timing
        public var flops: Double
        public var ratio: Double { ideal.median / dispatcher.median }
        public var denseRatio: Double { dense.median / dispatcher.median }
    }

    public static func run(config c: ModelConfig, threads: Int, reps: Int = 20) -> Result {
        Runtime.setThreads(threads)
        let T = c.batch * c.seqLen, d = c.dModel, f = c.expertWidth, E = c.experts, k = c.topK
        var rng = Xoshiro256(seed: 4)
        func buf(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
            for i in 0..<n { p[i] = Float(rng.normal() * 0.05) }
            return p
        }
        let x = buf(T * d), z = buf(T * E), w1 = buf(E * f * d), w3 = buf(E * f * d), w2 = buf(E * d * f)
        let gate = buf(T * k), Xe = buf(T * k * d), H = buf(T * k * 2 * f), G = buf(T * k * f), Ye = buf(T * k * d)
        defer { for b in [x, z, w1, w3, w2, gate, Xe, H, G, Ye] { b.deallocate() } }
        let routing = Routing(tokens: T, experts: E, topK: k, dModel: d, expertWidth: f)
        Float.topKGate(routing.idx, gate, z, T, E, k)
        routing.route(dModel: d, expertWidth: f, relu: false)
        Float.moeGather(Xe, x, routing.pointer, d)
        let offsets = routing.raw.pointee.offsets!, counts = routing.raw.pointee.counts!
        let dispatcher = Timing.measure(warmup: 3, reps: reps) {
            Float.moeExpertsForward(H, G, Ye, Xe, w1, w3, w2, nil, nil, routing.pointer, d, f, false)
        }
        // Ideal: one single-threaded sgemm stream per thread, whole experts, no tiles.
        final class Ctx: @unchecked Sendable {
            let body: (Int) -> Void
            init(_ b: @escaping (Int) -> Void) { body = b }
        }
        let ctx = Ctx { e in
            let r0 = Int(offsets[e]), n = Int(counts[e])
            guard n > 0 else { return }
            Float.gemmSerial(false, true, n, f, d, 1, Xe + r0 * d, d, w1 + e * f * d, d, 0, H + r0 * 2 * f, 2 * f)
            Float.gemmSerial(false, true, n, f, d, 1, Xe + r0 * d, d, w3 + e * f * d, d, 0, H + r0 * 2 * f + f, 2 * f)
            Float.gemmSerial(false, true, n, d, f, 1, G + r0 * f, f, w2 + e * d * f, f, 0, Ye + r0 * d, d)
        }
        let ideal = Timing.measure(warmup: 3, reps: reps) {
            withExtendedLifetime(ctx) {
                rk_parallel_for_swift(E, Unmanaged.passUnretained(ctx).toOpaque()) { raw, i in
                    Unmanaged<Ctx>.fromOpaque(raw!).takeUnretainedValue().body(i)
                }
            }
        }
        // The same FLOPs as one dense FFN of width k·f: three large matmuls, tiled over the threads.
        let kf = k * f
        let dw1 = buf(kf * d), dw3 = buf(kf * d), dw2 = buf(d * kf), dH = buf(T * kf), dH3 = buf(T * kf), dY = buf(T * d)
        defer { for b in [dw1, dw3, dw2, dH, dH3, dY] { b.deallocate() } }
        let dense = Timing.measure(warmup: 3, reps: reps) {
            Float.gemm(false, true, T, kf, d, 1, x, d, dw1, d, 0, dH, kf)
            Float.gemm(false, true, T, kf, d, 1, x, d, dw3, d, 0, dH3, kf)
            Float.gemm(false, true, T, d, kf, 1, dH, kf, dw2, kf, 0, dY, d)
        }
        return Result(dispatcher: dispatcher, ideal: ideal, dense: dense, flops: 2 * Double(T * k) * Double(d * f) * 3)
    }
}
