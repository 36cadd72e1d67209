#!/usr/bin/env bash
# The Python the hub tests use, in .venv-hub (PyPI): the real OGC SensorThings
# server (django-ogc-sensorthings), pyld for the NGSI-LD test broker's JSON-LD
# expansion and compaction, and jsonschema (with rfc3339-validator, so
# date-time formats are really checked) for the Smart Data Models check.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-hub
packages=(django-ogc-sensorthings==1.2.0 pyld==3.3.0 jsonschema==4.26.0 rfc3339-validator==0.1.4)
if ! "$venv/bin/python" -c "import sensorthings, pyld, jsonschema, rfc3339_validator" 2>/dev/null; then
    echo "test: making $venv with ${packages[*]}" >&2
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${packages[@]}"
fi
