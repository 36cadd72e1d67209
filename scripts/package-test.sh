#!/usr/bin/env bash
# Proves the Debian package on a box without Swift: builds it (with lintian),
# makes a minimal Debian bookworm root (debootstrap --variant=minbase),
# installs the .deb there with apt (which resolves Depends), then inside that
# root, where no Swift toolchain exists, does what README "Install on an edge
# box" tells an operator to do:
#   citygate --version; citygate check-config (no flags: /etc/citygate);
#   citygate decode of a README example; the broker drop-in in mosquitto's
#   conf.d; the gateway started by hand; 200 uplinks from citygate-sim;
#   citygate status (no flags) showing the 200.
# systemd does not run as PID 1 here, so `systemd-analyze verify` on the
# installed unit stands in for starting it.
#
# The root runs in a network namespace of its own (unshare --net), so its
# broker and gateway use the packaged defaults (127.0.0.1:1883, :9464)
# without meeting this machine's own broker or anything else on loopback.
# Needs root (debootstrap, chroot, unshare). Usage: sudo bash scripts/package-test.sh
# CITYGATE_PACKAGE_TEST_ROOT_CACHE=DIR keeps the fresh bookworm root there
# between runs (a copy is used, the cache stays clean).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
[ "$(id -u)" -eq 0 ] || { echo "package-test: run as root (debootstrap, chroot)" >&2; exit 1; }
started=$(date +%s)

install_missing package-test debootstrap iproute2 util-linux

bash scripts/package.sh
deb=$(ls -t dist/citygate_*_"$(dpkg --print-architecture)".deb | head -1)
built=$(date +%s)

# The Debian archive this machine's apt uses (a bookworm root needs one).
mirror=$(apt-get indextargets --format '$(REPO_URI)' 'Origin: Debian' 2>/dev/null | grep -v security | head -1)
[[ -n "$mirror" ]] || { echo "package-test: this machine's apt lists no Debian archive to bootstrap from" >&2; exit 1; }

work=$(mktemp -d /var/tmp/citygate-package-test.XXXXXX)
root=$work/root
cleanup() {
    # A step that failed in the root may leave its broker or gateway running there.
    for process in /proc/[0-9]*; do
        [[ "$(readlink "$process/root" 2>/dev/null)" == "$root" ]] && kill -9 "${process#/proc/}" 2>/dev/null
    done
    for mount in "$root/proc" "$root/dev/pts"; do
        mountpoint -q "$mount" && umount -l "$mount"
    done
    rm -rf "$work"
}
trap cleanup EXIT

cache=${CITYGATE_PACKAGE_TEST_ROOT_CACHE:-}
if [[ -n "$cache" && -x "$cache/bin/sh" ]]; then
    echo "package-test: bookworm root from $cache"
    cp -a "$cache" "$root"
else
    echo "package-test: debootstrap --variant=minbase bookworm"
    debootstrap --variant=minbase bookworm "$root" "$mirror" > "$work/debootstrap.log" 2>&1 \
        || { tail -20 "$work/debootstrap.log" >&2; echo "package-test: debootstrap failed" >&2; exit 1; }
    if [[ -n "$cache" ]]; then rm -rf "$cache"; cp -a "$root" "$cache"; fi
