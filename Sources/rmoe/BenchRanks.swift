import ArgumentParser
import Foundation
import RMoECore
import RMoEData
import RMoEDistributed
import RMoERuns

extension Bench {
    /// Training steps of the real trainer over the ranks of an `mpirun` job (or one process):
    /// step time, the share of it in the ranks' collectives, and the bytes each rank sends.
    struct Ranks: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Distributed training step: time, communication share and bytes per step (run it under mpirun; SMALL config by default).",
            discussion: """
                Compare on one machine, with the same config:
                  rmoe bench ranks --threads 2                                             (1 rank x 2 threads)
                  mpirun -np 2 --bind-to none rmoe bench ranks --threads 1                 (data parallel)
                  mpirun -np 2 --bind-to none rmoe bench ranks --threads 1 --expert-parallel
                Add --mca btl tcp,self to mpirun for TCP over loopback instead of shared memory;
                scripts/bench-ranks.sh runs all of these and prints one table.
                """)
        @OptionGroup var options: ConfigOptions
        @Option(help: "Threads per rank.") var threads: Int = 1
        @Option(help: "Untimed steps first.") var warmup: Int = 3
        @Option(help: "Timed steps.") var steps: Int = 10
        @Flag(help: "Print one JSON object instead of a line.") var json = false
        @Option(help: "A label for the transport, copied into the output (e.g. shm, tcp).") var transport: String = ""

        func run() throws {
            let comm = Communicator.world
            do {
                try measure(comm)
            } catch {
                if comm.isDistributed {
                    FileHandle.standardError.write(Data("rmoe: rank \(comm.rank): \(error)\n".utf8))
                    comm.abort(code: 1)
                }
                throw error
            }
        }

        func measure(_ comm: Communicator) throws {
            guard threads >= 1 && threads <= Runtime.maxThreads, warmup >= 0, steps >= 1 && steps <= 100_000 else {
                throw ValidationError("--threads must be 1 to \(Runtime.maxThreads), --warmup at least 0, --steps 1 to 100000")
            }
            var c = try options.resolve()
            try c.apply(assignment: "threads=\(threads)", origin: "--threads")
            try c.apply(assignment: "steps=\(warmup + steps)", origin: "--steps")
            c.evalEvery = 0
            c.finalEval = false
            var synthetic = c.synthetic
            synthetic.vocab = c.model.vocab
            let corpus = SyntheticSource(synthetic).corpus(seqLen: c.model.seqLen)
            c.corpus = .synthetic
            let trainer = try Trainer(config: c, corpus: corpus, files: nil, progress: ProgressPrinter(quiet: true), comm: comm)
            for _ in 0..<warmup { _ = try trainer.trainStep() }
            let comm0 = trainer.communicationSeconds, bytes0 = comm.bytesSent
            var times: [Double] = []
            for _ in 0..<steps {
                try comm.barrier()
                let t0 = System.now()
                _ = try trainer.trainStep()
                times.append(System.now() - t0)
            }
            let commSeconds = trainer.communicationSeconds - comm0
            // Every rank's numbers, reported by rank 0: the slowest rank's median sets the pace.
            let sorted = times.sorted()
            let median = sorted[sorted.count / 2]
            let mine = [median, sorted.first!, sorted.last!, commSeconds / times.reduce(0, +), Double(comm.bytesSent - bytes0) / Double(steps)]
            let all = try comm.gather(mine)
            guard comm.isRoot else { return }
            let slowest = all.max { $0[0] < $1[0] }!
            let mode = comm.size == 1 ? "single" : (c.expertParallel ? "expert-parallel" : "data-parallel")
            let share = all.map { $0[3] }.reduce(0, +) / Double(all.count)
            let bytes = all.map { $0[4] }.reduce(0, +) / Double(all.count)
            let tokens = Double(c.model.batch * c.model.seqLen)
            if json {
                print(
                    JSONText.object([
                        ("bench", .string("ranks")), ("mode", .string(mode)), ("ranks", .int(comm.size)), ("threads_per_rank", .int(threads)),
                        ("transport", .string(transport)), ("router", .string(c.model.router)), ("ms_median", .double(slowest[0] * 1e3)),
                        ("ms_min", .double(slowest[1] * 1e3)), ("ms_max", .double(slowest[2] * 1e3)),
                        ("tokens_per_s", .double((tokens / slowest[0]).rounded())), ("communication_share", .double(share)),
                        ("bytes_sent_per_rank_per_step", .double(bytes.rounded())), ("steps", .int(steps)),
                    ]))
            } else {
                print(
                    String(
                        format:
                            "%@ %@, %d rank(s) x %d thread(s)%@: %.1f ms/step median (min %.1f, max %.1f), %@ tokens/s, communication %.1f%% of the step, %.2f MB sent per rank per step",
                        c.model.router, mode, comm.size, threads, transport.isEmpty ? "" : " over \(transport)", slowest[0] * 1e3, slowest[1] * 1e3,
                        slowest[2] * 1e3, formatCount(tokens / slowest[0]), 100 * share, bytes / 1e6))
            }
        }
    }
}
