// swift-tools-version: 6.2
import PackageDescription

// libFuzzer target over the Uplink pipeline (envelope, registry, codec,
// validation, window) through the daemon's own entry points. Its own package so the
// main build is untouched; build and run it with Fuzz/run.sh.
let package = Package(
    name: "citygate-fuzz",
    dependencies: [.package(name: "citygate", path: "..")],
    targets: [
        .executableTarget(
            name: "citygate-fuzz",
            dependencies: [.product(name: "CitygateDecoding", package: "citygate")]),
    ],
    swiftLanguageModes: [.v6]
)
