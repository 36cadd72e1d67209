import ArgumentParser
import Foundation
import MQTT
import Readings
import SimulatorCore

@main
struct CityGateSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "citygate-sim",
        abstract: "Plays a city's LoRaWAN sensors to an MQTT broker in ChirpStack v4 JSON, with real vendor payloads.",
        subcommands: [Run.self, Registry.self])
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Publish uplinks for the demo district.")

    @Option(help: "Broker URL, mqtt://HOST:PORT.") var broker: String
    @Option(help: "Number of uplinks (distinct frames) to publish.") var count: Int = 100
    @Option(help: "Uplinks per second (0 = as fast as the in-flight cap allows).") var rate: Double = 10
    @Option(help: "MQTT QoS, 0 or 1.") var qos: Int = 1
    @Option(help: "Seed for repeatable signals.") var seed: UInt64 = 1
    @Option(help: "Write one JSON line per frame with the values it encodes.") var manifest: String?
    @Option(name: .customLong("max-in-flight"), help: "Unacknowledged publishes at most.") var maxInFlight: Int = 200
    @Option(help: "Devices in the fleet: the demo district (5) or more of the same models.") var devices: Int = 5
    @Option(name: .customLong("simulated-start"), help: "Simulated time of the first round (RFC 3339); default: real time.") var simulatedStart: String?
    @Option(help: "Simulated time between two reports of one device, with --simulated-start (e.g. 1h).") var interval: String = "15m"

    func validate() throws {
        guard MQTTOptions.parseURL(broker) != nil else { throw ValidationError("--broker: '\(broker)' is not mqtt://HOST[:PORT]") }
        guard count >= 0 else { throw ValidationError("--count must be 0 or more") }
        guard rate >= 0 else { throw ValidationError("--rate must be 0 or more") }
        guard qos == 0 || qos == 1 else { throw ValidationError("--qos must be 0 or 1") }
        guard maxInFlight >= 1 else { throw ValidationError("--max-in-flight must be at least 1") }
        guard devices >= 1 && devices <= 1_000_000 else { throw ValidationError("--devices must be 1...1000000") }
        if let simulatedStart, RFC3339.parseMillis(simulatedStart) == nil { throw ValidationError("--simulated-start: '\(simulatedStart)' is not an RFC 3339 time") }
        guard (DurationText.parseMillis(interval) ?? 0) > 0 else { throw ValidationError("--interval: '\(interval)' is not a duration like 15m or 1h") }
    }

    func run() async throws {
        let (host, port) = MQTTOptions.parseURL(broker)!
        let publisher = try Publisher(host: host, port: port, qos: qos, clientID: "citygate-sim-\(getpid())", maxInFlight: maxInFlight)
        guard try await publisher.connect(timeout: .seconds(10)) else {
            FileHandle.standardError.write(Data("citygate-sim: cannot connect to \(broker)\n".utf8))
            throw ExitCode.failure
        }
        var model = SignalModel(seed: seed)
        let devices = DemoDistrict.fleet(size: self.devices)
        let start = simulatedStart.flatMap(RFC3339.parseMillis)
        let step = DurationText.parseMillis(interval) ?? 900_000
        var fCnt = [UInt32](repeating: 0, count: devices.count)
        var manifestText = ""
        let report = await publisher.publish(count: count, rate: rate, make: { index in
            let slot = index % devices.count
            let device = devices[slot]
            // Time compression: round r of the fleet happens at start + r·interval.
            let now = start.map { $0 + Int64(index / devices.count) * step } ?? EpochMillis(Date().timeIntervalSince1970 * 1000)
            let frame = model.frame(for: device, fCnt: fCnt[slot], time: now)
            fCnt[slot] &+= 1
            if manifest != nil { manifestText += Manifest.line(frame) + "\n" }
            let snr = "\(Int.random(in: 3...9)).\(Int.random(in: 0...9))"
            let payload = ChirpStackEncoder.event(frame, deduplicationID: model.uuid(), gatewayRSSI: -60 - Int.random(in: 0...50), gatewaySNR: snr)
            return (ChirpStackEncoder.topic(for: device), payload)
        }, progress: { sent, acked, seconds in
            FileHandle.standardError.write(Data("citygate-sim: sent \(sent)/\(count) acked \(acked) in \(String(format: "%.1f", seconds))s\n".utf8))
        })
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

    func run() throws {
        print(DemoDistrict.registryTOML(DemoDistrict.fleet(size: devices)), terminator: "")
    }
}
