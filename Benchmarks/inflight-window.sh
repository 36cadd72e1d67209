#!/usr/bin/env bash
# Group commit against the broker's in-flight window (issue 17): the shipped
# Config/mosquitto.conf with max_inflight_messages set to each of WINDOWS, the
# gateway as load-vs-broker.sh runs it (100 devices, a clean session), COUNT
# uplinks at QoS 1 flat out from citygate-sim. Per gateway build: uplinks
# committed per second, its CPU per uplink (/proc) and its commits (/metrics
# citygate_store_commit_seconds_count). Only 127.0.0.1; each run stops by itself.
# Usage: [WINDOWS="20 100"] [ROUNDS=2] [CITYGATE_BINS="old/citygate new/citygate"] bash Benchmarks/inflight-window.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-50000}"
source scripts/lib.sh
build_release
work="$(mktemp -d /tmp/citygate-inflight.XXXXXX)"
broker=""; gateway=""
trap 'for p in $gateway $broker; do kill $p 2>/dev/null || true; done; rm -rf "$work"' EXIT
write_load_test_config "$work"
hz="$(getconf CLK_TCK)"
for round in $(seq 1 "${ROUNDS:-2}"); do
    for window in ${WINDOWS:-20 100}; do
        for build in ${CITYGATE_BINS:-$bin/citygate}; do
            port="$(free_port)"; http="$(free_port)"
            sed -e "s/^listener 1883 127.0.0.1/listener $port 127.0.0.1/" -e "s/^max_inflight_messages .*/max_inflight_messages $window/" \
                Config/mosquitto.conf >"$work/mosquitto.conf"
            mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
            broker=$!
            sleep 0.5
            rm -rf "$work/state"
            STATE_DIRECTORY="$work/state" "$build" run --config "$work/citygate.toml" --broker "mqtt://127.0.0.1:$port" \
                --http-listen "127.0.0.1:$http" --log-level warning 2>>"$work/citygate.log" &
            gateway=$!
            until curl -sf "http://127.0.0.1:$http/health/ready" >/dev/null 2>&1; do sleep 0.1; done
            metric() { curl -s "http://127.0.0.1:$http/metrics" | awk -v name="$1" '$1 == name { print $2 }'; }
            ticks_before="$(cpu_ticks $gateway)"; start="$(now)"
            "$bin/citygate-sim" load --broker "mqtt://127.0.0.1:$port" --count "$count" --rate 0 --qos 1 --devices 100 >/dev/null 2>&1
            for _ in $(seq 1 600); do [ "$(metric citygate_uplinks_committed_total)" = "$count" ] && break; sleep 0.05; done
            end="$(now)"; ticks_after="$(cpu_ticks $gateway)"
            commits="$(metric citygate_store_commit_seconds_count)"; committed="$(metric citygate_uplinks_committed_total)"
            python3 -c "print(f'round $round, window $window, $build: {$committed / ($end - $start):,.0f} uplinks/s, '
                         f'CPU {($ticks_after - $ticks_before) / $hz / max($committed, 1) * 1e6:.1f} µs/uplink, commits $commits ($committed committed)')"
            kill $gateway; wait $gateway 2>/dev/null || true; gateway=""
            kill $broker; wait $broker 2>/dev/null || true; broker=""
        done
    done
done
