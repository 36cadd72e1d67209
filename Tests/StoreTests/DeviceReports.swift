import Readings
@testable import Store

extension GatewayStore {
    /// Commits one uplink for each of `devices`, in that order, and records
    /// them in one batch as frames with nothing to decode: each device's
    /// session row takes one uplink of activity at `time`.
    func recordReports(of devices: [String], at time: EpochMillis) throws {
        let ids = try commitUplinks(devices.map { ArrivedMessage(topic: "t/\($0)", message: Array("\(time)/\($0)".utf8), receivedAt: time) })
            .compactMap { result -> Int64? in if case let .stored(id) = result { id } else { nil } }
        _ = try record(zip(ids, devices).map { id, device in
            ProcessedUplink(uplinkID: id, outcome: .ignored(FrameFacts(envelope: "chirpstack", device: device, fCnt: nil, fPort: 0, networkTime: nil),
                                                            reason: "mac only"))
        }, now: time)
    }
}
