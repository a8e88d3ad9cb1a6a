import Foundation
import RMoECore

/// Fused-kernel throughput: the C kernels on the OpenMP team against the Swift SIMD kernels on
/// `SwiftPool`, at the SMALL model's sizes, in one process, alternating blocks of repetitions.
public enum KernelBench {
    public struct Row: Sendable {
        public var kernel: String
        public var runtime: String
        public var threads: Int
        public var timing: Timing
        public var bytes: Double
        public var gbPerSecond: Double { bytes / timing.median / 1e9 }
    }

    public static func run(
        threads: Int, rows N: Int = 2048, d D: Int = 256, ffn F: Int = 512, params P: Int = 7_000_000,
        reps: Int = 30, rounds: Int = 2
    ) -> [Row] {
        var rng = Xoshiro256(seed: 5)
        func buf(_ n: Int, _ scale: Double = 1) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
            for i in 0..<n { p[i] = Float(rng.normal() * scale) }
            return p
        }
        let x = buf(N * D), w = buf(D), y = buf(N * D), rstd = buf(N)
        let a = buf(N * 2 * F, 2), g = buf(N * F)
        let p = buf(P), m = buf(P, 0.01), v = buf(P, 0.01), gr = buf(P, 0.01)
        for i in 0..<P { v[i] = abs(v[i]) }
        defer { for b in [x, w, y, rstd, a, g, p, m, v, gr] { b.deallocate() } }

        struct K { let name: String; let bytes: Double; let c: () -> Void; let swift: (SwiftPool) -> Void }
        let rowChunk = 64, elemChunk = 65536
        let kernels: [K] = [
            K(
                name: "rmsnorm_fwd", bytes: Double(2 * N * D * 4),
                c: { Float.rmsnormForward(y, rstd, x, w, N, D, 1e-6) },
                swift: { pool in
                    pool.parallelFor((N + rowChunk - 1) / rowChunk) { c in
                        SwiftKernels.rmsnormRows(y, rstd, x, w, c * rowChunk, Swift.min(N, (c + 1) * rowChunk), D, 1e-6)
                    }
                }),
            K(
                name: "swiglu_fwd", bytes: Double(3 * N * F * 4),
                c: { Float.swigluForward(g, a, N, F) },
                swift: { pool in
                    pool.parallelFor((N + rowChunk - 1) / rowChunk) { c in
                        SwiftKernels.swigluRows(g, a, c * rowChunk, Swift.min(N, (c + 1) * rowChunk), F)
                    }
                }),
            K(
                name: "adamw", bytes: Double(7 * P * 4),
                c: {
                    Float.adamw(
                        p, m, v, gr, P, lr: 1e-9, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0,
                        biasCorrection1: 0.5, biasCorrection2: 0.5)
                },
                swift: { pool in
                    pool.parallelFor((P + elemChunk - 1) / elemChunk) { c in
                        SwiftKernels.adamwRange(
                            p, m, v, gr, c * elemChunk, Swift.min(P, (c + 1) * elemChunk), lr: 1e-9, b1: 0.9, b2: 0.999,
                            eps: 1e-8, wd: 0, bc1: 0.5, bc2: 0.5)
                    }
                }),
        ]
        var rows: [Row] = []
        for k in kernels {
            var tc = Timing(samples: []), ts = Timing(samples: [])
            for _ in 0..<rounds {
                Runtime.setThreads(threads)
                tc.merge(Timing.measure(warmup: 3, reps: reps, k.c))
                quiesceOpenMP()
                let pool = SwiftPool(threads: threads)
                ts.merge(Timing.measure(warmup: 3, reps: reps) { k.swift(pool) })
                pool.shutdown()
                usleep(50_000)
            }
            rows.append(Row(kernel: k.name, runtime: "C + OpenMP", threads: threads, timing: tc, bytes: k.bytes))
            rows.append(Row(kernel: k.name, runtime: "Swift SIMD + pool", threads: threads, timing: ts, bytes: k.bytes))
        }
        return rows
    }
}
