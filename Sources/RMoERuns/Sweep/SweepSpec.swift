import Foundation
import RMoECore

/// A sweep: a grid of runs (routers x seeds x overrides) over a base config.
///
/// File format (JSON; `rmoe sweep --show smoke` prints an example):
///
///     {
///       "name": "smoke",
///       "description": "two routers, tiny, under a minute",
///       "base": {"corpus": "synthetic", "layers": 2, ...},        any config fields
///       "routers": ["smoe", "rmoe",                                names, or objects with a label and
///                   {"label": "rmoe-np-r0.5", "router": "rmoe-np-r", "alpha": 0.5}],   their own fields
///       "seeds": [1, 2, 3],
///       "grid": {"layers": [4, 8, 12]},                            optional: any field as an axis
///       "order": "seed",                                           optional: "seed" (default) or "point"
///       "baseline": "smoe"                                         optional: the router label table.md's
///     }                                                            paired differences compare against
///
/// Runs are ordered seed by seed (so an interrupted sweep has whole seeds done first), then by grid
/// point, then by router; with `"order": "point"` grid point by grid point (in the order the values
/// are listed), then seed, then router, so the first grid points finish first. Each run has its own
/// folder `runs/<label>-s<seed>[-<field><value>...]`.
public struct SweepSpec: Sendable {
    public struct Router: Sendable, Equatable {
        public var label: String
        public var settings: [(String, String)]
        public static func == (a: Router, b: Router) -> Bool { a.label == b.label && a.settings.map { "\($0)=\($1)" } == b.settings.map { "\($0)=\($1)" } }
    }

    public var name: String
    public var description: String
    public var base: [(String, String)]
    public var routers: [Router]
    public var seeds: [Int]
    /// Axes in a fixed (sorted) order: (field, values).
    public var grid: [(String, [String])]
    /// The source text, saved with the sweep.
    public var text: String
    /// Run order: seed-major (`false`, the default) or grid-point-major (`true`).
    public var pointMajor = false
    /// The router label of the paired differences in table.md (default: smoe if present, else the first).
    public var baseline: String? = nil

    /// One run of the sweep.
    public struct Run: Sendable {
        public var id: String
        public var label: String
        public var seed: Int
        /// The grid point: (field, value) per axis.
        public var point: [(String, String)]
        public var config: RunConfig
    }

    public static func parse(_ text: String, origin: String) throws -> SweepSpec {
        let parsed = try JSON.parse(text, origin: "sweep file \(origin)")
        guard let pairs = parsed.pairs else {
            throw RMoEError("sweep file \(origin) is not a JSON object; see `rmoe sweep --show smoke` for the format")
        }
        let obj = Dictionary(uniqueKeysWithValues: pairs)
        let known: Set<String> = ["name", "description", "base", "routers", "seeds", "grid", "order", "baseline"]
        if let extra = pairs.map(\.0).first(where: { !known.contains($0) }) {
            throw RMoEError("sweep file \(origin): unknown key '\(extra)'; a sweep has name, description, base, routers, seeds, grid, order and baseline")
        }
        func fail(_ what: String) -> RMoEError { RMoEError("sweep file \(origin): \(what)") }
        var pointMajor = false
        if let o = obj["order"] {
            guard case .string(let order) = o, ["seed", "point"].contains(order) else {
                throw fail("\"order\" must be \"seed\" (seed by seed) or \"point\" (grid point by grid point)")
            }
            pointMajor = order == "point"
        }
        func str(_ v: JSONValue, _ what: String) throws -> String {
            switch v {
            case .bool(let b): return b ? "true" : "false"
            case .int(let i): return String(i)
            case .double(let d): return "\(d)"
            case .string(let s): return s
            default: throw fail("\(what) must be a number, a string or true/false")
            }
        }
        guard case .string(let name)? = obj["name"], isName(name) else {
            throw fail("needs a \"name\" of letters, digits, '.', '-' and '_' (it names the output folder)")
        }
        var description = ""
        if let d = obj["description"] {
            guard case .string(let text) = d else { throw fail("\"description\" must be a string") }
            description = text
        }
        var base: [(String, String)] = []
        if let b = obj["base"] {
            guard let d = b.pairs else { throw fail("\"base\" must be an object of config fields") }
            for (k, v) in d.sorted(by: { $0.0 < $1.0 }) { base.append((k, try str(v, "base.\(k)"))) }
        }
        guard case .array(let rs)? = obj["routers"], !rs.isEmpty else {
            throw fail("needs a non-empty \"routers\" list (names, or {\"label\": ..., \"router\": ..., fields})")
        }
        var routers: [Router] = []
        for r in rs {
            if case .string(let n) = r {
                guard isName(n) else { throw fail("router '\(n)' is not a name (letters, digits, '.', '-', '_')") }
                routers.append(Router(label: n, settings: [("router", n)]))
            } else if let d = r.pairs {
                let fields = Dictionary(uniqueKeysWithValues: d)
                guard case .string(let router)? = fields["router"] else { throw fail("a router object needs \"router\" (a router name)") }
                var label = router
                if let l = fields["label"] {
                    guard case .string(let text) = l else { throw fail("a router's \"label\" must be a string") }
                    label = text
                }
                guard isName(label) else {
                    throw fail("router label '\(label)' may hold only letters, digits, '.', '-' and '_' (it names run folders), and not '..'")
                }
                var settings: [(String, String)] = [("router", router)]
                for (k, v) in d.sorted(by: { $0.0 < $1.0 }) where k != "label" && k != "router" { settings.append((k, try str(v, "routers.\(label).\(k)"))) }
                routers.append(Router(label: label, settings: settings))
            } else {
                throw fail("each router is a name or an object")
            }
        }
        if Set(routers.map(\.label)).count != routers.count { throw fail("router labels must be distinct") }
        var seeds = [1]
        if let sv = obj["seeds"] {
            guard case .array(let list) = sv, !list.isEmpty else { throw fail("\"seeds\" must be a non-empty list of integers, like [1, 2, 3]") }
            seeds = try list.map { v in
                guard case .int(let i) = v, i >= 0 else { throw fail("seed \(v.jsonText) is not a non-negative integer; seeds are like [1, 2, 3]") }
                return i
            }
            if Set(seeds).count != seeds.count { throw fail("\"seeds\" must be distinct") }
        }
        var grid: [(String, [String])] = []
        if let g = obj["grid"] {
            guard let d = g.pairs else { throw fail("\"grid\" must map fields to lists of values") }
            for (k, v) in d.sorted(by: { $0.0 < $1.0 }) {
                guard case .array(let vs) = v, !vs.isEmpty else { throw fail("grid axis '\(k)' must be a non-empty list") }
                grid.append((k, try vs.map { try str($0, "grid.\(k)") }))
            }
        }
        var baseline: String? = nil
        if let b = obj["baseline"] {
            guard case .string(let label) = b, routers.contains(where: { $0.label == label }) else {
                throw fail("\"baseline\" must be one of the router labels (\(routers.map(\.label).joined(separator: ", ")))")
            }
            baseline = label
        }
        let spec = SweepSpec(
            name: name, description: description, base: base, routers: routers,
            seeds: seeds, grid: grid, text: text, pointMajor: pointMajor, baseline: baseline)
        let runs = try spec.runs(origin: origin)  // every run's config must resolve
        var ids = Set<String>()
        for r in runs where !ids.insert(r.id).inserted {
            throw fail("two runs would share the folder runs/\(r.id) (grid values that differ only in characters folder names drop?); make them distinct")
        }
        return spec
    }

