#!/usr/bin/env bash
# Builds the libFuzzer target (-sanitize=fuzzer,address) and runs it over the seed
# corpus. Default: 10 minutes. Writes libFuzzer's final stats to Fuzz/RESULTS.md.
#   bash Fuzz/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-600}"
# A fresh scratch directory: an incremental build of the path dependency once
# missed files added to it.
rm -rf .build-fuzz
# AddressSanitizer too: the envelope scanner reads the message through an
# unsafe buffer, where a read past the end would not trap on its own.
swift build -c release --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
binary="$(swift build -c release --scratch-path .build-fuzz --show-bin-path)/citygate-fuzz"
work="$(mktemp -d)"
cp corpus/* "$work/"
log="$work/fuzz.log"
"$binary" "$work" -max_total_time="$seconds" -print_final_stats=1 -timeout=5 -rss_limit_mb=2048 2>&1 | tee "$log" | grep -E "^#[0-9]+ +(pulse|DONE)|ERROR|SUMMARY" || true
status="${PIPESTATUS[0]}"
{
    echo "# Fuzzing results"
    echo
    echo "Command: \`bash Fuzz/run.sh $seconds\` on $(date -u +%Y-%m-%d), $(nproc) cores."
    echo "Corpus: $(ls corpus | wc -l) seed files (vectors and envelopes from Tests/CodecsTests/Fixtures, and the shipped TOML files); final corpus $(ls "$work" | grep -vc fuzz.log) files."
    echo "Exit status: $status."
    echo
    echo '```'
    grep -E "^#[0-9]+ +DONE|^stat::|ERROR|SUMMARY|Done [0-9]+ runs" "$log" || tail -n 20 "$log"
    echo '```'
} > RESULTS.md
exit "$status"
