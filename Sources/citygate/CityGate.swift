import ArgumentParser
import BuildInfo
import Gateway

@main
struct CityGate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "citygate",
        abstract: "Edge gateway: LoRaWAN/NB-IoT uplinks from MQTT → fixed-point readings in SQLite → windowed aggregates to an open-data hub.",
        version: BuildInfo.line,
        subcommands: [Run.self, CheckConfig.self, Decode.self, Status.self, Requeue.self, Redeliver.self, DropHub.self, BenchmarkStore.self])
}
