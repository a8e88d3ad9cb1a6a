import Foundation
import RMoECore

/// The files of one run folder (architecture.md section 6):
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

    public func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    public func create() throws {
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw RMoEError("cannot create run folder \(dir) (\(error.localizedDescription)); choose another --out")
        }
    }
}

/// Removes the temporary files (`<name>.tmp-<pid>`) that a killed writer left in `dir`: those
/// whose process is gone. Files of live processes (another shard of the same sweep) stay.
public func removeStaleTemporaries(in dir: String) {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
    for name in names {
        guard let r = name.range(of: ".tmp-", options: .backwards), let pid = Int32(name[r.upperBound...]) else { continue }
        if pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH { unlink(dir + "/" + name) }
    }
}

/// Writes a whole file atomically: to a temporary file beside it, then rename(2).
public func writeFileAtomically(_ path: String, _ text: String) throws {
    let tmp = path + ".tmp-\(getpid())"
    guard FileManager.default.createFile(atPath: tmp, contents: Data(text.utf8)) else {
        throw RMoEError("cannot write \(path); check that its folder exists and is writable")
    }
    if rename(tmp, path) != 0 {
        unlink(tmp)
        throw RMoEError("cannot move \(tmp) to \(path) (errno \(errno)); check the folder's permissions")
    }
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
        fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if fd < 0 { throw RMoEError("cannot open \(path) for appending (errno \(errno)); check the run folder's permissions") }
    }

    public func append(_ line: String) throws {
        precondition(fd >= 0)
        let bytes = Array((line + "\n").utf8)
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n != bytes.count { throw RMoEError("cannot append to \(path) (errno \(errno)); is the disk full?") }
    }

    /// Keeps the complete lines whose "step" is at most `step`; rewrites the file atomically.
    public func truncate(after step: Int) throws {
        guard let data = FileManager.default.contents(atPath: path) else { return }
        let text = String(decoding: data, as: UTF8.self)
        var kept: [String] = []
        let endsComplete = text.hasSuffix("\n")
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        if !endsComplete && !lines.isEmpty { lines.removeLast() }  // cut by a kill mid-write
        for line in lines {
            guard let s = MetricsLog.step(of: line) else { continue }
            if s <= step { kept.append(line) }
        }
        try writeFileAtomically(path, kept.map { $0 + "\n" }.joined())
    }

    /// The "step" field of a metrics line.
    public static func step(of line: String) -> Int? {
        guard let data = line.data(using: .utf8),
              let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return nil }
        return (obj["step"] as? NSNumber)?.intValue
    }

    /// Parsed lines of a metrics file.
    public static func read(_ path: String) -> [[String: Any]] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
