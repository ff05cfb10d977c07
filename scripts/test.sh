#!/usr/bin/env bash
# README command 2: set up, then run every check: lint, format, dbt parse, pytest
# (which builds the dbt project on fixtures and runs dbt's data and unit tests, and
# drives the Dash app in headless chromium, screenshots in artifacts/screenshots).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/browser.sh
bash scripts/alertmanager.sh
bash scripts/prometheus.sh
export DBT_SEND_ANONYMOUS_USAGE_STATS=false
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== sqlfluff (dbt templater)"
MODELMART_BUILD_DB=:memory: .venv/bin/sqlfluff lint models tests/dbt --disable-progress-bar --nocolor
echo "== pytest"
mkdir -p artifacts
.venv/bin/python -m pytest tests -q -p no:cacheprovider --junitxml=artifacts/junit.xml "$@"
