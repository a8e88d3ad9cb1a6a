import Foundation
import Testing
import RMoETestSupport
@testable import RMoECore

/// A fresh empty directory under the system temporary directory.
private func makeTempDir() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("rmoe-safetensors-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// 8-byte little-endian length + header text + data, exactly as given (no padding).
private func rawFile(_ header: String, _ data: [UInt8] = []) -> [UInt8] {
    let h = Array(header.utf8)
    return (0..<8).map { UInt8(truncatingIfNeeded: UInt64(h.count) >> (8 * UInt64($0))) } + h + data
}

/// Little-endian bytes of the bit patterns of `values`.
private func le(_ values: [Float]) -> [UInt8] {
    values.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v.bitPattern >> (8 * UInt32($0))) } }
}

/// Expects `body` to throw a one-line RMoEError whose message contains every phrase.
private func expectFailure(
    _ phrases: String..., sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) {
    do {
        try body()
        Issue.record("expected an RMoEError containing \(phrases)", sourceLocation: sourceLocation)
    } catch let error as RMoEError {
        for phrase in phrases {
            #expect(error.message.contains(phrase), "message: \(error.message)", sourceLocation: sourceLocation)
        }
        #expect(!error.message.contains("\n"), "message spans lines: \(error.message)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected an RMoEError, got \(error)", sourceLocation: sourceLocation)
    }
}

/// A writer holding one tensor of each kind the writer supports.
private func sampleWriter() -> SafeTensorsWriter {
    var w = SafeTensorsWriter(metadata: ["format": "pt", "step": "1200", "note": "a/b \"quoted\" é"])
    let f: [Float] = [1, -0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 0.1, 3, 4, 5, 6]
    w.add(name: "layers.0.w", shape: [3, 4], floats: f)
    w.add(name: "ids", shape: [5], int32s: [0, -1, .max, .min, 42])
    w.add(name: "scalar", shape: [], floats: [2.5])
    w.add(name: "empty", shape: [0, 7], floats: [])
    w.add(name: "d64", shape: [2], doubles: [0.1, -1e300])
    w.add(name: "d32", shape: [2], doubles: [0.1, 1e300], as: .F32)
    var big = [Float](repeating: 0, count: 1000)
    for i in big.indices { big[i] = Float(i) * 0.37 - 100 }
    big.withUnsafeBufferPointer { w.add(name: "experts.3.big", shape: [10, 100], floats: $0) }
    return w
}

@Test func roundTripKeepsNamesShapesBitsAndMetadata() throws {
    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("model.safetensors").path
    try sampleWriter().write(to: path)
    let file = try SafeTensorsFile.read(path: path)

    #expect(file.names == ["layers.0.w", "ids", "scalar", "empty", "d64", "d32", "experts.3.big"])
    #expect(file.metadata == ["format": "pt", "step": "1200", "note": "a/b \"quoted\" é"])
    #expect(file.info("layers.0.w")! == (SafeTensorsDType.F32, [3, 4]))
    #expect(file.info("ids")! == (SafeTensorsDType.I32, [5]))
    #expect(file.info("scalar")! == (SafeTensorsDType.F32, []))
    #expect(file.info("empty")! == (SafeTensorsDType.F32, [0, 7]))
    #expect(file.info("d64")! == (SafeTensorsDType.F64, [2]))
    #expect(file.info("d32")! == (SafeTensorsDType.F32, [2]))
    #expect(file.info("nope") == nil)

    let f: [Float] = [1, -0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 0.1, 3, 4, 5, 6]
    #expect(try file.floats("layers.0.w").map(\.bitPattern) == f.map(\.bitPattern))
    #expect(try file.int32s("ids") == [0, -1, .max, .min, 42])
    #expect(try file.floats("scalar") == [2.5])
    #expect(try file.floats("empty") == [])
    #expect(try file.doubles("d64").map(\.bitPattern) == [0.1, -1e300].map(\.bitPattern))
    #expect(try file.floats("d64") == [Float(0.1), -.infinity])
    #expect(try file.floats("d32").map(\.bitPattern) == [Float(0.1), .infinity].map(\.bitPattern))
    #expect(try file.doubles("d32") == [Double(Float(0.1)), .infinity])
    let big = try file.floats("experts.3.big")
    #expect(big.count == 1000 && big[999] == Float(999) * 0.37 - 100)
    let rawCount = try file.withRawBytes("experts.3.big") { $0.count }
    #expect(rawCount == 4000)
    let firstBits = try file.withRawBytes("ids") { $0.loadUnaligned(fromByteOffset: 4, as: Int32.self) }
    #expect(Int32(littleEndian: firstBits) == -1)

    // The data buffer starts 8-byte aligned and the header is padded with spaces.
    let bytes = try sampleWriter().serialized()
    let n = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    #expect((8 + n) % 8 == 0)
    #expect(bytes[8] == UInt8(ascii: "{"))
}

