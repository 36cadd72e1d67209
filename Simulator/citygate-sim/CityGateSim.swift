import ArgumentParser
import BuildInfo
import Foundation
import MQTT
import Readings
import SimulatorCore

@main
struct CityGateSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "citygate-sim",
        abstract: "Plays a city's LoRaWAN and NB-IoT sensors to an MQTT broker (ChirpStack v4, TTS v3, Milesight NB-IoT frames) with real vendor payloads.",
        version: BuildInfo.line,
        subcommands: [Run.self, Load.self, Registry.self, Capture.self])
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish uplinks for a demo: the demo district (or a scenario) at --rate, or on its own schedule with --speed.")

    @Option(help: "Broker URL, mqtt://HOST:PORT.") var broker: String
    @Option(help: "Number of uplinks (distinct frames) to publish.") var count: Int = 100
    @Option(help: "Uplinks per second (0 = as fast as the in-flight cap allows; default 10). Not with --speed.") var rate: Double?
    @Option(help: ArgumentHelp("Play the fleet's own schedule in simulated time, this many times faster than real time (1440: a day in a minute).",
                               discussion: "Device timestamps follow simulated time from --simulated-start (default: now); give the gateway a [aggregation] max_clock_skew covering the simulated span, or it stamps arrival time."))
    var speed: Double?
    @Option(help: "MQTT QoS, 0 or 1.") var qos: Int = 1
    @Option(help: "Seed for repeatable signals (default: the scenario's, else 1).") var seed: UInt64?
    @Option(help: "Scenario file (Simulator/scenarios/*.toml): fleet, interval, faults. Default: the demo district, no faults.") var scenario: String?
    @Option(help: "Write one JSON line per fault-free frame with the values it encodes.") var manifest: String?
    @Option(name: .customLong("max-in-flight"), help: "Unacknowledged publishes at most.") var maxInFlight: Int = 200
    @Option(help: "Devices in the fleet: the demo district (5) or more of the same models.") var devices: Int = 5
    @OptionGroup var clock: SimulatedClock

    func validate() throws {
        guard MQTTOptions.parseURL(broker) != nil else { throw ValidationError("--broker: '\(broker)' is not mqtt://HOST[:PORT]") }
        guard count >= 0 else { throw ValidationError("--count must be 0 or more") }
        guard (rate ?? 0) >= 0 else { throw ValidationError("--rate must be 0 or more") }
        if let speed {
            guard speed >= 0.001 && speed <= 10_000_000 else { throw ValidationError("--speed must be 0.001...10000000 (1 = real time)") }
            guard rate == nil else { throw ValidationError("--speed plays the fleet's schedule; it does not take --rate") }
        }
        guard qos == 0 || qos == 1 else { throw ValidationError("--qos must be 0 or 1") }
        guard maxInFlight >= 1 else { throw ValidationError("--max-in-flight must be at least 1") }
        guard devices >= 1 && devices <= 1_000_000 else { throw ValidationError("--devices must be 1...1000000") }
    }

    func run() async throws {
        let (host, port) = MQTTOptions.parseURL(broker)!
        let publisher = try Publisher(host: host, port: port, qos: qos, clientID: "citygate-sim-\(getpid())", maxInFlight: maxInFlight)
        guard try await publisher.connect(timeout: .seconds(10)) else {
            FileHandle.standardError.write(Data("citygate-sim: cannot connect to \(broker)\n".utf8))
            throw ExitCode.failure
        }
        // With --speed the clock is simulated from the start (now by default).
        let start = clock.startMillis ?? (speed != nil ? FleetTraffic.realNow() : nil)
        let plan = try scenario.map(loadScenario)
        var traffic = FleetTraffic(devices: plan?.devices ?? DemoDistrict.fleet(size: devices), seed: seed ?? plan?.seed ?? 1,
                                   simulatedStart: start,
                                   stepMillis: clock.stepMillis ?? plan?.intervalMillis ?? 900_000,
                                   jitterMillis: plan?.jitterMillis ?? 0,
                                   faults: plan?.faults ?? FaultPlan())
        var manifestText = ""
        let progress = ProgressLine(target: count)
        let report = await publisher.publish(count: count, rate: speed == nil ? rate ?? 10 : 0, make: { _ in
            let next = traffic.next()
            if manifest != nil && next.faults.isEmpty { manifestText += Manifest.line(next.frame) + "\n" }
            // Simulated time elapsed, compressed by --speed, is when the step is due.
            let due = speed.map { speed in Duration.nanoseconds(Int64(min(9e18, max(0, Double(next.time - (start ?? next.time)) / speed * 1e6)))) }
            return Publisher.Outgoing(messages: next.messages, frames: next.frames, due: due)
        }, finish: { traffic.flush() }, progress: progress.show)
        progress.finish()
        publisher.stop()
        if let manifest {
            try manifestText.write(toFile: manifest, atomically: true, encoding: .utf8)
        }
        print("citygate-sim: sent \(report.sent), acknowledged \(report.acknowledged), errors \(report.errors), \(String(format: "%.1f", report.ratePerSecond)) msg/s over \(String(format: "%.2f", report.seconds)) s (qos \(qos))")
        if report.errors > 0 || (qos == 1 && report.acknowledged < report.sent) { throw ExitCode.failure }
    }
}

