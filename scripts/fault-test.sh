#!/usr/bin/env bash
# The fault matrix of issue 15, full size, on real parts: a real broker, the
# real gateway binary, a tmpfs and an ext4 image for the state directory
# (mounting needs root), QoS 1 load. Prints the table (also in
# Benchmarks/RESULTS.md) and the longest writer-lock hold on a store of
# 1,000,000 uplinks (release build).
#
#   bash scripts/fault-test.sh            # full: 200,000 unknown-device uplinks, a 30 MB payload
#   bash scripts/fault-test.sh --short    # the sizes CI runs (scripts/test.sh records them too)
set -euo pipefail
cd "$(dirname "$0")/.."
scale=full
[[ "${1:-}" == "--short" ]] && scale=short
[[ "$(id -u)" == 0 ]] || echo "fault-test: not root: the disk rows (tmpfs, ext4 image) are skipped" >&2

bash scripts/setup.sh
bash scripts/hub-venv.sh
export CITYGATE_HUB_PYTHON="$PWD/.venv-hub/bin/python"
matrix="$PWD/.build/fault-matrix-$scale.jsonl"
rm -f "$matrix"
swift build --build-tests
CITYGATE_FAULT_SCALE=$scale CITYGATE_FAULT_MATRIX="$matrix" swift test --skip-build \
    --filter 'FaultMatrixTests|DiskFaultTests|CommitFailureTests|RepeatedFrameTests|OversizedMessageTests|HTTPStallTests|ReloadTests'
python3 scripts/fault-matrix-table.py "$matrix"

if [[ $scale == full ]]; then
    echo
    echo "Longest writer-lock holds on a store of 1,000,000 uplinks (release build):"
    source scripts/lib.sh
    build_release
    scratch=$(mktemp -d)
    "$bin/citygate" benchmark-store --directory "$scratch" --writer-holds 1000000
    rm -rf "$scratch"
fi