@Test func sameTensorsGiveByteIdenticalFiles() throws {
    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    let a = dir.appendingPathComponent("a.safetensors").path, b = dir.appendingPathComponent("b.safetensors").path
    try sampleWriter().write(to: a)
    try sampleWriter().write(to: b)
    let bytesA = try [UInt8](Data(contentsOf: URL(fileURLWithPath: a)))
    let bytesB = try [UInt8](Data(contentsOf: URL(fileURLWithPath: b)))
    #expect(bytesA == bytesB)
    #expect(bytesA == (try sampleWriter().serialized()))
    // Writing again over an existing file replaces it with the same bytes.
    try sampleWriter().write(to: a)
    #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: a))) == bytesB)
}

@Test func readsFileLaidOutLikePythonSafetensors() throws {
    // Header and data exactly as safetensors 0.8 `save_file` writes
    // {"w": float32 [[1, 2], [3, -0.5]], "ids": int32 [7, -1, 2]} with metadata {"format": "np"}.
    let header =
        #"{"__metadata__":{"format":"np"},"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"#
        + #""ids":{"dtype":"I32","shape":[3],"data_offsets":[16,28]}}       "#
    let data: [UInt8] = [
        0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x40, 0x40, 0x00, 0x00, 0x00, 0xbf,
        0x07, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00,
    ]
    let bytes = rawFile(header, data)
    #expect(Array(bytes[0..<8]) == [152, 0, 0, 0, 0, 0, 0, 0])
    let file = try SafeTensorsFile.parse(bytes: bytes, source: "py.safetensors")
    #expect(file.names == ["w", "ids"])
    #expect(file.metadata == ["format": "np"])
    #expect(file.info("w")! == (SafeTensorsDType.F32, [2, 2]))
    #expect(try file.floats("w") == [1, 2, 3, -0.5])
    #expect(try file.int32s("ids") == [7, -1, 2])
}

@Test func convertsHalfPrecisionAndInt64() throws {
    // BF16 1.0, -2.0, 0.5; F16 1.0, -2.0, 65504, smallest subnormal, -inf; I64 5, -6.
    let bf16: [UInt8] = [0x80, 0x3f, 0x00, 0xc0, 0x00, 0x3f]
    let f16: [UInt8] = [0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00, 0x00, 0xfc]
    let i64: [UInt8] = [5, 0, 0, 0, 0, 0, 0, 0] + [0xfa] + [UInt8](repeating: 0xff, count: 7)
    let big: [UInt8] = [0, 0, 0, 0, 1, 0, 0, 0]  // 2^32
    let header =
        #"{"b":{"dtype":"BF16","shape":[3],"data_offsets":[0,6]},"h":{"dtype":"F16","shape":[5],"data_offsets":[6,16]},"#
        + #""i":{"dtype":"I64","shape":[2],"data_offsets":[16,32]},"big":{"dtype":"I64","shape":[1],"data_offsets":[32,40]}}"#
    let file = try SafeTensorsFile.parse(bytes: rawFile(header, bf16 + f16 + i64 + big), source: "mixed")
    #expect(file.names == ["b", "h", "i", "big"])
    #expect(try file.floats("b") == [1, -2, 0.5])
    #expect(try file.doubles("b") == [1, -2, 0.5])
    #expect(try file.floats("h") == [1, -2, 65504, 0x1p-24, -.infinity])
    #expect(try file.int32s("i") == [5, -6])
    expectFailure("'big'", "does not fit in Int32") { _ = try file.int32s("big") }
    expectFailure("dtype I64", "floats()", "use int32s()") { _ = try file.floats("i") }
    expectFailure("dtype BF16", "int32s()") { _ = try file.int32s("b") }
}

