#!/usr/bin/env bash
# A city's registry (issue 17), on this machine, release build:
#   1. check-config on registries of 20,000, 40,000 and 100,000 devices (and an
#      empty one): time and peak RSS
#   2. `run` with the empty, the 100,000-device and the city-100k registry:
#      ready after, RSS once ready
#   3. CPU per uplink flat out with 100 devices sending against 100,000 devices
#      sending (each gateway registered for its fleet), interleaved, ROUNDS times;
#      the 100,000 in device order, and out of step as a city's are (--jitter)
#   4. three SIGHUP reloads of the 100,000-device registry under 5,000 uplinks/s:
#      how long each took, and commits that waited longer than 200 ms
#   5. the city-100k scenario (faults included) flat out: loss, CPU per uplink
# Usage: [ROUNDS=2] [CITYGATE_BIN=path, to compare another build] [STEPS=cpu, step 3 alone]
#        bash Benchmarks/registry-scale.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-50000}"
rounds="${ROUNDS:-2}"
source scripts/lib.sh
build_release
gateway_bin="${CITYGATE_BIN:-$bin/citygate}"
steps="${STEPS:-all}"
work="$(mktemp -d /tmp/citygate-registry.XXXXXX)"
start_shipped_broker "$work"
gateway=""
trap 'kill $broker 2>/dev/null || true; [ -n "$gateway" ] && kill $gateway 2>/dev/null; true' EXIT

config() {  # $1: registry name; the city scenario sends on ChirpStack, TTS and NB-IoT topics
    printf '[gateway]\ndevice_registry = "%s.toml"\n[mqtt]\nclean_session = true\n' "$1"
    printf '[[mqtt.subscription]]\ntopic = "%s"\nenvelope = "%s"\n' "application/+/device/+/event/+" chirpstack "v3/+/devices/+/up" tts "nbiot/+" nbiot
}
registry() {  # $1: name, then citygate-sim registry arguments; writes $work/$1.toml and its config
    local name="$1"; shift
    "$bin/citygate-sim" registry "$@" >"$work/$name.toml"
    config "$name" >"$work/$name.config.toml"
}
printf '# no devices\n' >"$work/empty.toml"
config empty >"$work/empty.config.toml"
registry d100 --devices 100
for n in 20000 40000 100000; do registry "d$n" --devices "$n"; done
registry city --scenario Simulator/scenarios/city-100k.toml

if [ "$steps" = all ]; then
echo "registry: check-config (time, peak RSS)"
base=""
for name in empty d20000 d40000 d100000 city; do
    /usr/bin/time -o "$work/time" -f '%e %M' "$gateway_bin" check-config --config "$work/$name.config.toml" >/dev/null 2>&1 || true
    read -r seconds kib <"$work/time"
    [ -z "$base" ] && base="$kib"
    printf '    %-8s %6.2f s, peak RSS %6.1f MiB (+%.1f MiB over no devices)\n' "$name" "$seconds" "$(echo "$kib / 1024" | bc -l)" "$(echo "($kib - $base) / 1024" | bc -l)"
done
fi

start_gateway() {  # $1: registry name; sets gateway and http (call it in this shell, not in $(...)); prints "ready_seconds rss_kib"
    http="$(free_port)"
    rm -rf "$work/state"
    local started; started="$(now)"
    STATE_DIRECTORY="$work/state" "$gateway_bin" run --config "$work/$1.config.toml" --broker "mqtt://127.0.0.1:$port" \
        --http-listen "127.0.0.1:$http" --log-level notice 2>>"$work/citygate-$1.log" &
    gateway=$!
    until curl -sf "http://127.0.0.1:$http/health/ready" >/dev/null 2>&1; do sleep 0.05; done
    echo "$(python3 -c "print(round($(now) - $started, 2))") $(awk '/VmRSS/ { print $2 }' /proc/$gateway/status)"
}
stop_gateway() { kill "$gateway"; wait "$gateway" 2>/dev/null || true; gateway=""; }


