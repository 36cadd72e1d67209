import Foundation
import Readings
import Synchronization
import Testing

/// A child process for a test, with its output in a file, stopped when the
/// test is done (or when the object goes away).
final class ManagedProcess: @unchecked Sendable {
    let process = Process()
    let logPath: String

    init(_ executable: String, _ arguments: [String], directory: String, environment: [String: String] = [:], logName: String) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        logPath = directory + "/" + logName
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        try Self.withSignalsUnblocked { try process.run() }
    }

    /// A child inherits the signal mask of the thread that spawns it, and
    /// Foundation's `Process` does not reset it. Tests run on dispatch's
    /// worker threads, which block nearly every signal: a mosquitto started
    /// from one never saw SIGTERM (it was left pending, ShdPnd 0x4000, with
    /// the broker still running a minute later), so a broker restart in a
    /// test found the old broker still holding the port. The spawning
    /// thread unblocks every signal for the moment of the spawn.
    private static func withSignalsUnblocked<T>(_ body: () throws -> T) rethrows -> T {
        var none = sigset_t(), previous = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        return try body()
    }

    var isRunning: Bool { process.isRunning }
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func signal(_ number: Int32) { if process.isRunning { kill(process.processIdentifier, number) } }

    /// SIGTERM, then SIGKILL after `grace`. Returns the exit status.
    @discardableResult
    func stop(grace: Duration = .seconds(10)) async -> Int32 {
        signal(SIGTERM)
        let deadline = ContinuousClock.now + grace
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { signal(SIGKILL); process.waitUntilExit() }
        return process.terminationStatus
    }

    /// For fixtures with nothing to keep (broker, hub): SIGKILL and reap.
    func forceStop() {
        signal(SIGKILL)
        process.waitUntilExit()
    }

    /// Waits until the log contains `text` (true), the process has ended or
    /// `timeout` passed; one look after the deadline too (see `waitForPort`).
    func waitForLog(_ text: String, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline && process.isRunning {
            if log.contains(text) { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return log.contains(text)
    }

    func waitForExit(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return process.isRunning ? nil : process.terminationStatus
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
}

enum TestEnvironment {
    /// The package root (two levels above this file's folder).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// Where SwiftPM put the built executables: beside the test bundle.
    static let binaries: String = {
        if let explicit = ProcessInfo.processInfo.environment["CITYGATE_BIN_DIR"] { return explicit }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().path
    }()

    static var citygate: String { binaries + "/citygate" }
    static var simulator: String { binaries + "/citygate-sim" }

    /// The gateway on the shipped config, pointed at a port where no broker listens.
    static func gatewayWithNoBroker(_ directory: String) throws -> ManagedProcess {
        try ManagedProcess(
            citygate,
            ["run", "--config", packageRoot + "/Config/citygate.toml", "--broker", "mqtt://127.0.0.1:\(freePort())",
             "--database", directory + "/citygate.sqlite", "--http-listen", ""],
            directory: directory, logName: "citygate.log")
    }

    /// The Python of the hub tests' venv (django-ogc-sensorthings, pyld,
    /// jsonschema): CITYGATE_HUB_PYTHON, else `.venv-hub` (scripts/hub-venv.sh).
    static func hubPython() throws -> String {
        let python = ProcessInfo.processInfo.environment["CITYGATE_HUB_PYTHON"] ?? packageRoot + "/.venv-hub/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw FixtureError("no Python with the hub test packages at \(python): run scripts/test.sh (or set CITYGATE_HUB_PYTHON)")
        }
        return python
    }

    static func temporaryDirectory(_ name: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("citygate-\(name)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A port on 127.0.0.1 that was free a moment ago, and never handed out
    /// before in this test run. The tests run side by side in one process:
    /// the kernel may give a closed port out again, and a CI run once had an
    /// NGSI-LD fake and another test's gateway given the same one (the
    /// gateway's HTTP endpoint answered the hub's upserts with 404).
    static func freePort() -> Int {
        for _ in 0..<100 {
            guard let (fd, port) = boundSocket(listening: false) else { return 0 }
            close(fd)
            if handedOut.withLock({ $0.insert(port).inserted }) { return port }
        }
        return 0
    }

    private static let handedOut = Mutex<Set<Int>>([])

    /// A TCP socket bound to a free port on 127.0.0.1 (listening, if asked),
    /// and that port; nil if the system refused. The caller closes it.
    static func boundSocket(listening: Bool) -> (fd: Int32, port: Int)? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && (!listening || listen(fd, 4) == 0) && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            return nil
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
    }

    static func waitForPort(_ port: Int, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if canConnect(port: port) { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        // One look after the deadline too: under the parallel suite this task
        // can go unscheduled for most of the timeout (two CI runs had every
        // broker "not listening" at once while mosquitto said it was).
        return canConnect(port: port)
    }

    /// GET over HTTP with curl-free Foundation (blocking, small bodies).
    static func get(_ url: String) async -> (status: Int, body: Data)? {
        try? await getExplained(url).get()
    }

    /// The same GET, with why it failed: the error of its last attempt.
    static func getExplained(_ url: String, attempts: Int = 2) async -> Result<(status: Int, body: Data), HTTPGetError> {
        #if canImport(FoundationNetworking)
        return await FoundationHTTP.get(url, attempts: attempts)
        #else
        return .failure(HTTPGetError(reason: "no FoundationNetworking"))
        #endif
    }
}

struct HTTPGetError: Error, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}

#if canImport(FoundationNetworking)
import FoundationNetworking
enum FoundationHTTP {
    /// One GET on a connection of its own (`Connection: close`): a pooled
    /// keep-alive connection can be closed by the gateway's 30 s idle timeout
    /// just as a test reuses it. A CI run lost a /metrics poll 30 s into a
    /// test whose gateway had been idle since start-up, most likely so. A
    /// failure is tried again, each time on a new connection.
    static func get(_ url: String, attempts: Int) async -> Result<(status: Int, body: Data), HTTPGetError> {
        guard let target = URL(string: url) else { return .failure(HTTPGetError(reason: "not a URL: \(url)")) }
        var request = URLRequest(url: target, timeoutInterval: 10)
        request.httpMethod = "GET"
        request.setValue("close", forHTTPHeaderField: "Connection")
        var reason = "not tried"
        for attempt in 0..<max(1, attempts) {
            if attempt > 0 { try? await Task.sleep(for: .milliseconds(200 * attempt)) }
            do {
                let (data, response) = try await URLSession.shared.data(for: request)
                guard let http = response as? HTTPURLResponse else {
                    reason = "attempt \(attempt + 1): not an HTTP response"
                    continue
                }
                return .success((http.statusCode, data))
            } catch {
                reason = "attempt \(attempt + 1): \(error)"
            }
        }
        return .failure(HTTPGetError(reason: reason))
    }
}
#endif

/// A private mosquitto on a free 127.0.0.1 port, for one test.
final class Broker: @unchecked Sendable {
    let port: Int
    let process: ManagedProcess
    var url: String { "mqtt://127.0.0.1:\(port)" }

    /// `listener`: lines for the listener (TLS files); `persistence`: keep
    /// sessions and queued messages across a broker restart (on the same `port`).
    /// `maxQueued`: messages the broker queues per client while it is away
    /// (the shipped Config/mosquitto.conf says 1,000,000); beyond it mosquitto
    /// drops them, however the client behaves.
    init(directory: String, port: Int? = nil, listener: String = "", persistence: Bool = false, maxQueued: Int = 100_000) async throws {
        self.port = port ?? TestEnvironment.freePort()
        let port = self.port
        // mosquitto started as root drops to the `mosquitto` user: its
        // persistence directory must be writable by that user.
        let store = directory + "/mosquitto-persistence"
        if persistence {
            try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
            _ = chmod(store, 0o777)
        }
        let config = "listener \(port) 127.0.0.1\n\(listener)allow_anonymous true\n"
            + (persistence ? "persistence true\npersistence_location \(store)/\nautosave_interval 1\n" : "persistence false\n")
            + "max_queued_messages \(maxQueued)\n"
        try config.write(toFile: directory + "/mosquitto.conf", atomically: true, encoding: .utf8)
        let executable = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/sbin/mosquitto"
        process = try ManagedProcess(executable, ["-c", directory + "/mosquitto.conf"], directory: directory, logName: "mosquitto.log")
        // The port answering is not enough: a broker restarted on the same
        // port while the old one still held it fails to bind and exits, and
        // the old one answers until it is gone (a CI run published into a
        // refused port for a minute that way). It must be this process,
        // still running, that says it runs.
        // (mosquitto logs "mosquitto version X running" once every listener is open.)
        let process = process
        guard await TestEnvironment.waitForPort(port, timeout: .seconds(10)),
              await process.waitForLog(" running", timeout: .seconds(10)), process.isRunning else {
            throw FixtureError("mosquitto did not listen on \(port): \(process.log)")
        }
    }

    /// Publishes one message with mosquitto_pub (QoS 1).
    func publish(topic: String, message: String) throws {
        let pub = Process()
        pub.executableURL = URL(fileURLWithPath: "/usr/bin/mosquitto_pub")
        pub.arguments = ["-h", "127.0.0.1", "-p", "\(port)", "-q", "1", "-t", topic, "-m", message]
        try pub.run()
        pub.waitUntilExit()
        guard pub.terminationStatus == 0 else { throw FixtureError("mosquitto_pub exited \(pub.terminationStatus)") }
    }
}

/// A real OGC SensorThings server (django-ogc-sensorthings 1.2.0) on a free
/// port, with its own SQLite file. The Python comes from CITYGATE_HUB_PYTHON
/// or the venv that `.ci/run` / `scripts/test.sh` make at `.venv-hub`.
final class SensorThingsServer: @unchecked Sendable {
    let port: Int
    let process: ManagedProcess
    /// Its SQLite file (the tests count what it holds there).
    let database: String
    var serviceRoot: String { "http://127.0.0.1:\(port)/sensorthings/v1.1" }

    init(directory: String, port: Int? = nil) async throws {
        let python = try TestEnvironment.hubPython()
        let project = TestEnvironment.packageRoot + "/Tests/IntegrationTests/Fixtures/sensorthings_hub"
        self.port = port ?? TestEnvironment.freePort()
        let port = self.port
        database = directory + "/hub.sqlite"
        let environment = ["CITYGATE_HUB_DB": database, "CITYGATE_HUB_URL": "http://127.0.0.1:\(port)", "PYTHONDONTWRITEBYTECODE": "1"]
        let migrate = try ManagedProcess(python, [project + "/manage.py", "migrate", "-v", "0"], directory: directory, environment: environment, logName: "hub-migrate.log")
        guard await migrate.waitForExit(timeout: .seconds(120)) == 0 else { throw FixtureError("hub migrate failed: \(migrate.log)") }
        process = try ManagedProcess(python, [project + "/manage.py", "runserver", "127.0.0.1:\(port)", "--noreload"],
                                     directory: directory, environment: environment, logName: "hub.log")
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let response = await TestEnvironment.get(serviceRoot + "/Things"), response.status == 200 { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw FixtureError("SensorThings server did not start: \(process.log)")
    }

    /// Every Observation the hub holds (follows @iot.nextLink).
    func observations() async throws -> [[String: Any]] {
        var result: [[String: Any]] = []
        var next: String? = serviceRoot + "/Observations?$top=100"
        while let url = next {
            guard let response = await TestEnvironment.get(url), response.status == 200,
                  let object = try JSONSerialization.jsonObject(with: response.body) as? [String: Any] else {
                throw FixtureError("GET \(url) failed")
            }
            result += (object["value"] as? [[String: Any]]) ?? []
            next = object["@iot.nextLink"] as? String
        }
        return result
    }
}

/// The gateway under test, run from the built binary on the shipped config.
final class GatewayProcess: @unchecked Sendable {
    let process: ManagedProcess
    let directory: String
    let httpPort: Int
    let database: String

    /// `database`: where the store lives (default: `directory`/citygate.sqlite).
    /// `waitForHTTP` false: return once started, for a gateway expected to
    /// stop before its HTTP port opens.
    init(broker: Broker, directory: String, extra: [String] = [], httpPort: Int? = nil,
         config: String = TestEnvironment.packageRoot + "/Config/citygate.toml", environment: [String: String] = [:],
         database: String? = nil, waitForHTTP: Bool = true) async throws {
        self.directory = directory
        self.database = database ?? directory + "/citygate.sqlite"
        self.httpPort = httpPort ?? TestEnvironment.freePort()
        process = try ManagedProcess(
            TestEnvironment.citygate,
            ["run", "--config", config, "--broker", broker.url,
             "--database", self.database, "--http-listen", "127.0.0.1:\(self.httpPort)"] + extra,
            directory: directory, environment: environment, logName: "citygate-\(UUID().uuidString.prefix(4)).log")
        let deadline = ContinuousClock.now + .seconds(30)
        while waitForHTTP && !TestEnvironment.canConnect(port: self.httpPort) {
            // Past the deadline, the loop condition above was the last look (see `waitForPort`).
            guard process.isRunning, ContinuousClock.now < deadline else {
                throw FixtureError("citygate did not open its HTTP port: \(process.log)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Prometheus samples by full series name (`name{labels}`).
    func metrics() async throws -> [String: Double] {
        guard let response = await TestEnvironment.get("http://127.0.0.1:\(httpPort)/metrics"), response.status == 200 else {
            throw FixtureError("GET /metrics failed")
        }
        var samples: [String: Double] = [:]
        for line in String(decoding: response.body, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            if parts.count >= 2, let value = Double(parts[1]) { samples[String(parts[0])] = value }
        }
        return samples
    }

    /// Peak resident set size of the gateway process so far (VmHWM), bytes.
    var peakRSS: Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(process.process.processIdentifier)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return nil }
        return kilobytes * 1024
    }

    /// The sum over every series of a metric name.
    func metric(_ name: String) async throws -> Double {
        try await metrics().filter { $0.key == name || $0.key.hasPrefix(name + "{") }.values.reduce(0, +)
    }

    /// `citygate status --json`, read-only beside the running daemon.
    func status() throws -> [String: Any] {
        let run = try capture(TestEnvironment.citygate, ["status", "--database", database, "--json"])
        guard run.status == 0, let object = try JSONSerialization.jsonObject(with: run.output) as? [String: Any] else {
            throw FixtureError("citygate status failed")
        }
        return object
    }

    func waitFor(_ description: String, timeout: Duration, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        // A last look: the loop may not have run for most of the timeout (see `waitForPort`).
        if try await condition() { return }
        throw FixtureError("timed out waiting for \(description); citygate log:\n\(process.log.suffix(3000))")
    }
}

/// Runs a program to completion; returns its exit status and standard output.
/// Runs blocking work (a child process that runs for seconds, a socket
/// read with a long timeout, a CPU-bound loop) on a thread of its own, so
/// it does not hold one of the few threads Swift concurrency shares among
/// all the tests running in parallel: held for seconds, they made other
/// tests' 10 s waits time out in a CI run.
func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

func capture(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: Data) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, output)
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs the simulator to completion.
/// Plays `hours` hourly reports of a `devices` fleet as fast as the broker
/// takes them, in simulated time ending two hours ago (the windows close at
/// once with `--window 1h` and the fleet config's 1 s grace).
func playSimulatedHours(_ hours: Int, devices: Int, broker: Broker, directory: String) async throws {
    let hour: Int64 = 3_600_000
    let now = Int64(Date().timeIntervalSince1970 * 1000)
    let start = (now / hour - Int64(hours) - 2) * hour + 60_000
    _ = try await runSimulator(["--broker", broker.url, "--devices", "\(devices)", "--count", "\(devices * hours)", "--rate", "1000",
                                "--simulated-start", RFC3339.format(start), "--interval", "1h"], directory: directory)
}

func runSimulator(_ arguments: [String], directory: String) async throws -> ManagedProcess {
    let simulator = try ManagedProcess(TestEnvironment.simulator, ["run"] + arguments, directory: directory, logName: "sim.log")
    guard await simulator.waitForExit(timeout: .seconds(120)) == 0 else { throw FixtureError("citygate-sim failed: \(simulator.log)") }
    return simulator
}

/// The config files the integration tests write.
enum TestConfig {
    /// `citygate.toml` in `directory` with the shipped registry and codecs,
    /// then `extra` (more tables: [mqtt], [[hub]], ...). Returns its path.
    static func shipped(_ directory: String, _ extra: String = "") throws -> String {
        let path = directory + "/citygate.toml"
        try """
            [gateway]
            device_registry = "\(TestEnvironment.packageRoot)/Config/devices.toml"
            codec_directory = "\(TestEnvironment.packageRoot)/Config/codecs"
            \(extra)
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A simulated fleet of `devices` (`citygate-sim registry`) and a config
    /// for a compressed day of it: network times up to a week old accepted,
    /// 1 s grace; then `extra`. Returns the config's path and the registry text.
    static func fleet(_ directory: String, devices: Int, gateway: String = "", privacy: String = "", _ extra: String) async throws -> (path: String, registry: String) {
        let registry = try await runSimulatorCommand(["registry", "--devices", "\(devices)"], directory: directory)
        try registry.write(toFile: directory + "/devices.toml", atomically: true, encoding: .utf8)
        let path = directory + "/citygate.toml"
        try """
            [gateway]
            device_registry = "devices.toml"
            \(gateway)
            [aggregation]
            max_clock_skew = "7d"
            grace = "1s"
            \(privacy)
            \(extra)
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return (path, registry)
    }
}
