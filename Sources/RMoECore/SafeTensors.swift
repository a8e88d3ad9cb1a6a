import Foundation

// The safetensors format (https://github.com/huggingface/safetensors), as read and written here:
//
//   [8 bytes]  N, a little-endian UInt64: the length of the header
//   [N bytes]  a UTF-8 JSON object: tensor name -> {"dtype": "F32", "shape": [2, 3], "data_offsets": [b, e]},
//              plus an optional "__metadata__": {String: String}; it may end in spaces (0x20) so that the
//              data buffer starts 8-byte aligned (this writer always pads that way)
//   [rest]     the data buffer; tensor bytes are little-endian and row-major, `[b, e)` is relative to the
//              start of the buffer, `e - b == product(shape) * dtype.size`, and the tensors tile the buffer
//              exactly: no holes, no overlaps, no trailing bytes (in any order; the writer uses insertion order)
//
// Every reading failure throws one `RMoEError` whose single line names the file, the cause and the fix.

/// A safetensors element type; the raw value is the spelling in the JSON header.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .BOOL, .U8, .I8, .F8_E5M2, .F8_E4M3: return 1
        case .I16, .U16, .F16, .BF16: return 2
        case .I32, .U32, .F32: return 4
        case .F64, .I64, .U64: return 8
        }
    }
}

/// A whole safetensors file held in memory and validated on load (see the format note at the top of
/// `SafeTensors.swift`). Tensor accessors copy out of the one byte array with `memcpy`, or convert
/// element by element where the dtype differs from the requested type.
public struct SafeTensorsFile: Sendable {
    /// Largest header accepted, the same limit the reference implementation uses.
    public static let maxHeaderBytes = 100_000_000

    struct Entry: Sendable {
        let dtype: SafeTensorsDType
        let shape: [Int]
        let begin: Int  // absolute offsets into `bytes`
        let end: Int
        var count: Int { (end - begin) / dtype.size }
    }

    /// Where the bytes came from (a path), used in error messages.
    public let source: String
    /// The `__metadata__` object of the header; empty when there is none.
    public let metadata: [String: String]
    /// Tensor names in data-offset order.
    public let names: [String]
    let entries: [String: Entry]
    let bytes: [UInt8]

    /// Reads and validates the file at `path` (the whole file is read into memory).
    public static func read(path: String) throws -> SafeTensorsFile {
        try parse(bytes: readWholeFile(path), source: path)
    }

    /// The file's bytes, unchecked (to hand to other processes, which `parse` them).
    public static func readBytes(path: String) throws -> [UInt8] { try readWholeFile(path) }

