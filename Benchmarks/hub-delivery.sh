#!/usr/bin/env bash
# Aggregates delivered per second to a real SensorThings server
# (django-ogc-sensorthings on SQLite, as in the tests), and citygate's CPU per
# delivered aggregate, against the server's own ceiling measured in the same
# run: a plain client posting the same number of rows through
# CreateObservations in batches of the same size.
#   1. the hub is down; a simulated day of DEVICES devices (1 h windows)
#      closes and waits in citygate's store
#   2. the hub comes up: time and CPU from then until the backlog is empty
#      (provisioning of Things/Datastreams included)
#   3. the ceiling: the same rows straight to the server, no gateway
# Release build. Usage: bash Benchmarks/hub-delivery.sh [DEVICES] [BATCH]
set -euo pipefail
cd "$(dirname "$0")/.."
devices="${1:-100}"
batch="${2:-500}"
python="${CITYGATE_HUB_PYTHON:-$PWD/.venv-hub/bin/python}"
[ -x "$python" ] || { echo "no hub Python at $python: run scripts/test.sh once (or set CITYGATE_HUB_PYTHON)" >&2; exit 1; }
source scripts/lib.sh
build_release
work="$(mktemp -d /tmp/citygate-hubbench.XXXXXX)"
port="$(free_port)"; hub_port="$(free_port)"; http="$(free_port)"
printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_queued_messages 1000000\n' "$port" >"$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
broker=$!
gateway=""; hub=""
trap 'kill $broker 2>/dev/null || true; [ -n "$gateway" ] && kill $gateway 2>/dev/null; [ -n "$hub" ] && kill $hub 2>/dev/null; true' EXIT
project="$PWD/Tests/IntegrationTests/Fixtures/sensorthings_hub"
start_hub() {  # $1: database file
    CITYGATE_HUB_DB="$1" CITYGATE_HUB_URL="http://127.0.0.1:$hub_port" "$python" "$project/manage.py" migrate -v 0
    CITYGATE_HUB_DB="$1" CITYGATE_HUB_URL="http://127.0.0.1:$hub_port" "$python" "$project/manage.py" runserver "127.0.0.1:$hub_port" --noreload \
        >"$work/hub.log" 2>&1 &
    hub=$!
    until curl -sf "http://127.0.0.1:$hub_port/sensorthings/v1.1/Things" >/dev/null 2>&1; do sleep 0.1; done
}

# 1. A day of backlog with the hub down.
"$bin/citygate-sim" registry --devices "$devices" >"$work/devices.toml"
cat >"$work/citygate.toml" <<TOML
[gateway]
device_registry = "devices.toml"
[aggregation]
max_clock_skew = "7d"
grace = "1s"
[[hub]]
name = "opendata"
kind = "sensorthings"
phenomenon_time = "instant"
url = "http://127.0.0.1:$hub_port/sensorthings/v1.1"
batch_size = $batch
retry_max = "1s"
timeout_seconds = 60
TOML
STATE_DIRECTORY="$work/state" "$bin/citygate" run --config "$work/citygate.toml" --broker "mqtt://127.0.0.1:$port" --window 1h \
    --http-listen "127.0.0.1:$http" --log-level warning 2>"$work/citygate.log" &
gateway=$!
until curl -sf "http://127.0.0.1:$http/metrics" >/dev/null 2>&1; do sleep 0.1; done
hour=3600000
start_ms=$(( ($(date +%s) * 1000 / hour - 26) * hour + 60000 ))
"$bin/citygate-sim" run --broker "mqtt://127.0.0.1:$port" --devices "$devices" --count $(( devices * 24 )) --rate 2000 \
    --simulated-start "$(date -u -d @$(( start_ms / 1000 )) +%Y-%m-%dT%H:%M:%SZ)" --interval 1h >/dev/null
