import BuildInfo
import FoundationEssentials
import Glibc

/// The standard `process_*` metrics Prometheus clients export, read from
/// `/proc/self` at scrape time, and `citygate_build_info`. Text in the
/// exposition format, appended to the registry's.
enum ProcessMetrics {
    static func exposition() -> String {
        var text = """
            # HELP citygate_build_info The build: version and git commit (always 1)
            # TYPE citygate_build_info gauge
            citygate_build_info{version="\(BuildInfo.version)",commit="\(BuildInfo.commit)"} 1

            """
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") {
            // After the command name in parentheses (which may hold spaces):
            // field 3 is the state, so utime (14) is at 11, stime (15) at 12, starttime (22) at 19.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 19, let user = Double(fields[11]), let system = Double(fields[12]), let start = Double(fields[19]), ticks > 0 {
                text += sample("process_cpu_seconds_total", "counter", "User and system CPU time spent in seconds", (user + system) / ticks)
                if let boot = bootTime() { text += sample("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds", boot + start / ticks) }
            }
        }
        if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
            let pages = statm.split(separator: " ")
            if pages.count > 1, let resident = Double(pages[1]) {
                text += sample("process_resident_memory_bytes", "gauge", "Resident memory size in bytes", resident * Double(sysconf(Int32(_SC_PAGESIZE))))
            }
        }
        if let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            text += sample("process_open_fds", "gauge", "Number of open file descriptors", Double(descriptors.count))
        }
        return text
    }

    /// When the machine booted (`btime` in /proc/stat), seconds since the epoch.
    static func bootTime() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        return stat.split(separator: "\n").first { $0.hasPrefix("btime ") }.flatMap { Double($0.dropFirst(6)) }
    }

    static func sample(_ name: String, _ type: String, _ help: String, _ value: Double) -> String {
        "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
    }
}
