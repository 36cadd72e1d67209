#!/usr/bin/env bash
# The main job, end to end on one machine: a private mosquitto on a free
# loopback port, citygate on the shipped Config/ defaults (with 10-second
# windows so aggregates appear during the demo), and citygate-sim playing the
# demo district for about a minute. Prints a summary and stops everything.
#
#   DEMO_COUNT=600 DEMO_RATE=10 bash scripts/demo.sh
#   DEMO_KEEP=1 bash scripts/demo.sh     # keep the aggregate files, logs and the hub after it
#   DEMO_HUB=1 bash scripts/demo.sh      # also a real SensorThings server (made in .venv-hub)
#
# When the tests' Python venv exists (.venv-hub, made by scripts/test.sh), or
# with DEMO_HUB=1, the aggregates also go to a real OGC SensorThings server
# (django-ogc-sensorthings, on a free loopback port), and the summary gives
# the URL that lists the Observations it holds.
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
hub_pid=""
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ "${DEMO_KEEP:-0}" == 1 ]]; then
        echo "demo: kept $demo (database, aggregate files, logs); remove it when done" >&2
        [[ -n "$hub_pid" ]] && echo "demo: the SensorThings server is still up at $hub_root (stop it: kill $hub_pid)" >&2
    else
        [[ -n "$hub_pid" ]] && { kill -TERM "$hub_pid" 2>/dev/null || true; wait "$hub_pid" 2>/dev/null || true; }
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

# The shipped config; with a real hub, a copy with two [[hub]] tables added:
# the file output it has by default, and the SensorThings server.
config=Config/citygate.toml
if [[ "${DEMO_HUB:-0}" == 1 ]]; then bash scripts/hub-venv.sh; fi
if [[ -x .venv-hub/bin/python ]] && .venv-hub/bin/python -c "import sensorthings" 2>/dev/null; then
    hub_port="$(free_port)"
    hub_root="http://127.0.0.1:$hub_port/sensorthings/v1.1"
    project=Tests/IntegrationTests/Fixtures/sensorthings_hub
    export CITYGATE_HUB_DB="$demo/hub.sqlite" CITYGATE_HUB_URL="http://127.0.0.1:$hub_port"
    .venv-hub/bin/python "$project/manage.py" migrate -v 0 >"$demo/hub.log" 2>&1
    .venv-hub/bin/python "$project/manage.py" runserver "127.0.0.1:$hub_port" --noreload >>"$demo/hub.log" 2>&1 &
    hub_pid=$!
    mkdir -p "$demo/config"
    cp -r Config/citygate.toml Config/devices.toml Config/codecs "$demo/config/"
    cat >>"$demo/config/citygate.toml" <<HUBS

[[hub]]
name = "file"
kind = "file"
url = "$demo/state/aggregates"

# django-ogc-sensorthings takes phenomenonTime instants only (README "Hubs").
[[hub]]
name = "opendata"
kind = "sensorthings"
url = "$hub_root"
phenomenon_time = "instant"
HUBS
    config="$demo/config/citygate.toml"
    for _ in $(seq 1 100); do
        curl -sf "$hub_root/Things" >/dev/null 2>&1 && break
        sleep 0.2
    done
    echo "demo: SensorThings server $hub_root (django-ogc-sensorthings)" >&2
fi

STATE_DIRECTORY="$demo/state" "$bin/citygate" run --config "$config" \
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
destinations="to the file output"
[[ -n "$hub_pid" ]] && destinations="to the file output and the SensorThings server together"
echo "  aggregates forwarded $forwarded $destinations"
echo "  aggregates withheld  $withheld: per-home damp windows never go to a public output (privacy);"
echo "                       so \"aggregates\" below (every window closed) is more than \"delivered\""
"$bin/citygate" status --config "$config" --database "$demo/state/citygate.sqlite" | sed 's/^/  /'
echo "  first aggregate:"
head -n 1 "$demo"/state/aggregates/*.ndjson | sed 's/^/    /'
if [[ -n "$hub_pid" ]]; then
    held="$(curl -s "$hub_root/Observations?\$count=true&\$top=1" | python3 -c 'import json, sys; print(json.load(sys.stdin).get("@iot.count", "?"))' 2>/dev/null || echo "?")"
    echo "  open data: the SensorThings server holds $held Observations:"
    echo "    $hub_root/Observations?\$orderby=phenomenonTime%20desc&\$top=20"
    [[ "${DEMO_KEEP:-0}" == 1 ]] || echo "    (up until the demo ends; DEMO_KEEP=1 keeps it running)"
fi
