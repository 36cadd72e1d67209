import FoundationEssentials
import Prometheus

/// The gateway's Prometheus metrics. Names are part of the operator
/// interface: labels may be added, names never change.
public final class GatewayMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    /// Every MQTT message received, duplicates included.
    public let uplinksReceived: Counter
    /// Committed raw uplinks (distinct messages).
    public let uplinksCommitted: Counter
    public let sentinels: Counter
    public let clockSkewed: Counter
    public let mqttConnected: Gauge
    public let mqttConnects: Counter
    public let uplinksPending: Gauge
    public let ingestErrors: Counter
    public let intakePaused: Gauge
    /// 1 while the last burst could not be committed (and was not acknowledged).
    public let commitFailing: Gauge
    public let storeFileBytes: Gauge
    /// The longest single hold of the store's writer since start (ingest waits behind it).
    public let writerHoldMax: Gauge
    public let storeUsedBytes: Gauge
    /// Time to commit one read burst of raw uplinks (one transaction, on the
    /// MQTT network thread, before the burst's PUBACKs are written).
    public let commitSeconds: DurationHistogram
    public let devicesSilent: Gauge
    /// Devices in the registry now (silent devices are a share of these).
    public let devicesRegistered: Gauge
    /// `[store] max_size` in bytes; 0 when the store has no bound.
    public let storeBoundBytes: Gauge
    /// Commit time minus the envelope's time, per decoded uplink.
    public let ingestLatency: DurationHistogram

    public init() {
        uplinksReceived = registry.makeCounter(descriptor: Self.metric("citygate_uplinks_received_total", help: "MQTT messages received, duplicates included"))
        uplinksCommitted = registry.makeCounter(descriptor: Self.metric("citygate_uplinks_committed_total", help: "Distinct raw uplinks committed to the store"))
        sentinels = registry.makeCounter(descriptor: Self.metric("citygate_sentinel_values_total", help: "Sentinel values (no probe, sensor error) that yielded no reading"))
        clockSkewed = registry.makeCounter(descriptor: Self.metric("citygate_clock_skewed_uplinks_total", help: "Uplinks whose network time was too far off; receive time used"))
        mqttConnected = registry.makeGauge(descriptor: Self.metric("citygate_mqtt_connected", help: "1 while connected to the broker"))
        mqttConnects = registry.makeCounter(descriptor: Self.metric("citygate_mqtt_connects_total", help: "Successful broker connections (1 + reconnects)"))
        uplinksPending = registry.makeGauge(descriptor: Self.metric("citygate_uplinks_pending", help: "Committed uplinks not yet decoded"))
        ingestErrors = registry.makeCounter(descriptor: Self.metric("citygate_ingest_errors_total", help: "Messages whose commit failed: not acknowledged, the broker sends them again"))
        intakePaused = registry.makeGauge(descriptor: Self.metric("citygate_intake_paused", help: "1 while intake is paused because the store or disk is full"))
        commitFailing = registry.makeGauge(descriptor: Self.metric("citygate_store_commit_failing", help: "1 while uplinks cannot be committed (they are not acknowledged; the broker sends them again)"))
        writerHoldMax = registry.makeGauge(descriptor: Self.metric("citygate_store_writer_hold_max_seconds", help: "Longest single hold of the store's writer since start (intake waits behind it)"))
        storeFileBytes = registry.makeGauge(descriptor: Self.metric("citygate_store_size_bytes", help: "Size of the SQLite database file"))
        storeUsedBytes = registry.makeGauge(descriptor: Self.metric("citygate_store_used_bytes", help: "Bytes of the database in use (file minus free pages)"))
        commitSeconds = registry.makeDurationHistogram(
            descriptor: Self.metric("citygate_store_commit_seconds", help: "Time to decode and commit one read burst of uplinks (one transaction) before their PUBACKs"),
            buckets: [.microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
                      .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(250),
                      .seconds(1)])
        ingestLatency = registry.makeDurationHistogram(
            descriptor: Self.metric("citygate_uplink_ingest_latency_seconds", help: "Commit time minus the envelope's time (network server or simulator stamp)"),
            buckets: [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                      .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
                      .seconds(30), .seconds(60), .seconds(300)])
        devicesSilent = registry.makeGauge(descriptor: Self.metric("citygate_devices_silent", help: "Registered devices silent for longer than silent_after_intervals of their interval"))
        devicesRegistered = registry.makeGauge(descriptor: Self.metric("citygate_devices_registered", help: "Devices listed in the device registry"))
        storeBoundBytes = registry.makeGauge(descriptor: Self.metric("citygate_store_bound_bytes", help: "The store's size bound ([store] max_size); 0 when it has none"))
    }

    public func quarantined(reason: String) -> Counter {
        registry.makeCounter(descriptor: Self.metric("citygate_uplinks_quarantined_total", help: "Uplinks quarantined, by reason"), labels: [("reason", reason)])
    }

    /// `stage`: `redelivery` (same MQTT message again) or `frame` (another copy of a LoRaWAN frame).
    public func duplicates(stage: String) -> Counter {
        registry.makeCounter(descriptor: Self.metric("citygate_uplinks_duplicate_total", help: "Duplicate uplinks dropped and counted"), labels: [("stage", stage)])
    }

    /// Readings set aside before they were stored (`reason`: `device_time`).
    public func readingsSetAside(reason: String) -> Counter {
        registry.makeCounter(descriptor: Self.metric("citygate_readings_set_aside_total",
                                                     help: "Readings set aside before storing (device_time: a history record's clock too far ahead or too old)"),
                             labels: [("reason", reason)])
    }

    public func events(type: String) -> Counter {
        registry.makeCounter(descriptor: Self.metric("citygate_network_events_total", help: "Network-server events that are not uplinks (join, status, log, ...)"), labels: [("type", type)])
    }

    /// Uplinks through the envelope stage, by envelope (chirpstack, tts, nbiot).
    public func uplinksProcessed(envelope: String) -> Counter {
        registry.makeCounter(descriptor: Self.metric("citygate_uplinks_processed_total", help: "Committed uplinks through the envelope stage, by envelope"), labels: [("envelope", envelope)])
    }

    /// Readings written to the store, by sensor kind (`unknown`: a device no
    /// registry entry or rule names).
    public func readingsStored(kind: String) -> Counter {
        registry.makeCounter(descriptor: Self.metric("citygate_readings_stored_total", help: "Readings written to the store, by sensor kind"), labels: [("kind", kind)])
    }

    /// The old name of `readingsStored(kind:)`: a label belongs in a label,
    /// not in the name. Kept for one release (0.2) so dashboards can move.
    public func readingsByKind(_ kind: String) -> Counter {
        registry.makeCounter(descriptor: Self.metric("citygate_readings_by_kind_total",
                                                     help: "DEPRECATED, removed after 0.2: use citygate_readings_stored_total{kind}. Readings stored, by sensor kind"),
                             labels: [("kind", kind)])
    }

    /// LoRaWAN frames that never reached the gateway: gaps in a device's frame counter.
    public func frameCounterGaps(kind: String) -> Counter {
        registry.makeCounter(descriptor: Self.metric("citygate_frame_counter_gaps_total", help: "Frames missing between consecutive frame counters (lost before the gateway), by kind"), labels: [("kind", kind)])
    }

    public func forwarded(hub: String) -> Counter {
        registry.makeCounter(descriptor: Self.metric("citygate_aggregates_forwarded_total", help: "Aggregates the hub acknowledged"), labels: [("hub", hub)])
    }

    public func deliveryErrors(hub: String, kind: String) -> Counter {
        registry.makeCounter(descriptor: Self.metric("citygate_delivery_errors_total", help: "Failed deliveries (retry or rejected)"), labels: [("hub", hub), ("kind", kind)])
    }

    public func backlog(hub: String) -> Gauge {
        registry.makeGauge(descriptor: Self.metric("citygate_hub_backlog", help: "Aggregates waiting for the hub"), labels: [("hub", hub)])
    }

    public func suppressed(reason: String) -> Counter {
        registry.makeCounter(descriptor: Self.metric("citygate_aggregates_suppressed_total", help: "Aggregates withheld from public hubs"), labels: [("reason", reason)])
    }

    /// 1 while the hub refuses our credentials (401/403) and delivery to it waits.
    public func hubAuthPaused(hub: String) -> Gauge {
        registry.makeGauge(descriptor: Self.metric("citygate_hub_auth_paused", help: "1 while the hub refuses the gateway's credentials; delivery paused, backlog kept"), labels: [("hub", hub)])
    }

    /// In-flight windows checked with the hub after a crash or a lost answer:
    /// `held` (the hub had it, not re-sent) or `missing` (sent again).
    public func reconciled(hub: String, outcome: String) -> Counter {
        registry.makeCounter(descriptor: Self.metric("citygate_hub_reconciled_total", help: "In-flight aggregates checked with the hub before a resend"), labels: [("hub", hub), ("outcome", outcome)])
    }

    /// Seconds between the end of the oldest window still waiting for the hub and now.
    public func deliveryLag(hub: String) -> Gauge {
        registry.makeGauge(descriptor: Self.metric("citygate_hub_lag_seconds", help: "Age of the oldest window waiting for the hub (0 when none)"), labels: [("hub", hub)])
    }

    public func readingsTooLate() -> Counter {
        registry.makeCounter(descriptor: Self.metric("citygate_readings_too_late_total", help: "Readings later than the window's lateness: stored, not aggregated"))
    }

    public func pruned(_ what: String) -> Counter {
        registry.makeCounter(descriptor: Self.metric("citygate_store_pruned_total", help: "Rows pruned by retention or the size bound"), labels: [("what", what)])
    }

    public func aggregatesClosed() -> Counter {
        registry.makeCounter(descriptor: Self.metric("citygate_aggregates_closed_total", help: "Windows closed and aggregated (revisions included)"))
    }

    /// What a delivery error is (`citygate_delivery_errors_total{kind}`).
    public static let deliveryErrorKinds = ["retry", "no_answer", "rejected", "unauthorized", "refused_row"]

    /// Creates the labelled series that should read 0 before anything
    /// happens, for every label value known in advance (reasons, stages,
    /// kinds, hubs), so a dashboard or an alert never meets a missing series.
    public func prepare(hubs: [String], kinds: [String], envelopes: [String], quarantineReasons: [String]) {
        for hub in hubs {
            _ = forwarded(hub: hub)
            _ = backlog(hub: hub)
            _ = hubAuthPaused(hub: hub)
            _ = deliveryLag(hub: hub)
            for kind in Self.deliveryErrorKinds { _ = deliveryErrors(hub: hub, kind: kind) }
            for outcome in ["held", "missing"] { _ = reconciled(hub: hub, outcome: outcome) }
        }
        for kind in kinds + ["unknown"] {
            _ = readingsStored(kind: kind)
            _ = readingsByKind(kind)
            _ = frameCounterGaps(kind: kind)
        }
        for envelope in envelopes { _ = uplinksProcessed(envelope: envelope) }
        for reason in quarantineReasons { _ = quarantined(reason: reason) }
        _ = readingsSetAside(reason: "device_time")
        _ = readingsTooLate()
        _ = suppressed(reason: "privacy")
        _ = suppressed(reason: "k_anonymity")
        _ = duplicates(stage: "redelivery")
        _ = duplicates(stage: "frame")
        _ = quarantined(reason: "malformed_json")
        _ = aggregatesClosed()
    }

    public func exposition() -> [UInt8] { registry.emitToBuffer() + Array(ProcessMetrics.exposition().utf8) }


    /// A metric's full name as one component: the names are already in
    /// Prometheus form (`_total`, `_bytes`), so nothing is appended.
    static func metric(_ name: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
