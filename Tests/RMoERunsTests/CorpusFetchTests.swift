import Foundation
import RMoETestSupport
import Testing

@testable import RMoECore
@testable import RMoEData

/// `rmoe corpus fetch` without a network: a local HTTP server on 127.0.0.1 (python3's http.server)
/// serves fixture archives: the real WikiText-2 zipped (when $RMOE_DATA has it), a corrupt one, a
/// truncated one, and nothing (404).
@Suite("corpus fetch against a local server", .serialized)
struct CorpusFetchTests {
    static let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs a python3 snippet; true when it exits 0.
    static func py(_ code: String, _ args: [String]) throws -> Bool {
        try Fixtures.runCLI(["-c", code] + args, binary: python!).status == 0
    }

    /// A zip of `files` (name -> path of its content) at `zip`.
    static func zip(_ zip: String, _ files: [(String, String)]) throws {
        let code = """
            import sys, zipfile
            with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:
                for i in range(2, len(sys.argv), 2): z.write(sys.argv[i + 1], sys.argv[i])
            """
        #expect(try py(code, [zip] + files.flatMap { [$0.0, $0.1] }))
    }

    /// Starts `python3 -m http.server` on a free port of 127.0.0.1 serving `root`.
    static func serve(_ root: String) throws -> (Process, Int) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python!)
        p.arguments = ["-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", root]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        var text = ""
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, !text.contains(") ...") {
            let d = out.fileHandleForReading.availableData
            if d.isEmpty { break }
            text += String(decoding: d, as: UTF8.self)
        }
        guard let r = text.range(of: "port "), let port = Int(text[r.upperBound...].prefix { $0.isNumber }) else {
            p.terminate()
            throw RMoEError("http.server did not start: \(text)")
        }
        return (p, port)
    }

    @Test("good, corrupt, truncated and missing archives; nothing changes unless every file verifies")
    func fetch() throws {
        guard Self.python != nil else { print("skipped: python3 not found (it serves the fixtures)"); return }
        let root = Fixtures.tempDir()
        for d in ["good", "corrupt", "truncated", "empty"] {
            try FileManager.default.createDirectory(atPath: root + "/" + d, withIntermediateDirectories: true)
        }
        // Fixture files: the real WikiText-2 if present, else only the failure cases run.
        let real = try? CorpusCatalog.locateWikiText(dataDir: nil)
        var files: [(String, String)] = []
        for (i, split) in ["train", "valid", "test"].enumerated() {
            let path = root + "/\(split).tokens"
            if let real {
                try Data(try CorpusCatalog.readMaybeGzip(real[i])).write(to: URL(fileURLWithPath: path))
            } else {
                try Data("a fake \(split) split\n".utf8).write(to: URL(fileURLWithPath: path))
            }
            files.append(("wikitext-2/wiki.\(split).tokens", path))
        }
        if real != nil { try Self.zip(root + "/good/wikitext-2-v1.zip", files) }
        // Corrupt: one file's content changed.
        try Data("not the published train split\n".utf8).write(to: URL(fileURLWithPath: root + "/bad.tokens"))
        try Self.zip(root + "/corrupt/wikitext-2-v1.zip", [("wikitext-2/wiki.train.tokens", root + "/bad.tokens")] + files.dropFirst())
        // Truncated: the first half of an archive.
        try Self.zip(root + "/full.zip", files)
        let full = try Data(contentsOf: URL(fileURLWithPath: root + "/full.zip"))
        try full.prefix(full.count / 2).write(to: URL(fileURLWithPath: root + "/truncated/wikitext-2-v1.zip"))

        let (server, port) = try Self.serve(root)
        defer { server.terminate() }
        let base = "http://127.0.0.1:\(port)"
        let data = Fixtures.tempDir()
        func fetch(_ sub: String) throws -> (status: Int32, out: String, err: String) {
            try Fixtures.runCLI(["corpus", "fetch", "wikitext2", "--dir", data, "--base-url", base + "/" + sub])
        }
        func tree() -> [String] { (FileManager.default.subpaths(atPath: data) ?? []).sorted() }
        if real != nil {
            let ok = try fetch("good")
            #expect(ok.status == 0, "\(ok.err)")
            #expect(tree() == ["wikitext-2", "wikitext-2/wiki.test.tokens", "wikitext-2/wiki.train.tokens", "wikitext-2/wiki.valid.tokens"])
            #expect(ok.out.contains("CC BY-SA"))
            let v = try Fixtures.runCLI(["corpus", "verify", "wikitext2", "--data-dir", data])
            #expect(v.status == 0 && v.out.contains("vocabulary 33278"), "\(v.out) \(v.err)")
        }
        let before = tree()
        let sizes = before.map { (try? FileManager.default.attributesOfItem(atPath: data + "/" + $0)[.size] as? Int) ?? -1 }
        for (sub, expect) in [("corrupt", "SHA-1"), ("truncated", "could not be unpacked"), ("empty", "download of")] {
            let r = try fetch(sub)
            #expect(r.status == 1 && r.err.contains(expect), "\(sub): \(r.err)")
            #expect(r.err.split(separator: "\n").count == 1, "\(sub): \(r.err)")
            #expect(tree() == before, "\(sub) changed the data folder")
            #expect(before.map { (try? FileManager.default.attributesOfItem(atPath: data + "/" + $0)[.size] as? Int) ?? -1 } == sizes)
        }
        // Only https, except from this machine.
        let http = try Fixtures.runCLI(["corpus", "fetch", "wikitext2", "--dir", data, "--base-url", "http://example.org/x"])
        #expect(http.status == 1 && http.err.contains("https"), "\(http.err)")
        let unknown = try Fixtures.runCLI(["corpus", "fetch", "ptb", "--dir", data])
        #expect(unknown.status == 1 && unknown.err.contains("wikitext103"), "\(unknown.err)")
    }
}
