#!/usr/bin/env bash
# The load test that proves the gateway (issue 7), in one run on this machine:
#   1. the broker's own ceiling: citygate-sim load -> mosquitto -> a subscriber
#      that only counts (mosquitto_sub), at QoS 0 and at QoS 1
#   2. the same load through citygate (commit before PUBACK), with its
#      /metrics: loss, ingest latency percentiles
#   3. both rates, their ratio, loss, latency, citygate's CPU per uplink, bytes it
#      wrote and read per uplink (/proc/PID/io: steadier than time on a shared box) and peak RSS
#   4. the CPU per message of every process in both runs (simulator, broker,
#      counting subscriber or citygate) and how many cores they kept busy: the
#      three share two cores, so at equal cores busy the ratio is
#      (sim + broker + subscriber) / (sim + broker + citygate)
# Same ChirpStack v4 envelopes (100 devices), same publisher settings, the
# shipped Config/mosquitto.conf queue limits. Release build.
# Each citygate run also writes its load report (report.html with the rate and
# latency plots, report.json, and a screenshot when chromium is installed) to
# $REPORTS/round-R-qosQ/ (default Benchmarks/reports/<UTC time>/; not in git).
# Usage: [ROUNDS=3] [REPORTS=dir] [CITYGATE_BIN=path, to compare another build] bash Benchmarks/load-vs-broker.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-50000}"
source scripts/lib.sh
build_release
work="$(mktemp -d /tmp/citygate-loadbench.XXXXXX)"
reports="${REPORTS:-Benchmarks/reports/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$reports"
reports="$(cd "$reports" && pwd)"
start_shipped_broker "$work"
gateway=""
trap 'kill $broker 2>/dev/null || true; [ -n "$gateway" ] && kill $gateway 2>/dev/null; true' EXIT
write_load_test_config "$work"  # a clean session: the ceiling runs publish while no gateway runs

ceiling() {  # $1: QoS; prints "seconds sim_cpu_s broker_ticks subscriber_cpu_s" for COUNT messages to reach a counting subscriber
    cpu_of "$work/subscriber.cpu" mosquitto_sub -h 127.0.0.1 -p "$port" -q "$1" -t 'application/#' -C "$count" >/dev/null &
    local subscriber=$!
    sleep 0.5
    local broker_before; broker_before="$(cpu_ticks $broker)"
    local start; start="$(now)"
    cpu_of "$work/sim.cpu" "$bin/citygate-sim" load --broker "mqtt://127.0.0.1:$port" --count "$count" --rate 0 --qos "$1" --devices 100 >/dev/null 2>&1
    wait "$subscriber"
    local seconds; seconds="$(python3 -c "print($(now) - $start)")"
    echo "$seconds $(cat "$work/sim.cpu") $(( $(cpu_ticks $broker) - broker_before )) $(cat "$work/subscriber.cpu")"
}

