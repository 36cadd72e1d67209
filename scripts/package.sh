#!/usr/bin/env bash
# Builds the Debian package: dist/citygate_<version>_<arch>.deb, for a box
# without Swift. Run it on a machine with the Swift toolchain; an arm64
# builder makes the arm64 package (README "Install on an edge box").
#
# The binaries carry the Swift runtime (--static-swift-stdlib) and are
# stripped; Depends comes from what they really link (dpkg-shlibdeps).
# lintian's verdict is printed; an error fails the script.
# Usage: bash scripts/package.sh      (CITYGATE_PACKAGE_SKIP_LINTIAN=1 skips lintian)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
started=$(date +%s)

# What packaging needs beyond scripts/setup.sh: dpkg-shlibdeps (dpkg-dev),
# lintian, and fakeroot so file owners in the package are root whoever builds.
bash scripts/setup.sh
install_missing package dpkg-dev lintian fakeroot

# Its own scratch path: the flags differ from the demo's release build, and
# sharing one would rebuild everything each time either runs.
scratch=.build-package
build_release --scratch-path "$scratch" --static-swift-stdlib
if ldd "$bin/citygate" | grep -q 'swift'; then
    echo "package: $bin/citygate still loads the Swift runtime from the toolchain:" >&2
    ldd "$bin/citygate" >&2
    exit 1
fi
# The layout list must still name the code that runs (scripts/symbol-order.sh).
bash scripts/symbol-order.sh --check "$bin/citygate"

# The Debian revision (-1) says this is the first package of that release
# (a later packaging fix would be -2); upstream's changelog is CHANGELOG.md.
version="$("$bin/citygate" --version | cut -d' ' -f1)-${CITYGATE_DEBIAN_REVISION:-1}"
# Who answers for this build: the project by default; a city that builds its
# own package sets DEBFULLNAME and DEBEMAIL, as Debian's tools read them.
maintainer="${DEBFULLNAME:-citygate developers} <${DEBEMAIL:-citygate@citygate.invalid}>"
arch=$(dpkg --print-architecture)
# Dates in the package come from the commit, so two builds of one commit
# differ only in the binaries' own build date.
source_date=$(git log -1 --format=%ct 2>/dev/null || date +%s)
export SOURCE_DATE_EPOCH=$source_date
day=$(date -u -d "@$source_date" +%Y-%m-%d)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
install -d "$root/DEBIAN" "$root/usr/bin" "$root/usr/lib/systemd/system" \
    "$root/etc/citygate/codecs" "$root/usr/share/man/man1" \
    "$root/usr/share/bash-completion/completions" "$root/usr/share/doc/citygate/examples"

# The binaries.
for program in citygate citygate-sim; do
    install -m 755 "$bin/$program" "$root/usr/bin/$program"
    strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/$program"
done

# The unit, as shipped in the repository (ExecStart is /usr/bin/citygate).
install -m 644 systemd/citygate.service "$root/usr/lib/systemd/system/citygate.service"

# Conffiles: the shipped config with the state under the unit's
# StateDirectory, so status, requeue, redeliver and check-config work from an
# operator's shell without flags; the registry and the codec files as they are.
sed 's|^state_directory = ""|state_directory = "/var/lib/citygate"|' Config/citygate.toml > "$root/etc/citygate/citygate.toml"
grep -q '^state_directory = "/var/lib/citygate"' "$root/etc/citygate/citygate.toml" \
    || { echo "package: Config/citygate.toml has no 'state_directory = \"\"' line to point at /var/lib/citygate" >&2; exit 1; }
