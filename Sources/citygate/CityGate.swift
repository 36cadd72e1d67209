import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import BuildInfo
import Gateway

@main
struct CityGate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "citygate",
        // Plain ASCII: it is also the man page's NAME line, which man-db indexes.
        abstract: "Edge gateway: LoRaWAN and NB-IoT uplinks from MQTT, decoded into fixed-point readings in SQLite, forwarded as windowed aggregates to open-data hubs.",
        version: BuildInfo.line,
        subcommands: [Run.self, CheckConfig.self, Decode.self, Status.self, Requeue.self, Redeliver.self, DropHub.self, BenchmarkStore.self, BenchmarkPath.self])

    /// What citygate creates is its owner's alone, as the unit's UMask=0077
    /// makes it under systemd: run by hand (as root on an edge box), the state
    /// directory, the lock file and the file hub's output would otherwise be
    /// world-readable, and the uplinks are a city's data.
    static func main() async {
        umask(0o077)
        await main(nil)
    }
}