struct Registry: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the device registry (devices.toml) for the simulated fleet.")

    @Option(help: "Devices in the fleet (as for run).") var devices: Int = 5
    @Option(help: "Print the registry of this scenario's fleet instead.") var scenario: String?

    func run() throws {
        let fleet = try scenario.map(loadScenario)?.devices ?? DemoDistrict.fleet(size: devices)
        print(DemoDistrict.registryTOML(fleet), terminator: "")
    }
}

/// For `Benchmarks/path-cost.sh`: the messages `load` would publish, written
/// to a file instead of a broker, so `citygate benchmark-path` can run the
/// gateway's own commit and processing code over exactly the same traffic
/// in every build it compares. Not for operators, so not listed in --help.
struct Capture: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the messages load would publish to a file: one line each, topic TAB base64 message.", shouldDisplay: false)

    @Option(help: "Uplinks to write.") var count: Int = 50_000
    @Option(help: "Devices in the fleet.") var devices: Int = 100
    @Option(help: "Seed for repeatable signals.") var seed: UInt64 = 2
    @Option(help: "Scenario file (fleet and faults) instead of --devices.") var scenario: String?
    @Option(help: "File to write.") var output: String
    @OptionGroup var clock: SimulatedClock
    @OptionGroup var outOfStep: OutOfStep

    func run() throws {
        let plan = try scenario.map(loadScenario)
        let fleet = plan?.devices ?? DemoDistrict.fleet(size: devices)
        var traffic = FleetTraffic(devices: fleet, seed: plan?.seed ?? seed, simulatedStart: clock.startMillis,
                                   stepMillis: clock.stepMillis ?? plan?.intervalMillis ?? 900_000,
                                   jitterMillis: outOfStep.millis ?? plan?.jitterMillis ?? 0, faults: plan?.faults ?? FaultPlan())
        var text = ""
        var written = 0
        while written < count {
            for message in traffic.next().messages {
                text += message.topic + "\t" + Data(message.payload).base64EncodedString() + "\n"
                written += 1
            }
        }
        for message in traffic.flush() { text += message.topic + "\t" + Data(message.payload).base64EncodedString() + "\n" }
        try Data(text.utf8).write(to: URL(fileURLWithPath: output))
    }
}

/// `--simulated-start` and `--interval` for `run` and `capture`: traffic on a
/// simulated clock, which spans windows in less than their time.
struct SimulatedClock: ParsableArguments {
    @Option(name: .customLong("simulated-start"), help: "Simulated time of the first round (RFC 3339); default: real time.") var simulatedStart: String?
    @Option(help: "Simulated time between two reports of one device, with --simulated-start (e.g. 1h; default: the scenario's, else 15m).") var interval: String?

    var startMillis: EpochMillis? { simulatedStart.flatMap(RFC3339.parseMillis) }
    var stepMillis: Int64? { interval.flatMap(DurationText.parseMillis) }

    func validate() throws {
        if let simulatedStart, RFC3339.parseMillis(simulatedStart) == nil { throw ValidationError("--simulated-start: '\(simulatedStart)' is not an RFC 3339 time") }
        if let interval, (DurationText.parseMillis(interval) ?? 0) <= 0 { throw ValidationError("--interval: '\(interval)' is not a duration like 15m or 1h") }
    }
}

/// `--jitter` for `capture` and `load`: devices out of step, as a city's are.
/// Without it (and without a scenario that sets one) every device reports at
/// the same phase, so each round goes in device order, and new rows land in
/// key order: kinder to the store than a city (Benchmarks/RESULTS.md, issue
/// 17, ninth step).
struct OutOfStep: ParsableArguments {
    @Option(help: ArgumentHelp("Each report up to this much early or late, and devices out of step from the start (default: the scenario's, else 0: each round in device order).",
                               valueName: "duration")) var jitter: String?