    /// Validates `bytes` as a safetensors file; `source` names it in error messages.
    public static func parse(bytes: [UInt8], source: String) throws -> SafeTensorsFile {
        let corrupt = "the file is incomplete or corrupt: re-create it or pick another file"
        func fail(_ cause: String, _ fix: String = corrupt) -> RMoEError {
            RMoEError(oneLine("safetensors file \(source) \(cause); \(fix)"))
        }
        guard bytes.count >= 8 else {
            throw fail("is truncated: it has \(bytes.count) bytes, fewer than the 8-byte header length")
        }
        var n64: UInt64 = 0
        for i in 0..<8 { n64 |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n64 <= UInt64(maxHeaderBytes) else {
            throw fail(
                "declares a header of \(n64) bytes, more than the \(maxHeaderBytes)-byte limit",
                "it is not a safetensors file or is corrupt: re-create it or pick another file")
        }
        let headerLength = Int(n64), dataStart = 8 + headerLength
        guard dataStart <= bytes.count else {
            throw fail("is truncated: header says \(headerLength) header bytes, file has \(bytes.count - 8) after the length")
        }
        let headerBytes = bytes[8..<dataStart]
        guard isValidUTF8(headerBytes) else {
            throw fail("has a header that is not valid UTF-8", "it is not a safetensors file or is corrupt: re-create it")
        }
        let json: Any
        do {
            json = try JSON.parse(Array(headerBytes), origin: "header").foundation
        } catch let e as RMoEError {
            let detail = e.message.replacingOccurrences(of: "header is not valid JSON ", with: "").components(separatedBy: "; fix the file").first ?? ""
            throw fail("has a header that is not valid JSON (\(detail))", "it is not a safetensors file or is corrupt: re-create it")
        }
        guard let header = json as? [String: Any] else {
            throw fail("has a header that is not a JSON object", "it is not a safetensors file or is corrupt: re-create it")
        }

        let dataLength = bytes.count - dataStart
        var metadata: [String: String] = [:]
        var list: [(name: String, dtype: SafeTensorsDType, shape: [Int], begin: Int, end: Int)] = []
        list.reserveCapacity(header.count)
        for (name, value) in header {
            if name == "__metadata__" {
                if value is NSNull { continue }
                guard let dict = value as? [String: Any] else {
                    throw fail("has a \"__metadata__\" entry that is not a JSON object")
                }
                for (key, v) in dict {
                    guard let s = v as? String else {
                        throw fail("has metadata \(quoted(key)) whose value is not a string (safetensors metadata maps strings to strings)")
                    }
                    metadata[key] = s
                }
                continue
            }
            let tensor = "tensor \(quoted(name))"
            guard let fields = value as? [String: Any] else { throw fail("has \(tensor) whose entry is not a JSON object") }
            for field in ["dtype", "shape", "data_offsets"] where fields[field] == nil {
                throw fail("has \(tensor) without a \"\(field)\" field")
            }
            guard let dtypeName = fields["dtype"] as? String, let dtype = SafeTensorsDType(rawValue: dtypeName) else {
                let known = SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ")
                throw fail(
                    "has \(tensor) with unknown dtype \(quoted("\(fields["dtype"]!)")) (known: \(known))",
                    "re-create the file with a supported dtype")
            }
            guard let shapeList = fields["shape"] as? [Any], let shape = integers(shapeList), shape.allSatisfy({ $0 >= 0 }) else {
                throw fail("has \(tensor) with shape \(compact(fields["shape"]!)), not a list of non-negative integers")
            }
            guard let offsetList = fields["data_offsets"] as? [Any], let offsets = integers(offsetList),
                offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1]
            else {
                throw fail("has \(tensor) with data_offsets \(compact(fields["data_offsets"]!)), not [begin, end] with 0 <= begin <= end")
            }
            var needed = dtype.size, overflow = false
            for d in shape where !overflow { (needed, overflow) = needed.multipliedReportingOverflow(by: d) }
            guard !overflow, needed == offsets[1] - offsets[0] else {
                throw fail(
                    "has \(tensor) whose data_offsets [\(offsets[0]), \(offsets[1])] span \(offsets[1] - offsets[0]) bytes "
                        + "but shape \(shape) of \(dtype.rawValue) needs \(overflow ? "more than Int.max" : String(needed)) bytes")
            }
            list.append((name, dtype, shape, offsets[0], offsets[1]))
        }

        list.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        if let last = list.max(by: { $0.end < $1.end }), last.end > dataLength {
            throw fail("is truncated: header says \(last.end) data bytes, file has \(dataLength)")
        }
        var cursor = 0
        for (i, t) in list.enumerated() {
            if t.begin < cursor {
                throw fail(
                    "has tensors \(quoted(list[i - 1].name)) and \(quoted(t.name)) that overlap in the data buffer "
                        + "(data_offsets [\(list[i - 1].begin), \(list[i - 1].end)] and [\(t.begin), \(t.end)])")
            }
            if t.begin > cursor {
                throw fail("has a hole of \(t.begin - cursor) bytes in the data buffer before tensor \(quoted(t.name)) at offset \(t.begin)")
            }
            cursor = t.end
        }
        if cursor < dataLength {
            throw fail("has \(dataLength - cursor) trailing bytes after the last tensor (data buffer is \(dataLength) bytes, tensors cover \(cursor))")
        }

        var entries: [String: Entry] = [:]
        for t in list {
            entries[t.name] = Entry(dtype: t.dtype, shape: t.shape, begin: dataStart + t.begin, end: dataStart + t.end)
        }
        return SafeTensorsFile(source: source, metadata: metadata, names: list.map(\.name), entries: entries, bytes: bytes)
    }

    /// The dtype and shape of tensor `name`, or nil when the file has no such tensor.
    public func info(_ name: String) -> (dtype: SafeTensorsDType, shape: [Int])? {
        entries[name].map { ($0.dtype, $0.shape) }
    }

    /// Tensor `name` as Floats: F32 is copied bit for bit; F64, BF16 and F16 are converted.
    public func floats(_ name: String) throws -> [Float] {
        let e = try entry(name)
        switch e.dtype {
        case .F32: return copyOut(e, Float.self) { Float(bitPattern: $0 as UInt32) }
        case .F64: return convert(e) { Float(Double(bitPattern: $0 as UInt64)) }
        case .BF16: return convert(e) { Float(bitPattern: UInt32($0 as UInt16) << 16) }
        case .F16: return convert(e) { halfToFloat($0) }
        default: throw wrongType(name, e, "floats()", "F32, F64, BF16 or F16")
        }
    }

