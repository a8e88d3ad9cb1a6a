import Foundation
import RMoECore
import RMoERuns

/// `rmoe compare RUN...`: any run folders (of one sweep or of several, or single `rmoe train`
/// runs) tabled and plotted together, with the sweep report's table, CSV, figures and
/// report.html. Each run is its own row and line, labelled by its folder name (or `--labels`).
public enum Compare {
    /// Writes summary.csv, table.md, plots/ and report.html into `out`; returns the table.
    public static func write(runs dirs: [String], labels: [String]? = nil, out: String) throws -> String {
        guard !dirs.isEmpty else { throw RMoEError("give at least one run folder (a folder with config.json and final.json)") }
        if let labels, labels.count != dirs.count {
            throw RMoEError("--labels has \(labels.count) names for \(dirs.count) runs; give one per run")
        }
        var entries: [SweepReport.Entry] = [], seen: Set<String> = []
        for (i, dir) in dirs.enumerated() {
            let files = RunFiles(dir)
            guard let config = try? JSON.objectFile(files.config) else {
                throw RMoEError("\(dir) is not a run folder (no readable config.json); give folders that rmoe train or rmoe sweep wrote")
            }
            guard let final = try? JSON.objectFile(files.final) else {
                throw RMoEError("\(dir) has no final.json: the run is not finished; finish it (rmoe train --resume \(dir)) or leave it out")
            }
            var label = labels?[i] ?? URL(fileURLWithPath: dir).standardized.lastPathComponent
            if seen.contains(label) { label += "-\(i + 1)" }
            seen.insert(label)
            entries.append(
                SweepReport.Entry(
                    id: label, label: label, seed: (config["seed"] as? NSNumber)?.intValue ?? 0, point: [], config: config, final: final,
                    metrics: MetricsLog.read(files.metrics), analysis: try? JSON.objectFile(files.analysis)))
        }
        let metrics = Set(entries.compactMap { $0.final["metric"] as? String })
        guard metrics.count == 1 else {
            throw RMoEError("the runs report different metrics (\(metrics.sorted().joined(separator: ", "))): compare runs of one corpus kind")
        }
        try AtomicFile.createDirectory(out + "/plots", what: "output folder")
        let corpora = Set(entries.compactMap { $0.final["corpus"] as? String }).sorted().joined(separator: ", ")
        var t = SweepReport.table(name: "compare (\(corpora))", entries: entries, pending: [])
        let plots = SweepPlots.all(entries)
        let figures = plots.filter { $0.0.hasSuffix(".svg") }
        if !figures.isEmpty {
            t += "\nPlots: " + figures.map { "plots/" + $0.0 }.joined(separator: ", ") + " (each figure's data: the same name with .csv)\n"
        }
        t += "\nRuns: " + zip(entries, dirs).map { "\($0.0.id) = \($0.1)" }.joined(separator: "; ") + "\n"
        try writeFileAtomically(out + "/summary.csv", SweepReport.csv(entries))
        try writeFileAtomically(out + "/table.md", t)
        for (file, text) in plots { try writeFileAtomically(out + "/plots/" + file, text) }
        let page = ReportHTML.page(
            name: "compare", markdown: t, figures: figures.map { (file: $0.0, svg: $0.1) }, spec: dirs.joined(separator: "\n"),
            provenance: SweepReport.provenanceLines(entries), runs: zip(entries, dirs).map { ReportHTML.Run(id: $0.0.id, status: $0.1) },
            runLink: { id in "file://" + URL(fileURLWithPath: dirs[entries.firstIndex { $0.id == id }!]).standardized.path + "/" })
        try writeFileAtomically(out + "/report.html", page)
        return t
    }
}
