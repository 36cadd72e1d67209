import Foundation
import Testing

/// `systemd/citygate.service` as systemd itself reads it, where systemd is present.
@Suite struct SystemdUnitTests {
    static let analyzer = "/usr/bin/systemd-analyze"

    /// The shipped unit with ExecStart pointing at the binary under test
    /// (verify checks that the executable exists).
    static func unitCopy() throws -> String {
        let directory = try TestEnvironment.temporaryDirectory("unit")
        let unit = try String(contentsOfFile: TestEnvironment.packageRoot + "/systemd/citygate.service", encoding: .utf8)
            .replacingOccurrences(of: "/usr/bin/citygate", with: TestEnvironment.citygate)
        let path = directory + "/citygate.service"
        try unit.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: analyzer)))
    func theUnitVerifiesAndItsExposureIsLow() throws {
        let unit = try Self.unitCopy()
        let verify = Process()
        verify.executableURL = URL(fileURLWithPath: Self.analyzer)
        // --man=no: the man page is checked where the package installs it
        // (scripts/package-test.sh); this machine need not have it.
        verify.arguments = ["verify", "--man=no", unit]
        let errors = Pipe()
        verify.standardError = errors
        try verify.run()
        let complaints = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        verify.waitUntilExit()
        #expect(verify.terminationStatus == 0 && complaints.isEmpty, "\(complaints)")

        let security = try capture(Self.analyzer, ["security", "--offline=true", unit])
        let text = String(decoding: security.output, as: UTF8.self)
        let line = try #require(text.split(separator: "\n").first { $0.contains("Overall exposure level") })
        let figure = try #require(line.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) })
        #expect(figure <= 2.0, "\(line)")
        let unitText = try String(contentsOfFile: unit, encoding: .utf8)
        for setting in ["Type=notify", "WatchdogSec=", "RestartPreventExitStatus=78", "DynamicUser=yes", "StateDirectory=", "ConfigurationDirectory="] {
            #expect(unitText.contains(setting), "\(setting)")
        }
    }
}
