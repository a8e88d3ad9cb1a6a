import ArgumentParser
import Foundation
import RMoECore
import RMoEReport

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Table and plot any finished run folders together (summary.csv, table.md, plots/, report.html in --out).",
        discussion: """
            Runs from different sweeps, single `rmoe train` runs, or a subset of a sweep: e.g. \
            `rmoe compare results/scale/runs/*-layers12 --out compare-l12`. Each run is one row and one line, labelled by \
            its folder name (or --labels).
            """)
    @Argument(help: "Run folders (each with config.json and final.json).") var runs: [String]
    @Option(parsing: .upToNextOption, help: "One label per run (default: the folder names).") var labels: [String] = []
    @Option(help: "Output folder.") var out: String = "compare"

    func run() throws {
        let table = try Compare.write(runs: runs, labels: labels.isEmpty ? nil : listItems(labels), out: out)
        print(table)
        print("report: \(out)/report.html   plots: \(out)/plots/   summary: \(out)/summary.csv")
    }
}
