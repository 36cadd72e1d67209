import FoundationEssentials
import Glibc
import Readings

/// The gateway clock in integer milliseconds.
public enum GatewayClock {
    public static func now() -> EpochMillis {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return EpochMillis(spec.tv_sec) * 1000 + EpochMillis(spec.tv_nsec) / 1_000_000
    }
}
