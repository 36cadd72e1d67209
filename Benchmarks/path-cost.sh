#!/usr/bin/env bash
# What one uplink costs the gateway in CPU and bytes written, without a broker
# or a simulator competing for the two cores: `citygate-sim capture` writes the
# messages `load` would publish (100 devices, ChirpStack v4, seed 2), and the
# hidden `citygate benchmark-path` commits them in bursts of 400 and runs the
# processing service's own batch code after each burst, checkpointing every
# 15,000 uplinks (see Sources/Gateway/Ops/PathBenchmark.swift). Repeatable to a
# few per cent where the load test's CPU figures swing by a quarter, so each
# lever of issue 17 is measured here, builds interleaved.
# DEVICES (100 by default) sets the fleet: with 100000, each uplink comes from
# a device of its own, as in registry-scale.sh's third step. BURST (400 by
# default) sets the messages per ingest commit: the load test's read bursts
# are 30-220 (Benchmarks/RESULTS.md, sixth step). SIMULATED_START (an RFC 3339
# time) stamps the frames from then on, each device every 15 minutes, so the
# traffic spans windows as a city's does over hours (by default every frame
# carries the time of capture: one window). JITTER (e.g. 60s) sets devices out
# of step, as a city's are; without it each round goes in device order, which
# inserts new rows in key order (Benchmarks/RESULTS.md, ninth step).
# Usage: [ROUNDS=3] [QOS=1] [DEVICES=100] [BURST=400] [SIMULATED_START=2026-12-01T04:00:00Z] [JITTER=60s]
#        [CITYGATE_BINS="old/citygate new/citygate"] bash Benchmarks/path-cost.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-50000}"
source scripts/lib.sh
build_release
work="$(mktemp -d /tmp/citygate-pathcost.XXXXXX)"
trap 'rm -rf "$work"' EXIT
devices="${DEVICES:-100}"
"$bin/citygate-sim" registry --devices "$devices" >"$work/devices.toml"
printf '[gateway]\ndevice_registry = "devices.toml"\n' >"$work/citygate.toml"
"$bin/citygate-sim" capture --count "$count" --devices "$devices" --seed 2 --output "$work/messages.txt" \
    ${SIMULATED_START:+--simulated-start "$SIMULATED_START"} ${JITTER:+--jitter "$JITTER"}
bins="${CITYGATE_BINS:-$bin/citygate}"
for round in $(seq 1 "${ROUNDS:-3}"); do
    for gateway in $bins; do
        rm -rf "$work/state"; mkdir -p "$work/state"
        echo "round $round, $gateway (QoS ${QOS:-1}):"
        "$gateway" benchmark-path --config "$work/citygate.toml" --database "$work/state/citygate.sqlite" \
            --messages "$work/messages.txt" --qos "${QOS:-1}" --burst "${BURST:-400}" | sed 's/^/    /'
    done
done
