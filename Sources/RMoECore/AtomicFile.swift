#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Foundation

/// The one way the toolkit writes a file: to a temporary file beside it, fsync, rename(2) over the
/// target, then fsync of the directory, so a reader (or a restart after a crash or a full disk) sees
/// the old file or the whole new one, never a part. Temporary names carry the host and the process
/// (`<name>.tmp-<host>-<pid>`), so writers on several machines sharing a folder never collide, and a
/// restart removes only its own host's temporaries of dead processes.
public enum AtomicFile {
    /// The temporary name this process uses for `path`.
    public static func temporaryPath(for path: String) -> String { "\(path).tmp-\(hostTag)-\(getpid())" }

    /// Writes `parts` one after another as the new content of `path`. Errors name the file and the
    /// operating system's reason (e.g. "No space left on device").
    /// `what` names the kind of file in errors ("safetensors file", "file").
    public static func write(_ path: String, parts: [UnsafeRawBufferPointer], what: String = "file") throws {
        let tmp = temporaryPath(for: path)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let e = errno
            throw RMoEError(
                "cannot write \(what) \(path): creating a temporary file beside it failed (\(reason(e))); check that the directory exists and is writable")
        }
        var failure: String?
        for p in parts where failure == nil {
            if !writeAll(fd, p) { failure = "writing failed (\(reason(errno)))" }
        }
        if failure == nil && fsync(fd) != 0 { failure = "fsync failed (\(reason(errno)))" }
        if close(fd) != 0 && failure == nil { failure = "closing failed (\(reason(errno)))" }
        if failure == nil && rename(tmp, path) != 0 { failure = "renaming the temporary file over it failed (\(reason(errno)))" }
        if let failure {
            unlink(tmp)
            throw RMoEError("cannot write \(what) \(path): \(failure); check free disk space and permissions (the previous version, if any, is intact)")
        }
        syncDirectory(of: path)
    }

    /// Writes bytes atomically.
    public static func write(_ path: String, bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write(path, parts: [$0]) }
    }

    /// Writes UTF-8 text atomically.
    public static func write(_ path: String, text: String) throws {
        try write(path, bytes: Array(text.utf8))
    }

    /// Creates `path` and its missing parents; errors carry the OS reason ("Read-only file system").
    public static func createDirectory(_ path: String, what: String = "folder") throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            if isDir.boolValue { return }
            throw RMoEError("cannot create \(what) \(path): a file of that name exists; choose another path")
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path { try createDirectory(parent, what: what) }
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw RMoEError("cannot create \(what) \(path) (\(reason(errno))); choose another path or fix its permissions")
        }
    }

    /// Makes a rename or unlink in the folder of `path` durable (best effort: not every file system
    /// allows fsync on a directory).
    public static func syncDirectory(of path: String) {
        let dir = (path as NSString).deletingLastPathComponent
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); _ = close(dfd) }
    }

    /// Removes the temporaries in `dir` that this host's dead processes left (a kill during a write).
    /// Temporaries of live processes, and of other hosts sharing the folder, stay.
    public static func removeStaleTemporaries(in dir: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        let mine = ".tmp-\(hostTag)-"
        for name in names {
            guard let r = name.range(of: mine, options: .backwards), let pid = Int32(name[r.upperBound...]) else { continue }
            if pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH { unlink(dir + "/" + name) }
        }
    }

    /// The host name as it appears in temporary names (letters, digits, '.', '_' and '-').
    static let hostTag: String = {
        let h = String(MachineInfo.hostName.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "_" ? $0 : "_" })
        return h.isEmpty ? "host" : h
    }()

    /// The operating system's text for an errno value.
    public static func reason(_ e: Int32) -> String { String(cString: strerror(e)) }

    private static func writeAll(_ fd: Int32, _ buf: UnsafeRawBufferPointer) -> Bool {
        var done = 0
        while done < buf.count {
            let r = Glibc.write(fd, buf.baseAddress! + done, buf.count - done)
            if r < 0 { if errno == EINTR { continue }; return false }
            done += r
        }
        return true
    }
}
