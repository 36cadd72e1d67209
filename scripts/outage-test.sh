#!/usr/bin/env bash
# The full outage test: the hub down while a simulated day of a 1,000-device
# fleet arrives, then up; prints the gateway's peak RSS. CI runs 50 devices.
# Usage: bash scripts/outage-test.sh [DEVICES]
set -euo pipefail
cd "$(dirname "$0")/.."
CITYGATE_OUTAGE_DEVICES="${1:-1000}" bash scripts/test.sh --filter OutageTests 2>&1 | tee /dev/stderr | grep -E "^outage:" || true