fi
mount -t proc proc "$root/proc"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# Proxy settings for apt, if this machine's apt has any.
for file in /etc/apt/apt.conf.d/*proxy*; do [[ -e "$file" ]] && cp "$file" "$root/etc/apt/apt.conf.d/"; done
# A chroot starts no services from maintainer scripts (Debian's policy-rc.d).
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

echo "package-test: apt install $(basename "$deb") (Depends and Recommends from the archive)"
cp "$deb" "$root/tmp/"
chroot "$root" apt-get update -qq
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "/tmp/$(basename "$deb")" > "$work/apt.log" 2>&1 \
    || { tail -30 "$work/apt.log" >&2; echo "package-test: apt could not install the package" >&2; exit 1; }
installed=$(date +%s)

# The installed unit, as systemd reads it. An edge box that runs citygate as
# a service has systemd (and man-db, which resolves the unit's
# Documentation=); a minbase root has neither, so they come now, after the
# package proved it installs without them.
echo "package-test: systemd-analyze verify on the installed unit (systemd and man-db added to the root)"
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd man-db > "$work/systemd.log" 2>&1 \
    || { tail -30 "$work/systemd.log" >&2; echo "package-test: could not add systemd to the root" >&2; exit 1; }
verify=$(chroot "$root" systemd-analyze verify /usr/lib/systemd/system/citygate.service 2>&1 || echo "exit status $?")
if [[ -n "$verify" ]]; then
    echo "$verify" >&2
    echo "package-test: systemd-analyze verify complained about the installed unit" >&2
    exit 1
fi

# What an operator does, inside the root.
cat > "$root/tmp/operator.sh" <<'OPERATOR'
#!/bin/sh
set -eu
step() { echo "package-test (in the root): $*"; }
fail() { echo "package-test (in the root): FAILED: $*" >&2; exit 1; }

step "no Swift toolchain here"
if command -v swift >/dev/null 2>&1 || [ -e /opt/swift ] || ls /usr/lib/swift* >/dev/null 2>&1; then fail "a Swift toolchain is present"; fi
for program in citygate citygate-sim; do
    if ldd "/usr/bin/$program" | grep -E 'not found|swift'; then fail "$program links something missing or from Swift"; fi
done

step "citygate --version"
citygate --version
citygate-sim --version
citygate --version | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+ \(commit [0-9a-f]+, built [0-9]{4}-[0-9]{2}-[0-9]{2}\)$' || fail "--version is not 'VERSION (commit C, built DATE)'"

step "citygate check-config (no flags)"
citygate check-config | tee /tmp/check-config.txt
grep -q '/etc/citygate/citygate.toml' /tmp/check-config.txt || fail "check-config did not name /etc/citygate/citygate.toml"

step "citygate decode (the README's example)"
citygate decode --codec milesight:em310-udl --fport 85 01755C03824408040001 | tee /tmp/decode.txt
grep -q 'battery' /tmp/decode.txt || fail "decode printed no battery reading"

step "man pages and completion"
man -P cat citygate 2>/dev/null | grep -q 'check-config' || fail "man citygate does not show the commands"
man -P cat citygate-sim 2>/dev/null | grep -q 'registry' || fail "man citygate-sim does not show the commands"
bash -c '. /usr/share/bash-completion/completions/citygate && complete -p citygate' >/dev/null || fail "the bash completion does not load"

step "the broker: Debian's mosquitto.conf and the drop-in from the examples"
cp /usr/share/doc/citygate/examples/mosquitto.conf /etc/mosquitto/conf.d/citygate.conf
install -d -o mosquitto -g mosquitto /run/mosquitto
mosquitto -c /etc/mosquitto/mosquitto.conf -d
listening() { grep -q ":$(printf '%04X' "$1") 00000000:0000 0A" /proc/net/tcp; }
tries=0
until listening 1883; do
    tries=$((tries + 1)); [ "$tries" -lt 100 ] || fail "mosquitto is not listening on 1883: $(tail -5 /var/log/mosquitto/mosquitto.log)"
    sleep 0.1
done

step "the gateway, started by hand"
citygate run > /tmp/gateway.log 2>&1 &
gateway=$!
tries=0
until listening 9464; do
    tries=$((tries + 1)); [ "$tries" -lt 300 ] || { cat /tmp/gateway.log >&2; fail "the gateway did not start"; }
    kill -0 "$gateway" 2>/dev/null || { cat /tmp/gateway.log >&2; fail "the gateway exited"; }
    sleep 0.1
done

step "citygate-sim run: 200 uplinks"
citygate-sim run --broker mqtt://127.0.0.1:1883 --count 200 --rate 0
tries=0
until citygate status 2>/dev/null | grep -Eq '^uplinks +200 stored, 0 pending'; do
    tries=$((tries + 1)); [ "$tries" -lt 120 ] || { citygate status; tail -20 /tmp/gateway.log >&2; fail "status never showed 200 uplinks stored and decoded"; }
    sleep 0.5
done
kill -TERM "$gateway"
wait "$gateway" || fail "the gateway did not stop cleanly on SIGTERM: $(tail -5 /tmp/gateway.log)"

step "citygate status (no flags)"
citygate status | tee /tmp/status.txt
grep -Eq '^uplinks +200 stored, 0 pending' /tmp/status.txt || fail "status does not show the 200 uplinks"
grep -q 'database +/var/lib/citygate/citygate.sqlite' /tmp/status.txt || grep -q '/var/lib/citygate/citygate.sqlite' /tmp/status.txt || fail "status did not read /var/lib/citygate"
[ "$(stat -c %a /var/lib/citygate)" = 700 ] || fail "/var/lib/citygate is $(stat -c %a /var/lib/citygate), not 0700"
[ "$(stat -c %a /var/lib/citygate/citygate.sqlite)" = 600 ] || fail "the database is $(stat -c %a /var/lib/citygate/citygate.sqlite), not 0600"
kill "$(cat /run/mosquitto/mosquitto.pid)" 2>/dev/null || true
OPERATOR
chmod 755 "$root/tmp/operator.sh"
unshare --net -- sh -c 'ip link set lo up && exec chroot "$1" /tmp/operator.sh' sh "$root"

# Removal keeps the state and the config; purge takes both.
echo "package-test: apt remove, then purge"
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq citygate > "$work/remove.log" 2>&1
[[ -f "$root/var/lib/citygate/citygate.sqlite" && -f "$root/etc/citygate/citygate.toml" && ! -e "$root/usr/bin/citygate" ]] \
    || { cat "$work/remove.log" >&2; echo "package-test: remove did not keep state and config, or left the binary" >&2; exit 1; }
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq citygate > "$work/purge.log" 2>&1
[[ ! -e "$root/var/lib/citygate" && ! -e "$root/etc/citygate/citygate.toml" ]] \
    || { cat "$work/purge.log" >&2; echo "package-test: purge left state or config behind" >&2; exit 1; }

finished=$(date +%s)
echo "package-test: passed (package $((built - started)) s, root and install $((installed - built)) s, in the root $((finished - installed)) s)"
