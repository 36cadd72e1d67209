#!/usr/bin/env bash
# The load test (load-vs-broker.sh) for an earlier commit's build and this
# tree's, alternated in one run: CPU per uplink and bytes written per uplink as
# the ratio of this build to that one, round by round. Machines differ (the
# same build measured 15-20 µs per uplink on one and 25-30 on another), so a
# goal set as an absolute figure on the machine an issue was filed on is read
# here as a ratio to the build it was filed against, measured beside this one
# (issue 17 was filed against 8fc7d57: Benchmarks/RESULTS.md, sixteenth step).
# The earlier commit is built with its own scripts in a git worktree under
# /tmp, kept for the next run (a cold release build takes about 7 minutes).
# Usage: [ROUNDS=3] bash Benchmarks/load-against-commit.sh COMMIT [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
commit="$(git rev-parse --short "${1:?usage: load-against-commit.sh COMMIT [COUNT]}")"
count="${2:-50000}"
source scripts/lib.sh
build_release
now_bin="$bin/citygate"
tree="/tmp/citygate-commit-$commit"
if [[ ! -x "$tree/.build/release/citygate" ]]; then
    [[ -d "$tree" ]] || git worktree add --detach "$tree" "$commit" >/dev/null
    (cd "$tree" && source scripts/lib.sh && build_release)
fi
then_bin="$tree/.build/release/citygate"
work="$(mktemp -d /tmp/citygate-against.XXXXXX)"
trap 'rm -rf "$work"' EXIT
for round in $(seq 1 "${ROUNDS:-3}"); do
    # Alternate which build goes first, so a machine growing busier within a
    # round does not always fall on the same one.
    order="then now"; ((round % 2)) || order="now then"
    for which in $order; do
        gateway="$then_bin"; [[ $which == now ]] && gateway="$now_bin"
        ROUNDS=1 CITYGATE_BIN="$gateway" bash Benchmarks/load-vs-broker.sh "$count" >"$work/$which.txt" 2>&1 \
            || { echo "load-vs-broker.sh failed for $gateway:" >&2; tail -5 "$work/$which.txt" >&2; exit 1; }
    done
    for qos in 0 1; do
        awk -v round="$round" -v qos="$qos" -v commit="$commit" '
            $0 ~ "^QoS " qos " round 1:" {
                match($0, /CPU [0-9.]+/); cpu[FILENAME] = substr($0, RSTART + 4, RLENGTH - 4)
                match($0, /written [0-9.]+/); kib[FILENAME] = substr($0, RSTART + 8, RLENGTH - 8)
                match($0, /ratio [0-9.]+/); ratio[FILENAME] = substr($0, RSTART + 6, RLENGTH - 6)
                files[++n] = FILENAME
            }
            END {
                if (n != 2) { print "round " round " QoS " qos ": a run printed no summary line"; exit 1 }
                then = files[1] ~ /\/then\.txt$/ ? files[1] : files[2]; now = files[1] ~ /\/then\.txt$/ ? files[2] : files[1]
                printf "round %d QoS %d: %s CPU %s µs, written %s KiB, broker ratio %s; this tree CPU %s µs, written %s KiB, broker ratio %s; CPU %.2f of %s'"'"'s, written %.2f\n",
                    round, qos, commit, cpu[then], kib[then], ratio[then], cpu[now], kib[now], ratio[now],
                    cpu[now] / cpu[then], commit, kib[now] / kib[then]
            }' "$work/then.txt" "$work/now.txt"
    done
done | tee "$work/rounds.txt"
# The middle value, or the mean of the two middle ones for an even count (as load-vs-broker.sh's).
median() {
    sort -n | awk '{ v[NR] = $1 }
        END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f (min %.2f, max %.2f)", m, v[1], v[NR] }'
}
for qos in 0 1; do
    echo "QoS $qos: this tree's CPU per uplink, median $(grep "QoS $qos:" "$work/rounds.txt" | sed -E 's/.*CPU ([0-9.]+) of.*/\1/' | median)" \
         "of $commit's; written, median $(grep "QoS $qos:" "$work/rounds.txt" | sed -E 's/.*written ([0-9.]+)$/\1/' | median)"
done
