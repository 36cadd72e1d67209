#!/usr/bin/env bash
# The main job, end to end on one machine: a private mosquitto on a free
# loopback port, citygate on the shipped Config/ defaults (with 10-second
# windows so aggregates appear during the demo), and citygate-sim playing the
# demo district for about a minute. Prints a summary and stops everything.
#
#   DEMO_COUNT=600 DEMO_RATE=10 bash scripts/demo.sh
#   DEMO_KEEP=1 bash scripts/demo.sh     # keep the broker, gateway and aggregate files after it
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
echo "demo: building (release)..." >&2
source scripts/lib.sh
build_release

count="${DEMO_COUNT:-600}"
rate="${DEMO_RATE:-10}"
demo="$(mktemp -d /tmp/citygate-demo.XXXXXX)"
mqtt_port="$(free_port)"
http_port="$(free_port)"

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ "${DEMO_KEEP:-0}" == 1 ]]; then
        echo "demo: kept $demo (database, aggregate files, logs); remove it when done" >&2
    else
        rm -rf "$demo"
        echo "demo: removed $demo (DEMO_KEEP=1 keeps it)" >&2
    fi
}
trap cleanup EXIT

cat >"$demo/mosquitto.conf" <<CONF
listener $mqtt_port 127.0.0.1
allow_anonymous true
persistence true
persistence_location $demo/
max_queued_messages 100000
CONF
mosquitto -c "$demo/mosquitto.conf" >"$demo/mosquitto.log" 2>&1 &
pids+=($!)

STATE_DIRECTORY="$demo/state" "$bin/citygate" run --config Config/citygate.toml \
    --broker "mqtt://127.0.0.1:$mqtt_port" --http-listen "127.0.0.1:$http_port" --window 10s \
    2>"$demo/citygate.log" &
gateway=$!
pids=("$gateway" "${pids[@]}")   # stop the gateway before the broker

for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$http_port/health" >/dev/null 2>&1 && break
    sleep 0.1
done
echo "demo: broker mqtt://127.0.0.1:$mqtt_port, gateway metrics http://127.0.0.1:$http_port/metrics" >&2
echo "demo: publishing $count uplinks at $rate/s ($((count / rate)) s)..." >&2
"$bin/citygate-sim" run --broker "mqtt://127.0.0.1:$mqtt_port" --count "$count" --rate "$rate"

echo "demo: waiting for the last windows to close..." >&2
sleep 14
metric() { curl -s "http://127.0.0.1:$http_port/metrics" | awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $2 } END { print s + 0 }'; }
received="$(metric citygate_uplinks_received_total)"
readings="$(metric citygate_readings_stored_total)"
forwarded="$(metric citygate_aggregates_forwarded_total)"
withheld="$(metric citygate_aggregates_suppressed_total)"
quarantined="$(metric citygate_uplinks_quarantined_total)"
kill -TERM "$gateway"
wait "$gateway" || true

echo
echo "citygate demo summary"
echo "  uplinks received     $received"
echo "  readings stored      $readings"
echo "  quarantined          $quarantined"
echo "  aggregates forwarded $forwarded to the file output"
echo "  aggregates withheld  $withheld: per-home damp windows never go to a public output (privacy);"
echo "                       so \"aggregates\" below (every window closed) is more than \"delivered\""
"$bin/citygate" status --config Config/citygate.toml --database "$demo/state/citygate.sqlite" | sed 's/^/  /'
echo "  first aggregate:"
head -n 1 "$demo"/state/aggregates/*.ndjson | sed 's/^/    /'
