

/// RFC 3339 timestamps to and from integer milliseconds, without Foundation's
/// Double-based date types. Accepts what ChirpStack (`+00:00`, nanoseconds)
/// and The Things Stack (`Z`) send.
public enum RFC3339 {
    public static func parseMillis(_ text: String) -> EpochMillis? {
        var text = text
        return text.withUTF8 { parseMillis(utf8: $0) }
    }

    /// The same from the text's UTF-8 bytes (an envelope's, without a
    /// `String` made for them). Every read is checked against `b.count`.
    public static func parseMillis(utf8 b: UnsafeBufferPointer<UInt8>) -> EpochMillis? {
        func digits(_ at: Int, _ count: Int) -> Int? {
            guard at >= 0, at + count <= b.count else { return nil }
            var v = 0
            for i in at..<at + count {
                let d = Int(b[i]) - 48
                guard d >= 0, d <= 9 else { return nil }
                v = v * 10 + d
            }
            return v
        }
        guard b.count >= 20,
              let year = digits(0, 4), b[4] == UInt8(ascii: "-"),
              let month = digits(5, 2), b[7] == UInt8(ascii: "-"),
              let day = digits(8, 2), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t") || b[10] == UInt8(ascii: " "),
              let hour = digits(11, 2), b[13] == UInt8(ascii: ":"),
              let minute = digits(14, 2), b[16] == UInt8(ascii: ":"),
              let second = digits(17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var i = 19
        var millis = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var place = 100
            let fractionStart = i
            while i < b.count, let d = digits(i, 1) {
                millis += d * place
                place /= 10
                i += 1
            }
            guard i > fractionStart else { return nil }
        }
        guard i < b.count else { return nil }
        var offsetMinutes = 0
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            guard let oh = digits(i + 1, 2), b.count > i + 3, b[i + 3] == UInt8(ascii: ":"), let om = digits(i + 4, 2) else { return nil }
            offsetMinutes = (oh * 60 + om) * (b[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        return seconds * 1000 + Int64(millis)
    }

    /// `2026-11-20T10:15:00Z`, or with `.123` when the time has milliseconds.
    public static func format(_ millis: EpochMillis) -> String {
        let (secondsTotal, ms) = floorDivMod(millis, 1000)
        let (days, secondOfDay) = floorDivMod(secondsTotal, 86_400)
        let (y, m, d) = civilFromDays(Int(days))
        let hh = Int(secondOfDay / 3600), mm = Int(secondOfDay % 3600 / 60), ss = Int(secondOfDay % 60)
        func pad(_ v: Int, _ n: Int) -> String {
            let s = String(v)
            return s.count >= n ? s : String(repeating: "0", count: n - s.count) + s
        }
        var text = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(hh, 2)):\(pad(mm, 2)):\(pad(ss, 2))"
        if ms != 0 { text += "." + pad(Int(ms), 3) }
        return text + "Z"
    }

    /// The UTC calendar day of an instant, `2026-11-20`.
    public static func day(_ millis: EpochMillis) -> String { String(format(millis).prefix(10)) }

    static func floorDivMod(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        var q = a / b, r = a % b
        if r < 0 { q -= 1; r += b }
        return (q, r)
    }

    // Howard Hinnant's days-from-civil algorithm (public domain description).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
