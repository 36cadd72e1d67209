#!/usr/bin/env bash
# Where citygate's resident memory is (issue 17, the peak-RSS goal): the gateway
# on a private broker (the shipped Config/mosquitto.conf), 100 devices, one
# QoS 1 load of COUNT uplinks as load-vs-broker.sh sends them; prints VmHWM
# when ready and after the load, then /proc/PID/smaps summed by mapping (the
# binary, each library, anonymous memory), largest first. Resident memory of
# a mapped file counts every page the kernel mapped around a page touched
# (fault-around, 64 KiB), so code that is called once still counts.
# Usage: [CITYGATE_BIN=path, another build] bash Benchmarks/memory-map.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-50000}"
source scripts/lib.sh
build_release
citygate="${CITYGATE_BIN:-$bin/citygate}"
work="$(mktemp -d /tmp/citygate-memory.XXXXXX)"
start_shipped_broker "$work"
gateway=""
trap 'kill $broker 2>/dev/null || true; [ -n "$gateway" ] && kill $gateway 2>/dev/null; rm -rf "$work"; true' EXIT
write_load_test_config "$work"
http="$(free_port)"
STATE_DIRECTORY="$work/state" "$citygate" run --config "$work/citygate.toml" --broker "mqtt://127.0.0.1:$port" \
    --http-listen "127.0.0.1:$http" --log-level warning 2>>"$work/citygate.log" &
gateway=$!
until curl -sf "http://127.0.0.1:$http/health/ready" >/dev/null 2>&1; do sleep 0.1; done
echo "ready: peak RSS $(awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' /proc/$gateway/status) MiB"
"$bin/citygate-sim" load --broker "mqtt://127.0.0.1:$port" --count "$count" --rate 0 --qos 1 --devices 100 --seed 2 \
    --metrics "http://127.0.0.1:$http/metrics" --drain-timeout 300s --json >/dev/null 2>&1
awk '/VmHWM|RssAnon|RssFile/ { printf "%s %.1f MiB  ", $1, $2 / 1024 } END { print "" }' /proc/$gateway/status
echo "after $count uplinks, resident by mapping:"
python3 - "$gateway" <<'PY'
import collections, re, sys
resident = collections.Counter()
mapping = None
for line in open(f"/proc/{sys.argv[1]}/smaps"):
    if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
        fields = line.split()
        mapping = fields[5] if len(fields) > 5 else "[anonymous]"
    elif line.startswith("Rss:"):
        resident[mapping] += int(line.split()[1])
for name, kib in resident.most_common(16):
    print(f"  {kib / 1024:6.1f} MiB  {name}")
PY
