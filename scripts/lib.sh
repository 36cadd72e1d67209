# Shared by scripts/demo.sh and the Benchmarks/ scripts (sourced from the
# repository root): a release build of both programs, and small helpers.

# Builds citygate and citygate-sim (release) and sets $bin to where they are.
build_release() {
    swift build -c release --product citygate >/dev/null
    swift build -c release --product citygate-sim >/dev/null
    bin="$(swift build -c release --show-bin-path)"
}

# A TCP port on 127.0.0.1 that was free a moment ago.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# Seconds since the epoch, with nanoseconds.
now() { date +%s.%N; }

# User + system CPU of a process so far, in clock ticks (getconf CLK_TCK per second).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# Bytes a process has written and read through system calls so far ("wchar rchar"
# from /proc/PID/io): the store's WAL, checkpoints and page reads.
io_bytes() { awk '/^wchar/ { w = $2 } /^rchar/ { r = $2 } END { print w, r }' "/proc/$1/io"; }

# Runs a command and writes the user + system CPU seconds it (and its
# children) used to FILE, for processes that exit before /proc can be read.
# Usage: cpu_of FILE command [args...]; returns the command's status.
cpu_of() {
    local file="$1"; shift
    python3 -c '
import resource, subprocess, sys
status = subprocess.call(sys.argv[2:])
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write(f"{usage.ru_utime + usage.ru_stime}\n")
sys.exit(status)' "$file" "$@"
}
