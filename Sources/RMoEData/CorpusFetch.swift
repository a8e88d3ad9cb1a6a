import Foundation
import RMoECore

/// Downloading a corpus from its public home (`rmoe corpus fetch`): the archive comes over https
/// (curl, with rmoe's own User-Agent: the WikiText host answers 403 to some default clients), every
/// file is unpacked and checked against checksums published independently of the host, and only
/// then moved into place, so a failed or tampered download never replaces or half-writes anything.
public enum CorpusFetch {
    /// One file of an archive: its entry name, where it goes under the data folder, and its
    /// published digest (SHA-1 or MD5 of the unpacked bytes).
    public struct File: Sendable {
        public let entry: String
        public let destination: String
        public let sha1: String?
        public let md5: String?
        /// Unpacked size cap (the known size, with slack).
        public let maxBytes: Int
        public init(entry: String, destination: String, sha1: String? = nil, md5: String? = nil, maxBytes: Int) {
            self.entry = entry; self.destination = destination; self.sha1 = sha1; self.md5 = md5; self.maxBytes = maxBytes
        }
    }

    /// A corpus's archive at its public home.
    public struct Source: Sendable {
        public let name: String
        public let archive: String
        public let defaultBase: String
        public let maxArchiveBytes: Int
        public let files: [File]
        /// Licence and citation, printed by `corpus fetch` and in the README.
        public let licence: String
        public init(name: String, archive: String, defaultBase: String, maxArchiveBytes: Int, files: [File], licence: String) {
            self.name = name; self.archive = archive; self.defaultBase = defaultBase; self.maxArchiveBytes = maxArchiveBytes
            self.files = files; self.licence = licence
        }
    }

    static let wikiTextLicence =
        "WikiText: Creative Commons Attribution-ShareAlike (CC BY-SA 3.0); cite Merity, Xiong, Bradbury and Socher, \"Pointer Sentinel Mixture Models\", arXiv:1609.07843 (2016)"

    /// The corpora `corpus fetch` knows. Digests: WikiText's SHA-1s as GluonNLP publishes them, enwik8's
    /// MD5 from the Hutter Prize page (docs/data.md).
    public static let sources: [Source] = [
        Source(
            name: "wikitext2", archive: "wikitext-2-v1.zip", defaultBase: "https://wikitext.smerity.com", maxArchiveBytes: 16 << 20,
            files: ["train", "valid", "test"].map { s in
                File(
                    entry: "wikitext-2/wiki.\(s).tokens", destination: "wikitext-2/wiki.\(s).tokens", sha1: CorpusCatalog.wikiText2SHA1[s],
                    maxBytes: 2 * CorpusCatalog.wikiText2Sizes[s]!)
            }, licence: wikiTextLicence),
        Source(
            name: "wikitext103", archive: "wikitext-103-v1.zip", defaultBase: "https://wikitext.smerity.com", maxArchiveBytes: 400 << 20,
            files: ["train", "valid", "test"].map { s in
                File(
                    entry: "wikitext-103/wiki.\(s).tokens", destination: "wikitext-103/wiki.\(s).tokens",
                    sha1: CorpusCatalog.wikiText103SHA1[s], maxBytes: s == "train" ? 1 << 30 : 8 << 20)
            }, licence: wikiTextLicence),
        Source(
            name: "enwik8", archive: "enwik8.zip", defaultBase: "https://mattmahoney.net/dc", maxArchiveBytes: 64 << 20,
            files: [File(entry: "enwik8", destination: "enwik8/enwik8", md5: CorpusCatalog.enwik8MD5, maxBytes: 100_000_000)],
            licence: "enwik8: the first 10^8 bytes of an English Wikipedia dump (Hutter Prize, Matt Mahoney); Wikipedia text, CC BY-SA"),
    ]

    public static func source(_ name: String) throws -> Source {
        let aliases = ["wikitext2-bytes": "wikitext2", "wikitext103-bytes": "wikitext103"]
        guard let s = sources.first(where: { $0.name == (aliases[name] ?? name) }) else {
            throw RMoEError("nothing to fetch for '\(name)'; fetchable: \(sources.map(\.name).joined(separator: ", "))")
        }
        return s
    }

