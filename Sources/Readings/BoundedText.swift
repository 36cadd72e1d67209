/// Text from outside (a hub's answer, a reason quoted from input) cut to a
/// number of UTF-8 bytes before it is stored or logged, on a character
/// boundary, saying how much was left out.
public enum BoundedText {
    public static func prefix(_ text: String, maxBytes: Int) -> String {
        let count = text.utf8.count
        guard count > maxBytes else { return text }
        var kept = Substring()
        var used = 0
        for character in text {
            let size = character.utf8.count
            if used + size > maxBytes { break }
            kept.append(character)
            used += size
        }
        return "\(kept)… (\(count - used) more bytes)"
    }
}
