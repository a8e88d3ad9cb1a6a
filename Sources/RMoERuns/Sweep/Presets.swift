import Foundation
import RMoECore

/// The sweep presets: JSON files in `Sources/RMoERuns/Presets/` (copy one and edit it),
/// embedded in the binary at build time so `rmoe sweep smoke` works from any directory.
public enum Presets {
    public static let all: [(name: String, text: String)] = [
        ("smoke", String(decoding: PackageResources.smoke_json, as: UTF8.self)),
        ("main", String(decoding: PackageResources.main_json, as: UTF8.self)),
        ("ablation-bytes", String(decoding: PackageResources.ablation_bytes_json, as: UTF8.self)),
        ("ablation-words", String(decoding: PackageResources.ablation_words_json, as: UTF8.self)),
        ("depth", String(decoding: PackageResources.depth_json, as: UTF8.self)),
        ("recurrence", String(decoding: PackageResources.recurrence_json, as: UTF8.self)),
        ("scale", String(decoding: PackageResources.scale_json, as: UTF8.self)),
        ("scale-causes", String(decoding: PackageResources.scale_causes_json, as: UTF8.self)),
        ("scale-long", String(decoding: PackageResources.scale_long_json, as: UTF8.self)),
        ("scale-recipe", String(decoding: PackageResources.scale_recipe_json, as: UTF8.self)),
        ("scale-recipe-l8", String(decoding: PackageResources.scale_recipe_l8_json, as: UTF8.self)),
    ]

    public static func text(_ name: String) -> String? { all.first { $0.name == name }?.text }

    /// A preset by name, or a sweep file by path.
    public static func load(_ nameOrPath: String) throws -> SweepSpec {
        if let t = text(nameOrPath) { return try SweepSpec.parse(t, origin: "preset \(nameOrPath)") }
        guard FileManager.default.fileExists(atPath: nameOrPath) else {
            throw RMoEError("'\(nameOrPath)' is neither a preset (\(all.map(\.name).joined(separator: ", "))) nor a sweep file; check the name or path")
        }
        guard let data = FileManager.default.contents(atPath: nameOrPath) else {
            throw RMoEError("sweep file \(nameOrPath) cannot be read; check its permissions")
        }
        return try SweepSpec.parse(String(decoding: data, as: UTF8.self), origin: nameOrPath)
    }
}
