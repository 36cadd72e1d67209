/// A tumbling window aligned to the clock: [start, start + length).
public struct Window: Sendable, Hashable {
    public var start: EpochMillis
    public var length: Int64

    public init(start: EpochMillis, length: Int64) {
        self.start = start
        self.length = length
    }

    /// The window of `length` that holds `time`. Windows are aligned to the
    /// Unix epoch, so a 15-minute window starts at :00, :15, :30, :45.
    /// Saturating at the ends of Int64, as `end(plus:)` is: a time comes from
    /// a device (the device-time check keeps such times out before here).
    public static func containing(_ time: EpochMillis, length: Int64) -> Window {
        precondition(length > 0, "window length is validated at config load")
        let remainder = time % length
        var start = time - remainder  // same sign as time, never past it
        if remainder < 0 {
            let (earlier, overflow) = start.subtractingReportingOverflow(length)
            start = overflow ? .min : earlier
        }
        return Window(start: start, length: length)
    }

    /// The window's end (saturating: see `containing`).
    public var end: EpochMillis { end(plus: 0) }

    /// The instant `after` past the window's end, saturating: a window start
    /// comes from device time. (A reading committed after end + grace +
    /// lateness is too late for a window closed before.)
    public func end(plus after: Int64) -> EpochMillis {
        let (end, overflow) = start.addingReportingOverflow(length)
        let (instant, overflow2) = end.addingReportingOverflow(after)
        return overflow || overflow2 ? .max : instant
    }

    /// ISO 8601 duration of the length (`PT15M`, `PT10S`, `PT1H`).
    public var isoDuration: String { Self.isoDuration(length) }

    public static func isoDuration(_ millis: Int64) -> String {
        if millis % 3_600_000 == 0 { return "PT\(millis / 3_600_000)H" }
        if millis % 60_000 == 0 { return "PT\(millis / 60_000)M" }
        if millis % 1000 == 0 { return "PT\(millis / 1000)S" }
        return "PT\(FixedPoint.decimalString(millis, decimals: 3))S"
    }
}
