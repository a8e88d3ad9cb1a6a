import Foundation

/// A JSON value with its object keys in order (what the toolkit reads and writes).
public enum JSONValue: Sendable, Equatable {
    case int(Int), double(Double), bool(Bool), string(String)
    case null
    indirect case array([JSONValue])
    /// An object with its keys in order.
    indirect case object(keys: [String], values: [JSONValue])

    /// An object from (key, value) pairs, keys in the given order.
    public static func object(_ pairs: [(String, JSONValue)]) -> JSONValue { .object(keys: pairs.map(\.0), values: pairs.map(\.1)) }

    /// Exact JSON text (Doubles in Swift's shortest round-trip form; non-finite ones as null).
    public var jsonText: String {
        switch self {
        case .int(let i): return String(i)
        case .double(let d): return d.isFinite ? (d == d.rounded() && abs(d) < 1e15 ? String(format: "%.1f", d) : "\(d)") : "null"
        case .bool(let b): return b ? "true" : "false"
        case .string(let s): return JSONText.quote(s)
        case .null: return "null"
        case .array(let a): return "[" + a.map(\.jsonText).joined(separator: ", ") + "]"
        case .object(let k, let v): return "{" + zip(k, v).map { JSONText.quote($0) + ": " + $1.jsonText }.joined(separator: ", ") + "}"
        }
    }

    /// Text for tables and --set.
    public var plainText: String {
        switch self {
        case .int(let i): return String(i)
        case .double(let d): return "\(d)"
        case .bool(let b): return b ? "true" : "false"
        case .string(let s): return s
        case .null: return "null"
        case .array(let a): return a.map(\.plainText).joined(separator: " ")
        case .object: return jsonText
        }
    }

    /// The (key, value) pairs of an object, nil for other values.
    public var pairs: [(String, JSONValue)]? {
        if case .object(let k, let v) = self { return Array(zip(k, v)) }
        return nil
    }

    /// The value under `key` of an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let k, let v) = self, let i = k.firstIndex(of: key) else { return nil }
        return v[i]
    }

    /// The value as Foundation objects (`[String: Any]`, `[Any]`, `NSNumber`, `String`, `NSNull`),
    /// for code that reads files loosely; integers stay integers and booleans stay booleans.
    public var foundation: Any {
        switch self {
        case .int(let i): return NSNumber(value: i)
        case .double(let d): return NSNumber(value: d)
        case .bool(let b): return NSNumber(value: b)
        case .string(let s): return s
        case .null: return NSNull()
        case .array(let a): return a.map(\.foundation)
        case .object(let k, let v): return Dictionary(uniqueKeysWithValues: zip(k, v.map(\.foundation)))
        }
    }
}

/// Minimal JSON text helpers (key order preserved, exact numbers).
public enum JSONText {
    public static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    /// A one-line JSON object from ordered (key, value) pairs.
    public static func object(_ pairs: [(String, JSONValue)]) -> String {
        "{" + pairs.map { "\(quote($0.0)): \($0.1.jsonText)" }.joined(separator: ", ") + "}"
    }
}

/// The toolkit's one JSON reader: strict RFC 8259. It rejects what lenient parsers let through
/// and a researcher would not mean: duplicate keys (which one wins?), trailing commas, comments,
/// NaN and Infinity, leading zeros, integers outside 64 bits, control characters in strings,
/// invalid UTF-8, and nesting deeper than 256. Numbers without a fraction or exponent are
/// integers; the others are Doubles parsed exactly (Swift's `Double(String)`).
public enum JSON {
    /// Parses a whole document. `origin` (a file name) starts every error message.
    public static func parse(_ text: String, origin: String) throws -> JSONValue {
        try parse(Array(text.utf8), origin: origin)
    }

    public static func parse(_ bytes: [UInt8], origin: String) throws -> JSONValue {
        try bytes.withUnsafeBufferPointer { buf in
            var p = Parser(bytes: buf, origin: origin)
            p.skipSpace()
            let v = try p.value(depth: 0)
            p.skipSpace()
            if p.i < buf.count { throw p.fail("unexpected text after the JSON value") }
            return v
        }
    }

    /// Parses a document that must be an object; returns it as Foundation objects.
    public static func object(_ bytes: [UInt8], origin: String) throws -> [String: Any] {
        guard let d = try parse(bytes, origin: origin).foundation as? [String: Any] else {
            throw RMoEError("\(origin) does not hold a JSON object ({...}); check the file")
        }
        return d
    }

