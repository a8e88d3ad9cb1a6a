import ArgumentParser
import Foundation
import RMoECore
import RMoEData
import RMoERuns

struct CorpusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corpus",
        abstract: "List the corpora, verify the ones found, or fetch one.",
        subcommands: [List.self, Verify.self, Fetch.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Corpora the toolkit knows and whether their files are found.")
        @OptionGroup var data: DataOptions
        func run() throws {
            print("search path: " + CorpusCatalog.searchPath(dataDir: data.dataDir).joined(separator: ", "))
            for name in CorpusCatalog.names {
                let status: String
                switch name {
                case "synthetic": status = "generated"
                case "enwik8":
                    status =
                        CorpusCatalog.searchPath(dataDir: data.dataDir).contains { dir in
                            ["enwik8/enwik8", "enwik8/enwik8.gz", "enwik8/enwik8.zip", "enwik8.zip", "enwik8.gz"].contains {
                                FileManager.default.fileExists(atPath: dir + "/" + $0)
                            }
                        } ? "found" : "not found"
                default: status = (try? CorpusCatalog.locateWikiText(dataDir: data.dataDir)) != nil ? "found" : "not found"
                }
                print(
                    "  \(name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(status.padding(toLength: 10, withPad: " ", startingAt: 0)) \(CorpusCatalog.descriptions[name] ?? "")"
                )
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Load a corpus, check its files and print its statistics.")
        @Argument(help: "Corpus name.") var name: String
        @OptionGroup var data: DataOptions
        func run() throws {
            let t0 = System.now()
            let c = try CorpusCatalog.load(name, dataDir: data.dataDir)
            print("\(c.name): \(c.source)")
            print(
                "  vocabulary \(c.vocabSize); tokens train \(c.train.count), valid \(c.valid.count), test \(c.test.count); loaded in \(String(format: "%.1f", System.now() - t0)) s"
            )
            for (s, f) in c.floor.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                print(String(format: "  exact floor (%@, seq_len 256): %.4f nats = %.4f bits per token", s.rawValue, f, f / M_LN2))
            }
        }
    }

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Download a corpus from its public home (with curl) and check its checksum.")
        @Argument(help: "enwik8 or wikitext2.") var name: String
        @Option(help: "Folder to put it in.") var dir: String = "data"
        func run() throws {
            let (url, target): (String, String)
            switch name {
            case "enwik8": (url, target) = ("https://mattmahoney.net/dc/enwik8.zip", "\(dir)/enwik8/enwik8.zip")
            case "wikitext2", "wikitext2-bytes":
                throw RMoEError(
                    "WikiText-2 is distributed as a zip of three files; download https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-2-v1.zip and put wiki.{train,valid,test}.tokens into \(dir)/wikitext-2/"
                )
            default: throw RMoEError("nothing to fetch for '\(name)'; fetchable: enwik8")
            }
            try AtomicFile.createDirectory((target as NSString).deletingLastPathComponent)
            print("downloading \(url) -> \(target)")
            let part = target + ".part"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["curl", "-fL", "--proto", "=https", "--proto-redir", "=https", "--retry", "2", "-o", part, url]
            try p.run(); p.waitUntilExit()
            guard p.terminationStatus == 0 else {
                try? FileManager.default.removeItem(atPath: part)
                throw RMoEError("download of \(url) failed (curl exit \(p.terminationStatus)); check the network, or fetch the file by hand into \(target)")
            }
            // Verify the download where it is, then move it into place: a bad file never replaces a good one.
            guard let data = FileManager.default.contents(atPath: part) else { throw RMoEError("cannot read the download \(part)") }
            do {
                let bytes = try Zip.extract([UInt8](data), entry: "enwik8", limit: 100_000_000)
                try CorpusCatalog.verifyEnwik8(bytes, source: part)
            } catch let e as RMoEError {
                try? FileManager.default.removeItem(atPath: part)
                throw RMoEError("the download of \(url) failed verification (\(e.message)); nothing was changed in \(dir)")
            }
            if rename(part, target) != 0 {
                throw RMoEError("cannot move \(part) to \(target) (\(AtomicFile.reason(errno))); check the folder's permissions")
            }
            AtomicFile.syncDirectory(of: target)
            print("verified \(target) (MD5 \(CorpusCatalog.enwik8MD5))")
        }
    }
}
