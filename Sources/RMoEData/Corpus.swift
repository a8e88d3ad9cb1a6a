import Foundation
import RMoECore

/// A tokenised corpus with its three splits.
public struct Corpus: Sendable {
    public enum Split: String, CaseIterable, Sendable { case train, valid, test }
    public enum Level: String, Sendable {
        /// Bytes (V = 256): reported as bits per byte/character (BPC = nats / ln 2).
        case bytes
        /// Words: reported as perplexity exp(nats).
        case words
        /// Tokens of the synthetic source: reported as bits per token, next to the exact floor.
        case synthetic
    }

    public let name: String
    public let level: Level
    public let vocabSize: Int
    public let train: [Int32]
    public let valid: [Int32]
    public let test: [Int32]
    /// Word list (index = token id) for word corpora.
    public let vocabulary: [String]?
    /// Where the data came from (file paths, or the generator's parameters).
    public let source: String
    /// For `synthetic`: the source's exact cross-entropy, per split (nats per predicted token),
    /// under the evaluation protocol for a given sequence length (see `SyntheticSource`).
    public let floor: [Split: Double]

    public init(
        name: String, level: Level, vocabSize: Int, train: [Int32], valid: [Int32], test: [Int32],
        vocabulary: [String]? = nil, source: String, floor: [Split: Double] = [:]
    ) {
        self.name = name; self.level = level; self.vocabSize = vocabSize
        self.train = train; self.valid = valid; self.test = test
        self.vocabulary = vocabulary; self.source = source; self.floor = floor
    }

    public func tokens(_ split: Split) -> [Int32] {
        switch split {
        case .train: train
        case .valid: valid
        case .test: test
        }
    }

    /// The metric researchers report for this corpus, from a mean loss in nats.
    public func metric(loss: Double) -> Double {
        switch level {
        case .bytes, .synthetic: loss / M_LN2
        case .words: exp(loss)
        }
    }

    /// Name of that metric.
    public var metricName: String {
        switch level {
        case .bytes: "bpc"
        case .words: "ppl"
        case .synthetic: "bits_per_token"
        }
    }
}

/// The corpora the toolkit knows.
public enum CorpusName: String, ConfigChoice {
    case synthetic
    case wikitext2Bytes = "wikitext2-bytes"
    case wikitext2
    case wikitext103Bytes = "wikitext103-bytes"
    case wikitext103
    case enwik8

    /// The WikiText release this corpus reads (nil: not WikiText).
    var wikiTextFolder: String? {
        switch self {
        case .wikitext2Bytes, .wikitext2: "wikitext-2"
        case .wikitext103Bytes, .wikitext103: "wikitext-103"
        default: nil
        }
    }
}

/// The corpora the toolkit knows, and where it looks for their files.
public enum CorpusCatalog {
    public static let names = CorpusName.allCases.map(\.rawValue)

    /// Descriptions for `rmoe corpus list`.
    public static let descriptions: [String: String] = [
        "synthetic": "tokens from a seeded hidden Markov source; its exact cross-entropy is the floor (generated, no files)",
        "wikitext2-bytes": "bytes of WikiText-2 (wikitext-2/wiki.{train,valid,test}.tokens[.gz]), V = 256, BPC",
        "wikitext2": "words of WikiText-2, <eos> per line, vocabulary from train (33,278), PPL",
        "wikitext103-bytes": "bytes of WikiText-103 (wikitext-103/wiki.{train,valid,test}.tokens[.gz]; 0.54 GB of train), V = 256, BPC",
        "wikitext103": "words of WikiText-103, <eos> per line, vocabulary from train (267,735 types + <eos>), PPL",
        "enwik8": "first 10^8 bytes of Wikipedia (enwik8, enwik8.gz or enwik8.zip), 90M/5M/5M split, BPC",
    ]

    /// Directories searched, in order: `dataDir` (the --data-dir option), `$RMOE_DATA`, `./data`
    /// in the working directory, then the package's own `data/` (where this binary was built from).
    public static func searchPath(dataDir: String?) -> [String] {
        var dirs: [String] = []
        if let d = dataDir, !d.isEmpty { dirs.append(d) }
        if let e = ProcessInfo.processInfo.environment["RMOE_DATA"], !e.isEmpty { dirs.append(e) }
        dirs.append(FileManager.default.currentDirectoryPath + "/data")
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("data").path
        if !dirs.contains(package) { dirs.append(package) }
        return dirs
    }

    /// Loads a corpus by name. `synthetic` takes its parameters from `synthetic`.
    public static func load(
        _ name: String, dataDir: String?, synthetic: SyntheticSource.Parameters = .init(),
        seqLen: Int = 256
    ) throws -> Corpus {
        guard let corpus = CorpusName(rawValue: name) else {
            throw RMoEError("unknown corpus '\(name)'; use one of: \(names.joined(separator: ", "))")
        }
        return try load(corpus, dataDir: dataDir, synthetic: synthetic, seqLen: seqLen)
    }

