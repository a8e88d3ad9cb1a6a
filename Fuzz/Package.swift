// swift-tools-version: 6.1
import PackageDescription

// libFuzzer targets for every reader of outside input: the safetensors parser, the gzip and zip
// readers, config JSON, sweep JSON and the config inference from a foreign checkpoint. Kept in
// its own package (depending on the toolkit by path) because its executables have no `main`:
// libFuzzer's comes with `-sanitize=fuzzer`. Build and run them with scripts/fuzz.sh.
let targets = ["FuzzSafeTensors", "FuzzGzip", "FuzzZip", "FuzzConfigJSON", "FuzzSweepJSON", "FuzzCheckpointConfig"]

let package = Package(
    name: "RMoEFuzz",
    dependencies: [.package(name: "rmoe", path: "..")],
    targets: [.target(name: "FuzzSupport", path: "Sources/FuzzSupport")]
        + targets.map { name in
            .executableTarget(
                name: name,
                dependencies: [
                    "FuzzSupport",
                    .product(name: "RMoECore", package: "rmoe"),
                    .product(name: "RMoEData", package: "rmoe"),
                    .product(name: "RMoERuns", package: "rmoe"),
                ],
                path: "Sources/\(name)",
                swiftSettings: [.unsafeFlags(["-parse-as-library"])]
            )
        },
    swiftLanguageModes: [.v6]
)
