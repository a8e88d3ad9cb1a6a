/// A config option with a fixed set of values: a `String`-backed enum whose raw values are what
/// config files, `--set` and `config.json` hold. The value list lives in the enum alone.
public protocol ConfigChoice: RawRepresentable, CaseIterable, Codable, Sendable, Hashable where RawValue == String {}

extension ConfigChoice {
    /// "a | b | c", for help texts.
    public static var choiceList: String { allCases.map(\.rawValue).joined(separator: " | ") }
    /// "a, b or c", for error messages.
    public static var choiceSentence: String {
        let v = allCases.map(\.rawValue)
        return v.count <= 1 ? v.joined() : v.dropLast().joined(separator: ", ") + " or " + v.last!
    }
}