    /// Loads a corpus. `synthetic` takes its parameters from `synthetic`.
    public static func load(
        _ corpus: CorpusName, dataDir: String?, synthetic: SyntheticSource.Parameters = .init(),
        seqLen: Int = 256
    ) throws -> Corpus {
        let name = corpus.rawValue
        switch corpus {
        case .synthetic:
            return SyntheticSource(synthetic).corpus(seqLen: seqLen)
        case .wikitext2Bytes, .wikitext2, .wikitext103Bytes, .wikitext103:
            let folder = corpus.wikiTextFolder!
            let files = try locateWikiText(dataDir: dataDir, folder: folder)
            let splits = try zip(files, ["train", "valid", "test"]).map { path, split in
                try readMaybeGzip(path, limit: folder == "wikitext-2" ? min(decompressionLimit, 2 * wikiText2Sizes[split]!) : decompressionLimit)
            }
            if corpus == .wikitext2Bytes || corpus == .wikitext103Bytes {
                return Corpus(
                    name: name, level: .bytes, vocabSize: 256,
                    train: splits[0].map { Int32($0) }, valid: splits[1].map { Int32($0) },
                    test: splits[2].map { Int32($0) }, source: files.joined(separator: ", "))
            }
            return try WordTokenizer.corpus(
                name: name, train: splits[0], valid: splits[1], test: splits[2],
                source: files.joined(separator: ", "))
        case .enwik8:
            return try loadEnwik8(dataDir: dataDir)
        }
    }

    /// The three files (plain or .gz) of a WikiText release (`folder`: wikitext-2 or wikitext-103)
    /// in the first directory of the search path that has them.
    public static func locateWikiText(dataDir: String?, folder: String = "wikitext-2") throws -> [String] {
        let dirs = searchPath(dataDir: dataDir)
        for dir in dirs {
            var found: [String] = []
            for split in ["train", "valid", "test"] {
                let base = "\(dir)/\(folder)/wiki.\(split).tokens"
                if FileManager.default.fileExists(atPath: base) {
                    found.append(base)
                } else if FileManager.default.fileExists(atPath: base + ".gz") {
                    found.append(base + ".gz")
                }
            }
            if found.count == 3 { return found }
        }
        let (name, title) = folder == "wikitext-2" ? ("wikitext2", "WikiText-2") : ("wikitext103", "WikiText-103")
        throw RMoEError(
            "\(title) not found (looked for \(folder)/wiki.{train,valid,test}.tokens[.gz] in \(dirs.joined(separator: ", "))); run `rmoe corpus fetch \(name)`, or pass --data-dir DIR or set RMOE_DATA to the folder that holds \(folder)/"
        )
    }

    /// Cap on the bytes any corpus file may decompress to: `$RMOE_MAX_DECOMPRESSED_BYTES`, else 2^31
    /// (WikiText-103's train split, the largest known file, has 0.54 GB).
    public static var decompressionLimit: Int {
        if let e = ProcessInfo.processInfo.environment["RMOE_MAX_DECOMPRESSED_BYTES"], let v = Int(e), v > 0 { return v }
        return 1 << 31
    }

    /// SHA-1 of WikiText-2's official `.tokens` files, as GluonNLP publishes them (docs/data.md).
    public static let wikiText2SHA1 = [
        "train": "863f29c46ef9d167fff4940ec821195882fe29d1",
        "valid": "0418625c8b4da6e4b5c7a0b9e78d4ae8f7ee5422",
        "test": "c7b8ce0aa086fb34dab808c5c49224211eb2b172",
    ]

    /// SHA-1 of WikiText-103's official `.tokens` files, as GluonNLP publishes them (docs/data.md).
    public static let wikiText103SHA1 = [
        "train": "b7497e2dfe77e72cfef5e3dbc61b7b53712ac211",
        "valid": "c326ac59dc587676d58c422eb8a03e119582f92b",
        "test": "8a5befc548865cec54ed4273cf87dbbad60d1e47",
    ]

    /// Known decompressed sizes of WikiText-2's files (docs/data.md); twice that is their cap.
    public static let wikiText2Sizes = ["train": 10_797_148, "valid": 1_121_681, "test": 1_256_449]

