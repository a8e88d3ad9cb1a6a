import Foundation
import Testing
@testable import RMoEData
import RMoECore

// Checksums against published vectors, and the DEFLATE/gzip/zip readers against the system's
// gzip and Python's zipfile, plus corrupt and truncated inputs (which must throw, never trap).

/// Deterministic generator for test data (SplitMix64).
private struct TestBytes {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    /// Incompressible bytes.
    mutating func random(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }

    /// Words from a skewed vocabulary, line breaks, and a few random bytes: gives dynamic blocks
    /// with long (more than 10-bit) literal codes and far distances.
    mutating func text(_ n: Int) -> [UInt8] {
        let vocabulary: [[UInt8]] = (0..<400).map { _ in (0..<(2 + below(8))).map { _ in UInt8(97 + below(26)) } }
        var out: [UInt8] = []
        out.reserveCapacity(n + 16)
        while out.count < n {
            let r = below(1000)
            if r < 8 { out.append(UInt8(truncatingIfNeeded: next())); continue }
            let word = vocabulary[min(below(400), below(400), below(400))]
            out.append(contentsOf: word)
            out.append(r < 80 ? 10 : 32)
        }
        return Array(out.prefix(n))
    }

    /// Runs of one byte (distance 1), short periods (distances 2 to 7) and repeated phrases.
    mutating func repetitive(_ n: Int) -> [UInt8] {
        var out: [UInt8] = []
        while out.count < n {
            let period = 1 + below(12), unit = random(period)
            for i in 0..<(50 + below(3000)) { out.append(unit[i % period]) }
        }
        return Array(out.prefix(n))
    }
}

private func ascii(_ s: String) -> [UInt8] { Array(s.utf8) }

private func temporaryFile(_ suffix: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("rmoe-compression-\(UUID().uuidString)\(suffix)")
}

/// Runs a tool with stdin and stdout redirected to files (no pipes, so no deadlock) and returns
/// what it wrote.
private func runTool(_ path: String, _ arguments: [String], input: [UInt8]) throws -> [UInt8] {
    let inURL = temporaryFile(".in"), outURL = temporaryFile(".out")
    defer { try? FileManager.default.removeItem(at: inURL); try? FileManager.default.removeItem(at: outURL) }
    try Data(input).write(to: inURL)
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    let stdin = try FileHandle(forReadingFrom: inURL), stdout = try FileHandle(forWritingTo: outURL)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.standardInput = stdin
    process.standardOutput = stdout
    try process.run()
    process.waitUntilExit()
    try stdin.close(); try stdout.close()
    guard process.terminationStatus == 0 else { throw RMoEError("\(path) \(arguments) exited with \(process.terminationStatus)") }
    return Array(try Data(contentsOf: outURL))
}

private func gzip(_ data: [UInt8], level: Int) throws -> [UInt8] {
    try runTool("/usr/bin/gzip", ["-c", "-n", "-\(level)"], input: data)
}

/// A small gzip file from raw DEFLATE bytes, with the optional header fields.
private func handGzip(
    deflate: [UInt8], payload: [UInt8], extra: [UInt8]? = nil, name: String? = nil,
    comment: String? = nil, headerCRC: Bool = false
) -> [UInt8] {
    var flags: UInt8 = 0
    if headerCRC { flags |= 2 }
    if extra != nil { flags |= 4 }
    if name != nil { flags |= 8 }
    if comment != nil { flags |= 16 }
    var out: [UInt8] = [0x1F, 0x8B, 8, flags, 0, 0, 0, 0, 0, 255]
    if let extra { out += [UInt8(extra.count & 0xFF), UInt8(extra.count >> 8)] + extra }
    if let name { out += ascii(name) + [0] }
    if let comment { out += ascii(comment) + [0] }
    if headerCRC {
        let c = CRC32.checksum(out)
        out += [UInt8(c & 0xFF), UInt8((c >> 8) & 0xFF)]
    }
    out += deflate
    let crc = CRC32.checksum(payload), size = UInt32(payload.count)
    for v in [crc, size] { for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> UInt32(8 * i))) } }
    return out
}

/// A stored DEFLATE block.
private func storedBlock(_ bytes: [UInt8], final: Bool) -> [UInt8] {
    let n = bytes.count
    return [final ? 1 : 0, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)] + bytes
}

