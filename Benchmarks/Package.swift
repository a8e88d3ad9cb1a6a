// swift-tools-version: 6.1
import PackageDescription

// package-benchmark suite of the rmoe toolkit. Kept in its own package (depending on the toolkit by
// path) so that its build stays out of the test command. Run from the repository root:
//   swift package --package-path Benchmarks benchmark
let package = Package(
    name: "RMoEBenchmarks",
    dependencies: [
        .package(name: "rmoe", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "RMoEBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "RMoECore", package: "rmoe"),
                .product(name: "RMoEModel", package: "rmoe"),
                .product(name: "RMoERuns", package: "rmoe"),
                .product(name: "RMoEBench", package: "rmoe"),
            ],
            path: "Benchmarks/RMoEBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
