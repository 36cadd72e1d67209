#!/usr/bin/env bash
# The real OGC SensorThings server the hub tests run against (PyPI), in .venv-hub.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-hub
if ! "$venv/bin/python" -c "import sensorthings" 2>/dev/null; then
    echo "test: creating $venv with django-ogc-sensorthings==1.2.0" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check django-ogc-sensorthings==1.2.0
fi