install -m 644 Config/devices.toml "$root/etc/citygate/devices.toml"
install -m 644 Config/codecs/*.toml "$root/etc/citygate/codecs/"
install -m 644 Config/codecs/README.md "$root/usr/share/doc/citygate/codecs.md"
chmod 644 "$root/etc/citygate/citygate.toml"
(cd "$root" && find etc -type f | sort | sed 's|^|/|') > "$root/DEBIAN/conffiles"

# Man pages from swift-argument-parser's manual plugin (one page a program,
# its commands as sections: man-db cannot index a page named "citygate run"),
# bash completion from its completion script.
swift package --scratch-path "$scratch" generate-manual --help >/dev/null 2>&1 \
    || { echo "package: swift-argument-parser's generate-manual plugin did not build" >&2; exit 1; }
manual_tool=$(find "$scratch" -type f -name generate-manual-tool -perm -u+x | head -1)
[[ -n "$manual_tool" ]] || { echo "package: generate-manual-tool not found under $scratch" >&2; exit 1; }
for program in citygate citygate-sim; do
    "$manual_tool" "$root/usr/bin/$program" --date "$day" --output-directory "$root/usr/share/man/man1" \
        --authors "citygate developers"
    # bash-completion sources the file: no #! line.
    "$root/usr/bin/$program" --generate-completion-script bash | sed '1{/^#!/d}' > "$root/usr/share/bash-completion/completions/$program"
done
gzip -9n "$root"/usr/share/man/man1/*.1
chmod 644 "$root"/usr/share/man/man1/*.gz "$root"/usr/share/bash-completion/completions/*

# Documentation: README, the broker drop-in as an example, copyright, changelog.
install -m 644 README.md "$root/usr/share/doc/citygate/README.md"
install -m 644 Config/mosquitto.conf "$root/usr/share/doc/citygate/examples/mosquitto.conf"
install -m 644 CHANGELOG.md "$root/usr/share/doc/citygate/changelog"
gzip -9n "$root/usr/share/doc/citygate/README.md" "$root/usr/share/doc/citygate/changelog"
install -m 644 scripts/debian/copyright "$root/usr/share/doc/citygate/copyright"
{
    printf 'citygate (%s) unstable; urgency=medium\n\n' "$version"
    printf '  * Package of release %s.\n  * Its changes are in /usr/share/doc/citygate/changelog.gz.\n\n' "${version%-*}"
    printf ' -- %s  %s\n' "$maintainer" "$(date -u -R -d "@$source_date")"
} | gzip -9n > "$root/usr/share/doc/citygate/changelog.Debian.gz"

# Maintainer scripts: enable on install, reload systemd, stop on remove,
# keep the state on remove and delete it on purge (scripts/debian/ says how).
for script in postinst prerm postrm; do
    install -m 755 "scripts/debian/$script" "$root/DEBIAN/$script"
done
install -d "$root/usr/share/lintian/overrides"
install -m 644 scripts/debian/lintian-overrides "$root/usr/share/lintian/overrides/citygate"

# Depends: what the binaries link, as dpkg-shlibdeps finds it (it reads a
# debian/control, so it gets a minimal one).
install -d "$work/shlibs/debian"
printf 'Source: citygate\n\nPackage: citygate\nArchitecture: any\n' > "$work/shlibs/debian/control"
depends=$(cd "$work/shlibs" && dpkg-shlibdeps -O --warnings=0 "$root/usr/bin/citygate" "$root/usr/bin/citygate-sim" \
    | sed -n 's/^shlibs:Depends=//p')
[[ -n "$depends" ]] || { echo "package: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
# Packed relative relocations (RELR, scripts/lib.sh) need glibc 2.36's loader:
# dpkg-shlibdeps does not know the GLIBC_ABI_DT_RELR version the binaries ask
# for and would say 2.35, which would install on a system that cannot start them.
if readelf -V "$root/usr/bin/citygate" | grep -q GLIBC_ABI_DT_RELR; then
    libc=$(grep -oE 'libc6 \(>= [^)]+\)' <<<"$depends" | sed -E 's/.*>= ([^)]+)\)/\1/' || true)
    if [[ -z "$libc" ]] || dpkg --compare-versions "$libc" lt 2.36; then
        depends=$(sed -E 's/libc6( \(>= [^)]+\))?/libc6 (>= 2.36)/' <<<"$depends")
    fi
fi
# The unit's ExecReload= is /bin/kill -HUP (procps; not in a minimal Debian).
depends="$depends, procps"

installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<EOF
Package: citygate
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $depends
Recommends: mosquitto
Section: net
Priority: optional
Description: edge gateway for smart-city LoRaWAN and NB-IoT sensors
 citygate subscribes to the MQTT topics a LoRaWAN network server publishes
 (ChirpStack v4, The Things Stack v3) and to raw NB-IoT frames, decodes each
 payload with exact integer arithmetic, keeps every uplink and reading in
 SQLite, and forwards windowed aggregates to open-data hubs (NGSI-LD,
 OGC SensorThings API, files). An uplink is acknowledged to the broker only
 once it is committed to disk.
 .
 citygate-sim plays a district's sensors for demos and load tests.
EOF

# Modification times from the commit, owners root (fakeroot), xz like Debian's own.
find "$root" -exec touch -h -d "@$source_date" {} +
mkdir -p dist
deb="dist/citygate_${version}_${arch}.deb"
fakeroot dpkg-deb -Zxz --build "$root" "$deb" >/dev/null
echo "package: $deb ($(du -h "$deb" | cut -f1); citygate $(du -h "$root/usr/bin/citygate" | cut -f1), citygate-sim $(du -h "$root/usr/bin/citygate-sim" | cut -f1); installed $((installed_size / 1024)) MiB)"
echo "package: Depends: $depends"

if [[ "${CITYGATE_PACKAGE_SKIP_LINTIAN:-}" != 1 ]]; then
    # Warnings are printed, not hidden behind an override file; README
    # "Install on an edge box" gives the reason for each one left.
    # Overridden tags are shown too (O:), each override with its reason in
    # scripts/debian/lintian-overrides.
    lintian_output=$(lintian --allow-root --tag-display-limit 0 --show-overrides "$deb" 2>&1 || true)
    echo "package: lintian:"
    printf '%s\n' "${lintian_output:-  (no tags)}" | sed 's/^/  /'
    if grep -q '^E:' <<<"$lintian_output"; then
        echo "package: lintian reports errors" >&2
        exit 1
    fi
fi
echo "package: done in $(( $(date +%s) - started )) s"