    /// Reads a corpus file, gunzipping `.gz` files with at most `limit` bytes out. Every error names the file.
    static func readMaybeGzip(_ path: String, limit: Int = decompressionLimit) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RMoEError("cannot read \(path); check the file's permissions or pass another --data-dir")
        }
        let bytes = [UInt8](data)
        guard path.hasSuffix(".gz") else {
            guard bytes.count <= limit else { throw RMoEError("\(path) has \(bytes.count) bytes, more than the cap of \(limit); it is not the expected file") }
            return bytes
        }
        do {
            return try Gzip.decompress(bytes, limit: limit)
        } catch let e as RMoEError {
            throw RMoEError("\(path): \(e.message)")
        }
    }

    /// The published MD5 of enwik8's 10^8 bytes.
    public static let enwik8MD5 = "a1fa5ffddb56f4953e226637dabbb36a"

    static func loadEnwik8(dataDir: String?) throws -> Corpus {
        let dirs = searchPath(dataDir: dataDir)
        let candidates = dirs.flatMap { d in
            ["\(d)/enwik8/enwik8", "\(d)/enwik8/enwik8.gz", "\(d)/enwik8/enwik8.zip", "\(d)/enwik8.zip", "\(d)/enwik8.gz"]
                + (isRegularFile("\(d)/enwik8") ? ["\(d)/enwik8"] : [])
        }
        guard let path = candidates.first(where: { isRegularFile($0) }) else {
            throw RMoEError(
                "enwik8 not found (looked for enwik8, enwik8.gz or enwik8.zip under \(dirs.joined(separator: ", "))); download it with `rmoe corpus fetch enwik8` or put it in DIR/enwik8/ and pass --data-dir DIR"
            )
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RMoEError("cannot read \(path); check the file's permissions")
        }
        var bytes = [UInt8](data)
        do {
            // enwik8's size is known: nothing may decompress past it.
            if path.hasSuffix(".gz") {
                bytes = try Gzip.decompress(bytes, limit: 100_000_000)
            } else if path.hasSuffix(".zip") {
                bytes = try Zip.extract(bytes, entry: "enwik8", limit: 100_000_000)
            }
        } catch let e as RMoEError {
            throw RMoEError("\(path): \(e.message)")
        }
        try verifyEnwik8(bytes, source: path)
        let t = bytes.map { Int32($0) }
        return Corpus(
            name: "enwik8", level: .bytes, vocabSize: 256, train: Array(t[0..<90_000_000]),
            valid: Array(t[90_000_000..<95_000_000]), test: Array(t[95_000_000..<100_000_000]),
            source: path)
    }

    /// Checks enwik8's size and published MD5.
    public static func verifyEnwik8(_ bytes: [UInt8], source path: String) throws {
        guard bytes.count == 100_000_000 else {
            throw RMoEError("\(path) holds \(bytes.count) bytes, not enwik8's 100,000,000; the file is not enwik8 or is damaged: fetch it again")
        }
        var md5 = MD5()
        bytes.withUnsafeBytes { md5.update($0) }
        let digest = MD5.hex(md5.finalize())
        guard digest == enwik8MD5 else {
            throw RMoEError("\(path) has MD5 \(digest), not enwik8's \(enwik8MD5); the file is damaged: fetch it again")
        }
    }

    static func isRegularFile(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && !isDir.boolValue
    }
}

/// Word-level tokenisation as in PyTorch's word_language_model example: each line is split on
/// spaces and gets one `<eos>`; the vocabulary is the train split's words in order of first
/// appearance (33,278 for WikiText-2). A word of valid/test that train lacks is mapped to `<unk>`.
public enum WordTokenizer {
    public static func corpus(name: String, train: [UInt8], valid: [UInt8], test: [UInt8], source: String) throws -> Corpus {
        var ids: [String: Int32] = [:]
        var words: [String] = []
        func tokenize(_ bytes: [UInt8], grow: Bool) throws -> [Int32] {
            var out: [Int32] = []
            out.reserveCapacity(bytes.count / 5)
            var i = 0
            let n = bytes.count
            func id(_ w: String) throws -> Int32 {
                if let v = ids[w] { return v }
                if grow {
                    let v = Int32(words.count)
                    ids[w] = v; words.append(w)
                    return v
                }
                if let unk = ids["<unk>"] { return unk }
                throw RMoEError("word '\(w)' of a held-out split is not in the train vocabulary and there is no <unk>; use the official WikiText files")
            }
            while i < n {
                // One line: [i, lineEnd).
                var lineEnd = i
                while lineEnd < n && bytes[lineEnd] != 0x0A { lineEnd += 1 }
                var j = i
                while j < lineEnd {
                    while j < lineEnd && (bytes[j] == 0x20 || bytes[j] == 0x09 || bytes[j] == 0x0D) { j += 1 }
                    let start = j
                    while j < lineEnd && !(bytes[j] == 0x20 || bytes[j] == 0x09 || bytes[j] == 0x0D) { j += 1 }
                    if j > start { out.append(try id(String(decoding: bytes[start..<j], as: UTF8.self))) }
                }
                out.append(try id("<eos>"))
                i = lineEnd + 1
            }
            return out
        }
        let tr = try tokenize(train, grow: true)
        let va = try tokenize(valid, grow: false)
        let te = try tokenize(test, grow: false)
        return Corpus(
            name: name, level: .words, vocabSize: words.count, train: tr, valid: va, test: te,
            vocabulary: words, source: source)
    }
}
