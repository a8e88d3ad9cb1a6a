import ArgumentParser
import Foundation
import RMoECore
import RMoEDistributed
import RMoERuns
import RMoEReport

struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a grid of runs (routers x seeds x overrides) from a preset or a sweep file; resumable.",
        discussion: """
            Presets: \(Presets.all.map(\.name).joined(separator: ", ")) (`--list`, `--show NAME`). Output goes to \
            results/<name>/ unless --out says otherwise. Kill it at any moment and start it again: finished runs are skipped, \
            the interrupted one resumes from its last checkpoint. `--shard i/n` runs the i-th of n slices (several processes \
            or machines can share a sweep folder); `--report DIR` rebuilds summary.csv, table.md and plots/ from the complete runs.
            """)

    @Argument(help: "Preset name or sweep file.") var sweep: String?
    @Option(help: "Output folder (default results/<name>).") var out: String?
    @Option(help: ArgumentHelp("Run only the i-th of n slices of the grid.", valueName: "i/n")) var shard: String?
    @Option(name: .customLong("set"), help: ArgumentHelp("Override a field in every run (repeatable).", valueName: "key=value"))
    var assignments: [String] = []
    @Option(help: ArgumentHelp("Rebuild the report of a sweep folder and exit.", valueName: "dir")) var report: String?
    @Option(help: ArgumentHelp("Print a preset's file and exit.", valueName: "name")) var show: String?
    @Flag(help: "List the presets and exit.") var list = false
    @Flag(help: "Print only run summaries.") var quiet = false
    @Flag(help: "Run the routing analyses (rmoe analyze) on each finished run; table.md gains MI and expert similarity.")
    var analyze = false
    @Option(help: "Tokens of the test split per analysis (with --analyze).") var analyzeTokens: Int = 8192
    @Flag(help: "Only analyse runs that are complete (and rebuild the report); train nothing. Safe beside running shards.")
    var analyzeOnly = false
    @Option(
        name: .customLong("ranks-per-run"),
        help: ArgumentHelp(
            "Under mpirun: train each run on this many ranks together (data parallel, or expert parallel with --set expert_parallel=true); groups of consecutive ranks take runs.",
            valueName: "m"))
    var ranksPerRun: Int = 1
    @Flag(
        name: .customLong("dry-run"),
        help: "Print the runs (of this shard) with parameters, FLOPs per step, memory and estimated wall time; train and write nothing.")
    var dryRun = false
    @OptionGroup var data: DataOptions

    func run() throws {
        if list {
            for p in Presets.all {
                let spec = try SweepSpec.parse(p.text, origin: p.name)
                print("\(p.name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(try spec.runs().count) runs  \(spec.description)")
            }
            return
        }
        if let show {
            guard let t = Presets.text(show) else { throw RMoEError("no preset '\(show)'; presets: \(Presets.all.map(\.name).joined(separator: ", "))") }
            print(t, terminator: "")
            return
        }
        if let report {
            try SweepReport.write(dir: report)
            print(try String(contentsOfFile: report + "/table.md", encoding: .utf8))
            return
        }
        guard let sweep else { throw ValidationError("give a preset or sweep file, or --report DIR, --show NAME, --list") }
        let spec = try Presets.load(sweep)
        let dir = out ?? "results/\(spec.name)"
        if dryRun {
            let runner = try SweepRunner(spec: spec, out: dir, overrides: assignments, shard: try shard.map(Shard.parse), dataDir: data.dataDir)
            let calibrator = DryRun.Calibrator()
            var rows: [(id: String, config: RunConfig, estimate: DryRun.Estimate?, status: String)] = []
            for (i, r) in runner.runs.enumerated() where runner.shard?.contains(i) ?? true {
                let done = runner.isComplete(r)
                rows.append((r.id, r.config, done ? nil : try calibrator.estimate(r.config), done ? "complete in \(dir)" : ""))
            }
            print("sweep \(spec.name): \(rows.count) runs\(runner.shard.map { " (shard \($0.index)/\($0.count))" } ?? ""), output \(dir)")
            print(DryRun.table(rows))
            return
        }
        guard ranksPerRun >= 1 && ranksPerRun <= 1 << 20 else { throw ValidationError("--ranks-per-run must be at least 1") }
        let comm = Communicator.world
        let group = try comm.split(groupSize: ranksPerRun)
        let runner = try SweepRunner(
            spec: spec, out: dir, overrides: assignments, shard: try shard.map(Shard.parse),
            dataDir: data.dataDir, progress: ProgressPrinter(quiet: quiet || !group.isRoot))
        runner.group = group
        if analyze || analyzeOnly { runner.analyzeTokens = analyzeTokens }
        runner.trainRuns = !analyzeOnly
        // Under mpirun every rank (or group of --ranks-per-run ranks) is a worker: it takes the
        // next run no other process holds (the run locks), so a fast worker takes more runs; rank 0
        // writes the report when all are done.
        var diverged: SweepDiverged? = nil
        do {
            try runner.run()
        } catch let d as SweepDiverged {
            diverged = d
        } catch {
            if comm.isDistributed {
                System.printError("Error: (rank \(comm.rank) of \(comm.size)) \(error)")
                comm.abort(code: 1)
            }
            throw error
        }
        try comm.barrier()
        guard comm.isRoot else {
            if let diverged { throw diverged }
            return
        }
        try SweepReport.write(dir: dir)
        print(try String(contentsOfFile: dir + "/table.md", encoding: .utf8))
        if let diverged { throw diverged }
        print("summary: \(dir)/summary.csv   plots: \(dir)/plots/")
    }
}
