#!/usr/bin/env bash
# The full crash test: 100,000 QoS 1 uplinks, the gateway killed with SIGKILL
# three times mid-stream and restarted; every uplink must be stored exactly once.
# CI runs the same test at a reduced count. Usage: bash scripts/crash-test.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
CITYGATE_CRASH_COUNT="${1:-100000}" swift test --filter CrashTests