    /// Tensor `name` as Doubles: F64 is copied bit for bit; F32, BF16 and F16 are widened exactly.
    public func doubles(_ name: String) throws -> [Double] {
        let e = try entry(name)
        switch e.dtype {
        case .F64: return copyOut(e, Double.self) { Double(bitPattern: $0 as UInt64) }
        case .F32: return convert(e) { Double(Float(bitPattern: $0 as UInt32)) }
        case .BF16: return convert(e) { Double(Float(bitPattern: UInt32($0 as UInt16) << 16)) }
        case .F16: return convert(e) { Double(halfToFloat($0)) }
        default: throw wrongType(name, e, "doubles()", "F64, F32, BF16 or F16")
        }
    }

    /// Tensor `name` as Int32s: I32 is copied; I64 is narrowed, throwing if an element does not fit.
    public func int32s(_ name: String) throws -> [Int32] {
        let e = try entry(name)
        switch e.dtype {
        case .I32: return copyOut(e, Int32.self) { $0 as Int32 }
        case .I64:
            let wide: [Int64] = convert(e) { $0 }
            if let i = wide.firstIndex(where: { Int32(exactly: $0) == nil }) {
                throw RMoEError(
                    oneLine(
                        "safetensors file \(source) has I64 tensor \(quoted(name)) whose element \(i) = \(wide[i]) "
                            + "does not fit in Int32; store it as I32 values in Int32 range or read it another way"))
            }
            return wide.map { Int32($0) }
        default: throw wrongType(name, e, "int32s()", "I32 or I64")
        }
    }

    /// Calls `body` with the raw little-endian bytes of tensor `name`, without copying them. The
    /// pointer is valid only inside `body` and is not necessarily aligned for the element type.
    /// Throws if the file has no such tensor, and rethrows what `body` throws.
    public func withRawBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let e = try entry(name)
        return try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[e.begin..<e.end])) }
    }

    // MARK: - Private

    private func entry(_ name: String) throws -> Entry {
        if let e = entries[name] { return e }
        let some = names.prefix(5).map(quoted).joined(separator: ", ") + (names.count > 5 ? ", ..." : "")
        throw RMoEError(
            oneLine(
                "safetensors file \(source) has no tensor named \(quoted(name)) "
                    + "(it has \(names.count) tensor\(names.count == 1 ? "" : "s")\(names.isEmpty ? "" : ": " + some)); check the name or the file"))
    }

    private func wrongType(_ name: String, _ e: Entry, _ accessor: String, _ accepted: String) -> RMoEError {
        let hint: String
        switch e.dtype {
        case .I32, .I64: hint = "use int32s() or withRawBytes()"
        case .F32, .F64, .F16, .BF16: hint = "use floats() or doubles()"
        default: hint = "use withRawBytes()"
        }
        return RMoEError(
            oneLine(
                "safetensors file \(source) has tensor \(quoted(name)) of dtype \(e.dtype.rawValue), "
                    + "but \(accessor) reads \(accepted); \(hint) for it"))
    }

    /// Copies the tensor straight out on a little-endian host; elsewhere decodes each element.
    private func copyOut<T, Raw: FixedWidthInteger>(_ e: Entry, _: T.Type, _ decode: (Raw) -> T) -> [T] {
        #if _endian(little)
            let n = e.end - e.begin
            return [T](unsafeUninitializedCapacity: n / MemoryLayout<T>.stride) { out, count in
                if n > 0 {
                    bytes.withUnsafeBytes { src in
                        UnsafeMutableRawPointer(out.baseAddress!).copyMemory(from: src.baseAddress! + e.begin, byteCount: n)
                    }
                }
                count = n / MemoryLayout<T>.stride
            }
        #else
            return convert(e, decode)
        #endif
    }

    /// Decodes each little-endian element of raw type `Raw` (unaligned loads) through `f`.
    private func convert<Raw: FixedWidthInteger, T>(_ e: Entry, _ f: (Raw) -> T) -> [T] {
        let n = e.count, step = MemoryLayout<Raw>.size
        return bytes.withUnsafeBytes { src in
            [T](unsafeUninitializedCapacity: n) { out, count in
                for i in 0..<n {
                    out[i] = f(Raw(littleEndian: src.loadUnaligned(fromByteOffset: e.begin + i * step, as: Raw.self)))
                }
                count = n
            }
        }
    }
}

