import Foundation
import Testing

/// The tracer behind scripts/citygate.order, the list of functions the release
/// link places together (issue 17, peak RSS): scripts/first-call-trace.c runs a
/// copy of citygate with an int3 on every function's first byte and notes each
/// function the first time it traps. A tracer that noted too little would make
/// the next list leave running code scattered (memory, not correctness, so no
/// other test would notice); one that noted everything would order nothing.
@Suite struct FirstCallTraceTests {
    /// `citygate --version` under the tracer: the entry points and the build
    /// line's function ran, a hub's delivery did not, and the program's own
    /// output and exit status come through.
    @Test func theTracerNamesTheFunctionsThatRanAndOnlyThose() throws {
        let directory = try TestEnvironment.temporaryDirectory("first-call-trace")
        let names = directory + "/names"
        let traced = try capture("/bin/bash", [TestEnvironment.packageRoot + "/scripts/symbol-order.sh", "--trace", TestEnvironment.citygate, names, "--version"])
        let direct = try capture(TestEnvironment.citygate, ["--version"])
        #expect(traced.status == 0)
        let printed = String(decoding: traced.output, as: UTF8.self)
        #expect(printed.contains(String(decoding: direct.output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)), "\(printed)")
        let ran = Set(try String(contentsOfFile: names, encoding: .utf8).split(separator: "\n").map(String.init))
        #expect(ran.contains("citygate_main"), "\(ran.count) names")
        #expect(ran.contains("main"))
        // BuildInfo.line, the version line's text.
        #expect(ran.contains { $0.hasPrefix("$s9BuildInfoAAO4line") }, "\(ran.filter { $0.contains("BuildInfo") })")
        // The hubs' code is in the binary, and did not run.
        let all = String(decoding: try capture("/usr/bin/nm", ["--defined-only", TestEnvironment.citygate]).output, as: UTF8.self)
        #expect(all.contains("SensorThingsHub") && all.contains("NGSILDHub"))
        #expect(!ran.contains { $0.contains("SensorThingsHub") || $0.contains("NGSILDHub") }, "\(ran.filter { $0.contains("Hub") })")
        // It is a list of what ran, not of everything: the binary has many times more.
        let functions = all.split(separator: "\n").count
        #expect(ran.count > 100 && ran.count * 10 < functions, "\(ran.count) of \(functions)")
    }

    /// A run that fails fails under the tracer too: the script that writes the
    /// list stops when the traced daemon did not exit cleanly.
    @Test func theProgramsExitStatusComesThrough() throws {
        let directory = try TestEnvironment.temporaryDirectory("first-call-trace-status")
        let arguments = ["check-config", "--config", directory + "/missing.toml"]
        let direct = try capture(TestEnvironment.citygate, arguments)
        let traced = try capture("/bin/bash", [TestEnvironment.packageRoot + "/scripts/symbol-order.sh", "--trace", TestEnvironment.citygate, directory + "/names"] + arguments)
        #expect(direct.status != 0)
        #expect(traced.status == direct.status)
    }
}