status() { "$bin/citygate" status --database "$work/state/citygate.sqlite" --json; }
until status | python3 -c 'import json,sys; s=json.load(sys.stdin); sys.exit(0 if s["uplinks_pending"] == 0 and s["uplinks_stored"] > 0 else 1)'; do sleep 0.5; done
sleep 3  # the last windows close (grace 1 s) and roll up
aggregates="$(sqlite3 -readonly "$work/state/citygate.sqlite" "SELECT count(*) FROM deliveries WHERE hub = 'opendata'")"

# 2. The hub comes up: delivery rate and CPU until the backlog is empty.
start_hub "$work/hub.sqlite"
# CITYGATE_BENCH_PERF=1: a perf profile of the gateway while it delivers (perf report -i $work/perf.data).
[ -n "${CITYGATE_BENCH_PERF:-}" ] && { perf record -g -o "$work/perf.data" -p "$gateway" >/dev/null 2>&1 & perf=$!; }
cpu_before="$(cpu_ticks $gateway)"
start="$(now)"
delivered() { sqlite3 -readonly -cmd '.timeout 5000' "$work/state/citygate.sqlite" "SELECT count(*) FROM deliveries WHERE state = 2"; }
# Provisioning (a POST per Thing, Datastream, Sensor, ObservedProperty) happens
# with the oldest windows; the second half of the backlog is the steady state.
until [ "$(delivered)" -ge $(( aggregates / 2 )) ]; do sleep 0.05; done
half_at="$(now)"; cpu_half="$(cpu_ticks $gateway)"; half_count="$(delivered)"
until [ "$(delivered)" = "$aggregates" ]; do sleep 0.05; done
[ -n "${CITYGATE_BENCH_PERF:-}" ] && { kill -INT $perf; wait $perf || true; echo "profile: $work/perf.data"; }
end_at="$(now)"
gateway_seconds="$(python3 -c "print($end_at - $start)")"
steady_seconds="$(python3 -c "print($end_at - $half_at)")"
cpu_end="$(cpu_ticks $gateway)"
gateway_ticks="$(( cpu_end - cpu_before ))"; steady_ticks="$(( cpu_end - cpu_half ))"; steady_count="$(( aggregates - half_count ))"
rss_kib="$(awk '/VmHWM/ { print $2 }' /proc/$gateway/status)"
held="$(sqlite3 -readonly -cmd '.timeout 5000' "$work/hub.sqlite" "SELECT count(*) || ' rows, ' || count(DISTINCT json_extract(parameters, '\$.windowKey')) || ' windows' FROM sensorthings_v1_1_django_backend_observation")"
kill "$gateway"; wait "$gateway" 2>/dev/null || true; gateway=""
kill "$hub"; wait "$hub" 2>/dev/null || true; hub=""

# 3. The ceiling: the same number of rows in requests of the same shape (the
#    same batch size spread over as many Datastreams as the backlog has
#    series), straight to a fresh server with the Datastreams made beforehand.
series="$(sqlite3 -readonly "$work/state/citygate.sqlite" "SELECT count(DISTINCT source || '/' || metric || '/' || coalesce(channel, '') || '/' || window_ms) FROM aggregates")"
start_hub "$work/hub-ceiling.sqlite"
ceiling_seconds="$(python3 - "http://127.0.0.1:$hub_port/sensorthings/v1.1" "$aggregates" "$batch" "$series" <<'PY'
import json, sys, time, urllib.request
root, rows, batch, series = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def post(path, body):
    request = urllib.request.Request(root + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=300) as response:
        return response.headers.get("Location"), response.read()
def entity_id(location):
    return location[location.rindex("(") + 1:-1]
thing = entity_id(post("/Things", {"name": "ceiling", "description": "ceiling", "Locations": [{"name": "l", "description": "l",
        "encodingType": "application/geo+json", "location": {"type": "Point", "coordinates": [-3.7, 40.4]}}]})[0])
