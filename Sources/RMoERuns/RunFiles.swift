import Foundation
import RMoECore

/// The files of one run folder (docs/architecture.md section 6):
/// `config.json`, `metrics.jsonl`, `final.json`, `model.safetensors`, `train-state.safetensors`.
public struct RunFiles: Sendable {
    public let dir: String
    public init(_ dir: String) { self.dir = dir }

    public var config: String { dir + "/config.json" }
    public var metrics: String { dir + "/metrics.jsonl" }
    public var final: String { dir + "/final.json" }
    public var model: String { dir + "/model.safetensors" }
    public var trainState: String { dir + "/train-state.safetensors" }
    /// The best-validation weights (periodic evaluation).
    public var best: String { dir + "/best.safetensors" }
    /// Weights kept at step `step` (`keep_steps`).
    public func kept(step: Int) -> String { dir + "/model-step\(step).safetensors" }
    /// The final.json of an earlier end of the run, kept when the run is extended past it.
    public func archivedFinal(step: Int) -> String { dir + "/final-step\(step).json" }
    public var analysis: String { dir + "/analysis.json" }
    /// The analysis.json of an earlier end of the run (of the weights its final.json evaluated),
    /// kept when the run is extended past it.
    public func archivedAnalysis(step: Int) -> String { dir + "/analysis-end\(step).json" }
    /// The routing analyses of the weights kept at `step`.
    public func analysis(step: Int) -> String { dir + "/analysis-step\(step).json" }

    /// Steps of the kept weights in this folder (model-step<N>.safetensors), ascending.
    public func keptSteps() -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.compactMap { n -> Int? in
            guard n.hasPrefix("model-step"), n.hasSuffix(".safetensors") else { return nil }
            return Int(n.dropFirst("model-step".count).dropLast(".safetensors".count))
        }.sorted()
    }

    /// Whether `name` is a file the toolkit writes into a run folder.
    public static func isRunFile(_ name: String) -> Bool {
        if [
            "config.json", "metrics.jsonl", "final.json", "model.safetensors", "train-state.safetensors", "best.safetensors",
            "analysis.json",
        ].contains(name) {
            return true
        }
        func numbered(_ prefix: String, _ suffix: String) -> Bool {
            name.hasPrefix(prefix) && name.hasSuffix(suffix) && name.count > prefix.count + suffix.count
                && name.dropFirst(prefix.count).dropLast(suffix.count).allSatisfy(\.isNumber)
        }
        return numbered("model-step", ".safetensors") || numbered("final-step", ".json") || numbered("analysis-step", ".json")
            || numbered("analysis-end", ".json")
    }

    /// How a run folder's `final.json` ends the run.
    public enum Ending: Equatable, Sendable {
        /// Trained and evaluated to `step`.
        case complete(step: Int)
        /// Stopped at `step` because something became non-finite.
        case diverged(step: Int, cause: String)
    }

    /// What `final.json` says, or nil when the run has not ended (or the file is unreadable).
    public var ending: Ending? {
        guard let d = FileManager.default.contents(atPath: final),
            let o = try? JSON.object([UInt8](d), origin: final)
        else { return nil }
        let step = (o["step"] as? NSNumber)?.intValue ?? 0
        if (o["status"] as? String) == "diverged" { return .diverged(step: step, cause: o["cause"] as? String ?? "non-finite values") }
        return .complete(step: step)
    }

    /// Before a complete run is extended past its end: its final.json moves to final-step<N>.json
    /// (kept as the result at that length). Returns a note, or nil when there was nothing to move.
    public func reopen(toSteps steps: Int) throws -> String? {
        guard case .complete(let done)? = ending, done < steps else { return nil }
        let archived = archivedFinal(step: done)
        if rename(final, archived) != 0 {
            throw RMoEError("cannot move \(final) to \(archived) (\(AtomicFile.reason(errno))); check the run folder's permissions")
        }
        // The routing analysis of the weights that final.json evaluated goes with it (the extended
        // run evaluates, and analyses, other weights); kept-step analyses stay valid.
        var also = ""
        if exists(analysis) {
            let archivedA = archivedAnalysis(step: done)
            if rename(analysis, archivedA) != 0 {
                throw RMoEError("cannot move \(analysis) to \(archivedA) (\(AtomicFile.reason(errno))); check the run folder's permissions")
            }
            also = " and its analysis as \(archivedA)"
        }
        AtomicFile.syncDirectory(of: final)
        return "extending the run from step \(done) to \(steps); its result at step \(done) is kept as \(archived)\(also)"
    }

    /// Removes every file of the run in this folder (`--overwrite`); other files stay.
    public func clear() throws {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        for name in names where Self.isRunFile(name) || name.contains(".tmp-") {
            if unlink(dir + "/" + name) != 0 && errno != ENOENT {
                throw RMoEError("cannot remove \(dir)/\(name) (\(AtomicFile.reason(errno))); check the folder's permissions")
            }
        }
        AtomicFile.syncDirectory(of: dir + "/x")
    }

    public func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    public func create() throws {
        try AtomicFile.createDirectory(dir, what: "run folder")
    }
}

