// swift-tools-version: 6.1
import PackageDescription

/// The rmoe toolkit: Mixture-of-Experts language models with their own forward and backward
/// passes on OpenBLAS, a thread-pooled expert dispatcher and an experiment runner.
///
/// Layers read top-down: `rmoe` (command line) -> `RMoEReport` (tables, figures) and `RMoEBench`
/// (benchmarks) -> `RMoERuns` (config, trainer, sweeps, analyses) -> `RMoEModel` (layers, routers,
/// dispatch) and `RMoEData` (corpora) -> `RMoECore` (slabs, kernels, safetensors, JSON)
/// -> `CKernels` (C + OpenMP kernels) -> `COpenBLAS`, `CZlib` (system libraries).
let package = Package(
    name: "rmoe",
    products: [
        .executable(name: "rmoe", targets: ["rmoe"]),
        .library(name: "RMoECore", targets: ["RMoECore"]),
        .library(name: "RMoEModel", targets: ["RMoEModel"]),
        .library(name: "RMoEData", targets: ["RMoEData"]),
        .library(name: "RMoEDistributed", targets: ["RMoEDistributed"]),
        .library(name: "RMoERuns", targets: ["RMoERuns"]),
        .library(name: "RMoEReport", targets: ["RMoEReport"]),
        .library(name: "RMoEBench", targets: ["RMoEBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]
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
                // x86-64-v3 (AVX2, FMA): the binary runs on any such node of a cluster. For one node
                // type add -Xcc -march=native (and -Xswiftc -target-cpu -Xswiftc native); README.
                .unsafeFlags(["-fopenmp", "-O3", "-march=x86-64-v3", "-fno-math-errno"])
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
            name: "RMoERuns",
            dependencies: ["RMoECore", "RMoEModel", "RMoEData", "RMoEBuildInfo", "RMoEDistributed"],
            resources: [
                .embedInCode("Presets/smoke.json"), .embedInCode("Presets/main.json"),
                .embedInCode("Presets/ablation-bytes.json"), .embedInCode("Presets/ablation-words.json"),
                .embedInCode("Presets/depth.json"), .embedInCode("Presets/recurrence.json"),
                .embedInCode("Presets/scale.json"), .embedInCode("Presets/scale-causes.json"),
                .embedInCode("Presets/scale-long.json"), .embedInCode("Presets/scale-recipe.json"),
                .embedInCode("Presets/scale-recipe-l8.json"),
            ]
        ),
        // Processes of a job and their collectives (Open MPI when launched by mpirun).
        .target(name: "RMoEDistributed", dependencies: ["RMoECore", "CMPI"]),
        .target(name: "RMoEReport", dependencies: ["RMoECore", "RMoEModel", "RMoERuns"]),
        .target(
            name: "RMoEBench",
            dependencies: ["RMoECore", "RMoEModel", "CKernels"],
            // The Swift SIMD kernels of `rmoe bench kernels` get the same CPU target as the C
            // kernels (x86-64-v3; Swift names that level "haswell"), so the comparison of the two
            // runtimes is fair.
            swiftSettings: [.unsafeFlags(["-target-cpu", "haswell"])]
        ),
        .executableTarget(
            name: "rmoe",
            dependencies: [
                "RMoECore", "RMoEModel", "RMoEData", "RMoEDistributed", "RMoERuns", "RMoEReport", "RMoEBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // What the test targets share: the one finite-difference checker, tiny models, run fixtures.
        .target(
            name: "RMoETestSupport", dependencies: ["RMoECore", "RMoEModel", "RMoEData", "RMoERuns"],
            path: "Tests/RMoETestSupport"),
        .testTarget(name: "RMoECoreTests", dependencies: ["RMoECore", "RMoETestSupport"]),
        .testTarget(name: "RMoEDataTests", dependencies: ["RMoEData"]),
        .testTarget(name: "RMoEModelTests", dependencies: ["RMoEModel", "RMoETestSupport"]),
        .testTarget(name: "RMoERunsTests", dependencies: ["RMoECore", "RMoEModel", "RMoEData", "RMoERuns", "RMoEReport", "RMoETestSupport"]),
        .testTarget(name: "RMoEBenchTests", dependencies: ["RMoECore", "RMoEBench"]),
    ],
    swiftLanguageModes: [.v6]
)
