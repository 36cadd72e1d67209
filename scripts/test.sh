#!/usr/bin/env bash
# The test command: installs what is missing (apt packages, a Python venv
# with the SensorThings test hub), then runs `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

bash scripts/hub-venv.sh
venv=.venv-hub
export CITYGATE_HUB_PYTHON="$PWD/$venv/bin/python"

# The fault tests add their rows of the fault matrix (short sizes) here; the
# table is printed after the run and fails it if a row lost or doubled data
# (scripts/fault-test.sh runs the full sizes).
matrix="$PWD/.build/fault-matrix-short.jsonl"
mkdir -p .build && rm -f "$matrix"
CITYGATE_FAULT_MATRIX="$matrix" swift test "$@"
if [[ $# -eq 0 ]]; then
    echo "fault matrix (short):"
    python3 scripts/fault-matrix-table.py "$matrix"
fi
