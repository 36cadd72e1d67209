import Dispatch
import FoundationEssentials
import Glibc
import ServiceLifecycle
import Synchronization

/// SIGTERM and SIGINT from the first moment of `GatewayApp.run`, before the
/// ServiceGroup (which handles them once it runs) exists: start-up waits up
/// to 10 s for the broker, and a stop asked for meanwhile (systemd stopping
/// a unit that is still starting, a test stopping a gateway just up) killed
/// the process with 143/130 instead of a clean exit 0. The signal is caught
/// here and handed to the group, which then starts and stops gracefully.
// @unchecked: `sources` are only kept alive here; the state is a Mutex.
final class StartupSignals: @unchecked Sendable {
    private let state = Mutex<(requested: Bool, group: ServiceGroup?)>((false, nil))
    private var sources: [any DispatchSourceSignal] = []

    init() {
        for signalNumber in [SIGTERM, SIGINT] {
            // Ignored by the process, seen by the dispatch source (and by the group's own, later).
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [weak self] in self?.stopRequested() }
            source.resume()
            sources.append(source)
        }
    }

    private func stopRequested() {
        let group = state.withLock { state -> ServiceGroup? in
            state.requested = true
            return state.group
        }
        if let group { Task { await group.triggerGracefulShutdown() } }
    }

    /// Whether a stop was asked for (start-up stops waiting for the broker).
    var isStopRequested: Bool { state.withLock { $0.requested } }

    /// From now on a stop goes to `group`; one asked for before is passed on
    /// (the group then starts its services and shuts them down in order).
    func handOver(to group: ServiceGroup) async {
        let requested = state.withLock { state -> Bool in
            state.group = group
            return state.requested
        }
        if requested { await group.triggerGracefulShutdown() }
    }
}