through() {  # $1: QoS, $2: report directory; the same load through citygate; prints "seconds cpu_ticks rss_kib written read sim_cpu_s broker_ticks json"
    local http; http="$(free_port)"
    rm -rf "$work/state"
    STATE_DIRECTORY="$work/state" "${CITYGATE_BIN:-$bin/citygate}" run --config "$work/citygate.toml" --broker "mqtt://127.0.0.1:$port" \
        --http-listen "127.0.0.1:$http" --log-level warning 2>>"$work/citygate.log" &
    gateway=$!
    until curl -sf "http://127.0.0.1:$http/health/ready" >/dev/null 2>&1; do sleep 0.1; done
    local cpu_before; cpu_before="$(cpu_ticks $gateway)"
    local io_before; io_before="$(io_bytes $gateway)"
    local broker_before; broker_before="$(cpu_ticks $broker)"
    local start; start="$(now)"
    local report
    report="$(cpu_of "$work/sim.cpu" "$bin/citygate-sim" load --broker "mqtt://127.0.0.1:$port" --count "$count" --rate 0 --qos "$1" --devices 100 --seed 2 \
        --metrics "http://127.0.0.1:$http/metrics" --drain-timeout 300s --json --report "$2" 2>/dev/null || true)"
    local seconds; seconds="$(python3 -c "print($(now) - $start)")"
    local ticks=$(( $(cpu_ticks $gateway) - cpu_before ))
    local broker_ticks=$(( $(cpu_ticks $broker) - broker_before ))
    local io_after; io_after="$(io_bytes $gateway)"
    local written=$(( ${io_after% *} - ${io_before% *} )) read_bytes=$(( ${io_after#* } - ${io_before#* } ))
    local rss; rss="$(awk '/VmHWM/ { print $2 }' /proc/$gateway/status)"
    kill "$gateway"; wait "$gateway" 2>/dev/null || true; gateway=""
    echo "$seconds $ticks $rss $written $read_bytes $(cat "$work/sim.cpu") $broker_ticks $report"
}
# The broker's ceiling moves by a factor of two between minutes on a shared
# machine: each round measures the ceiling and then citygate at the same QoS,
# back to back, and the summary gives every round and the median ratio.
rounds="${ROUNDS:-3}"
results="$work/results.jsonl"
for round in $(seq 1 "$rounds"); do
    for qos in 0 1; do
        read -r ceiling_seconds ceiling_sim ceiling_broker ceiling_subscriber <<<"$(ceiling "$qos")"
        read -r seconds ticks rss written read_bytes sim_cpu broker_ticks report <<<"$(through "$qos" "$reports/round-$round-qos$qos")"
        if command -v chromium >/dev/null && [ -f "$reports/round-$round-qos$qos/report.html" ]; then
            chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1000,1900 \
                --screenshot="$reports/round-$round-qos$qos/report.png" "file://$reports/round-$round-qos$qos/report.html" >/dev/null 2>&1 || true
        fi
        python3 - "$round" "$qos" "$ceiling_seconds" "$ceiling_sim" "$ceiling_broker" "$ceiling_subscriber" \
            "$seconds" "$ticks" "$rss" "$written" "$read_bytes" "$sim_cpu" "$broker_ticks" "$report" >>"$results" <<'PY'
import json, sys
(round_, qos, ceiling, ceiling_sim, ceiling_broker, ceiling_subscriber,
 seconds, ticks, rss, written, read, sim_cpu, broker_ticks, report) = sys.argv[1:15]
print(json.dumps({"round": int(round_), "qos": int(qos), "ceiling_s": float(ceiling), "ceiling_sim_cpu_s": float(ceiling_sim),
                  "ceiling_broker_ticks": int(ceiling_broker), "ceiling_subscriber_cpu_s": float(ceiling_subscriber),
                  "seconds": float(seconds), "ticks": int(ticks), "rss_kib": int(rss), "written": int(written), "read": int(read),
                  "sim_cpu_s": float(sim_cpu), "broker_ticks": int(broker_ticks), "report": json.loads(report or "{}")}))
PY
    done
done
python3 - "$count" "$(getconf CLK_TCK)" "$results" "$reports" <<'PY'
import json, statistics, sys
count, hz, reports = int(sys.argv[1]), int(sys.argv[2]), sys.argv[4]
runs = [json.loads(line) for line in open(sys.argv[3])]
print(f"load: {count} ChirpStack v4 uplinks from 100 devices, as fast as the in-flight cap allows; "
      f"{max(r['round'] for r in runs)} rounds, each the broker's ceiling then citygate, back to back")
for qos in (0, 1):
    ratios, bounds = [], []
    for r in (r for r in runs if r["qos"] == qos):
        report = r["report"]
        broker_rate = count / r["ceiling_s"]
        stored = report.get("gateway", {}).get("stored", 0)
        rate = stored / r["seconds"] if r["seconds"] > 0 else 0
        ratios.append(rate / broker_rate)
        latency = report.get("latency_ms", {})
        per = max(stored, 1)
        print(f"QoS {qos} round {r['round']}: broker ceiling {broker_rate:,.0f} msg/s; citygate stored {stored} in {r['seconds']:.2f} s = {rate:,.0f}/s, "
              f"ratio {rate / broker_rate:.2f}; loss {report.get('loss')}; latency p50 {latency.get('p50')} p90 {latency.get('p90')} "
              f"p99 {latency.get('p99')} max<= {latency.get('max')} ms; CPU {r['ticks'] / hz / per * 1e6:.0f} µs/uplink; "
              f"written {r['written'] / per / 1024:.1f} KiB/uplink, read {r['read'] / per / 1024:.1f} KiB/uplink; peak RSS {r['rss_kib'] / 1024:.1f} MiB")
        # CPU µs per message of each process; the two cores are the budget they share.
        sim0, broker0, sub0 = r["ceiling_sim_cpu_s"] / count * 1e6, r["ceiling_broker_ticks"] / hz / count * 1e6, r["ceiling_subscriber_cpu_s"] / count * 1e6
        sim1, broker1, gateway = r["sim_cpu_s"] / count * 1e6, r["broker_ticks"] / hz / count * 1e6, r["ticks"] / hz / per * 1e6
        bounds.append((sim0 + broker0 + sub0) / (sim1 + broker1 + gateway))
        print(f"    CPU µs/message: ceiling run simulator {sim0:.0f} + broker {broker0:.0f} + counting subscriber {sub0:.0f} = {sim0 + broker0 + sub0:.0f} "
              f"(cores busy {(sim0 + broker0 + sub0) * count / 1e6 / r['ceiling_s']:.2f}); citygate run simulator {sim1:.0f} + broker {broker1:.0f} "
              f"+ citygate {gateway:.0f} = {sim1 + broker1 + gateway:.0f} (cores busy {(sim1 + broker1 + gateway) * count / 1e6 / r['seconds']:.2f}); "
              f"ratio at equal cores busy {bounds[-1]:.2f}")
        puback = report.get("puback_latency_ms", {})
        print(f"    simulator publish→PUBACK (HdrHistogram): p50 {puback.get('p50')} p99 {puback.get('p99')} p999 {puback.get('p999')} "
              f"max {puback.get('max')} ms; report {reports}/round-{r['round']}-qos{qos}/report.html")
    print(f"QoS {qos}: median ratio {statistics.median(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f}); "
          f"median ratio at equal cores busy {statistics.median(bounds):.2f}")
print(f"reports: {reports}/round-R-qosQ/report.html (report.json, report.png beside each)")
PY