if [ "$steps" = all ]; then
echo "run: ready after, RSS once ready"
for name in empty d100000 city; do
    start_gateway "$name" >"$work/ready"
    read -r ready rss <"$work/ready"
    # Stopped and waited for: two gateways with one client id would take the session from each other.
    stop_gateway
    printf '    %-8s ready after %5.2f s, RSS %6.1f MiB\n' "$name" "$ready" "$(echo "$rss / 1024" | bc -l)"
done
fi

load() {  # $1: registry name, then load arguments; prints the report's JSON
    local name="$1"; shift
    start_gateway "$name" >/dev/null
    "$bin/citygate-sim" load --broker "mqtt://127.0.0.1:$port" --metrics "http://127.0.0.1:$http/metrics" --drain-timeout 300s --json "$@" 2>/dev/null || true
    stop_gateway
}

echo "CPU per uplink flat out, $count uplinks, QoS 1 (process CPU of the gateway over the run / uplinks stored)"
for round in $(seq 1 "$rounds"); do
    small="$(load d100 --count "$count" --rate 0 --devices 100)"
    large="$(load d100000 --count "$count" --rate 0 --devices 100000)"
    # The same fleet out of step, as a city's devices are: without --jitter
    # each round goes in device order (Benchmarks/RESULTS.md, ninth step).
    scattered="$(load d100000 --count "$count" --rate 0 --devices 100000 --jitter 60s)"
    python3 - "$round" "$small" "$large" "$scattered" <<'PY'
import json, sys
round_, small, large, scattered = sys.argv[1], *(json.loads(a or "{}") for a in sys.argv[2:5])
def cpu(report): return report.get("gateway", {}).get("cpu_us_per_uplink")
a, b, c = cpu(small), cpu(large), cpu(scattered)
def ratio(x): return f"{x / a:.2f}" if a and x else "?"
print(f"    round {round_}: 100 devices {a} µs/uplink (loss {small.get('loss')}), 100,000 devices {b} µs/uplink (loss {large.get('loss')}); ratio {ratio(b)}")
print(f"    round {round_}: 100,000 devices out of step (--jitter 60s) {c} µs/uplink (loss {scattered.get('loss')}); ratio {ratio(c)}")
PY
done

[ "$steps" = all ] || exit 0
echo "SIGHUP: three reloads of 100,000 devices under 5,000 uplinks/s"
start_gateway d100000 >/dev/null
"$bin/citygate-sim" load --broker "mqtt://127.0.0.1:$port" --metrics "http://127.0.0.1:$http/metrics" --drain-timeout 120s --json \
    --count 60000 --rate 5000 --devices 100000 >"$work/sighup.json" 2>/dev/null &
publisher=$!
sleep 2
for _ in 1 2 3; do kill -HUP "$gateway"; sleep 3; done
wait "$publisher" || true
metrics="$(curl -s "http://127.0.0.1:$http/metrics")"
stop_gateway
reloads="$(grep -o 'configuration reloaded.*seconds=[0-9.]*' "$work/citygate-d100000.log" | grep -o 'seconds=[0-9.]*' | cut -d= -f2 | paste -sd, -)"
total="$(echo "$metrics" | awk '/^citygate_store_commit_seconds_count/ { print $2 }')"
within="$(echo "$metrics" | awk -F'[ ]' '/^citygate_store_commit_seconds_bucket\{le="0.2"\}/ { print $2 }')"
echo "    reloads took ${reloads} s; commits ${total}, over 200 ms $((total - within)); loss $(python3 -c "import json; print(json.load(open('$work/sighup.json')).get('loss'))")"

echo "city-100k scenario (faults included), $count uplinks flat out"
city="$(load city --count "$count" --rate 0 --scenario Simulator/scenarios/city-100k.toml)"
python3 - "$city" <<'PY'
import json, sys
r = json.loads(sys.argv[1] or "{}")
g = r.get("gateway", {})
print(f"    loss {r.get('loss')}; stored {g.get('stored')}, quarantined {g.get('quarantined')}, duplicates {g.get('duplicates')}; "
      f"faults {r.get('faults')}; CPU {g.get('cpu_us_per_uplink')} µs/uplink")
PY
