#!/usr/bin/env bash
# The Python the hub tests use, in .venv-hub (PyPI): the real OGC SensorThings
# server (django-ogc-sensorthings), pyld for the NGSI-LD test broker's JSON-LD
# expansion and compaction, and jsonschema for the Smart Data Models check.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-hub
packages=(django-ogc-sensorthings==1.2.0 pyld==3.3.0 jsonschema==4.26.0)
if ! "$venv/bin/python" -c "import sensorthings, pyld, jsonschema" 2>/dev/null; then
    echo "test: making $venv with ${packages[*]}" >&2
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${packages[@]}"
fi