/// IEEE half -> Float, exact (no `Float16`, which Intel macOS lacks).
private func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16, exponent = UInt32(h >> 10) & 0x1f, mantissa = UInt32(h & 0x3ff)
    if exponent == 0x1f { return Float(bitPattern: sign | 0x7f80_0000 | mantissa << 13) }
    if exponent == 0 {
        let magnitude = Float(mantissa) * 0x1p-24  // zero or subnormal
        return sign != 0 ? -magnitude : magnitude
    }
    return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
}

/// Builds a safetensors file tensor by tensor, in insertion order, and writes it atomically.
/// Problems in `add` (duplicate name, reserved name, negative shape, element count not matching the
/// shape, unsupported dtype) are remembered and thrown by `write`/`serialized`, keeping `add` non-throwing.
/// The same tensors and metadata always give byte-identical output (header keys are sorted).
public struct SafeTensorsWriter: Sendable {
    struct Entry: Sendable {
        let name: String
        let dtype: SafeTensorsDType
        let shape: [Int]
        let begin: Int
        let end: Int
    }

    public var metadata: [String: String]
    private var entries: [Entry] = []
    private var seen: Set<String> = []
    private var data: [UInt8] = []
    private var problem: String?

    public init(metadata: [String: String] = [:]) { self.metadata = metadata }

    /// Adds an F32 tensor; `floats.count` must equal the product of `shape`.
    public mutating func add(name: String, shape: [Int], floats: UnsafeBufferPointer<Float>) {
        append(name, .F32, shape, floats.count) { data in Self.appendLE(&data, floats) { $0.bitPattern } }
    }

    /// Adds an F32 tensor.
    public mutating func add(name: String, shape: [Int], floats: [Float]) {
        floats.withUnsafeBufferPointer { add(name: name, shape: shape, floats: $0) }
    }

    /// Adds an I32 tensor.
    public mutating func add(name: String, shape: [Int], int32s: [Int32]) {
        append(name, .I32, shape, int32s.count) { data in int32s.withUnsafeBufferPointer { Self.appendLE(&data, $0) { $0 } } }
    }

    /// Adds Doubles, stored as F64 (bit-exact) or, with `as: .F32`, rounded to F32.
    public mutating func add(name: String, shape: [Int], doubles: [Double], as dtype: SafeTensorsDType = .F64) {
        switch dtype {
        case .F64:
            append(name, .F64, shape, doubles.count) { data in doubles.withUnsafeBufferPointer { Self.appendLE(&data, $0) { $0.bitPattern } } }
        case .F32:
            add(name: name, shape: shape, floats: doubles.map { Float($0) })
        default:
            record("tensor \(quoted(name)) asks to store Doubles as \(dtype.rawValue); use .F64 or .F32")
        }
    }

    /// Adds a tensor of any dtype from its raw little-endian bytes (`bytes.count` = elements * dtype.size).
    public mutating func add(name: String, shape: [Int], dtype: SafeTensorsDType, rawBytes: UnsafeRawBufferPointer) {
        guard rawBytes.count % dtype.size == 0 else {
            return record("tensor \(quoted(name)) has \(rawBytes.count) bytes, not a multiple of the \(dtype.rawValue) size \(dtype.size)")
        }
        append(name, dtype, shape, rawBytes.count / dtype.size) { $0.append(contentsOf: rawBytes) }
    }

    /// The complete file as bytes.
    public func serialized() throws -> [UInt8] {
        try header(for: nil) + data
    }

    /// Writes the file atomically (`AtomicFile`): a reader sees the old file or the whole new one.
    /// Throws if a tensor was added wrongly or the folder is missing, not writable or full.
    public func write(to path: String) throws {
        let head = try header(for: path)
        try head.withUnsafeBytes { h in try data.withUnsafeBytes { d in try AtomicFile.write(path, parts: [h, d], what: "safetensors file") } }
    }

    // MARK: - Private

    private mutating func record(_ message: String) {
        if problem == nil { problem = message }
    }

