#!/usr/bin/env bash
# Uplinks committed per second through citygate against the broker's own
# QoS 1 delivery rate, measured in the same run on this machine:
#   1. ceiling: citygate-sim -> mosquitto -> mosquitto_sub (QoS 1, counts only)
#   2. citygate: citygate-sim -> mosquitto -> citygate (commit before PUBACK)
#   3. the store's commit path alone, and a raw SQLite insert loop
# Same messages (ChirpStack v4 JSON envelopes of the demo district), same
# publisher settings. Release build. Usage: bash Benchmarks/ingest-vs-broker.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-50000}"
source scripts/lib.sh
build_release
work="$(mktemp -d /tmp/citygate-bench.XXXXXX)"
port="$(free_port)"
printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_queued_messages 1000000\nmax_inflight_messages 1000\n' "$port" >"$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
broker=$!
trap 'kill $broker 2>/dev/null || true; kill $gateway 2>/dev/null || true' EXIT
gateway=""
sleep 0.5

# 1. The broker's ceiling at QoS 1.
mosquitto_sub -h 127.0.0.1 -p "$port" -q 1 -t 'application/#' -C "$count" >/dev/null &
subscriber=$!
sleep 0.5
start="$(now)"
"$bin/citygate-sim" run --broker "mqtt://127.0.0.1:$port" --count "$count" --rate 0 --qos 1 >/dev/null
wait "$subscriber"
ceiling_seconds="$(python3 -c "print($(now) - $start)")"

# 2. The same load through citygate, until every uplink is committed.
http="$(free_port)"
STATE_DIRECTORY="$work/state" "$bin/citygate" run --config Config/citygate.toml --broker "mqtt://127.0.0.1:$port" \
    --http-listen "127.0.0.1:$http" --log-level warning 2>"$work/citygate.log" &
gateway=$!
until curl -sf "http://127.0.0.1:$http/health" >/dev/null 2>&1; do sleep 0.1; done
committed() { curl -s "http://127.0.0.1:$http/metrics" | awk '$1 == "citygate_uplinks_committed_total" { print $2 + 0 }'; }
cpu_before="$(cpu_ticks $gateway)"
start="$(now)"
"$bin/citygate-sim" run --broker "mqtt://127.0.0.1:$port" --count "$count" --rate 0 --qos 1 --seed 2 >/dev/null
while [ "$(committed)" -lt "$count" ]; do sleep 0.02; done
gateway_seconds="$(python3 -c "print($(now) - $start)")"
gateway_ticks="$(( $(cpu_ticks $gateway) - cpu_before ))"
rss_kib="$(awk '/VmHWM/ { print $2 }' /proc/$gateway/status)"
kill "$gateway"; wait "$gateway" 2>/dev/null || true

# 3. The store alone (commit path with its redelivery check), and a raw SQLite
#    insert loop, one transaction per message, same disk.
read -r _ store_seconds _ raw_seconds < <("$bin/citygate" benchmark-store --directory "$work/store-bench" --count "$count")
python3 - "$count" "$ceiling_seconds" "$gateway_seconds" "$gateway_ticks" "$(getconf CLK_TCK)" "$rss_kib" "$store_seconds" "$raw_seconds" <<'PY'
import sys
count, ceiling, gateway, ticks, hz, rss = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
store, raw = float(sys.argv[7]), float(sys.argv[8])
print(f"messages:                 {count} ChirpStack v4 uplinks, QoS 1")
print(f"broker ceiling (QoS 1):   {count / ceiling:,.0f} msg/s ({ceiling:.2f} s)")
print(f"citygate committed:       {count / gateway:,.0f} uplinks/s ({gateway:.2f} s)")
print(f"ratio:                    {ceiling / gateway:.2f} of the broker ceiling")
print(f"citygate CPU per uplink:  {ticks / hz / count * 1e6:.1f} µs (user+system)")
print(f"citygate peak RSS:        {rss / 1024:.1f} MiB")
print(f"store commits alone:      {count / store:,.0f} uplinks/s ({store * 1e6 / count:.0f} µs each)")
print(f"raw SQLite insert loop:   {count / raw:,.0f} rows/s ({raw * 1e6 / count:.0f} µs each)")
PY
