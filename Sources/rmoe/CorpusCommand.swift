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
                default:
                    let folder = name.hasPrefix("wikitext103") ? "wikitext-103" : "wikitext-2"
                    status = (try? CorpusCatalog.locateWikiText(dataDir: data.dataDir, folder: folder)) != nil ? "found" : "not found"
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
        static let configuration = CommandConfiguration(
            abstract: "Download a corpus over https, verify it against its published checksums, unpack it into --dir.",
            discussion: """
                wikitext2 and wikitext103 from https://wikitext.smerity.com (the WikiText zips), enwik8 from \
                https://mattmahoney.net/dc (the Hutter Prize zip). Every file is checked (WikiText: SHA-1 of each \
                .tokens file as GluonNLP publishes them; enwik8: MD5) before anything is moved into place.
                """)
        @Argument(help: "wikitext2, wikitext103 or enwik8.") var name: String
        @Option(help: "Folder to unpack into (on the corpus search path by default).") var dir: String = "data"
        @Option(name: .customLong("base-url"), help: "Fetch the archive from this URL's folder instead (a mirror; http only from 127.0.0.1).")
        var baseURL: String?
        func run() throws {
            let source = try CorpusFetch.source(name)
            let t0 = System.now()
            let written = try CorpusFetch.fetch(source, into: dir, base: baseURL) { print($0) }
            for f in written { print("verified \(f)") }
            print(String(format: "%@ ready in %@ (%.1f s). Licence: %@", source.name, dir, System.now() - t0, source.licence))
        }
    }
}
