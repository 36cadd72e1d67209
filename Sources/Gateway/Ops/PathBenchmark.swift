import FoundationEssentials
import Glibc
import Logging
import Readings
import Store
import Uplink

/// The gateway's own commit and processing code over captured messages, in
/// one process and without a broker: what an uplink costs in CPU and in
/// bytes written, repeatably on a shared machine where a load test's rates
/// swing (for `Benchmarks/path-cost.sh`, through the hidden
/// `citygate benchmark-path` command).
///
/// Messages are decoded and committed in bursts the way ingest commits a
/// read burst (`BurstRecorder`), and after each burst the processing
/// service's own `processBatch` runs until nothing is pending (nothing is,
/// unless a burst had to be committed undecoded). The store is checkpointed every
/// `checkpointEvery` uplinks, as the storage guard does about once a second
/// at the load test's rates. Aggregation is not included: the load test's
/// 15-minute windows never close within a run either.
public enum PathBenchmark {
    public struct Figures: Sendable {
        public var uplinks = 0
        /// Process CPU seconds, by phase.
        public var ingestCPU = 0.0, processingCPU = 0.0, checkpointCPU = 0.0
        /// Process CPU seconds of the pipeline alone (envelope to window, no store), over the same messages.
        public var decodeCPU = 0.0
        /// Bytes written and read through system calls (`/proc/self/io` wchar, rchar), by phase.
        public var ingestWritten = 0, processingWritten = 0, checkpointWritten = 0
        public var ingestRead = 0, processingRead = 0, checkpointRead = 0
        /// The store's files at the end.
        public var databaseBytes = 0

        public var lines: [String] {
            let per = Double(max(uplinks, 1))
            func micros(_ seconds: Double) -> String { PlainText.fixed(seconds / per * 1e6, decimals: 1) }
            func kib(_ bytes: Int) -> String { PlainText.fixed(Double(bytes) / per / 1024, decimals: 2) }
            let cpu = ingestCPU + processingCPU + checkpointCPU
            return [
                "uplinks \(uplinks)",
                "CPU \(micros(cpu)) µs/uplink: ingest \(micros(ingestCPU)), processing service \(micros(processingCPU)) "
                    + "(of which the pipeline alone \(micros(decodeCPU))), checkpoints \(micros(checkpointCPU))",
                "written \(kib(ingestWritten + processingWritten + checkpointWritten)) KiB/uplink: ingest \(kib(ingestWritten)), "
                    + "processing service \(kib(processingWritten)), checkpoints \(kib(checkpointWritten))",
                "read \(kib(ingestRead + processingRead + checkpointRead)) KiB/uplink: ingest \(kib(ingestRead)), "
                    + "processing service \(kib(processingRead)), checkpoints \(kib(checkpointRead))",
                "database \(PlainText.fixed(Double(databaseBytes) / per / 1024, decimals: 2)) KiB/uplink on disk",
            ]
        }
    }

    /// `messages`: (topic, bytes) in publishing order. `qos` 1 gives each a
    /// packet identifier, as a QoS 1 subscription does (the redelivery check runs).
    public static func run(config: GatewayConfig, messages: [(topic: String, message: [UInt8])], burst: Int, qos: Int,
                           checkpointEvery: Int = 15_000, logger: Logger) throws -> Figures {
        let store = try GatewayStore(path: config.databasePath, synchronous: config.synchronous, deduplication: config.deduplication)
        try store.apply(config.storeBounds)
        let context = ServiceContext(store: store, settings: LiveSettings(config), metrics: GatewayMetrics(), logger: logger)
        let processing = ProcessingService(context: context, wake: WakeSignal())
        let recorder = BurstRecorder(context: context)
        var figures = Figures()
        let connectedAt = GatewayClock.now()
        var sinceCheckpoint = 0
        for start in stride(from: 0, to: messages.count, by: max(1, burst)) {
            let now = GatewayClock.now()
            let slice = messages[start..<min(messages.count, start + burst)]
            try measure(&figures.ingestCPU, &figures.ingestWritten, &figures.ingestRead) {
                // Made inside the measure, as the MQTT callback makes them in
                // `run`: each hashes its topic and bytes (`MessageHash`).
                let arrived = slice.enumerated().map { offset, item in
                    ArrivedMessage(topic: item.topic, message: item.message, receivedAt: now,
                                   delivery: qos > 0 ? BrokerDelivery(packetID: (start + offset) % 65_535 + 1, connectedAt: connectedAt) : nil)
                }
                _ = try recorder.commit(arrived)
            }
            try measure(&figures.processingCPU, &figures.processingWritten, &figures.processingRead) {
                while try processing.processBatch() > 0 {}
            }
            figures.uplinks += slice.count
            sinceCheckpoint += slice.count
            if sinceCheckpoint >= checkpointEvery {
                sinceCheckpoint = 0
                try measure(&figures.checkpointCPU, &figures.checkpointWritten, &figures.checkpointRead) { try store.checkpoint() }
            }
        }
        try measure(&figures.checkpointCPU, &figures.checkpointWritten, &figures.checkpointRead) { try store.checkpoint() }
        // The pipeline alone, over the same messages (no store): what decoding costs of the processing figure.
        let pipeline = LiveSettings(config).versionedPipeline.pipeline
        let raws = messages.enumerated().map { RawUplink(id: Int64($0 + 1), receivedAt: connectedAt, topic: $1.topic, message: $1.message) }
        var unusedWritten = 0, unusedRead = 0
        measure(&figures.decodeCPU, &unusedWritten, &unusedRead) {
            for raw in raws { _ = pipeline.process(raw) }
        }
        for suffix in ["", "-wal"] {
            let size = (try? FileManager.default.attributesOfItem(atPath: config.databasePath + suffix)[.size] as? Int) ?? nil
            figures.databaseBytes += size ?? 0
        }
        return figures
    }

    /// Adds the process CPU time and the bytes written and read that `body` took.
    private static func measure(_ cpu: inout Double, _ written: inout Int, _ read: inout Int, _ body: () throws -> Void) rethrows {
        let (cpu0, io0) = (processCPUSeconds(), ioBytes())
        try body()
        let (cpu1, io1) = (processCPUSeconds(), ioBytes())
        cpu += cpu1 - cpu0
        written += io1.written - io0.written
        read += io1.read - io0.read
    }

    private static func processCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// wchar and rchar of `/proc/self/io`.
    private static func ioBytes() -> (written: Int, read: Int) {
        guard let text = try? String(contentsOfFile: "/proc/self/io", encoding: .utf8) else { return (0, 0) }
        var written = 0, read = 0
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let value = Int(parts[1]) else { continue }
            if parts[0] == "wchar:" { written = value } else if parts[0] == "rchar:" { read = value }
        }
        return (written, read)
    }
}
