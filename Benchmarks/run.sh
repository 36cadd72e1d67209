#!/usr/bin/env bash
# Runs the decode and envelope benchmarks (package-benchmark, release build).
set -euo pipefail
cd "$(dirname "$0")"
swift package --disable-sandbox benchmark --format markdown --no-progress "$@"
