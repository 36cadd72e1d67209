import Readings

/// What a device id may contain. Ids come from untrusted messages (a TTS
/// `device_id`, a topic level) and end up in window keys, hub entity ids and
/// log lines. Roll-up groups are named `zone:…` and `station:…`, so a device
/// id can never contain ':' and no device's window key can be a zone's.
/// DevEUIs, IMEIs and TTS device ids (`[a-z0-9](-?[a-z0-9]){2,}`) all pass.
public enum DeviceIdentity {
    public static let maxBytes = 64

    /// Nil when `id` is acceptable; otherwise why not.
    public static func problem(with id: String) -> String? {
        var id = id
        return id.withUTF8 { bytes in
            guard !bytes.isEmpty else { return "is empty" }
            guard bytes.count <= maxBytes else { return "is longer than \(maxBytes) bytes" }
            guard bytes.allSatisfy(isAllowed) else { return "may hold only letters, digits, '.', '_' and '-'" }
            guard let first = bytes.first, isLetterOrDigit(first) else { return "must start with a letter or a digit" }
            return nil
        }
    }

    static func isLetterOrDigit(_ byte: UInt8) -> Bool {
        (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
    }

    static func isAllowed(_ byte: UInt8) -> Bool {
        isLetterOrDigit(byte) || byte == 46 || byte == 95 || byte == 45
    }
}