@Suite("Compression: checksums, DEFLATE, gzip and zip")
struct CompressionTests {
    @Test("CRC-32 (zlib), MD5 and SHA-1 match the published vectors, in one call and streamed")
    func checksumVectors() {
        #expect(CRC32.checksum([UInt8]()) == 0)
        #expect(CRC32.checksum(ascii("abc")) == 0x3524_41C2)
        #expect(CRC32.checksum(ascii("123456789")) == 0xCBF4_3926)
        let fox = ascii("The quick brown fox jumps over the lazy dog")
        #expect(CRC32.checksum(fox) == 0x414F_A339)
        #expect(CRC32.checksum(Array(fox[9...]), initial: CRC32.checksum(Array(fox[..<9]))) == 0x414F_A339)

        #expect(MD5.hex(MD5.hash([])) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(MD5.hex(MD5.hash(ascii("abc"))) == "900150983cd24fb0d6963f7d28e17f72")
        #expect(MD5.hex(MD5.hash(fox)) == "9e107d9d372bb6826bd81d3542a419d6")
        #expect(SHA1.hex(SHA1.hash([])) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(SHA1.hex(SHA1.hash(ascii("abc"))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(
            SHA1.hex(SHA1.hash(ascii("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")))
                == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")

        // One million 'a', fed in uneven pieces that straddle block boundaries.
        let million = [UInt8](repeating: 0x61, count: 1_000_000)
        var md5 = MD5(), sha = SHA1()
        var offset = 0, piece = 1
        while offset < million.count {
            let end = min(offset + piece, million.count)
            let chunk = Array(million[offset..<end])
            md5.update(chunk); sha.update(chunk)
            offset = end
            piece = piece * 3 % 1000 + 1
        }
        #expect(md5.hexDigest == "7707d6ae4e027c70eea2a935c2296f21")
        #expect(sha.hexDigest == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
        #expect(MD5.hex(MD5.hash(million)) == "7707d6ae4e027c70eea2a935c2296f21")
        #expect(CRC32.checksum(million) == 0xDC25_BFBC)
    }

    @Test("gzip -1, -6 and -9 output decodes to the original bytes")
    func gzipRoundTrips() throws {
        var g = TestBytes(1)
        let inputs: [(String, [UInt8])] = [
            ("empty", []),
            ("short", ascii("hello hello hello, fixed Huffman codes")),
            ("random", g.random(70_000)),
            ("text", g.text(250_000)),
            ("repetitive", g.repetitive(150_000)),
        ]
        for (label, data) in inputs {
            for level in [1, 6, 9] {
                let compressed = try gzip(data, level: level)
                let decoded = try Gzip.decompress(compressed)
                #expect(decoded == data, "\(label) at level \(level)")
            }
        }
    }

    @Test("several gzip members concatenate; zero padding after the last is ignored")
    func multipleMembers() throws {
        var g = TestBytes(2)
        let a = g.text(30_000), b = g.repetitive(20_000)
        let joined = try gzip(a, level: 6) + gzip([], level: 6) + gzip(b, level: 1)
        #expect(try Gzip.decompress(joined) == a + b)
        #expect(try Gzip.decompress(joined + [0, 0, 0, 0]) == a + b)
        #expect(throws: RMoEError.self) { try Gzip.decompress(joined + [0x42]) }
    }

    @Test("hand-built stored blocks and every optional gzip header field")
    func storedBlocksAndHeaderFields() throws {
        let part1 = ascii("Hello, "), part2 = ascii("stored world!")
        let deflate = storedBlock(part1, final: false) + storedBlock([], final: false) + storedBlock(part2, final: true)
        #expect(try Inflate.decompress(deflate) == part1 + part2)
        #expect(try Inflate.decompress([0x03, 0x00]) == [])  // a final, empty fixed-Huffman block
        let plain = handGzip(deflate: deflate, payload: part1 + part2)
        #expect(try Gzip.decompress(plain) == part1 + part2)
        let full = handGzip(
            deflate: deflate, payload: part1 + part2, extra: [1, 2, 3, 4, 5], name: "x.txt",
            comment: "a comment", headerCRC: true)
        #expect(try Gzip.decompress(full) == part1 + part2)
        var badHeader = full
        badHeader[12] ^= 0xFF  // inside FEXTRA, covered by the header CRC
        #expect(throws: RMoEError.self) { try Gzip.decompress(badHeader) }
        var badStored = deflate
        badStored[3] ^= 1  // NLEN no longer the complement of LEN
        #expect(throws: RMoEError.self) { try Inflate.decompress(badStored) }
    }

