#!/usr/bin/env python3
"""Renders the fault matrix rows (JSON lines written by the tests through
FaultMatrix.record) as a Markdown table. Exits 1 when a row lost an
acknowledged uplink, stored one twice, or left the daemon down."""
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
print("| fault | sent | acknowledged | stored | lost | stored twice | daemon up | notes |")
print("|---|---:|---:|---:|---:|---:|---|---|")
bad = []
for row in rows:
    print(f"| {row['fault']} | {row['sent']} | {row['acknowledged']} | {row['stored']} | {row['lost']} | "
          f"{row['stored_twice']} | {'yes' if row['up'] else 'NO'} | {row['note']} |")
    if row["lost"] or row["stored_twice"] or not row["up"]:
        bad.append(row["fault"])
if bad:
    print(f"\nfault matrix: {len(bad)} row(s) failed: {', '.join(bad)}", file=sys.stderr)
    sys.exit(1)
if not rows:
    print("fault matrix: no rows were recorded", file=sys.stderr)
    sys.exit(1)
