import Foundation
import RMoEBuildInfo
import RMoECore

/// Where a run file came from: the toolkit's version and commit (and whether its tree was dirty),
/// when, on which CPU, with how many threads and which BLAS. Written into every `config.json`,
/// `final.json` and checkpoint (metadata key `provenance`).
public struct Provenance: Sendable, Equatable {
    public var version = BuildInfo.version
    public var commit = BuildInfo.commit
    public var dirty = BuildInfo.dirty
    /// ISO 8601 UTC time the file was written.
    public var date: String
    public var cpu = MachineInfo.cpuModel
    public var host = MachineInfo.hostName
    public var threads: Int
    /// Processes of the job (data-parallel ranks; 1 without MPI).
    public var ranks: Int
    public var blas = MachineInfo.blas

    public init(threads: Int, ranks: Int = 1, date: Date = Date()) {
        self.threads = threads
        self.ranks = ranks
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        self.date = f.string(from: date)
    }

    /// The provenance as a JSON object value.
    public var json: JSONValue {
        .object([
            ("toolkit", .string("rmoe")), ("version", .string(version)), ("commit", .string(commit)), ("dirty", .bool(dirty)),
            ("date", .string(date)), ("cpu", .string(cpu)), ("host", .string(host)), ("threads", .int(threads)), ("ranks", .int(ranks)),
            ("blas", .string(blas)),
        ])
    }

    /// The one line `rmoe --version` prints.
    public static var versionLine: String { "rmoe \(BuildInfo.description)" }
}