    /// Names of sweeps, router labels and run folders: letters, digits, '.', '-' and '_', not
    /// starting with '.', so no name can be a path or leave the sweep's folder.
    static func isName(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 100 && !s.hasPrefix(".") && !s.contains("..")
            && s.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || "-_.".contains($0) }
    }

    /// The runs, in order, with resolved configs. `overrides` (key=value) apply to every run last.
    public func runs(origin: String = "sweep", overrides: [String] = []) throws -> [Run] {
        var points: [[(String, String)]] = [[]]
        for (field, values) in grid {
            points = points.flatMap { p in values.map { p + [(field, $0)] } }
        }
        var out: [Run] = []
        let order: [(seed: Int, point: [(String, String)])] =
            pointMajor
            ? points.flatMap { p in seeds.map { (seed: $0, point: p) } }
            : seeds.flatMap { s in points.map { (seed: s, point: $0) } }
        for (seed, point) in order {
            for r in routers {
                var c = RunConfig()
                for (k, v) in base { try c.set(k, text: v, origin: "\(origin) base") }
                for (k, v) in r.settings { try c.set(k, text: v, origin: "\(origin) router \(r.label)") }
                for (k, v) in point { try c.set(k, text: v, origin: "\(origin) grid") }
                try c.set("seed", text: String(seed), origin: origin)
                for a in overrides { try c.apply(assignment: a) }
                try c.validate()
                let suffix = point.map { "-\($0.0.replacingOccurrences(of: "_", with: ""))\(Self.sanitize($0.1))" }.joined()
                out.append(Run(id: "\(r.label)-s\(seed)\(suffix)", label: r.label, seed: seed, point: point, config: c))
            }
        }
        return out
    }

    static func sanitize(_ s: String) -> String {
        String(s.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" })
    }
}

/// `--shard i/n`: the i-th (1-based) of n slices, runs dealt round-robin.
public struct Shard: Sendable, Equatable {
    public let index: Int, count: Int
    public init(index: Int, count: Int) { self.index = index; self.count = count }

    public static func parse(_ s: String) throws -> Shard {
        let parts = s.split(separator: "/").map { Int($0) }
        guard parts.count == 2, let i = parts[0], let n = parts[1], n >= 1, i >= 1, i <= n else {
            throw RMoEError("--shard '\(s)' must be i/n with 1 <= i <= n, e.g. --shard 1/2")
        }
        return Shard(index: i, count: n)
    }

    public func contains(_ runIndex: Int) -> Bool { runIndex % count == index - 1 }
}
