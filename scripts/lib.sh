# Shared by scripts/demo.sh and the Benchmarks/ scripts (sourced from the
# repository root): a release build of both programs, and small helpers.

# Builds citygate and citygate-sim (release) and sets $bin to where they are.
# Arguments go to swift build (scripts/package.sh: a scratch path of its own
# and the Swift runtime linked in).
#
# Linked with lld, relative relocations packed (RELR, glibc 2.36+) and each
# function and datum in a section of its own, so the --gc-sections SwiftPM
# already passes drops what nothing calls: 3.4 MiB less resident memory than
# SwiftPM's default (gold, 1.4 MiB of relocations read at every start), measured
# in Benchmarks/RESULTS.md (issue 17). Every release build goes through here:
# other flags in the same scratch path would rebuild everything each time.
#
# The code that runs sits together: the kernel maps code 64 KiB around each
# page touched, and spread over 11 MiB the 1.2 MB that run made 10 MiB of the
# binary resident. lld places the functions scripts/citygate.order lists
# (those that run, in the order they first run; scripts/symbol-order.sh writes
# it) before all others, and scripts/citygate-text.ld gathers the functions
# without a name, which no list can place. Editing either file does not
# relink: remove the binaries first.
scripts_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
release_flags=(-Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections -Xcc -fdata-sections
               -Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs
               -Xlinker "--symbol-ordering-file=$scripts_dir/citygate.order" -Xlinker --no-warn-symbol-ordering
               -Xlinker -T -Xlinker "$scripts_dir/citygate-text.ld")
# A cold build takes minutes: its progress goes to stderr, one line every 10 %
# of the steps, instead of SwiftPM's thousands of lines (or nothing at all).
build_release() {
    local product
    for product in citygate citygate-sim; do
        swift build -c release "${release_flags[@]}" "$@" --product "$product" 2>&1 | awk -v product="$product" '
            match($0, /^\[([0-9]+)\/([0-9]+)\]/) {
                split(substr($0, 2, RLENGTH - 2), step, "/")
                if (step[2] >= 200 && int(step[1] * 10 / step[2]) > shown) {
                    shown = int(step[1] * 10 / step[2])
                    printf "build: %s %d %% (%d of %d steps)\n", product, shown * 10, step[1], step[2] > "/dev/stderr"
                }
                next
            }
            /error:|warning: unre|Compiling.*error/ { print > "/dev/stderr" }
            /^Build (of product .* )?complete/ { printf "build: %s done\n", product > "/dev/stderr" }'
        [[ ${PIPESTATUS[0]} -eq 0 ]] || { echo "build: swift build -c release $* --product $product failed" >&2; return 1; }
    done
    bin="$(swift build -c release "${release_flags[@]}" "$@" --show-bin-path)"
}

# Installs the Debian packages named that are not installed yet (apt-get,
# with sudo unless root). `$1` names who asks, for the one line it prints.
install_missing() {
    local who="$1" package sudo=""
    shift
    local missing=()
    for package in "$@"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    ((${#missing[@]})) || return 0
    echo "$who: installing ${missing[*]}" >&2
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# A TCP port on 127.0.0.1 that was free a moment ago.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# The load test's gateway set-up in work directory $1 (needs $bin): the
# simulator's 100-device fleet (devices.toml) and a citygate.toml that reads
# it. A clean session: a persistent one would have the broker queue the next
# run's messages for a stopped gateway (and hand them to the next run).
write_load_test_config() {
    "$bin/citygate-sim" registry --devices 100 >"$1/devices.toml"
    printf '[gateway]\ndevice_registry = "devices.toml"\n[mqtt]\nclean_session = true\n' >"$1/citygate.toml"
}

# The shipped broker drop-in (Config/mosquitto.conf, its queue limits) on a
# free port, without Debian's main file, so without persistence files. $1: a
# work directory for its config and log. Sets `port` and `broker` (the PID).
start_shipped_broker() {
    port="$(free_port)"
    sed -e "s/^listener 1883 127.0.0.1/listener $port 127.0.0.1/" Config/mosquitto.conf >"$1/mosquitto.conf"
    mosquitto -c "$1/mosquitto.conf" >"$1/mosquitto.log" 2>&1 &
    broker=$!
    sleep 0.5
}

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
