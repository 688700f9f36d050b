#!/usr/bin/env bash
# Runs the local demo on http://127.0.0.1:${PORT:-8080}/ (installs what is missing, builds the
# package first). Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh demo
scripts/build.sh
exec node www/server.mjs --port "${PORT:-8080}"