@Test func wrongDtypeAndAbsentNameAreReported() throws {
    let file = try SafeTensorsFile.parse(bytes: try sampleWriter().serialized(), source: "/x/model.safetensors")
    expectFailure("/x/model.safetensors", "'ids'", "dtype I32", "use int32s()") { _ = try file.floats("ids") }
    expectFailure("dtype I32", "doubles()") { _ = try file.doubles("ids") }
    expectFailure("dtype F32", "int32s()", "use floats()") { _ = try file.int32s("scalar") }
    expectFailure("no tensor named 'missing'", "7 tensors", "'layers.0.w'", "'ids'", "...") { _ = try file.floats("missing") }
    expectFailure("no tensor named") { _ = try file.withRawBytes("missing") { $0.count } }
}

@Test func truncatedFilesAreReportedAtEveryLength() throws {
    let bytes = try sampleWriter().serialized()
    for length in 0..<bytes.count {
        expectFailure("is truncated", "re-create") {
            _ = try SafeTensorsFile.parse(bytes: Array(bytes[0..<length]), source: "cut")
        }
    }
    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("short.safetensors")
    try Data(bytes[0..<(bytes.count - 3)]).write(to: path)
    expectFailure(path.path, "is truncated", "data bytes") { _ = try SafeTensorsFile.read(path: path.path) }
}

