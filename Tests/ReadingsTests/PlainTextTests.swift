import Foundation
import Readings
import Testing

/// The daemon's stand-ins for full Foundation's string methods (PlainText,
/// PathText, PercentEncoding), checked against Foundation itself, which the
/// tests may link, on the inputs citygate gives them.
@Suite struct PlainTextTests {
    @Test func fixedDecimalsMatchPrintf() {
        let values: [Double] = [0, 1, -1, 0.05, 0.15, 2.675, 12.3456, 999.95, 1e6 + 0.25, 17.0 / 3, -0.04, 1234567.891, 0.5, 1.5, 2.5]
        for value in values {
            for decimals in [0, 1, 2] {
                let printf = String(format: "%.\(decimals)f", value)
                let ours = PlainText.fixed(value, decimals: decimals)
                // printf rounds the exact binary value half to even; ours rounds the
                // scaled double half away from zero. They may differ in the last
                // digit only on a tie, which these figures are not meant to resolve.
                #expect(ours == printf || abs((Double(ours) ?? .nan) - (Double(printf) ?? .nan)) <= pow(10, -Double(decimals)) + 1e-9,
                        "\(value) to \(decimals): \(ours) vs \(printf)")
            }
        }
        #expect(PlainText.fixed(12.3456, decimals: 1) == "12.3")
        #expect(PlainText.fixed(0.04, decimals: 2) == "0.04")
        #expect(PlainText.fixed(-0.04, decimals: 1) == "-0.0")
        #expect(PlainText.fixed(.nan, decimals: 1) == "nan")
        #expect(PlainText.fixed(-.infinity, decimals: 1) == "-inf")
        #expect(PlainText.fixed(1e300, decimals: 2) == String(1e300))
    }

    @Test func trimsAsFoundationDoes() {
        for text in ["", "  ", "\t a b \t", " token\n", "\n\r x \n", "x", " \u{A0}y\u{2003}"] {
            #expect(PlainText.trimmingBlanks(text) == text.trimmingCharacters(in: .whitespaces), "\(text.debugDescription)")
            #expect(PlainText.trimmingWhitespace(text) == text.trimmingCharacters(in: .whitespacesAndNewlines), "\(text.debugDescription)")
        }
    }

    @Test func pathsAsNSStringTreatsThem() {
        for (directory, name) in [("/var/lib/citygate", "citygate.sqlite"), ("/var/lib/citygate/", "a.db"), ("Config", "devices.toml"),
                                  ("", "devices.toml"), ("/", "etc"), (".", "x/y.toml")] {
            #expect(PathText.join(directory, name) == (directory as NSString).appendingPathComponent(name), "\(directory) + \(name)")
        }
        for path in ["/var/lib/citygate/citygate.sqlite", "/a.db", "a.db", "Config/citygate.toml", "/var/lib/citygate/", "/", "./x.toml"] {
            #expect(PathText.directory(of: path) == (path as NSString).deletingLastPathComponent, "\(path)")
            #expect(PathText.lastComponent(of: path) == (path as NSString).lastPathComponent, "\(path)")
        }
    }

    @Test func percentEncodesAsFoundationDoes() {
        let texts = ["urn:ngsi-ld:AirQualityObserved:zone-1", "a b&c=d+e#f", "Ünïcødé €", "'quoted'", "100%", "x/y?z@w", "<p class=\"k\">"]
        var query = CharacterSet.urlQueryAllowed
        query.remove(charactersIn: "&+=#")
        for text in texts {
            #expect(PercentEncoding.encode(text, allowing: PercentEncoding.pathAllowed) == text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed))
            #expect(PercentEncoding.encode(text, allowing: PercentEncoding.queryAllowed.removing("&+=#")) == text.addingPercentEncoding(withAllowedCharacters: query))
            // Foundation's alphanumerics take non-ASCII letters too; ours encode
            // them, which any reader decodes the same.
            let encoded = PercentEncoding.encode(text, allowing: PercentEncoding.alphanumerics)
            #expect(encoded.utf8.allSatisfy { $0 < 128 })
            #expect(PercentEncoding.decode(encoded) == text)
            #expect(encoded.removingPercentEncoding == text)
        }
        #expect(PercentEncoding.decode("a%20b%2Bc") == "a b+c")
        #expect(PercentEncoding.decode("%e2%82%ac") == "€")
        #expect(PercentEncoding.decode("100%") == nil)
        #expect(PercentEncoding.decode("%zz") == nil)
        #expect(PercentEncoding.decode("%FF") == nil)  // not UTF-8
    }
}