    @Test("zip entries written by Python's zipfile (stored, deflated, with data descriptors)")
    func zipExtraction() throws {
        var g = TestBytes(3)
        let stored = g.text(20_000), deflated = g.text(60_000) + g.repetitive(40_000)
        let script = """
            import sys, zipfile
            data = sys.stdin.buffer.read()
            n = int(sys.argv[1])
            class Unseekable:
                def __init__(self, f): self.f = f
                def write(self, b): return self.f.write(b)
                def flush(self): self.f.flush()
            out = sys.stdout.buffer if sys.argv[2] == 'seekable' else Unseekable(sys.stdout.buffer)
            with zipfile.ZipFile(out, 'w') as z:
                z.writestr('dir/', b'')
                z.writestr(zipfile.ZipInfo('stored.txt'), data[:n], compress_type=zipfile.ZIP_STORED)
                z.writestr('deflated.bin', data[n:], compress_type=zipfile.ZIP_DEFLATED)
            """
        for mode in ["seekable", "unseekable"] {
            let zip = try runTool(
                "/usr/bin/env", ["python3", "-c", script, "\(stored.count)", mode],
                input: stored + deflated)
            #expect(try Zip.entryNames(zip) == ["dir/", "stored.txt", "deflated.bin"])
            #expect(try Zip.extract(zip) == stored, "first file entry, \(mode)")
            #expect(try Zip.extract(zip, entry: "deflated.bin") == deflated, "deflated.bin, \(mode)")
            #expect(throws: RMoEError.self) { try Zip.extract(zip, entry: "missing.txt") }
            // Corrupt the stored CRC of the deflated entry in the central directory.
            var badCRC = zip
            let cd = (0..<(zip.count - 4)).last { zip[$0] == 0x50 && zip[$0 + 1] == 0x4B && zip[$0 + 2] == 1 && zip[$0 + 3] == 2 }
            if let cd {
                badCRC[cd + 16] ^= 0x01
                #expect(throws: RMoEError.self) { try Zip.extract(badCRC, entry: "deflated.bin") }
            }
            for cut in [0, 10, zip.count / 2, zip.count - 23, zip.count - 1] {
                #expect(throws: RMoEError.self) { try Zip.extract(Array(zip.prefix(cut)), entry: "deflated.bin") }
            }
        }
    }

    @Test("corrupt, truncated and mislabelled inputs throw RMoEError instead of trapping")
    func corruptInputs() throws {
        var g = TestBytes(4)
        let data = g.text(40_000)
        let good = try gzip(data, level: 6)
        #expect(try Gzip.decompress(good) == data)

        for cut in [0, 1, 5, 10, 11, 100, good.count / 2, good.count - 9, good.count - 8, good.count - 4, good.count - 1] {
            #expect(throws: RMoEError.self, "cut at \(cut)") { try Gzip.decompress(Array(good.prefix(cut))) }
        }
        // Flipped bytes in the compressed body (the last deflate byte is left alone: it may hold
        // unused padding bits).
        for position in stride(from: 10, to: good.count - 9, by: max(1, (good.count - 19) / 12)) {
            var bad = good
            bad[position] ^= 0x5A
            #expect(throws: RMoEError.self, "flip at \(position)") { try Gzip.decompress(bad) }
        }
        var badCRC = good
        badCRC[good.count - 8] ^= 1
        do {
            _ = try Gzip.decompress(badCRC)
            Issue.record("a wrong CRC-32 was accepted")
        } catch let error as RMoEError {
            #expect(error.message.contains("CRC-32"))
        }
        var badSize = good
        badSize[good.count - 1] ^= 1
        #expect(throws: RMoEError.self) { try Gzip.decompress(badSize) }
        #expect(throws: RMoEError.self) { try Gzip.decompress(ascii("plain text, not gzip")) }
        #expect(throws: RMoEError.self) { try Zip.extract(good) }
        #expect(throws: RMoEError.self) { try Inflate.decompress([0x07]) }  // block type 3

        // Random mutations: any outcome but a trap is acceptable; the output, when there is one,
        // must have passed the CRC check, so it equals the original.
        let small = try gzip(g.text(3_000), level: 9)
        let original = try Gzip.decompress(small)
        for _ in 0..<300 {
            var bad = small
            for _ in 0..<(1 + g.below(3)) { bad[10 + g.below(bad.count - 10)] = UInt8(truncatingIfNeeded: g.next()) }
            if let decoded = try? Gzip.decompress(bad) { #expect(decoded == original) }
            _ = try? Inflate.decompress(Array(bad[10...]))
        }
    }
}
