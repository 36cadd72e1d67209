#!/usr/bin/env bash
# Installs what citygate needs on a fresh Debian (bookworm) machine with the
# Swift toolchain: the C libraries it links, the broker it talks to, and the
# tools the tests use. Safe to run again: it installs only what is missing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# e2fsprogs, util-linux: the disk-fault tests mount a tmpfs and an ext4 image (as root).
# prometheus: its promtool checks and unit-tests Config/prometheus/citygate-rules.yml.
# chromium: the status page is tested in a real browser (headless).
# gcc, binutils (cc, nm, readelf): scripts/symbol-order.sh builds its tracer and reads
# the binary's symbols, and a test runs it (Swift's own prerequisites, named here anyway).
packages=(mosquitto mosquitto-clients libmosquitto-dev libsqlite3-dev liblz4-dev libssl-dev sqlite3 libcurl4 curl python3-venv openssl e2fsprogs util-linux prometheus chromium gcc binutils)
install_missing setup "${packages[@]}"
# Debian starts a system mosquitto on port 1883 when it installs it; citygate's
# scripts and tests run their own private brokers on free loopback ports and
# do not need it.
command -v swift >/dev/null || { echo "setup: the Swift toolchain (swift) is not on PATH" >&2; exit 1; }
