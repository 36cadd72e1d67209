/// Text placed in HTML (the status page, the load report): every character
/// that could end an element or an attribute is written as a reference, so
/// a device name or a hub's error cannot inject markup.
public enum HTMLText {
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}

extension HTMLText {
    /// The look the gateway's pages share (the status page, the load report):
    /// a light page, problems in red and "all well" in green at the top,
    /// figures as cards that wrap on a phone.
    public static let sharedStyle = """
        body{font:15px/1.4 system-ui,sans-serif;margin:0;padding:12px;color:#1b1f23;background:#f6f7f9}
        h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:18px 0 6px}
        .meta{color:#57606a;font-size:13px}
        .problems{background:#fff1f0;border:1px solid #f5a3a0;border-radius:6px;padding:8px 12px;margin:10px 0}
        .ok{background:#effaf1;border:1px solid #9bd3a6;border-radius:6px;padding:8px 12px;margin:10px 0}
        .cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:8px}
        .card{background:#fff;border:1px solid #d8dee4;border-radius:6px;padding:8px}
        .card b{display:block;font-size:20px}
        """
}
