#!/usr/bin/env bash
# The order in which the linker lays out citygate's code (issue 17, peak RSS).
#
# The kernel maps a program's code 64 KiB around every page it touches
# (fault-around). citygate's 11 MiB of code hold about 1.2 MB of functions that
# run, scattered, so 10 MiB of the binary were resident. scripts/citygate.order
# lists the functions that run, in the order they first run (start-up, then
# traffic, windows closing, the HTTP endpoints, a reload, shutdown), and
# build_release (scripts/lib.sh) has lld place them first.
#
#   bash scripts/symbol-order.sh [BINARY...]
#       writes scripts/citygate.order again (after large changes; see --check)
#       from a run of each BINARY, default build_release's. The list in git also
#       ran the package's build (.build-package/release/citygate after
#       scripts/package.sh), which links the Swift runtime in and so adds the
#       runtime's functions.
#   bash scripts/symbol-order.sh --check BINARY
#       how many of the listed functions the package's BINARY still has; fails
#       under 75 % (a build that loads the runtime as a library has about 70 %).
#   bash scripts/symbol-order.sh --trace BINARY OUTPUT ARGS...
#       one run of BINARY ARGS under the tracer; the names of the functions
#       that ran go to OUTPUT, and its exit status is BINARY's (the tracer's
#       own test, Tests/IntegrationTests/FirstCallTraceTests.swift).
#
# How the list is made: a copy of the binary gets an int3 at the first byte of
# every function; scripts/first-call-trace.c runs it under ptrace and writes
# each function's address the first time it runs. The run is the load test's
# (a private broker on the shipped Config/mosquitto.conf, 100 devices) with 5 s
# windows, so windows close and go to the file output during the run. Only
# traffic to 127.0.0.1; it stops by itself in under a minute per binary.
set -euo pipefail
cd "$(dirname "$0")/.."
order="scripts/citygate.order"

