import Foundation
import Testing

/// The layout rules of `../shared/DESIGN.md` ("Target layout"), read off the
/// source tree so later work keeps them: file sizes, and which modules the
/// pure stages may import.
@Suite struct SourceLayoutTests {
    /// The repository root, from this file's place in `Tests/LayoutTests/`.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every `.swift` file under `folder` (relative to the root), with its text.
    static func swiftFiles(under folder: String) throws -> [(path: String, text: String)] {
        let base = root.appendingPathComponent(folder)
        guard let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else { return [] }
        var files: [(String, String)] = []
        for case let url as URL in walker where url.pathExtension == "swift" {
            files.append((String(url.path.dropFirst(root.path.count + 1)), try String(contentsOf: url, encoding: .utf8)))
        }
        return files.sorted { $0.0 < $1.0 }
    }

    /// Lines as `wc -l` counts them.
    static func lineCount(_ text: String) -> Int { text.utf8.reduce(0) { $1 == 10 ? $0 + 1 : $0 } }

    /// The modules a file imports (`import X`, `@testable import X`, `import struct X.Y`, ...).
    static func imports(_ text: String) -> Set<String> {
        var modules: Set<String> = []
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ").filter { !$0.hasPrefix("@") }
            guard let first = words.first, first == "import", words.count >= 2 else { continue }
            let kinds: Set<Substring> = ["struct", "class", "enum", "protocol", "func", "var", "let", "typealias"]
            let target = kinds.contains(words[1]) && words.count >= 3 ? words[2] : words[1]
            modules.insert(String(target.split(separator: ".").first ?? target))
        }
        return modules
    }

    @Test func theTreeIsWhereTheseTestsLook() throws {
        // A wrong root would make every other test here pass on nothing.
        #expect(try Self.swiftFiles(under: "Sources/Store").count >= 8)
        #expect(try Self.swiftFiles(under: "Simulator").count >= 8)
    }

    @Test func noSwiftFileIsOver400Lines() throws {
        for folder in ["Sources", "Simulator"] {
            for file in try Self.swiftFiles(under: folder) {
                #expect(Self.lineCount(file.text) <= 400, "\(file.path) has \(Self.lineCount(file.text)) lines; split it by concern")
            }
        }
    }

    @Test func noStoreFileIsOverAbout250Lines() throws {
        for file in try Self.swiftFiles(under: "Sources/Store") {
            #expect(Self.lineCount(file.text) <= 260, "\(file.path) has \(Self.lineCount(file.text)) lines; one ledger per file")
        }
    }

    /// Pure stages do no I/O: they import none of the modules that do.
    @Test func pureModulesImportNoIOModule() throws {
        let forbidden: Set<String> = ["Store", "MQTT", "Hubs", "Gateway", "CSQLite", "CLZ4", "CMosquitto", "AsyncHTTPClient",
                                      "NIO", "NIOCore", "NIOPosix", "NIOHTTP1", "NIOSSL", "NIOFoundationCompat"]
        for module in ["Readings", "Codecs", "Uplink", "Aggregation", "TOML"] {
            let files = try Self.swiftFiles(under: "Sources/" + module)
            #expect(!files.isEmpty, "no sources for \(module)")
            for file in files {
                let bad = Self.imports(file.text).filter { forbidden.contains($0) || $0.hasPrefix("NIO") }
                #expect(bad.isEmpty, "\(file.path) is in a pure module and imports \(bad.sorted())")
            }
        }
    }

    /// The store imports only the core module (and SQLite, LZ4 for raw
    /// messages, and the standard library).
    @Test func theStoreImportsOnlyTheCore() throws {
        let allowed: Set<String> = ["Readings", "CSQLite", "CLZ4", "FoundationEssentials", "Glibc", "Synchronization"]
        for file in try Self.swiftFiles(under: "Sources/Store") {
            let extra = Self.imports(file.text).subtracting(allowed)
            #expect(extra.isEmpty, "\(file.path) imports \(extra.sorted())")
        }
    }

    /// The daemon links FoundationEssentials, not full Foundation: Foundation
    /// and the ICU data it brings cost about 8 MiB of resident memory (issue
    /// 17). Readings' PlainText, PathText and PercentEncoding stand in for the
    /// few calls that needed it. The simulator may use it.
    @Test func theDaemonImportsNoFullFoundation() throws {
        for module in ["Readings", "TOML", "Codecs", "Aggregation", "Uplink", "MQTT", "Store", "Hubs", "Gateway", "BuildInfo", "citygate"] {
            for file in try Self.swiftFiles(under: "Sources/" + module) {
                let full = Self.imports(file.text).filter { $0 == "Foundation" || $0 == "FoundationNetworking" }
                #expect(full.isEmpty, "\(file.path) imports \(full.sorted()); the daemon links FoundationEssentials only")
            }
        }
    }

    @Test func importsAreReadAsWritten() {
        #expect(Self.imports("import Foundation\n@testable import Store\nimport struct NIOCore.ByteBuffer\n// import MQTT\n")
                == ["Foundation", "Store", "NIOCore"])
        #expect(Self.lineCount("a\nb\n") == 2)
    }
}