    /// Reads and parses a file that must hold an object.
    public static func objectFile(_ path: String, what: String = "file") throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RMoEError("\(what) \(path) cannot be read; check the path and its permissions")
        }
        return try object([UInt8](data), origin: "\(what) \(path)")
    }

    static let maxDepth = 256

    struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        let origin: String
        var i = 0

        init(bytes: UnsafeBufferPointer<UInt8>, origin: String) { self.bytes = bytes; self.origin = origin }

        func fail(_ what: String, at position: Int? = nil) -> RMoEError {
            let at = min(position ?? i, bytes.count)
            var line = 1, col = 1
            for k in 0..<at { if bytes[k] == 0x0A { line += 1; col = 1 } else { col += 1 } }
            return RMoEError(
                "\(origin) is not valid JSON at line \(line), column \(col): \(what); fix the file (strict JSON: no duplicate keys, trailing commas or comments)"
            )
        }

        mutating func skipSpace() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
        }

        mutating func value(depth: Int) throws -> JSONValue {
            guard depth < JSON.maxDepth else { throw fail("nesting deeper than \(JSON.maxDepth) levels") }
            guard i < bytes.count else { throw fail("unexpected end of text, expected a value") }
            switch bytes[i] {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw fail("unexpected character '\(printable(bytes[i]))', expected a value")
            }
        }

        func printable(_ b: UInt8) -> String { b >= 0x20 && b < 0x7F ? String(UnicodeScalar(b)) : String(format: "\\x%02x", b) }

        mutating func literal(_ word: String) throws {
            for u in word.utf8 {
                guard i < bytes.count, bytes[i] == u else { throw fail("invalid literal, expected '\(word)'") }
                i += 1
            }
        }

        mutating func object(depth: Int) throws -> JSONValue {
            i += 1
            var keys: [String] = [], values: [JSONValue] = []
            var seen = Set<String>()
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(keys: [], values: []) }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else {
                    throw fail(i < bytes.count && bytes[i] == UInt8(ascii: "}") ? "trailing comma before '}'" : "expected a quoted key")
                }
                let keyStart = i
                let key = try string()
                if !seen.insert(key).inserted { throw fail("duplicate key \"\(key)\"", at: keyStart) }
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':' after key \"\(key)\"") }
                i += 1
                skipSpace()
                keys.append(key)
                values.append(try value(depth: depth + 1))
                skipSpace()
                guard i < bytes.count else { throw fail("unexpected end of text inside an object") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(keys: keys, values: values) }
                throw fail("expected ',' or '}' in an object")
            }
        }

        mutating func array(depth: Int) throws -> JSONValue {
            i += 1
            var items: [JSONValue] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array([]) }
            while true {
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") { throw fail("trailing comma before ']'") }
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard i < bytes.count else { throw fail("unexpected end of text inside an array") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                throw fail("expected ',' or ']' in an array")
            }
        }

        mutating func hex4() throws -> UInt32 {
            guard i + 4 <= bytes.count else { throw fail("truncated \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let b = bytes[i]
                let d: UInt32
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(b - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(b - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(b - UInt8(ascii: "A") + 10)
                default: throw fail("invalid hex digit in a \\u escape")
                }
                v = v << 4 | d
                i += 1
            }
            return v
        }

        mutating func string() throws -> String {
            let start = i
            i += 1
            var out: [UInt8] = []
            while true {
                guard i < bytes.count else { throw fail("unterminated string", at: start) }
                let b = bytes[i]
                if b == UInt8(ascii: "\"") { i += 1; break }
                if b < 0x20 { throw fail("control character in a string (escape it)") }
                if b != UInt8(ascii: "\\") { out.append(b); i += 1; continue }
                i += 1
                guard i < bytes.count else { throw fail("unterminated escape") }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                            throw fail("unpaired surrogate in a \\u escape")
                        }
                        i += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw fail("invalid low surrogate in a \\u escape") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw fail("unpaired surrogate in a \\u escape")
                    }
                    out.append(contentsOf: Array(String(Character(UnicodeScalar(scalar)!)).utf8))
                default: throw fail("invalid escape '\\\(printable(e))'")
                }
            }
            guard let s = String(validating: out, as: UTF8.self) else { throw fail("invalid UTF-8 in a string", at: start) }
            return s
        }

        mutating func number() throws -> JSONValue {
            let start = i
            var isInteger = true
            if bytes[i] == UInt8(ascii: "-") { i += 1 }
            func digits() -> Int {
                let s = i
                while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") { i += 1 }
                return i - s
            }
            guard i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") else { throw fail("invalid number") }
            if bytes[i] == UInt8(ascii: "0") {
                i += 1
                if i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") { throw fail("leading zero in a number", at: start) }
            } else {
                _ = digits()
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
                isInteger = false
                i += 1
                guard digits() > 0 else { throw fail("digits expected after '.'") }
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
                isInteger = false
                i += 1
                if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
                guard digits() > 0 else { throw fail("digits expected in an exponent") }
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
            if isInteger {
                guard let v = Int(text) else { throw fail("integer \(text) is outside the 64-bit range", at: start) }
                return .int(v)
            }
            guard let d = Double(text), d.isFinite else { throw fail("number \(text) is out of range", at: start) }
            return .double(d)
        }
    }
}

/// `Codable` for values stored inside `Codable` types (router options); objects decode with their
/// keys sorted, as JSON decoders do not keep key order.
extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            let o = try c.decode([String: JSONValue].self)
            let keys = o.keys.sorted()
            self = .object(keys: keys, values: keys.map { o[$0]! })
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .bool(let b): try c.encode(b)
        case .string(let s): try c.encode(s)
        case .null: try c.encodeNil()
        case .array(let a): try c.encode(a)
        case .object(let k, let v): try c.encode(Dictionary(uniqueKeysWithValues: zip(k, v)))
        }
    }
}

extension NSNumber {
    /// Whether the number holds a Double (JSON numbers with a fraction or exponent), as `JSONValue.foundation` makes them.
    public var isFloatingPoint: Bool { let t = String(cString: objCType); return t == "d" || t == "f" }
}
