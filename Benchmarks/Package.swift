// swift-tools-version: 6.1
import PackageDescription

// Benchmarks of the pure decoding stages (package-benchmark). Their own
// package so the main build and CI are untouched. Run: bash Benchmarks/run.sh
let package = Package(
    name: "citygate-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(name: "citygate", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "DecodeBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CitygateDecoding", package: "citygate"),
            ],
            path: "Benchmarks/DecodeBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
    ]
)
