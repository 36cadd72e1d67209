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

    func validate() throws {
        guard MQTTOptions.parseURL(broker) != nil else { throw ValidationError("--broker: '\(broker)' is not mqtt://HOST[:PORT]") }
        guard count >= 0 else { throw ValidationError("--count must be 0 or more") }
        guard rate >= 0 else { throw ValidationError("--rate must be 0 or more") }
        guard qos == 0 || qos == 1 else { throw ValidationError("--qos must be 0 or 1") }
        guard maxInFlight >= 1 else { throw ValidationError("--max-in-flight must be at least 1") }
    }

    func run() async throws {
        let (host, port) = MQTTOptions.parseURL(broker)!
        let publisher = try Publisher(host: host, port: port, qos: qos, clientID: "citygate-sim-\(getpid())", maxInFlight: maxInFlight)
        guard try await publisher.connect(timeout: .seconds(10)) else {
            FileHandle.standardError.write(Data("citygate-sim: cannot connect to \(broker)\n".utf8))
            throw ExitCode.failure
        }
        var model = SignalModel(seed: seed)
        let devices = DemoDistrict.devices
        var fCnt = [UInt32](repeating: 0, count: devices.count)
        var manifestText = ""
        let report = await publisher.publish(count: count, rate: rate, make: { index in
            let slot = index % devices.count
            let device = devices[slot]
            let now = EpochMillis(Date().timeIntervalSince1970 * 1000)
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

    func run() throws {
        print(DemoDistrict.registryTOML(), terminator: "")
    }
}
