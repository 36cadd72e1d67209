import Foundation
import Testing

/// What the running daemon has in memory, read from /proc.
@Suite struct FootprintTests {
    /// citygate links FoundationEssentials, not full Foundation: Foundation,
    /// FoundationInternationalization and the ICU data they load were about
    /// 8 MiB of the daemon's resident memory (issue 17, Benchmarks/RESULTS.md).
    /// A dependency's default trait (Hummingbird's "FullFoundation") or one
    /// `import Foundation` would bring them back; the source layout test
    /// catches the second, only the process itself shows the first.
    @Test func theRunningDaemonMapsNoFullFoundation() async throws {
        let gateway = try TestEnvironment.gatewayWithNoBroker(TestEnvironment.temporaryDirectory("footprint"))
        #expect(await gateway.waitForLog("cannot connect to the broker yet", timeout: .seconds(20)), "\(gateway.log)")
        // /proc files say they are empty: read to the end, not by their size.
        let file = try #require(FileHandle(forReadingAtPath: "/proc/\(gateway.process.processIdentifier)/maps"))
        let maps = String(decoding: file.readDataToEndOfFile(), as: UTF8.self)
        let libraries = Set(maps.split(separator: "\n").compactMap { line in
            line.split(separator: " ", omittingEmptySubsequences: true).last.map(String.init)
        }.filter { $0.contains(".so") })
        // The check reads a real map: the Swift runtime and FoundationEssentials are in it.
        #expect(libraries.contains { $0.hasSuffix("/libswiftCore.so") }, "\(libraries.sorted())")
        #expect(libraries.contains { $0.hasSuffix("/libFoundationEssentials.so") }, "\(libraries.sorted())")
        let full = libraries.filter { $0.hasSuffix("/libFoundation.so") || $0.contains("FoundationInternationalization") || $0.contains("FoundationICU") }
        #expect(full.isEmpty, "the daemon maps \(full.sorted())")
        #expect(await gateway.stop(grace: .seconds(20)) == 0)
    }
}