/// Removes the temporaries this host's dead writers left in `dir` (see `AtomicFile`).
public func removeStaleTemporaries(in dir: String) { AtomicFile.removeStaleTemporaries(in: dir) }

/// Writes a whole file atomically (`AtomicFile`: temporary file, fsync, rename, directory fsync).
public func writeFileAtomically(_ path: String, _ text: String) throws {
    try AtomicFile.write(path, text: text)
}

/// `metrics.jsonl`: one JSON object per line, append-only. Each line is written with one write(2)
/// and flushed. On resume from step N, `truncate(after:)` keeps exactly the complete lines with
/// step <= N (a line cut by a kill is dropped), so no line is lost or duplicated.
public final class MetricsLog {
    public let path: String
    private var fd: Int32 = -1

    public init(path: String) { self.path = path }
    deinit { if fd >= 0 { close(fd) } }

    public func open() throws {
        fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        if fd < 0 { throw RMoEError("cannot open \(path) for appending (\(AtomicFile.reason(errno))); check the run folder's permissions") }
    }

    public func append(_ line: String) throws {
        precondition(fd >= 0)
        let bytes = Array((line + "\n").utf8)
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n != bytes.count {
            let why = n < 0 ? AtomicFile.reason(errno) : "only \(n) of \(bytes.count) bytes written"
            // Drop a partial line, so the file keeps only whole lines.
            if n > 0 { _ = ftruncate(fd, lseek(fd, 0, SEEK_END) - off_t(n)) }
            throw RMoEError("cannot append to \(path) (\(why)); check free disk space")
        }
        _ = fdatasync(fd)
    }

    /// Keeps the complete lines whose "step" is at most `step`; rewrites the file atomically.
    /// Returns the number of lines dropped.
    @discardableResult
    public func truncate(after step: Int) throws -> Int {
        guard let data = FileManager.default.contents(atPath: path) else { return 0 }
        let text = String(decoding: data, as: UTF8.self)
        var kept: [String] = []
        let endsComplete = text.hasSuffix("\n")
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        if !endsComplete && !lines.isEmpty { lines.removeLast() }  // cut by a kill mid-write
        for line in lines {
            guard let s = MetricsLog.step(of: line) else { continue }
            if s <= step { kept.append(line) }
        }
        let dropped = text.split(separator: "\n", omittingEmptySubsequences: true).count - kept.count
        if dropped > 0 { try writeFileAtomically(path, kept.map { $0 + "\n" }.joined()) }
        return dropped
    }

    /// The "step" field of a metrics line.
    public static func step(of line: String) -> Int? {
        guard case .int(let s)? = (try? JSON.parse(line, origin: "metrics line"))?["step"] else { return nil }
        return s
    }

    /// Parsed lines of a metrics file.
    public static func read(_ path: String) -> [[String: Any]] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
            try? JSON.object(Array($0.utf8), origin: path)
        }
    }
}

#if canImport(Glibc)
    import Glibc
#endif
