import FoundationEssentials
import Glibc
import Logging
import MQTT
import Readings
import ServiceLifecycle
import Store

/// Tells systemd how citygate is: `READY=1` (sent by `GatewayApp` once the
/// config and database are up), `WATCHDOG=1` while the pipeline is healthy,
/// `STATUS=` with a one-line summary, `STOPPING=1` at shutdown.
///
/// Healthy means the single store writer answers (a probe takes its lock
/// once a second on a thread of its own) and the decode loop goes round. A
/// broker or hub outage is healthy: citygate waits it out. A stuck writer or
/// decoder is not: the keep-alives stop and systemd's `WatchdogSec=` restarts
/// the service.
// @unchecked: `reportedStuck` and `lastStatus` belong to the watchdog thread.
final class WatchdogService: Service, @unchecked Sendable {
    let notifier: SystemdNotifier
    let store: GatewayStore
    let decoder: Heartbeat
    let status: @Sendable () -> String
    let logger: Logger
    /// A stage that has not shown life for this long is stuck.
    let stallLimit: Duration
    private let writer = Heartbeat()
    // Touched by the watchdog thread only.
    private var reportedStuck: String?
    private var lastStatus = ""

    init(notifier: SystemdNotifier, store: GatewayStore, decoder: Heartbeat, logger: Logger,
         status: @escaping @Sendable () -> String) {
        self.notifier = notifier
        self.store = store
        self.decoder = decoder
        self.status = status
        self.logger = logger
        stallLimit = max(.seconds(5), (notifier.watchdogInterval ?? .seconds(5)) * 2)
    }

    /// What is stuck, or nil when the pipeline is healthy.
    var stuckStage: String? {
        if writer.age > stallLimit { return "store writer" }
        if decoder.age > stallLimit { return "decoder" }
        return nil
    }

    func run() async throws {
        startWriterProbe()
        // The checks run on a thread of their own: a stuck writer also blocks
        // every task that waits for the store, which can take the whole
        // cooperative pool with it, and STATUS= must still say why.
        let tick = min(notifier.watchdogInterval ?? .seconds(2), .seconds(2))
        let stop = OnceFlag()
        DedicatedThread.start(name: "citygate-watchdog") { [self] in
            while !stop.isSet {
                check()
                DedicatedThread.sleep(seconds: tick.inSeconds)
            }
        }
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully {
                try? await Task.sleep(for: .seconds(1))
            }
        } onGracefulShutdown: { [notifier] in
            stop.set()
            notifier.notify("STOPPING=1\nSTATUS=stopping: flushing what can be delivered")
        }
        stop.set()
    }

    func check() {
        let stuck = stuckStage
        if let stuck {
            if reportedStuck != stuck {
                logger.critical("pipeline stuck; withholding the watchdog keep-alive so systemd restarts citygate",
                                metadata: ["stage": "\(stuck)", "limit": "\(stallLimit)"])
                reportedStuck = stuck
            }
        } else {
            if let was = reportedStuck { logger.notice("pipeline moving again", metadata: ["stage": "\(was)"]) }
            reportedStuck = nil
            if notifier.watchdogInterval != nil { notifier.notify("WATCHDOG=1") }
        }
        let line = (stuck.map { "STUCK: \($0) not answering; " } ?? "") + status()
        if line != lastStatus {
            notifier.notify("STATUS=" + line)
            lastStatus = line
        }
    }

    /// A thread of its own: if the writer is stuck, this thread is stuck with
    /// it and its heartbeat stops, which is the point.
    private func startWriterProbe() {
        DedicatedThread.start(name: "citygate-writer-probe") { [store, writer] in
            while true {
                if (try? store.probeWriter()) != nil { writer.beat() }
                DedicatedThread.sleep(seconds: 1)
            }
        }
    }
}
