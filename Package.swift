// swift-tools-version: 6.1
import PackageDescription

/// The rmoe toolkit: Mixture-of-Experts language models with their own forward and backward
/// passes on OpenBLAS, a thread-pooled expert dispatcher and an experiment runner.
///
/// Layers read top-down: `rmoe` (command line) -> `RMoEExperiments` (config, trainer, sweeps)
/// -> `RMoEModel` (layers, routers, dispatch) -> `RMoECore` (slabs, kernels, safetensors)
/// -> `CKernels` (C + OpenMP kernels) -> `COpenBLAS` (system library).
let package = Package(
    name: "rmoe",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "rmoe", targets: ["rmoe"]),
        .library(name: "RMoECore", targets: ["RMoECore"]),
        .library(name: "RMoEModel", targets: ["RMoEModel"]),
        .library(name: "RMoEData", targets: ["RMoEData"]),
        .library(name: "RMoEExperiments", targets: ["RMoEExperiments"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .target(
            name: "CKernels",
            dependencies: ["COpenBLAS"],
            cSettings: [
                .unsafeFlags(["-fopenmp", "-O3", "-march=native", "-fno-math-errno"]),
            ],
            linkerSettings: [
                .linkedLibrary("omp5"),
                .linkedLibrary("m"),
            ]
        ),
        .target(name: "RMoECore", dependencies: ["CKernels", "COpenBLAS"]),
        // The version and git commit the binary was built from (provenance of every run file).
        .target(name: "RMoEBuildInfo", plugins: ["BuildInfoPlugin"]),
        .plugin(name: "BuildInfoPlugin", capability: .buildTool()),
        .target(name: "RMoEData", dependencies: ["RMoECore", "CZlib"]),
        .target(name: "RMoEModel", dependencies: ["RMoECore"]),
        .target(
            name: "RMoEExperiments",
            dependencies: ["RMoECore", "RMoEModel", "RMoEData", "RMoEBuildInfo"],
            resources: [
                .embedInCode("Presets/smoke.json"), .embedInCode("Presets/main.json"),
                .embedInCode("Presets/ablation-bytes.json"), .embedInCode("Presets/ablation-words.json"),
                .embedInCode("Presets/depth.json"), .embedInCode("Presets/recurrence.json"),
                .embedInCode("Presets/scale.json"), .embedInCode("Presets/scale-causes.json"),
            ],
            // The Swift SIMD kernels of `rmoe bench kernels` get the same CPU target as the C
            // kernels (-march=native), so the comparison of the two runtimes is fair.
            swiftSettings: [.unsafeFlags(["-target-cpu", "native"])]
        ),
        .executableTarget(
            name: "rmoe",
            dependencies: [
                "RMoEExperiments",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "RMoECoreTests", dependencies: ["RMoECore"]),
        .testTarget(name: "RMoEDataTests", dependencies: ["RMoEData"]),
        .testTarget(name: "RMoEModelTests", dependencies: ["RMoEModel"]),
        .testTarget(name: "RMoEExperimentsTests", dependencies: ["RMoEExperiments"]),
    ],
    swiftLanguageModes: [.v6]
)
