#!/usr/bin/env bash
# README command 1: set up, generate demo events, ingest, build, summarise, then
# serve the Dash app on http://127.0.0.1:8050 (Ctrl-C stops it).
# Extra arguments go to `modelmart demo` (e.g. --days 30).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export MODELMART_HOME=${MODELMART_HOME:-$PWD/data}
.venv/bin/modelmart demo "$@"
exec .venv/bin/modelmart serve