    private mutating func append(
        _ name: String, _ dtype: SafeTensorsDType, _ shape: [Int], _ count: Int,
        _ appendBytes: (inout [UInt8]) -> Void
    ) {
        var product = 1, overflow = false
        for d in shape where !overflow { (product, overflow) = product.multipliedReportingOverflow(by: d) }
        if name == "__metadata__" { return record("the tensor name \"__metadata__\" is reserved; rename the tensor") }
        if seen.contains(name) { return record("tensor \(quoted(name)) was added twice; give each tensor a unique name") }
        if shape.contains(where: { $0 < 0 }) || overflow || product != count {
            return record("tensor \(quoted(name)) has shape \(shape) but \(count) elements; pass a shape whose product is the element count")
        }
        let begin = data.count
        appendBytes(&data)
        seen.insert(name)
        entries.append(Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: data.count))
    }

    private static func appendLE<T, Bits: FixedWidthInteger>(_ data: inout [UInt8], _ values: UnsafeBufferPointer<T>, _ bits: (T) -> Bits) {
        #if _endian(little)
            data.append(contentsOf: UnsafeRawBufferPointer(values))
        #else
            for v in values { withUnsafeBytes(of: bits(v).littleEndian) { data.append(contentsOf: $0) } }
        #endif
    }

    /// Length prefix + JSON header padded with spaces so that the data starts 8-byte aligned.
    private func header(for path: String?) throws -> [UInt8] {
        if let problem { throw RMoEError(oneLine("cannot write safetensors file\(path.map { " " + $0 } ?? ""): \(problem)")) }
        var object: [String: Any] = [:]
        for e in entries {
            object[e.name] = ["dtype": e.dtype.rawValue, "shape": e.shape, "data_offsets": [e.begin, e.end]] as [String: Any]
        }
        if !metadata.isEmpty { object["__metadata__"] = metadata }
        var json = [UInt8](try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var out = [UInt8](repeating: 0, count: 8)
        for i in 0..<8 { out[i] = UInt8(truncatingIfNeeded: UInt64(json.count) >> (8 * UInt64(i))) }
        return out + json
    }
}

// MARK: - Helpers

/// A name in single quotes with control characters escaped, so messages stay on one line.
private func quoted(_ s: String) -> String {
    "'" + s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? $0.escaped(asASCII: true) : String($0) }.joined() + "'"
}

private func oneLine(_ s: String) -> String {
    s.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
}

/// A JSON value as compact text for a message, at most 60 characters.
private func compact(_ value: Any) -> String {
    let text: String
    if let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]) {
        text = String(decoding: data, as: UTF8.self)
    } else {
        text = "\(value)"
    }
    return text.count > 60 ? String(text.prefix(57)) + "..." : text
}

/// JSON integers only: rejects booleans and numbers written with a fraction or exponent.
private func integers(_ list: [Any]) -> [Int]? {
    var out: [Int] = []
    out.reserveCapacity(list.count)
    for v in list {
        guard let n = v as? NSNumber else { return nil }
        let kind = String(cString: n.objCType)
        guard kind != "c", kind != "B", kind != "d", kind != "f", let i = v as? Int else { return nil }
        out.append(i)
    }
    return out
}

private func isValidUTF8(_ bytes: ArraySlice<UInt8>) -> Bool {
    var iterator = bytes.makeIterator(), codec = UTF8()
    while true {
        switch codec.decode(&iterator) {
        case .scalarValue: continue
        case .emptyInput: return true
        case .error: return false
        }
    }
}

private func errnoText() -> String { String(cString: strerror(errno)) }

private func readWholeFile(_ path: String) throws -> [UInt8] {
    func fail(_ cause: String, _ fix: String) -> RMoEError { RMoEError(oneLine("safetensors file \(path) \(cause); \(fix)")) }
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
        let e = errno
        if e == ENOENT { throw fail("does not exist", "check the path or create the file first") }
        throw fail("cannot be opened (\(String(cString: strerror(e))))", "check the path and its permissions")
    }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw fail("cannot be inspected (\(errnoText()))", "check the path and its permissions") }
    if (st.st_mode & mode_t(S_IFMT)) == mode_t(S_IFDIR) {
        throw fail("is a directory", "pass the path of a .safetensors file")
    }
    let size = Int(st.st_size)
    var readError: Int32 = 0
    let bytes = [UInt8](unsafeUninitializedCapacity: size) { buf, count in
        var done = 0
        while done < size {
            let r = read(fd, buf.baseAddress! + done, size - done)
            if r < 0 { if errno == EINTR { continue }; readError = errno; break }
            if r == 0 { break }
            done += r
        }
        count = done
    }
    if readError != 0 {
        throw fail("cannot be read (\(String(cString: strerror(readError))))", "check the disk and the file's permissions")
    }
    return bytes
}