@Test func corruptHeadersAreReported() throws {
    let ok = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
    let eight = [UInt8](repeating: 0, count: 8)
    _ = try SafeTensorsFile.parse(bytes: rawFile(ok, eight), source: "fine")

    var huge = rawFile(ok, eight)
    huge.replaceSubrange(0..<8, with: [0, 0, 0, 0, 0, 1, 0, 0])
    expectFailure("100000000-byte limit") { _ = try SafeTensorsFile.parse(bytes: huge, source: "huge") }
    huge.replaceSubrange(0..<8, with: [UInt8](repeating: 0xff, count: 8))
    expectFailure("100000000-byte limit") { _ = try SafeTensorsFile.parse(bytes: huge, source: "huge") }

    let cases: [(header: String, data: [UInt8], phrase: String)] = [
        (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#, eight, "not valid JSON"),
        ("not json at all", [], "not valid JSON"),
        ("[1, 2]", [], "not a JSON object"),
        (#"{"a":{"shape":[2],"data_offsets":[0,8]}}"#, eight, #"without a "dtype" field"#),
        (#"{"a":{"dtype":"F32","data_offsets":[0,8]}}"#, eight, #"without a "shape" field"#),
        (#"{"a":{"dtype":"F32","shape":[2]}}"#, eight, #"without a "data_offsets" field"#),
        (#"{"a":[1]}"#, [], "entry is not a JSON object"),
        (#"{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}"#, eight, "unknown dtype 'F33'"),
        (#"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, eight, "not a list of non-negative integers"),
        (#"{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}"#, eight, "not a list of non-negative integers"),
        (#"{"a":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}"#, [0, 0, 0, 0], "not a list of non-negative integers"),
        (#"{"a":{"dtype":"F32","shape":"2","data_offsets":[0,8]}}"#, eight, "not a list of non-negative integers"),
        (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, eight, "not [begin, end]"),
        (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}"#, eight, "not [begin, end]"),
        (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}}"#, eight, "not [begin, end]"),
        (#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, eight, "needs 12 bytes"),
        (#"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#, eight, "more than Int.max"),
        (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, [UInt8](repeating: 0, count: 4), "is truncated"),
        (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[1000000,1000008]}}"#, eight, "is truncated"),
        (
            #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
            [UInt8](repeating: 0, count: 12), "overlap"
        ),
        (
            #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
            [UInt8](repeating: 0, count: 12), "hole of 4 bytes"
        ),
        (#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, eight, "hole of 4 bytes"),
        (#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, eight, "4 trailing bytes"),
        (#"{"__metadata__":{"k":1}}"#, [], "not a string"),
        (#"{"__metadata__":[1]}"#, [], "not a JSON object"),
    ]
    for c in cases {
        expectFailure("safetensors file bad.safetensors", c.phrase) {
            _ = try SafeTensorsFile.parse(bytes: rawFile(c.header, c.data), source: "bad.safetensors")
        }
    }
    var invalidUTF8 = rawFile(ok, eight)
    invalidUTF8[10] = 0xff
    expectFailure("not valid UTF-8") { _ = try SafeTensorsFile.parse(bytes: invalidUTF8, source: "utf") }
    // A tensor name with a newline still gives a one-line message.
    expectFailure("unknown dtype", "'a\\nb'") {
        _ = try SafeTensorsFile.parse(bytes: rawFile(#"{"a\nb":{"dtype":"X","shape":[],"data_offsets":[0,0]}}"#), source: "nl")
    }
}

@Test func randomCorruptionNeverCrashes() throws {
    let good = try sampleWriter().serialized()
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    func next() -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int(truncatingIfNeeded: state >> 33)
    }
    for _ in 0..<500 {
        var bytes = good
        for _ in 0..<(1 + next() % 3) { bytes[next() % 300] = UInt8(truncatingIfNeeded: next()) }
        do {
            let file = try SafeTensorsFile.parse(bytes: bytes, source: "fuzz")
            for name in file.names { _ = try? file.floats(name); _ = try? file.int32s(name) }
        } catch let error as RMoEError {
            #expect(!error.message.isEmpty && !error.message.contains("\n"))
        }
    }
}

@Test func missingAndUnreadableFilesAreReported() throws {
    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    let missing = dir.appendingPathComponent("none.safetensors").path
    expectFailure(missing, "does not exist") { _ = try SafeTensorsFile.read(path: missing) }
    expectFailure("is a directory") { _ = try SafeTensorsFile.read(path: dir.path) }
    let empty = dir.appendingPathComponent("empty.safetensors")
    try Data().write(to: empty)
    expectFailure("is truncated", "fewer than the 8-byte") { _ = try SafeTensorsFile.read(path: empty.path) }
}

@Test func atomicWriteLeavesNoTempFileAndFailsForMissingDirectory() throws {
    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("ckpt.safetensors").path
    try sampleWriter().write(to: path)
    var w = SafeTensorsWriter()
    w.add(name: "x", shape: [1], floats: [1])
    try w.write(to: path)  // replaces the existing file
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["ckpt.safetensors"])
    #expect(try SafeTensorsFile.read(path: path).names == ["x"])

    let nowhere = dir.appendingPathComponent("no/such/dir/ckpt.safetensors").path
    expectFailure("cannot write safetensors file", "check that the directory exists") { try w.write(to: nowhere) }
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["ckpt.safetensors"])

    // A target that is a non-empty directory cannot be replaced: the temp file is removed again.
    let blocker = dir.appendingPathComponent("blocked.safetensors")
    try FileManager.default.createDirectory(at: blocker.appendingPathComponent("inner"), withIntermediateDirectories: true)
    expectFailure("renaming", "blocked.safetensors") { try w.write(to: blocker.path) }
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["blocked.safetensors", "ckpt.safetensors"])
}

@Test func writerReportsMisuseAtWrite() throws {
    var w = SafeTensorsWriter()
    w.add(name: "a", shape: [2, 2], floats: [1, 2, 3])
    expectFailure("'a'", "shape [2, 2] but 3 elements") { _ = try w.serialized() }
    w = SafeTensorsWriter()
    w.add(name: "a", shape: [1], floats: [1])
    w.add(name: "a", shape: [1], floats: [2])
    expectFailure("added twice") { _ = try w.serialized() }
    w = SafeTensorsWriter()
    w.add(name: "__metadata__", shape: [1], floats: [1])
    expectFailure("reserved") { _ = try w.serialized() }
    w = SafeTensorsWriter()
    w.add(name: "d", shape: [1], doubles: [1], as: .I32)
    expectFailure("use .F64 or .F32") { _ = try w.serialized() }

    // Raw bytes of another dtype round-trip, and an empty writer gives a valid empty file.
    w = SafeTensorsWriter()
    let bf16: [UInt8] = [0x80, 0x3f, 0x00, 0xc0]
    bf16.withUnsafeBytes { w.add(name: "b", shape: [2], dtype: .BF16, rawBytes: $0) }
    let file = try SafeTensorsFile.parse(bytes: try w.serialized(), source: "raw")
    #expect(try file.floats("b") == [1, -2])
    let empty = try SafeTensorsFile.parse(bytes: try SafeTensorsWriter().serialized(), source: "empty")
    #expect(empty.names.isEmpty && empty.metadata.isEmpty)
}
