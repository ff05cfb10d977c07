#!/usr/bin/env bash
# README command 1: set up, then generate demo events, ingest, build and summarise.
# Extra arguments go to `modelmart demo` (e.g. --days 30).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export MODELMART_HOME=${MODELMART_HOME:-$PWD/data}
exec .venv/bin/modelmart demo "$@"