if [[ "${1:-}" == --check ]]; then
    binary="${2:?usage: symbol-order.sh --check BINARY}"
    nm --defined-only "$binary" | awk -v order="$order" '
        BEGIN { while ((getline line < order) > 0) if (line !~ /^#/ && line != "" && !(line in listed)) { listed[line] = 1; count++ } }
        ($3 in listed) && !found[$3]++ { present++ }
        END {
            printf "symbol order: %d of the %d functions in %s are in the binary\n", present, count, order
            if (present * 4 < count * 3) { print "symbol order: under 75 %: run bash scripts/symbol-order.sh" > "/dev/stderr"; exit 1 }
        }'
    exit
fi

work="$(mktemp -d /tmp/citygate-order.XXXXXX)"
tracer=""
broker=""
trap '[ -n "$broker" ] && kill $broker 2>/dev/null; [ -n "$tracer" ] && kill $tracer 2>/dev/null; rm -rf "$work"; true' EXIT
cc -O2 -Wall -o "$work/first-call-trace" scripts/first-call-trace.c

# A copy of $1 with an int3 at every .text function's first byte, the list of
# what was patched (one entry per address: aliases share it), and in $2 the
# binary's function symbols (address, type, name) for write_names, from the
# same nm run.
patch_entries() {
    python3 - "$1" "$work/citygate" "$work/entries" "$2" <<'PY'
import subprocess, sys
source, patched, entries, names = sys.argv[1:5]
text = None
for line in subprocess.run(["readelf", "-SW", source], capture_output=True, text=True, check=True).stdout.splitlines():
    fields = line.split("]", 1)[-1].split()
    if fields[:1] == [".text"]:
        text = (int(fields[2], 16), int(fields[3], 16), int(fields[4], 16))  # address, offset, size
address0, offset0, size = text
image = bytearray(open(source, "rb").read())
done = set()
with open(entries, "w") as out, open(names, "w") as named:
    for line in subprocess.run(["nm", "-S", "--defined-only", source], capture_output=True, text=True, check=True).stdout.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[1] in "tTwW":  # no size: named, not patched
            named.write(line + "\n")
        if len(fields) < 4 or fields[2] not in "tTwW":
            continue
        named.write(f"{fields[0]} {fields[2]} {fields[3]}\n")
        address, length = int(fields[0], 16), int(fields[1], 16)
        if length == 0 or not address0 <= address < address0 + size or address in done:
            continue
        done.add(address)
        offset = address - address0 + offset0
        out.write(f"{address:x} {image[offset]:x}\n")
        image[offset] = 0xCC
open(patched, "wb").write(image)
PY
    chmod +x "$work/citygate"
}

# Writes $1: the names of the functions that ran, in first-call order, from
# runs of the binaries $2... (each $work/called.N, with $work/names.N, the
# function symbols of binary N): the first binary's functions, then what the others add.
write_names() {
    python3 - "$@" <<'PY'
import sys
order, work, traced = sys.argv[1], sys.argv[2], int(sys.argv[3])
written, seen = [], set()  # a local name can be several functions' (lld places them all)
for index in range(traced):
    names = {}
    for line in open(f"{work}/names.{index}"):
        fields = line.split()
        if len(fields) == 3 and fields[1] in "tTwW":
            names.setdefault(int(fields[0], 16), []).append(fields[2])
    for line in open(f"{work}/called.{index}"):
        for name in names.get(int(line, 16), []):
            if name not in seen:
                seen.add(name)
                written.append(name)
with open(order, "w") as out:
    if order.endswith(".order"):
        out.write("# The functions citygate runs, in the order they first run; lld places them first\n"
                  "# (--symbol-ordering-file in scripts/lib.sh). Written by scripts/symbol-order.sh.\n")
    out.writelines(name + "\n" for name in written)
print(f"symbol order: {len(written)} functions written to {order}")
PY
}

# --trace BINARY OUTPUT ARGS...: one run of BINARY with ARGS under the tracer,
# its functions' names to OUTPUT (for the tests of the tracer itself).
if [[ "${1:-}" == --trace ]]; then
    binary="${2:?usage: symbol-order.sh --trace BINARY OUTPUT ARGS...}"
    output="${3:?usage: symbol-order.sh --trace BINARY OUTPUT ARGS...}"
    shift 3
    patch_entries "$binary" "$work/names.0"
    status=0
    "$work/first-call-trace" "$work/entries" "$work/called.0" "$work/citygate" "$@" || status=$?
    write_names "$output" "$work" 1
    exit "$status"
fi

source scripts/lib.sh
build_release
binaries=("$@")
((${#binaries[@]})) || binaries=("$bin/citygate")
start_shipped_broker "$work"
write_load_test_config "$work"

# The patched copy's run: start-up, QoS 1 and QoS 0 loads, a window closing,
# the HTTP endpoints, a reload, more traffic, shutdown. Writes $1: the
# addresses of the functions that ran, in first-call order.
trace_run() {
    local http gateway
    http="$(free_port)"
    rm -rf "$work/state"
    STATE_DIRECTORY="$work/state" "$work/first-call-trace" "$work/entries" "$1" "$work/citygate" run \
        --config "$work/citygate.toml" --broker "mqtt://127.0.0.1:$port" --http-listen "127.0.0.1:$http" \
        --window 5s --log-level info 2>>"$work/citygate.log" &
    tracer=$!
    for _ in $(seq 300); do curl -sf "http://127.0.0.1:$http/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done
    gateway="$(pgrep -P "$tracer" || true)"
    if [[ -z "$gateway" ]] || ! curl -sf "http://127.0.0.1:$http/health/ready" >/dev/null 2>&1; then
        echo "symbol order: citygate did not get ready under the tracer within 30 s:" >&2
        tail -5 "$work/citygate.log" >&2
        exit 1
    fi
    echo "symbol order: ready, $(wc -l <"$1") functions so far"
    for qos in 1 0; do
        "$bin/citygate-sim" load --broker "mqtt://127.0.0.1:$port" --count 20000 --rate 0 --qos "$qos" --devices 100 --seed 2 \
            --metrics "http://127.0.0.1:$http/metrics" --drain-timeout 120s --json >/dev/null
    done
    sleep 6 # a window closes
    for path in metrics api/status "" health/live health/ready; do curl -sf "http://127.0.0.1:$http/$path" >/dev/null; done
    kill -HUP "$gateway"
    sleep 2
    "$bin/citygate-sim" load --broker "mqtt://127.0.0.1:$port" --count 2000 --rate 0 --qos 1 --devices 100 --seed 3 \
        --metrics "http://127.0.0.1:$http/metrics" --drain-timeout 120s --json >/dev/null
    sleep 6
    kill -TERM "$gateway"
    wait "$tracer" || { echo "symbol order: citygate did not stop cleanly under the tracer:" >&2; tail -5 "$work/citygate.log" >&2; exit 1; }
    tracer=""
}

traced=0
for binary in "${binaries[@]}"; do
    echo "symbol order: tracing $binary"
    patch_entries "$binary" "$work/names.$traced"
    trace_run "$work/called.$traced"
    traced=$((traced + 1))
done

# The package's build links the Swift runtime in, so its run names the
# runtime's functions too.
write_names "$order" "$work" "$traced"