sensor = entity_id(post("/Sensors", {"name": "s", "description": "s", "encodingType": "text/html", "metadata": "m"})[0])
prop = entity_id(post("/ObservedProperties", {"name": "p", "definition": "p", "description": "p"})[0])
streams = []
for i in range(series):
    location, _ = post("/Datastreams", {"name": "d%d" % i, "description": "d", "unitOfMeasurement": {"name": "CEL", "symbol": "C", "definition": "CEL"},
                       "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                       "Thing": {"@iot.id": thing.strip("'")}, "Sensor": {"@iot.id": sensor.strip("'")}, "ObservedProperty": {"@iot.id": prop.strip("'")}})
    streams.append(entity_id(location).strip("'"))
start = time.time()
sent = 0
while sent < rows:
    n = min(batch, rows - sent)
    by_stream = {}
    for i in range(sent, sent + n):
        by_stream.setdefault(streams[i % series], []).append(
            ["2026-11-20T%02d:00:00Z" % (i // series % 24), "2026-11-20T12:00:00Z", 21.5,
             {"count": 4, "min": 20.1, "max": 22.9, "mean": 21.5, "last": 22.0, "windowKey": "ceiling/%d" % i}])
    post("/CreateObservations", [{"Datastream": {"@iot.id": s}, "components": ["phenomenonTime", "resultTime", "result", "parameters"],
                                  "dataArray@iot.count": len(d), "dataArray": d} for s, d in by_stream.items()])
    sent += n
spread = time.time() - start
# And the server's best case: the same rows into one Datastream.
start = time.time()
sent = 0
while sent < rows:
    n = min(batch, rows - sent)
    data = [["2026-11-21T%02d:%02d:%02d.%03dZ" % (i // 3600000 % 24, i // 60000 % 60, i // 1000 % 60, i % 1000), "2026-11-21T12:00:00Z", 21.5,
             {"count": 4, "windowKey": "single/%d" % i}] for i in range(sent, sent + n)]
    post("/CreateObservations", [{"Datastream": {"@iot.id": streams[0]}, "components": ["phenomenonTime", "resultTime", "result", "parameters"],
                                  "dataArray@iot.count": n, "dataArray": data}])
    sent += n
print(spread, time.time() - start)
PY
)"
read -r ceiling_seconds single_seconds <<<"$ceiling_seconds"
python3 - "$devices" "$aggregates" "$batch" "$gateway_seconds" "$ceiling_seconds" "$gateway_ticks" "$(getconf CLK_TCK)" "$rss_kib" "$held" \
    "$steady_seconds" "$steady_ticks" "$steady_count" "$single_seconds" "$series" <<'PY'
import sys
devices, aggregates, batch = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
gateway, ceiling, ticks, hz, rss, held = float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8]), sys.argv[9]
steady, steady_ticks, steady_count = float(sys.argv[10]), int(sys.argv[11]), int(sys.argv[12])
single, series = float(sys.argv[13]), int(sys.argv[14])
print(f"backlog:                    {aggregates} aggregates ({devices} devices x 24 h, 1 h windows, zone roll-ups included), batch {batch}")
print(f"hub, direct, same shape:    {aggregates / ceiling:,.0f} observations/s ({ceiling:.2f} s: batches of {batch} over {series} Datastreams, as the backlog)")
print(f"hub, direct, one stream:    {aggregates / single:,.0f} observations/s ({single:.2f} s: the server's best case)")
print(f"citygate, whole backlog:    {aggregates / gateway:,.0f} aggregates/s ({gateway:.2f} s, provisioning included)")
print(f"citygate, steady state:     {steady_count / steady:,.0f} aggregates/s (second half of the backlog, {steady:.2f} s)")
print(f"ratio (steady state):       {(steady_count / steady) / (aggregates / ceiling):.2f} of the same-shape direct client")
print(f"citygate CPU per aggregate: {ticks / hz / aggregates * 1e6:.0f} µs whole backlog, {steady_ticks / hz / max(steady_count, 1) * 1e6:.0f} µs steady state (user+system)")
print(f"citygate peak RSS:          {rss / 1024:.1f} MiB")
print(f"at the hub:                 {held}")
PY
