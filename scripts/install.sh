#!/usr/bin/env bash
# Installs citygate as a systemd service on this machine (run as root or with sudo):
#   the release binary to /usr/local/bin, the unit to /etc/systemd/system,
#   Config/ to /etc/citygate (existing files there are kept), then
#   systemctl enable --now. Usage: sudo bash scripts/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "install: run as root (sudo bash scripts/install.sh)" >&2; exit 1; }
bash scripts/setup.sh
swift build -c release --product citygate
bin="$(swift build -c release --show-bin-path)"
install -m 755 "$bin/citygate" /usr/local/bin/citygate
install -d -m 755 /etc/citygate /etc/citygate/codecs
for file in citygate.toml devices.toml; do
    [ -e "/etc/citygate/$file" ] || install -m 644 "Config/$file" "/etc/citygate/$file"
done
for file in Config/codecs/*.toml; do
    [ -e "/etc/citygate/codecs/$(basename "$file")" ] || install -m 644 "$file" /etc/citygate/codecs/
done
/usr/local/bin/citygate check-config --config /etc/citygate/citygate.toml
install -m 644 systemd/citygate.service /etc/systemd/system/citygate.service
systemctl daemon-reload
systemctl enable --now citygate
systemctl --no-pager status citygate || true
echo "install: done; follow the log with: journalctl -fu citygate"
