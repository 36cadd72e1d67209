import Foundation
@testable import Gateway
import Logging
import Readings
@testable import Store
import Testing

/// The processing loop over a real SQLite store: batches, the batch decoded
/// ahead while the previous one is recorded, and reloads in between.
@Suite struct ProcessingServiceTests {
    static let damp = "a840410000000401"
    static let other = "a840410000000402"
    static func devices(_ ids: [String]) -> String {
        ids.map { "[[device]]\nid = \"\($0)\"\ncodec = \"dragino:lht65\"\nkind = \"damp\"\n" }.joined(separator: "\n")
    }

    static func config(devices ids: [String]) throws -> GatewayConfig {
        try GatewayConfig.load(path: ConfigDirectory(config: UplinkPipelineTests.config, devices: devices(ids)).configPath)
    }

    /// A store holding `count` committed ChirpStack uplinks from `device`,
    /// fCnt 1...count, each an LHT65 frame (six readings once decoded).
    static func store(with count: Int, from device: String) throws -> (GatewayStore, directory: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("citygate-processing-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try GatewayStore(path: directory + "/citygate.sqlite")
        let now = RFC3339.parseMillis("2026-11-20T10:15:02Z")!
        let data = Data(Hex.decode("CBF60B0D0376010ADD7FFF")!).base64EncodedString()
        let messages = (1...count).map { fCnt in
            let json = #"{"time":"2026-11-20T10:15:00Z","deviceInfo":{"devEui":"\#(device)"},"fCnt":\#(fCnt),"fPort":2,"data":"\#(data)"}"#
            return ArrivedMessage(topic: "application/a/device/\(device)/event/up", message: Array(json.utf8), receivedAt: now)
        }
        _ = try store.commitUplinks(messages)
        return (store, directory)
    }

    static func service(_ store: GatewayStore, _ settings: LiveSettings, batchSize: Int) -> ProcessingService {
        ProcessingService(context: ServiceContext(store: store, settings: settings, metrics: GatewayMetrics(), logger: Logger(label: "test")),
                          wake: WakeSignal(), batchSize: batchSize)
    }

    @Test func aBacklogIsRecordedOnceEachInFullBatches() throws {
        let (store, directory) = try Self.store(with: 250, from: Self.damp)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let processing = Self.service(store, LiveSettings(try Self.config(devices: [Self.damp])), batchSize: 100)
        var batches: [Int] = []
        while true {
            let count = try processing.processBatch()
            if count == 0 { break }
            batches.append(count)
        }
        // The second and third batches were decoded ahead, while the one before was recorded.
        #expect(batches == [100, 100, 50])
        let statistics = try store.statistics()
        #expect(statistics.uplinksPending == 0)
        #expect(statistics.readingsStored == 250 * 6)
        #expect(statistics.duplicates == 0)
        #expect(statistics.quarantined == 0)
    }

    @Test func aReloadReachesTheBatchAlreadyDecodedAhead() throws {
        // Nobody registered the device yet: the first batch is quarantined and
        // the second, decoded ahead with the same registry, would be too.
        let (store, directory) = try Self.store(with: 200, from: Self.damp)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let settings = LiveSettings(try Self.config(devices: [Self.other]))
        let processing = Self.service(store, settings, batchSize: 100)
        #expect(try processing.processBatch() == 100)
        #expect(try store.statistics().quarantined == 100)
        // The operator registers it and reloads: the next batch is decoded again with the new registry.
        settings.replace(with: try Self.config(devices: [Self.other, Self.damp]))
        #expect(try processing.processBatch() == 100)
        #expect(try processing.processBatch() == 0)
        let statistics = try store.statistics()
        #expect(statistics.quarantined == 100)
        #expect(statistics.readingsStored == 100 * 6)
    }

    /// The event type comes from the topic, which any publisher chooses: an
    /// unknown one is counted as `other`, not as a new series (1,000 made-up
    /// types made 1,000 series, forever). A join starts a frame-counter
    /// session only for a device the registry knows.
    @Test func topicsCannotMakeSeriesOrSessions() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("citygate-events-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try GatewayStore(path: directory + "/citygate.sqlite")
        let stranger = "0011223344556677"
        func event(_ device: String, _ type: String) -> ArrivedMessage {
            ArrivedMessage(topic: "application/a/device/\(device)/event/\(type)", message: Array(#"{"deviceInfo":{"devEui":"\#(device)"}}"#.utf8), receivedAt: 1_000)
        }
        _ = try store.commitUplinks((1...30).map { event(Self.damp, "made-up-\($0)") } + [event(Self.damp, "join"), event(stranger, "join")])
        let metrics = GatewayMetrics()
        let settings = LiveSettings(try Self.config(devices: [Self.damp]))
        let processing = ProcessingService(context: ServiceContext(store: store, settings: settings, metrics: metrics, logger: Logger(label: "test")),
                                           wake: WakeSignal())
        #expect(try processing.processBatch() == 32)
        let series = String(decoding: metrics.exposition(), as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("citygate_network_events_total{") }
        #expect(series.sorted() == [#"citygate_network_events_total{type="join"} 2"#, #"citygate_network_events_total{type="other"} 30"#], "\(series)")
        let sessions = try store.connection.query("SELECT device FROM device_sessions ORDER BY device").compactMap { $0[0].string }
        #expect(sessions == [Self.damp], "a join of a device nobody registered keeps no session")
    }
}