    var millis: Int64? { jitter.flatMap(DurationText.parseMillis) }

    func validate() throws {
        if let jitter, (DurationText.parseMillis(jitter) ?? -1) < 0 { throw ValidationError("--jitter: '\(jitter)' is not a duration like 60s") }
    }
}

struct Load: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish as fast as asked (in-flight capped) and report like a load tool.",
        discussion: """
            Plays the fleet (no faults, no extra copies) for --count uplinks or for --duration, at --rate \
            per second (0: as fast as the in-flight cap allows). With --metrics (the gateway's /metrics URL) \
            it reads the gateway's counters before and after, waits (bounded) for the gateway to drain, and \
            reports what it received, stored, deduplicated and quarantined, the loss (distinct uplinks \
            acknowledged minus distinct uplinks stored) and the ingest latency percentiles from \
            citygate_uplink_ingest_latency_seconds. The simulator measures its own publish→PUBACK latency \
            for every message with HdrHistogram. --json prints one JSON document on stdout; --report DIR \
            writes report.html (rates per second, latency plots, loss and faults) and report.json.
            """)

    @Option(help: "Broker URL, mqtt://HOST:PORT.") var broker: String
    @Option(help: "Uplinks to publish.") var count: Int?
    @Option(help: "Publish for this long instead (e.g. 30s).") var duration: String?
    @Option(help: "Uplinks per second (0 = as fast as the in-flight cap allows).") var rate: Double = 0
    @Option(help: "MQTT QoS, 0 or 1.") var qos: Int = 1
    @Option(help: "Devices in the fleet.") var devices: Int = 100
    @Option(help: "Seed for repeatable signals (default: the scenario's, else 1).") var seed: UInt64?
    @Option(help: "Scenario file: fleet and faults (default: --devices of the demo models, no faults).") var scenario: String?
    @OptionGroup var outOfStep: OutOfStep
    @Option(name: .customLong("max-in-flight"), help: "Unacknowledged publishes at most.") var maxInFlight: Int = 200
    @Option(help: "The gateway's metrics URL, e.g. http://127.0.0.1:9464/metrics.") var metrics: String?
    @Option(name: .customLong("drain-timeout"), help: "How long to wait for the gateway to drain.") var drainTimeout: String = "60s"
    @Flag(help: "Print one JSON document on stdout.") var json = false
    @Option(help: ArgumentHelp("Write report.html (plots, no scripts, no external assets) and report.json into this directory.",
                               valueName: "directory")) var report: String?

    func validate() throws {
        guard MQTTOptions.parseURL(broker) != nil else { throw ValidationError("--broker: '\(broker)' is not mqtt://HOST[:PORT]") }
        guard (count == nil) != (duration == nil) else { throw ValidationError("give --count N or --duration D") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if let duration, (DurationText.parseMillis(duration) ?? 0) <= 0 { throw ValidationError("--duration: '\(duration)' is not a duration") }
        guard (DurationText.parseMillis(drainTimeout) ?? -1) >= 0 else { throw ValidationError("--drain-timeout: '\(drainTimeout)' is not a duration") }
        guard rate >= 0 else { throw ValidationError("--rate must be 0 or more") }
        guard qos == 0 || qos == 1 else { throw ValidationError("--qos must be 0 or 1") }
        guard maxInFlight >= 1 else { throw ValidationError("--max-in-flight must be at least 1") }
        guard devices >= 1 && devices <= 1_000_000 else { throw ValidationError("--devices must be 1...1000000") }
        if let metrics, !metrics.hasPrefix("http://") { throw ValidationError("--metrics: '\(metrics)' is not an http:// URL") }
    }

    func run() async throws {
        let (host, port) = MQTTOptions.parseURL(broker)!
        if let report {
            // Fail before the run, not after it: the directory must be writable.
            do {
                try FileManager.default.createDirectory(atPath: report, withIntermediateDirectories: true)
            } catch {
                FileHandle.standardError.write(Data("citygate-sim: --report: cannot create \(report): \(error)\n".utf8))
                throw ExitCode(73)
            }
        }
        let before = try metrics.map { url in
            guard let text = MetricsScrape.get(url) else { throw ValidationError("--metrics: cannot read \(url)") }
            return GatewaySnapshot.parse(text)
        }
        let publisher = try Publisher(host: host, port: port, qos: qos, clientID: "citygate-sim-load-\(getpid())", maxInFlight: maxInFlight)
        guard try await publisher.connect(timeout: .seconds(10)) else {
            FileHandle.standardError.write(Data("citygate-sim: cannot connect to \(broker)\n".utf8))
            throw ExitCode.failure
        }
        let plan = try scenario.map(loadScenario)
        let fleet = plan?.devices ?? DemoDistrict.fleet(size: devices)
        var traffic = FleetTraffic(devices: fleet, seed: seed ?? plan?.seed ?? 1,
                                   simulatedStart: nil, stepMillis: plan?.intervalMillis ?? 900_000, jitterMillis: outOfStep.millis ?? plan?.jitterMillis ?? 0,
                                   faults: plan?.faults ?? FaultPlan())
        let setup = LoadReport.Setup(startedAt: EpochMillis(Date().timeIntervalSince1970 * 1000), broker: broker, qos: qos, devices: fleet.count,
                                     rate: rate, maxInFlight: maxInFlight, scenario: scenario, simulatorVersion: BuildInfo.version)
        let sampler = RateSampler(metricsURL: metrics, baseline: before?.committed, counters: { publisher.counters })
        let deadline = duration.flatMap(DurationText.parseMillis).map { ContinuousClock.now + .milliseconds($0) }
        let progress = ProgressLine(target: count)
        let published = await publisher.publish(count: count ?? Int.max, rate: rate, until: deadline, make: { _ in
            let next = traffic.next()
            return Publisher.Outgoing(messages: next.messages, frames: next.frames)
        }, finish: { traffic.flush() }, progress: progress.show)
        progress.finish()
        publisher.stop()

        var gateway: LoadReport.GatewayFigures?
        if let metrics, let before {
            let expected = LoadReport.expectedUplinks(published, qos: qos)
            let run = drain(metrics, before: before, expected: expected)
            gateway = LoadReport.GatewayFigures(run: run, loss: expected - run.distinctUplinks, stored: run.distinctUplinks)
        }
        let result = LoadReport(setup: setup, publish: published, faults: traffic.injected.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                                timeline: sampler.stop(), puback: LatencySummary(publisher.latency.histogram), gateway: gateway)
        if json {
            print(result.json(detailed: false).serialized())
        } else {
            for line in result.lines { print("citygate-sim: " + line) }
        }
        if let report {
            do {
                try Data((result.json(detailed: true).serialized() + "\n").utf8).write(to: URL(fileURLWithPath: report + "/report.json"), options: .atomic)
                try Data(LoadReportPage.html(result).utf8).write(to: URL(fileURLWithPath: report + "/report.html"), options: .atomic)
            } catch {
                FileHandle.standardError.write(Data("citygate-sim: --report: cannot write into \(report): \(error)\n".utf8))
                throw ExitCode(73)
            }
            FileHandle.standardError.write(Data("citygate-sim: report \(report)/report.html\n".utf8))
        }
        if result.failed { throw ExitCode.failure }
    }

    /// Waits until the gateway keeps `expected` distinct uplinks, every one
    /// decoded (or until it stops changing), bounded by --drain-timeout;
    /// returns the run's share of its counters.
    ///
    /// Counted in distinct uplinks, as the loss is: counting messages (a
    /// broker's redelivery as one reached) stopped the wait early after a
    /// broker restart, when the simulator's resends and the broker's
    /// redeliveries made 841 copies, and reported 791 lost that the gateway
    /// stored a moment later.
    func drain(_ url: String, before: GatewaySnapshot, expected: Int) -> GatewaySnapshot {
        let deadline = ContinuousClock.now + .milliseconds(DurationText.parseMillis(drainTimeout) ?? 60_000)
        var last = GatewaySnapshot()
        var stableSince = ContinuousClock.now
        while true {
            let now = MetricsScrape.get(url).map { GatewaySnapshot.delta(GatewaySnapshot.parse($0), before) } ?? last
            if now != last { stableSince = ContinuousClock.now }
            last = now
            if now.keeps(expected) || ContinuousClock.now >= deadline || (ContinuousClock.now - stableSince > .seconds(5) && now.pending == 0) { return now }
            Thread.sleep(forTimeInterval: 0.2)
        }
    }
}

/// Loads a scenario file or exits with its errors (each names the line).
func loadScenario(_ path: String) throws -> Scenario {
    do {
        return try Scenario.load(path: path)
    } catch {
        FileHandle.standardError.write(Data("citygate-sim: scenario error: \(error)\n".utf8))
        throw ExitCode(78)
    }
}