    /// The archive's URL: `base` (default the source's home) + "/" + archive. Only https, or plain
    /// http to this machine (127.0.0.1, localhost, [::1]) for tests and local mirrors.
    public static func url(_ s: Source, base: String?) throws -> String {
        var b = base ?? s.defaultBase
        while b.hasSuffix("/") { b.removeLast() }
        guard let u = URL(string: b), let scheme = u.scheme?.lowercased(), let host = u.host?.lowercased(), !host.isEmpty else {
            throw RMoEError("base URL '\(b)' is not a URL; give one like https://example.org/path")
        }
        let loopback = ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host)
        guard scheme == "https" || (scheme == "http" && loopback) else {
            throw RMoEError("base URL '\(b)' is not https; corpora are fetched over https only (plain http only from 127.0.0.1)")
        }
        return b + "/" + s.archive
    }

    /// Downloads the source's archive, verifies every file and moves them into `dir`. Returns the
    /// paths written. On any failure nothing in `dir` has changed.
    @discardableResult
    public static func fetch(_ s: Source, into dir: String, base: String? = nil, log: (String) -> Void = { _ in }) throws -> [String] {
        let url = try url(s, base: base)
        try AtomicFile.createDirectory(dir, what: "data folder")
        let staging = dir + "/.fetch-\(s.name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: staging)
        try AtomicFile.createDirectory(staging, what: "staging folder")
        defer { try? FileManager.default.removeItem(atPath: staging) }
        let archive = staging + "/" + s.archive
        log("downloading \(url)")
        try download(url, to: archive, maxBytes: s.maxArchiveBytes)
        guard let data = FileManager.default.contents(atPath: archive) else { throw RMoEError("cannot read the download \(archive)") }
        let bytes = [UInt8](data)
        var staged: [(String, String)] = []
        for f in s.files {
            let what = "\(f.entry) of \(url)"
            let content: [UInt8]
            do {
                content = try Zip.extract(bytes, entry: f.entry, limit: f.maxBytes)
            } catch let e as RMoEError {
                throw RMoEError(
                    "\(what) could not be unpacked (\(e.message)); the download is damaged or not the published archive; nothing in \(dir) was changed")
            }
            if let want = f.sha1, SHA1.hex(SHA1.hash(content)) != want {
                throw RMoEError(
                    "\(what) has SHA-1 \(SHA1.hex(SHA1.hash(content))), not the published \(want); the download is damaged or not the published archive; nothing in \(dir) was changed"
                )
            }
            if let want = f.md5, MD5.hex(MD5.hash(content)) != want {
                throw RMoEError(
                    "\(what) has MD5 \(MD5.hex(MD5.hash(content))), not the published \(want); the download is damaged or not the published archive; nothing in \(dir) was changed"
                )
            }
            let tmp = staging + "/" + (f.destination as NSString).lastPathComponent
            try AtomicFile.write(tmp, bytes: content)
            staged.append((tmp, dir + "/" + f.destination))
        }
        // Everything verified: into place (same file system, so each move is one rename).
        for (tmp, final) in staged {
            try AtomicFile.createDirectory((final as NSString).deletingLastPathComponent, what: "corpus folder")
            if rename(tmp, final) != 0 {
                throw RMoEError("cannot move \(tmp) to \(final) (\(AtomicFile.reason(errno))); check the folder's permissions")
            }
            AtomicFile.syncDirectory(of: final)
        }
        return staged.map(\.1)
    }

    /// curl, failing on HTTP errors, https only (http to loopback allowed), bounded size.
    static func download(_ url: String, to path: String, maxBytes: Int) throws {
        guard let curl = ["/usr/bin/curl", "/usr/local/bin/curl", "/bin/curl"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw RMoEError("curl is not installed; install it (apt-get install -y curl, or scripts/setup.sh) and fetch again")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: curl)
        let proto = url.hasPrefix("https://") ? "=https" : "=http,https"
        p.arguments = [
            "-fsSL", "--proto", proto, "--proto-redir", "=https", "--retry", "2", "--connect-timeout", "30", "--max-filesize", String(maxBytes),
            "-A", "rmoe-corpus-fetch/1.0 (research toolkit; curl)", "-o", path, url,
        ]
        let err = Pipe()
        p.standardError = err
        try p.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            let detail = message.split(separator: "\n").last.map(String.init) ?? "exit \(p.terminationStatus)"
            throw RMoEError(
                "download of \(url) failed (curl: \(detail.trimmingCharacters(in: .whitespaces))); check the network or the URL (--base-url), or put the files in place by hand (docs/data.md)"
            )
        }
    }
}
