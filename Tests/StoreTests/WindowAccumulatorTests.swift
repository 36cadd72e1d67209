import Foundation
import Readings
import Testing
@testable import Store

/// Windows close from running accumulators (migrations 11 and 18, issue 17):
/// what the accumulator holds must be what the window's readings say,
/// lateness is decided as a reading is recorded, and a closed window lives
/// on in its aggregate.
@Suite struct WindowAccumulatorTests {
    static let window: Int64 = 60_000

    static func store(_ name: String) throws -> (GatewayStore, String) {
        let directory = try EarlierSchema.directory(name)
        return (try GatewayStore(path: directory + "/w.sqlite"), directory)
    }

    /// Commits one uplink at `receivedAt` with one reading per value, all in `window`.
    static func record(_ store: GatewayStore, device: DeviceID = "d", fCnt: UInt32, receivedAt: EpochMillis, windowStart: EpochMillis = 0,
                       readings: [(metric: Metric, channel: Int?, time: EpochMillis, value: Int64)]) throws -> RecordSummary {
        guard case let .stored(id) = try store.commitUplink(topic: "t/\(device)", message: Array("\(device)/\(fCnt)".utf8), receivedAt: receivedAt) else {
            throw StoreDataError(message: "not stored")
        }
        let rows = readings.map {
            ReadingRow(reading: Reading(uplinkID: id, device: device, metric: $0.metric, channel: $0.channel, time: $0.time, value: $0.value),
                       windowLength: window, windowStart: windowStart)
        }
        let facts = FrameFacts(envelope: "chirpstack", device: device, fCnt: fCnt, fPort: 1, networkTime: nil)
        return try store.record([ProcessedUplink(uplinkID: id, outcome: .decoded(facts, rows))], now: receivedAt)
    }

    /// Closes every closable window as the aggregation stage would.
    static func closeAll(_ store: GatewayStore, now: EpochMillis) throws -> [ClosableWindow] {
        let windows = try store.closableWindows(graceMillis: 0, now: now)
        try store.saveAggregates(windows.map { AggregateRecord(windowKey: "\($0.group)", group: $0.group, kind: .generic, statistics: $0.accumulator.statistics,
                                                               sum: $0.accumulator.sum) },
                                 hubs: ["hub"], now: now)
        return windows
    }

