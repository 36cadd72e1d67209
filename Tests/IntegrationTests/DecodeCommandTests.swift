import Foundation
import Testing

/// `citygate decode` runs the daemon's own pipeline (`UplinkPipeline`): what
/// the daemon would quarantine, it refuses with the same reason.
@Suite struct DecodeCommandTests {
    func citygate(_ arguments: [String]) async throws -> (status: Int32?, output: String) {
        let directory = try TestEnvironment.temporaryDirectory("decode")
        let process = try ManagedProcess(TestEnvironment.citygate, arguments + ["--config", TestEnvironment.packageRoot + "/Config/citygate.toml"],
                                         directory: directory, logName: "decode.log")
        let status = await process.waitForExit(timeout: .seconds(30))
        return (status, process.log)
    }

    @Test func aPayloadDecodesAsTheDaemonWould() async throws {
        let good = try await citygate(["decode", "--codec", "elsys", "0100E202290400270506060308"])
        #expect(good.status == 0)
        #expect(good.output.contains(#"{"metric":"temperature","value":"22.60","unit":"CEL","symbol":"°C"}"#), "\(good.output)")
        // 150.10 °C is past the plausible range: the daemon quarantines it as implausible.
        let hot = try await citygate(["decode", "--codec", "elsys", "0105DD"])
        #expect(hot.status == 1)
        #expect(hot.output.contains("cannot decode: implausible: elsys: temperature = 150.10 °C is outside the plausible range"), "\(hot.output)")
    }

    @Test func anEnvelopeGoesThroughRegistryCodecAndWindow() async throws {
        let capture = TestEnvironment.packageRoot + "/Tests/CodecsTests/Fixtures/envelopes/chirpstack_v4/up_real_capture_cn470_2gateways_vendor_rawData.json"
        let decoded = try await citygate(["decode", "--envelope", "chirpstack", capture, "--codec", "an:an-303"])
        #expect(decoded.status == 0)
        #expect(decoded.output.contains(#""device":"ffffff200000b703","fCnt":18230,"fPort":210,"codec":"an:an-303""#), "\(decoded.output)")
        #expect(decoded.output.contains(#"{"metric":"temperature","value":"25.68","unit":"CEL","symbol":"°C","time":"#), "\(decoded.output)")
        let unknown = try await citygate(["decode", "--envelope", "chirpstack", capture])
        #expect(unknown.status == 1 && unknown.output.contains("device ffffff200000b703 is not in the registry"), "\(unknown.output)")
    }
}

/// `--version` names the release, the git commit and the build date, embedded
/// at build time (issue 18, item 4).
@Suite struct VersionTests {
    @Test func bothBinariesSayWhichBuildTheyAre() throws {
        let commit = String(decoding: try capture("/usr/bin/git", ["-C", TestEnvironment.packageRoot, "rev-parse", "--short", "HEAD"]).output,
                            as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        for binary in [TestEnvironment.citygate, TestEnvironment.simulator] {
            let run = try capture(binary, ["--version"])
            let line = String(decoding: run.output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(run.status == 0)
            #expect(line.wholeMatch(of: /0\.2\.0 \(commit ([0-9a-f]{7,}|unknown), built \d{4}-\d\d-\d\d\)/) != nil, "\(line)")
            if !commit.isEmpty { #expect(line.contains("commit \(commit),"), "\(line) vs HEAD \(commit)") }
        }
    }
}
