/// A JSON value written by citygate. Numbers are kept as the exact decimal
/// text they were made from, so a hub receives `21.35`, never `21.349999`.
public indirect enum JSONText: Sendable, Equatable {
    case string(String)
    /// An exact decimal, written as is (`21.35`, `-3`, `776`).
    case number(String)
    case bool(Bool)
    case null
    case array([JSONText])
    /// Keys in the order given, so bodies are stable and diffable.
    case object([(String, JSONText)])

    public static func == (a: JSONText, b: JSONText) -> Bool { a.serialized() == b.serialized() }

    public static func integer(_ value: Int64) -> JSONText { .number(String(value)) }

    /// A canonical fixed-point value as an exact JSON number.
    public static func decimal(_ units: Int64, decimals: Int) -> JSONText {
        .number(FixedPoint.decimalString(units, decimals: decimals))
    }

    public func serialized() -> String {
        var out = ""
        write(to: &out)
        return out
    }

    public func write(to out: inout String) {
        switch self {
        case let .string(text): Self.writeString(text, to: &out)
        case let .number(text): out += text
        case let .bool(flag): out += flag ? "true" : "false"
        case .null: out += "null"
        case let .array(items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case let .object(members):
            out += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { out += "," }
                Self.writeString(key, to: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }

    static func writeString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
