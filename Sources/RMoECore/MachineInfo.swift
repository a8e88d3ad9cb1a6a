import COpenBLAS
import Foundation

/// Facts about the machine a run ran on, for the provenance of its files.
public enum MachineInfo {
    /// The CPU's model name (`/proc/cpuinfo`), or "unknown".
    public static let cpuModel: String = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") { return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
        }
        return "unknown"
    }()

    /// The BLAS library: OpenBLAS's build string and the kernel it picked for this CPU.
    public static let blas: String = {
        let config = openblas_get_config().map { String(cString: $0) } ?? "OpenBLAS"
        let core = openblas_get_corename().map { String(cString: $0) } ?? "?"
        return "\(config.trimmingCharacters(in: .whitespaces)) (core \(core))"
    }()

    /// This machine's host name.
    public static let hostName: String = {
        var buf = [CChar](repeating: 0, count: 256)
        return gethostname(&buf, buf.count) == 0 ? String(cString: buf) : "unknown"
    }()

    /// Physical memory available to new allocations now (MemAvailable of /proc/meminfo), in bytes; nil if unknown.
    public static var availableMemoryBytes: Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let parts = line.split(separator: " ")
            if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
        }
        return nil
    }
}

/// Refuses allocations the machine cannot hold, before they are made.
public enum MemoryBudget {
    /// Throws when `bytes` exceeds the memory available now (or any sane size); `what` names the consumer.
    public static func check(bytes: Double, what: String) throws {
        let gb = { (b: Double) in String(format: "%.1f GB", b / 1e9) }
        guard bytes.isFinite, bytes < 9e18 else {
            throw RMoEError("\(what) needs more memory than any machine has; use smaller sizes")
        }
        if let available = MachineInfo.availableMemoryBytes, bytes > Double(available) {
            throw RMoEError("\(what) needs \(gb(bytes)), \(gb(Double(available))) available; use smaller sizes (or a machine with more memory)")
        }
    }
}
