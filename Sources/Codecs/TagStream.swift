import Readings

/// Helpers of the tag-stream codecs (`[tag][value]...`: Cayenne LPP, Elsys,
/// Milesight), where the tag fixes the width and meaning of what follows.

/// An unknown tag ends a tag stream: keep what was decoded, say why the rest
/// was not. A frame whose very first tag is unknown decoded nothing, which is
/// an error, not an empty success.
func stopAtUnknown(_ result: inout DecodeResult, _ reason: String, remaining: Int) throws(DecodeError) {
    if result.values.isEmpty && result.notes.isEmpty { throw .invalid(reason) }
    result.note(detail: "\(reason); \(remaining) byte(s) not decoded")
}

/// A tag or byte as two uppercase hex digits, for notes (`0x3E`).
func hex(_ byte: UInt8) -> String { Hex.digits(UInt64(byte), count: 2, uppercase: true) }
