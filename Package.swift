// swift-tools-version: 6.2
import PackageDescription

// One target per stage of the data flow (see README "Layout"):
// MQTT -> Store (raw uplink) -> Uplink (route, envelope, registry, codec,
// validate, window) -> Store (readings) -> Aggregation -> Hubs, wired together
// by Gateway. The pure modules (Readings, Codecs, Uplink, Aggregation, TOML)
// do no I/O and import none of the others (a test reads Sources/ to check).
let package = Package(
    name: "citygate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "citygate", targets: ["citygate"]),
        .executable(name: "citygate-sim", targets: ["citygate-sim"]),
        // The pure decoding stages, for the fuzzer and the benchmarks (Fuzz/, Benchmarks/).
        .library(name: "CitygateDecoding", targets: ["Readings", "Codecs", "Uplink", "TOML"]),
    ],
    // Exact versions: Package.resolved is not committed (the mirror's commit
    // ids are not upstream's), so pins here are what keeps a build reproducible.
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        // Hub requests: URLSession on Linux spins its libcurl timers while it
        // waits for an answer (about 1 ms of CPU per aggregate, Benchmarks/RESULTS.md).
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        // The HTTP listener: /metrics, /health, /api/status and the status page
        // (SwiftNIO underneath, already linked through async-http-client).
        // No traits: its default "FullFoundation" links full Foundation (and
        // ICU), "ConfigurationSupport" swift-configuration; citygate uses
        // neither, and Foundation alone costs about 8 MiB resident (issue 17).
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1", traits: []),
        // The listener's HTTP/1.0 handling (HTTP10ConnectionClose): the versions
        // Hummingbird and async-http-client already resolve to.
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", exact: "1.35.2"),
        // The load report's publish-to-PUBACK latency (the simulator only).
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", exact: "0.2.0"),
    ],
    targets: [
        // C libraries from Debian.
        .systemLibrary(
            name: "CMosquitto", pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]),
        .systemLibrary(
            name: "CSQLite", pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(
            name: "CLZ4", pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]),
        // OpenSSL's libcrypto, which libmosquitto loads anyway: the SHA-256 of oversized messages.
        .systemLibrary(
            name: "CLibCrypto", pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]),

        // Which build this is: the version, and the git commit and date a
        // plugin writes before each build.
        .plugin(name: "BuildInfoPlugin", capability: .buildTool()),
        .target(name: "BuildInfo", plugins: ["BuildInfoPlugin"]),

        // Pure stages.
        .target(name: "Readings"),
        .target(name: "TOML", dependencies: ["Readings"]),
        .target(name: "Codecs", dependencies: ["Readings"]),
        .target(name: "Aggregation", dependencies: ["Readings"]),
        .target(name: "Uplink", dependencies: ["Readings", "Codecs", "Aggregation"]),

        // Stages that do I/O.
        .target(name: "MQTT", dependencies: ["CMosquitto"]),
        .target(name: "Store", dependencies: ["Readings", "CSQLite", "CLZ4"]),
        .target(
            name: "Hubs",
            dependencies: ["Readings", "TOML", .product(name: "Logging", package: "swift-log"),
                           .product(name: "AsyncHTTPClient", package: "async-http-client")]),

        // Wiring and the command line.
        .target(
            name: "Gateway",
            dependencies: [
                "Readings", "TOML", "Codecs", "Uplink", "Store", "Aggregation", "Hubs", "MQTT", "BuildInfo", "CLibCrypto",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
            ]),
        .executableTarget(
            name: "citygate",
            dependencies: [
                "Gateway", "BuildInfo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // The simulator: its own encoders, written from the vendor specs.
        .target(
            name: "SimulatorCore",
            dependencies: ["Readings", "MQTT", "TOML", .product(name: "Histogram", package: "hdrhistogram-swift")],
            path: "Simulator/SimulatorCore"),
        .executableTarget(
            name: "citygate-sim",
            dependencies: [
                "SimulatorCore", "MQTT", "BuildInfo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Simulator/citygate-sim"),

        // Tests sit beside the module they test; IntegrationTests runs the whole path.
        .testTarget(name: "ReadingsTests", dependencies: ["Readings"]),
        .testTarget(name: "TOMLTests", dependencies: ["TOML"]),
        .testTarget(name: "CodecsTests", dependencies: ["Codecs", "Readings"], resources: [.copy("Fixtures")]),
        .testTarget(name: "AggregationTests", dependencies: ["Aggregation", "Readings"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "Readings"]),
        .testTarget(name: "UplinkTests", dependencies: ["Uplink", "Codecs", "Readings", "Aggregation"]),
        .testTarget(name: "HubsTests", dependencies: ["Hubs", "Readings", "TOML"], resources: [.copy("Fixtures")]),
        .testTarget(name: "MQTTTests", dependencies: ["MQTT"]),
        .testTarget(name: "GatewayTests", dependencies: ["Gateway", "Codecs", "Uplink", "Readings", "Store", "TOML", .product(name: "Logging", package: "swift-log")]),
        .testTarget(
            name: "SimulatorCoreTests",
            dependencies: ["SimulatorCore", "Codecs", "Readings", .product(name: "Histogram", package: "hdrhistogram-swift")]),
        // The layout rules (file sizes, what the pure modules import), read off Sources/.
        .testTarget(name: "LayoutTests"),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["citygate", "citygate-sim", "Gateway", "Hubs", "MQTT", "Readings", "SimulatorCore"],
            resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v6]
)
