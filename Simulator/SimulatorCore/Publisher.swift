import Foundation
import Synchronization
import MQTT
import Readings

/// Publishes simulated frames to a broker at a set rate, with the number of
/// unacknowledged publishes capped (libmosquitto slows badly with an
/// unbounded in-flight queue), and counts acknowledgements.
// @unchecked: only `client` (see MQTTClient) is not Sendable by itself.
public final class Publisher: @unchecked Sendable {
    public struct Report: Sendable {
        /// Distinct frames (a network-server copy is a second message of one frame).
        public var frames: Int
        /// MQTT messages published.
        public var sent: Int
        public var acknowledged: Int
        public var errors: Int
        public var seconds: Double
        public var ratePerSecond: Double { seconds > 0 ? Double(sent) / seconds : 0 }

        public init(frames: Int, sent: Int, acknowledged: Int, errors: Int, seconds: Double) {
            self.frames = frames
            self.sent = sent
            self.acknowledged = acknowledged
            self.errors = errors
            self.seconds = seconds
        }
    }

    let client: MQTTClient
    let qos: Int
    let maxInFlight: Int
    private let acknowledged = Atomic<Int>(0)
    private let sentTotal = Atomic<Int>(0)
    /// Publish→acknowledgement latency of every message (see PublishLatency).
    public let latency = PublishLatency()

    public init(host: String, port: Int, qos: Int, clientID: String, maxInFlight: Int = 200) throws {
        self.qos = qos
        self.maxInFlight = maxInFlight
        // After a broker restart libmosquitto's loop reconnects and re-sends the
        // QoS 1 publishes not yet acknowledged (tested: a restart mid-run loses
        // nothing). A clean session leaves no state behind on the broker.
        client = try MQTTClient(options: MQTTOptions(host: host, port: port, clientID: clientID, cleanSession: true, maxInflight: maxInFlight))
        client.onPublished = { [unowned self] mid in
            latency.acknowledged(mid)
            acknowledged.add(1, ordering: .relaxed)
        }
    }

    var acknowledgedCount: Int { acknowledged.load(ordering: .relaxed) }

    /// Messages published and acknowledged so far (read by the rate sampler).
    public var counters: (sent: Int, acknowledged: Int) {
        (sentTotal.load(ordering: .relaxed), acknowledged.load(ordering: .relaxed))
    }

    public func connect(timeout: Duration) async throws -> Bool {
        try client.start()
        return await client.waitUntilConnected(timeout: timeout)
    }

    /// What one call of `make` publishes: the messages of one step of the
    /// fleet, how many distinct frames they carry, and, for paced runs
    /// (`--speed`), when after the start of the run they are due.
    public struct Outgoing {
        public var messages: [(topic: String, payload: [UInt8])]
        public var frames: Int
        public var due: Duration?

        public init(messages: [(topic: String, payload: [UInt8])], frames: Int = 1, due: Duration? = nil) {
            self.messages = messages
            self.frames = frames
            self.due = due
        }
    }

    /// Publishes `count` steps made by `make(index)`, at `rate` steps per
    /// second (0 = as fast as the in-flight cap allows) unless a step says
    /// when it is due. With `until`, publishing stops at that instant. Then
    /// publishes what `finish` returns (frames held back for out-of-order
    /// delivery) and waits up to `drainTimeout` for the last
    /// acknowledgements. `progress` is called about once a second.
    public func publish(count: Int, rate: Double, until deadline: ContinuousClock.Instant? = nil, drainTimeout: Duration = .seconds(30),
                        make: (Int) -> Outgoing, finish: () -> [(topic: String, payload: [UInt8])] = { [] },
                        progress: ((_ sent: Int, _ acknowledged: Int, _ errors: Int, _ seconds: Double) -> Void)? = nil) async -> Report {
        let start = ContinuousClock.now
        var errors = 0
        var sent = 0
        var frames = 0
        var lastProgress = start
        func send(_ message: (topic: String, payload: [UInt8])) async {
            while sent - acknowledgedCount >= maxInFlight {
                try? await Task.sleep(for: .milliseconds(1))
            }
            do {
                let started = ContinuousClock.now
                let mid = try client.publish(message.topic, payload: message.payload, qos: qos)
                latency.published(mid, startedAt: started)
                sent += 1
                sentTotal.add(1, ordering: .relaxed)
            } catch {
                errors += 1
            }
        }
        for index in 0..<count {
            if let deadline, ContinuousClock.now >= deadline { break }
            if rate > 0 {
                let due = start + .nanoseconds(Int64(Double(index) / rate * 1e9))
                if due > ContinuousClock.now { try? await Task.sleep(until: due, clock: .continuous) }
            }
            let step = make(index)
            if let due = step.due.map({ start + $0 }) {
                if let deadline, due > deadline { break }
                if due > ContinuousClock.now { try? await Task.sleep(until: due, clock: .continuous) }
            }
            for message in step.messages { await send(message) }
            frames += step.frames
            if let progress, ContinuousClock.now - lastProgress > .seconds(1) {
                lastProgress = ContinuousClock.now
                progress(sent, acknowledgedCount, errors, seconds(since: start))
            }
        }
        for message in finish() { await send(message) }
        let drainUntil = ContinuousClock.now + drainTimeout
        while acknowledgedCount < sent && ContinuousClock.now < drainUntil {
            try? await Task.sleep(for: .milliseconds(5))
        }
        return Report(frames: frames, sent: sent, acknowledged: acknowledgedCount, errors: errors, seconds: seconds(since: start))
    }

    func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return elapsed.inSeconds
    }

    public func stop() { client.stop() }
}

/// The run's record of what was sent: one JSON line per frame with the
/// canonical values encoded in it. Tests compute expected aggregates from it,
/// independently of the gateway's tables.
public enum Manifest {
    public static func line(_ frame: SimulatedFrame) -> String {
        JSONText.object([
            ("device", .string(frame.device.devEUI)),
            ("kind", .string(frame.device.model.kind.rawValue)),
            ("fCnt", .integer(Int64(frame.fCnt))),
            ("timeMs", .integer(frame.time)),
            ("values", .array(frame.values.map { value in
                .object([
                    ("metric", .string(value.metric.name)),
                    ("channel", value.channel.map { .integer(Int64($0)) } ?? .null),
                    ("value", .integer(value.value)),
                ])
            })),
        ]).serialized()
    }
}
