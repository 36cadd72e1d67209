import ArgumentParser
import FoundationEssentials
import Gateway
import Logging

/// For Benchmarks/path-cost.sh: the gateway's commit and processing code over
/// messages captured by `citygate-sim capture` (see `PathBenchmark`). Not for
/// operators, so not listed in --help.
struct BenchmarkPath: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "benchmark-path", shouldDisplay: false)

    @OptionGroup var databaseOptions: DatabaseOptions
    @Option(help: "Messages from `citygate-sim capture`: topic TAB base64 message per line.") var messages: String
    @Option(help: "Messages per ingest commit (a read burst under load is a few hundred).") var burst: Int = 400
    @Option(help: "MQTT QoS the messages came with, 0 or 1.") var qos: Int = 1

    func run() throws {
        let config = try databaseOptions.load()
        guard !FileManager.default.fileExists(atPath: config.databasePath) else {
            StandardError.write("benchmark-path: \(config.databasePath) exists; give a new --database\n")
            throw ExitCode.failure
        }
        guard let text = try? String(contentsOfFile: messages, encoding: .utf8) else {
            StandardError.write("benchmark-path: cannot read \(messages)\n")
            throw ExitCode.failure
        }
        var captured: [(topic: String, message: [UInt8])] = []
        // Split over UTF-8: a Character split of a 60 MB file takes longer than the benchmark.
        for (number, line) in text.utf8.split(separator: UInt8(ascii: "\n")).enumerated() {
            let fields = line.split(separator: UInt8(ascii: "\t"), maxSplits: 1)
            guard fields.count == 2, let topic = String(fields[0]), let bytes = Data(base64Encoded: String(decoding: fields[1], as: UTF8.self)) else {
                StandardError.write("benchmark-path: \(messages):\(number + 1): not topic TAB base64\n")
                throw ExitCode.failure
            }
            captured.append((topic, Array(bytes)))
        }
        var logger = Logger(label: "citygate")
        logger.logLevel = .warning
        let figures = try PathBenchmark.run(config: config, messages: captured, burst: burst, qos: qos, logger: logger)
        for line in figures.lines { print(line) }
    }
}