    /// Readings of six series recorded in batches of varying size, with
    /// ties in time, values at both ends of Int64 (a sum no Int64 holds),
    /// times out of arrival order, recorded both before and after the windows
    /// ended (the two ways a batch writes): each window's accumulator gives what
    /// its readings, sorted by time then arrival, give when counted here.
    @Test func anAccumulatorHoldsWhatItsReadingsSay() throws {
        let (store, directory) = try Self.store("accumulate")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: UInt64) -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (state >> 33) % bound
        }
        let extremes: [Int64] = [.max, .min, .max - 1, .min + 1, 0, -1]
        struct Series: Hashable { var device: String; var metric: Metric; var channel: Int? }
        var expected: [Series: [(time: EpochMillis, value: Int64)]] = [:]
        var batch: [ProcessedUplink] = []
        var fCnt: UInt32 = 0
        for index in 0..<400 {
            let series = Series(device: "d\(next(3))", metric: next(2) == 0 ? .temperature : .relativeHumidity, channel: next(2) == 0 ? nil : 1)
            let time = Int64(next(20)) * 1_000  // many ties
            let value = index % 7 == 0 ? extremes[Int(next(UInt64(extremes.count)))] : Int64(next(100_000)) - 50_000
            fCnt += 1
            guard case let .stored(id) = try store.commitUplink(topic: "t", message: Array("\(index)".utf8), receivedAt: 1_000) else { return }
            let reading = Reading(uplinkID: id, device: series.device, metric: series.metric, channel: series.channel, time: time, value: value)
            batch.append(ProcessedUplink(uplinkID: id, outcome: .decoded(FrameFacts(envelope: "e", device: series.device, fCnt: fCnt, fPort: 1, networkTime: nil),
                                                                        [ReadingRow(reading: reading, windowLength: Self.window, windowStart: 0)])))
            expected[series, default: []].append((time, value))
            if batch.count > Int(next(40)) {
                // Before the windows' end a batch adds its fold onto the stored row unread; after
                // it, each window is read, folded and written back. Both, in turn, on the same rows.
                _ = try store.record(batch, now: next(2) == 0 ? 1_000 : 100_000)
                batch = []
            }
        }
        _ = try store.record(batch, now: 1_000)

        let windows = try store.closableWindows(graceMillis: 0, now: Self.window)
        #expect(windows.count == expected.count)
        for window in windows {
            let series = Series(device: window.group.device, metric: window.group.metric, channel: window.group.channel)
            // Stable sort: arrival order within a time.
            let values = try #require(expected[series]).enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
            let sum = values.reduce(Int128(0)) { $0 + Int128($1.value) }
            let mean = Int64(try #require(FixedPoint.divideRounded(sum, by: Int128(values.count))))
            let last = try #require(values.last)
            #expect(window.accumulator.statistics == WindowStatistics(count: Int64(values.count), min: values.map(\.value).min()!,
                                                                      max: values.map(\.value).max()!, mean: mean, last: last.value, lastTime: last.time),
                    "\(series)")
            #expect(window.accumulator.sum == sum)
        }
    }

    /// A device window's series round-trip through their stored form (sums
    /// past Int64 included), and damaged bytes are an error, never a trap:
    /// every cut of a valid row, and random bytes.
    @Test func aWindowsSeriesRoundTripAndDamageIsAnError() throws {
        var wide = WindowAccumulator(time: 5, value: .min)
        wide.take(time: 5, value: .min)
        let series = [
            WindowSeries(metric: .temperature, channel: nil, accumulator: wide, changed: true, closed: false),
            WindowSeries(metric: .relativeHumidity, channel: 3, accumulator: WindowAccumulator(time: 9, value: 42), changed: false, closed: true),
        ]
        let bytes = WindowSeriesCodec.encode(series)
        #expect(try WindowSeriesCodec.decode(bytes) == series)
        #expect(try WindowSeriesCodec.decode(bytes).first?.accumulator?.sum == 2 * Int128(Int64.min))
        let boundary = 1 + "temperature".utf8.count + 8 * 8 + 1  // the first series ends here
        for cut in 1..<bytes.count where cut != boundary {
            #expect(throws: StoreDataError.self, "cut at \(cut)") { try WindowSeriesCodec.decode(Array(bytes.prefix(cut))) }
        }
        #expect(try WindowSeriesCodec.decode(Array(bytes.prefix(boundary))) == [series[0]])
        Self.randomBlobs(seed: 7, lengthsBelow: 200) { _ = try? WindowSeriesCodec.decode($0) }
    }

    /// 2,000 seeded pseudo-random byte strings, each shorter than
    /// `lengthsBelow`, for a decoder that must throw on them, never trap.
    static func randomBlobs(seed: UInt64, lengthsBelow bound: UInt64, _ body: ([UInt8]) -> Void) {
        var state = seed
        for _ in 0..<2_000 {
            body((0..<Int(state % bound)).map { _ -> UInt8 in
                state = state &* 6_364_136_223_846_793_005 &+ 1
                return UInt8(truncatingIfNeeded: state >> 56)
            })
        }
    }

    /// A device's open windows round-trip through their row's column, and
    /// damaged bytes are an error, never a trap: every cut of a valid column
    /// but the one between windows, a series count past what the bytes hold,
    /// and random bytes.
    @Test func openWindowsRoundTripAndDamageIsAnError() throws {
        let open = WindowSeries(metric: .temperature, channel: nil, accumulator: WindowAccumulator(time: 1, value: .max), changed: true, closed: false)
        let revised = WindowSeries(metric: .relativeHumidity, channel: 3, accumulator: WindowAccumulator(time: 2, value: -7), changed: true, closed: true)
        let windows = OpenWindows(windows: [OpenWindow(windowLength: Self.window, windowStart: .min, series: [open, revised]),
                                            OpenWindow(windowLength: .max, windowStart: 60_000, series: [open])])
        let bytes = try #require(OpenWindowsCodec.encode(windows))
        #expect(try OpenWindowsCodec.decode(bytes) == windows)
        #expect(OpenWindowsCodec.encode(OpenWindows()) == nil)
        #expect(try OpenWindowsCodec.decode(nil).isEmpty)
        let boundary = 24 + 2 * (1 + 8 * 8 + 1) + "temperature".utf8.count + "relative_humidity".utf8.count  // the first window ends here
        for cut in 1..<bytes.count where cut != boundary {
            #expect(throws: StoreDataError.self, "cut at \(cut)") { try OpenWindowsCodec.decode(Array(bytes.prefix(cut))) }
        }
        #expect(try OpenWindowsCodec.decode(Array(bytes.prefix(boundary))).windows == [windows.windows[0]])
        var huge = bytes
        huge.replaceSubrange(16..<24, with: [UInt8](repeating: 0xFF, count: 8))
        #expect(throws: StoreDataError.self) { try OpenWindowsCodec.decode(huge) }
        Self.randomBlobs(seed: 11, lengthsBelow: 300) { _ = try? OpenWindowsCodec.decode($0) }
    }

    /// A closed window takes a reading committed within end + grace +
    /// lateness (a revision) and sets aside one committed after, as it is
    /// recorded: stored with `aggregated = 2`, counted, out of the window.
    /// A window never closed takes a reading however late.
    @Test func lateReadingsAreSetAsideAsTheyAreRecorded() throws {
        let (store, directory) = try Self.store("late")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try store.apply(StoreBounds(revisableMillis: 10_000))
        let group = WindowGroup(device: "d", metric: .temperature, channel: nil, windowLength: Self.window, windowStart: 0)
        _ = try Self.record(store, fCnt: 1, receivedAt: 1_000, readings: [(.temperature, nil, 1_000, 100)])
        #expect(try Self.closeAll(store, now: Self.window).count == 1)
        #expect(try store.accumulator(of: group)?.changed == false)

        // Within the lateness (cutoff 70 000): the window changes and closes again.
        let revision = try Self.record(store, fCnt: 2, receivedAt: 70_000, readings: [(.temperature, nil, 2_000, 300)])
        #expect(revision.readingsTooLate == 0)
        let reopened = try Self.closeAll(store, now: 70_000)
        #expect(reopened.first?.accumulator.statistics == WindowStatistics(count: 2, min: 100, max: 300, mean: 200, last: 300, lastTime: 2_000))

        // After it: stored, counted, not in the window.
        let late = try Self.record(store, fCnt: 3, receivedAt: 70_001, readings: [(.temperature, nil, 3_000, 900), (.temperature, nil, 3_000, 901)])
        #expect(late.readingsTooLate == 2 && late.lateWindow == group)
        #expect(try store.connection.scalar("SELECT count(*) FROM readings WHERE aggregated = 2") == 2)
        let held = try #require(try store.accumulator(of: group))
        #expect(held.accumulator.count == 2 && !held.changed && held.closed)
        #expect(try store.closableWindows(graceMillis: 0, now: 100_000).isEmpty)
        #expect(try store.statistics().readingsTooLate == 2)

        // A window that never closed (the gateway was down) takes it, however late.
        let other = try Self.record(store, device: "e", fCnt: 1, receivedAt: 10_000_000, readings: [(.temperature, nil, 1_000, 5)])
        #expect(other.readingsTooLate == 0)
        #expect(try store.closableWindows(graceMillis: 0, now: 10_000_000).map(\.group.device) == ["e"])
    }

    /// A series that closed unchanged leaves its device's open windows (its
    /// aggregate is its state, and retention may then prune its readings):
    /// an uplink committed within end + grace + lateness still revises it,
    /// however long it waits to be decoded, from the aggregate's statistics
    /// and exact sum; one committed after is too late.
    @Test func aClosedWindowLivesOnInItsAggregate() throws {
        let (store, directory) = try Self.store("closed")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bounds = StoreBounds(revisableMillis: 10_000)
        try store.apply(bounds)
        let group = WindowGroup(device: "d", metric: .temperature, channel: nil, windowLength: Self.window, windowStart: 0)
        let other = WindowGroup(device: "d", metric: .temperature, channel: nil, windowLength: Self.window, windowStart: Self.window)
        _ = try Self.record(store, fCnt: 1, receivedAt: 1_000, readings: [(.temperature, nil, 1_000, 100)])
        _ = try Self.record(store, fCnt: 2, receivedAt: 61_000, windowStart: Self.window, readings: [(.temperature, nil, 61_000, 7)])
        #expect(try store.connection.scalar("SELECT open_until_ms FROM device_sessions WHERE device = 'd'") == Self.window)
        #expect(try Self.closeAll(store, now: Self.window).map(\.group) == [group])
        let row = try #require(try store.locked { try DeviceSessionBatch.storedRow("d", on: store.connection) })
        #expect(row.windows.windows.map(\.windowStart) == [Self.window], "the closed window left the row; the open one stays")
        #expect(try store.connection.scalar("SELECT open_until_ms FROM device_sessions WHERE device = 'd'") == 2 * Self.window)
        let closed = try #require(try store.accumulator(of: group))
        #expect(closed.accumulator.count == 1 && !closed.changed && closed.closed, "as its aggregate holds it")
        #expect(try store.accumulator(of: other)?.changed == true)

        // Committed within the lateness (cutoff 70 000), decoded long after.
        guard case let .stored(waiting) = try store.commitUplink(topic: "t", message: [9], receivedAt: 65_000) else { return }
        _ = try store.prune(now: 200_000, bounds: bounds, aggressive: true)
        let reading = Reading(uplinkID: waiting, device: "d", metric: .temperature, channel: nil, time: 2_000, value: 300)
        let revision = try store.record([ProcessedUplink(uplinkID: waiting, outcome: .decoded(FrameFacts(envelope: "e", device: "d", fCnt: 3, fPort: 1, networkTime: nil),
                                                                                            [ReadingRow(reading: reading, windowLength: Self.window, windowStart: 0)]))],
                                        now: 200_000)
        #expect(revision.readingsTooLate == 0)
        let reopened = try Self.closeAll(store, now: 200_000)
        #expect(reopened.first { $0.group == group }?.accumulator.statistics == WindowStatistics(count: 2, min: 100, max: 300, mean: 200, last: 300, lastTime: 2_000))
        #expect(try store.accumulator(of: group)?.accumulator.count == 2)

        // Committed after it: stored, counted, not in the window.
        let late = try Self.record(store, fCnt: 4, receivedAt: 200_001, readings: [(.temperature, nil, 3_000, 900)])
        #expect(late.readingsTooLate == 1 && late.lateWindow == group)
        #expect(try store.accumulator(of: group)?.accumulator.count == 2)
        #expect(try store.closableWindows(graceMillis: 0, now: 300_000).isEmpty)
        #expect(try store.connection.scalar("SELECT count(*) FROM device_sessions WHERE open_windows IS NOT NULL OR open_until_ms IS NOT NULL") == 0)
        #expect(try store.checkRowCache().mismatches.isEmpty)
    }

    /// A closed window's aggregate is its state while the window may be
    /// revised: pruning, even under pressure and once delivered, keeps it
    /// until end + grace + lateness has passed now and the commit of the
    /// oldest uplink that may yet be decoded (waiting, or quarantined and open
    /// to `requeue`). Then it may go.
    @Test func aClosedWindowsAggregateStaysWhileItMayBeRevised() throws {
        let (store, directory) = try Self.store("aggregate-kept")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bounds = StoreBounds(revisableMillis: 10_000)
        try store.apply(bounds)
        func deliver(_ now: EpochMillis) throws {
            let pending = try store.pendingDeliveries(hub: "hub", limit: 10)
            try store.markDelivered(hub: "hub", pending.map { ($0.aggregateID, $0.revision, "ref") }, now: now)
        }
        _ = try Self.record(store, fCnt: 1, receivedAt: 1_000, readings: [(.temperature, nil, 1_000, 100)])
        _ = try Self.closeAll(store, now: Self.window)
        try deliver(Self.window)
        #expect(try store.prune(now: 65_000, bounds: bounds, aggressive: true).aggregatesDeleted == 0, "within its lateness")
        // Committed within the lateness (cutoff 70 000), not decoded yet.
        guard case let .stored(waiting) = try store.commitUplink(topic: "t", message: [9], receivedAt: 65_000) else { return }
        #expect(try store.prune(now: 200_000, bounds: bounds, aggressive: true).aggregatesDeleted == 0, "an uplink of its lateness waits")
        let reading = Reading(uplinkID: waiting, device: "d", metric: .temperature, channel: nil, time: 2_000, value: 300)
        let revision = try store.record([ProcessedUplink(uplinkID: waiting, outcome: .decoded(FrameFacts(envelope: "e", device: "d", fCnt: 2, fPort: 1, networkTime: nil),
                                                                                            [ReadingRow(reading: reading, windowLength: Self.window, windowStart: 0)]))],
                                        now: 200_000)
        #expect(revision.readingsTooLate == 0)
        #expect(try Self.closeAll(store, now: 200_000).first?.accumulator.count == 2, "revised from the aggregate, not started afresh")
        try deliver(200_000)

        // Quarantined within the lateness (a device not registered yet): kept by
        // retention, which may prune aggregates older than a millisecond here.
        guard case let .stored(held) = try store.commitUplink(topic: "t", message: [8], receivedAt: 66_000) else { return }
        _ = try store.record([ProcessedUplink(uplinkID: held, outcome: .quarantined(device: "d", facts: nil, reason: .unknownDevice, detail: "x"))],
                             now: 66_000)
        let keeping = StoreBounds(readingRetentionMillis: 1, revisableMillis: 10_000)
        #expect(try store.prune(now: 300_000, bounds: keeping, aggressive: false).aggregatesDeleted == 0, "a quarantined uplink of its lateness may come back")
        #expect(try store.requeueQuarantined(reason: nil, device: nil) == 1)
        let requeued = Reading(uplinkID: held, device: "d", metric: .temperature, channel: nil, time: 3_000, value: 500)
        _ = try store.record([ProcessedUplink(uplinkID: held, outcome: .decoded(FrameFacts(envelope: "e", device: "d", fCnt: 3, fPort: 1, networkTime: nil),
                                                                               [ReadingRow(reading: requeued, windowLength: Self.window, windowStart: 0)]))],
                             now: 300_000)
        #expect(try Self.closeAll(store, now: 300_000).first?.accumulator.count == 3)
        try deliver(300_000)
        #expect(try store.prune(now: 300_000, bounds: bounds, aggressive: true).aggregatesDeleted == 1)
    }

    /// An uplink requeued from quarantine keeps its commit time: its reading
    /// is on time for a window that closed meanwhile (its series left the
    /// device's open windows). The window takes up from its aggregate's statistics and exact sum, so the
    /// revision counts every reading, not only the requeued one. (An
    /// aggregate without a sum, saved before migration 11, cannot: the
    /// reading is counted as too late rather than revising it wrongly.)
    @Test func aRequeuedReadingRevisesAClosedWindow() throws {
        let (store, directory) = try Self.store("requeued")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bounds = StoreBounds(revisableMillis: 10_000)
        try store.apply(bounds)
        let group = WindowGroup(device: "d", metric: .temperature, channel: nil, windowLength: Self.window, windowStart: 0)
        _ = try Self.record(store, fCnt: 1, receivedAt: 1_000, readings: [(.temperature, nil, 1_000, 100)])
        _ = try Self.record(store, fCnt: 2, receivedAt: 2_000, readings: [(.temperature, nil, 2_000, Int64.max)])
        #expect(try Self.closeAll(store, now: Self.window).count == 1)
        // Committed within the lateness, quarantined (say, a device not registered yet).
        guard case let .stored(id) = try store.commitUplink(topic: "t", message: [7], receivedAt: 5_000) else { return }
        _ = try store.record([ProcessedUplink(uplinkID: id, outcome: .quarantined(device: "d", facts: nil, reason: .unknownDevice, detail: "x"))], now: 5_000)
        _ = try store.prune(now: 200_000, bounds: bounds, aggressive: false)

        #expect(try store.requeueQuarantined(reason: nil, device: nil) == 1)
        let reading = Reading(uplinkID: id, device: "d", metric: .temperature, channel: nil, time: 3_000, value: 400)
        let summary = try store.record([ProcessedUplink(uplinkID: id, outcome: .decoded(FrameFacts(envelope: "e", device: "d", fCnt: 3, fPort: 1, networkTime: nil),
                                                                                        [ReadingRow(reading: reading, windowLength: Self.window, windowStart: 0)]))],
                                       now: 300_000)
        #expect(summary.readingsTooLate == 0)
        let revision = try #require(try store.closableWindows(graceMillis: 0, now: 300_000).first)
        #expect(revision.group == group)  // the closed window, made again from the published aggregate
        let sum = Int128(100) + Int128(Int64.max) + 400
        #expect(revision.accumulator.sum == sum)
        #expect(revision.accumulator.statistics == WindowStatistics(count: 3, min: 100, max: .max, mean: Int64(FixedPoint.divideRounded(sum, by: 3)!),
                                                                    last: 400, lastTime: 3_000))

        // The same with an aggregate that has no sum: too late, and the window stays as published.
        _ = try Self.closeAll(store, now: 300_000)
        try store.connection.run("UPDATE aggregates SET sum_high = NULL, sum_low = NULL")
        _ = try store.requeueQuarantined(reason: nil, device: nil)
        guard case let .stored(other) = try store.commitUplink(topic: "t", message: [8], receivedAt: 6_000) else { return }
        let again = try store.record([ProcessedUplink(uplinkID: other, outcome: .decoded(FrameFacts(envelope: "e", device: "d", fCnt: 4, fPort: 1, networkTime: nil),
                                                                                         [ReadingRow(reading: Reading(uplinkID: other, device: "d", metric: .temperature, channel: nil, time: 4_000, value: 9), windowLength: Self.window, windowStart: 0)]))],
                                     now: 300_000)
        #expect(again.readingsTooLate == 1)
        #expect(try store.closableWindows(graceMillis: 0, now: 300_000).isEmpty)
    }

    /// Migration 11 fills the accumulators from the readings a version-10
    /// database holds: windows with readings waiting, and windows that ended
    /// in the last 32 days (closed if they have an aggregate); too-late
    /// readings stay out; older finished windows get none.
    @Test func theUpgradeFillsAccumulatorsFromTheReadings() throws {
        let directory = try EarlierSchema.directory("migrate-11")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/old.sqlite"
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let recent = now - now % Self.window - Self.window
        let old = recent - 40 * 86_400_000
        try EarlierSchema.database(at: path, version: 10) { db in
            try db.run("INSERT INTO uplinks (id, received_ms, topic, message_hash, state) VALUES (1, 1, 't', 1, 1)")
            func reading(_ channel: Int?, _ start: Int64, _ time: Int64, _ value: Int64, aggregated: Int) throws {
                try db.run("""
                    INSERT INTO readings (uplink_id, device, metric, channel, time_ms, value, window_ms, window_start_ms, aggregated)
                    VALUES (1, 'd', 'temperature', ?, ?, ?, 60000, ?, ?)
                    """, [channel.map { .integer(Int64($0)) } ?? .null, .integer(time), .integer(value), .integer(start), .integer(Int64(aggregated))])
            }
            // Waiting, with a sum past Int64 and a tie on the latest time (the later arrival is last).
            try reading(nil, recent, recent + 10, .max, aggregated: 0)
            try reading(nil, recent, recent + 20, .max, aggregated: 0)
            try reading(nil, recent, recent + 20, -5, aggregated: 0)
            // Closed and published, with one too-late reading.
            try reading(1, recent, recent + 5, 10, aggregated: 1)
            try reading(1, recent, recent + 6, 30, aggregated: 1)
            try reading(1, recent, recent + 7, 1_000, aggregated: 2)
            try db.run("""
                INSERT INTO aggregates (window_key, source, kind, metric, channel, window_start_ms, window_ms, count, min, max, mean, last,
                                        last_time_ms, updated_ms)
                VALUES ('k', 'd', 'generic', 'temperature', 1, ?, 60000, 2, 10, 30, 20, 30, ?, 1)
                """, [.integer(recent), .integer(recent + 6)])
            // Long finished; and long ago but never closed.
            try reading(2, old, old + 1, 7, aggregated: 1)
            try reading(3, old, old + 1, 8, aggregated: 0)
        }
        let store = try GatewayStore(path: path)
        func group(_ channel: Int?, _ start: Int64) -> WindowGroup {
            WindowGroup(device: "d", metric: .temperature, channel: channel, windowLength: Self.window, windowStart: start)
        }
        let waiting = try #require(try store.accumulator(of: group(nil, recent)))
        let sum = 2 * Int128(Int64.max) - 5
        #expect(waiting.accumulator.sum == sum && waiting.changed && !waiting.closed)
        #expect(waiting.accumulator.statistics == WindowStatistics(count: 3, min: -5, max: .max, mean: Int64(FixedPoint.divideRounded(sum, by: 3)!),
                                                                   last: -5, lastTime: recent + 20))
        let published = try #require(try store.accumulator(of: group(1, recent)))
        #expect(published.accumulator.statistics == WindowStatistics(count: 2, min: 10, max: 30, mean: 20, last: 30, lastTime: recent + 6))
        #expect(!published.changed && published.closed)
        // Its aggregate keeps the exact sum from now on (see the next test).
        #expect(try store.connection.query("SELECT sum_high, sum_low FROM aggregates WHERE window_key = 'k'").first?.map(\.int) == [0, 40])
        // Migration 18: closing has gone as far as that aggregate's window.
        #expect(try store.connection.scalar("SELECT closed_through_ms FROM closing_state") == recent + Self.window)
        #expect(try store.accumulator(of: group(2, old)) == nil)
        #expect(try store.accumulator(of: group(3, old))?.changed == true)
        #expect(Set(try store.closableWindows(graceMillis: 0, now: now + Self.window).map(\.group)) == [group(nil, recent), group(3, old)])
    }
}
