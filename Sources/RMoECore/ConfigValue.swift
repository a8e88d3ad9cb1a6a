import Foundation

/// A value a config field can hold, and how it is read from JSON or from `--set` text (one
/// parsing path for every field: the run's own and the routers').
public protocol ConfigValue: Sendable, Equatable {
    /// What the field takes, for error messages ("integer", "choice: paper or code").
    static var typeName: String { get }
    /// "a | b | c" for options with a fixed set of values.
    static var choices: String? { get }
    init?(json: JSONValue)
    var json: JSONValue { get }
}

extension ConfigValue {
    public static var choices: String? { nil }
}

/// Options with a fixed set of values read their raw value from a string.
extension ConfigValue where Self: ConfigChoice {
    public static var typeName: String { "choice: " + Self.choiceSentence }
    public static var choices: String? { Self.choiceList }
    public init?(json: JSONValue) {
        guard case .string(let s) = json, let v = Self(rawValue: s) else { return nil }
        self = v
    }
    public var json: JSONValue { .string(rawValue) }
}

extension Int: ConfigValue {
    public static var typeName: String { "integer" }
    public init?(json: JSONValue) {
        switch json {
        case .int(let i): self = i
        case .double(let d) where d == d.rounded() && abs(d) < 1e15: self = Int(d)
        case .string(let s):
            if let i = Int(s.replacingOccurrences(of: "_", with: "")) {
                self = i
            } else if let d = Double(s), d == d.rounded(), abs(d) < 1e15 {
                self = Int(d)
            } else {
                return nil
            }
        default: return nil
        }
    }
    public var json: JSONValue { .int(self) }
}

extension Double: ConfigValue {
    public static var typeName: String { "number" }
    public init?(json: JSONValue) {
        switch json {
        case .int(let i): self = Double(i)
        case .double(let d): self = d
        case .string(let s): guard let d = Double(s), d.isFinite else { return nil }; self = d
        default: return nil
        }
    }
    public var json: JSONValue { .double(self) }
}

extension Bool: ConfigValue {
    public static var typeName: String { "boolean (true or false)" }
    public init?(json: JSONValue) {
        switch json {
        case .bool(let b): self = b
        case .string(let s):
            switch s.lowercased() {
            case "true", "1", "yes", "on": self = true
            case "false", "0", "no", "off": self = false
            default: return nil
            }
        default: return nil
        }
    }
    public var json: JSONValue { .bool(self) }
}

extension String: ConfigValue {
    public static var typeName: String { "string" }
    public init?(json: JSONValue) {
        guard case .string(let s) = json, !s.isEmpty else { return nil }
        self = s
    }
    public var json: JSONValue { .string(self) }
}
