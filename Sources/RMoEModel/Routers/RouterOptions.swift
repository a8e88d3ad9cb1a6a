import RMoECore

/// One config field that belongs to a router family (declared in the family's file): its name in
/// configs and `--set`, its default, its help line and its check. The run config's field table,
/// validation, `rmoe config --fields` and the README table all come from these declarations.
public struct RouterField<V: ConfigValue>: Sendable {
    public let name: String
    public let defaultValue: V
    public let help: String
    public let check: @Sendable (V) -> String?

    public init(_ name: String, default defaultValue: V, _ help: String, check: @escaping @Sendable (V) -> String? = { _ in nil }) {
        self.name = name; self.defaultValue = defaultValue; self.help = help; self.check = check
    }

    /// The field without its value type, for the registry.
    public var erased: AnyRouterField {
        let (name, check, def) = (self.name, self.check, self.defaultValue)
        return AnyRouterField(
            name: name, help: V.choices.map { help + " (\($0))" } ?? help, typeName: V.typeName, defaultValue: def.json,
            parse: { v in
                guard let x = V(json: v) else { return .failure("is not a valid \(V.typeName)") }
                if let problem = check(x) { return .failure(problem) }
                return .success(x.json)
            })
    }
}

/// A router field without its value type: `parse` checks a value and returns it in canonical form.
public struct AnyRouterField: Sendable {
    public enum Parsed: Sendable { case success(JSONValue), failure(String) }
    public let name: String
    public let help: String
    public let typeName: String
    public let defaultValue: JSONValue
    public let parse: @Sendable (JSONValue) -> Parsed
}

/// The values of the router fields of a model config, by field name. Only values that differ from
/// their field's default are stored, so two configs are equal exactly when every field reads the same.
public struct RouterOptions: Codable, Sendable, Equatable {
    public private(set) var values: [String: JSONValue] = [:]
    public init() {}

    /// Stores a canonical value (`nil` or the default: removed).
    public mutating func set(_ name: String, _ value: JSONValue?, default def: JSONValue) {
        values[name] = value == def ? nil : value
    }
}

extension ModelConfig {
    /// A router field's value (its default unless set).
    public subscript<V>(field: RouterField<V>) -> V {
        get { routerOptions.values[field.name].flatMap(V.init(json:)) ?? field.defaultValue }
        set { routerOptions.set(field.name, newValue.json, default: field.defaultValue.json) }
    }
}
