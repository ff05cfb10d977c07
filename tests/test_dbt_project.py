"""The dbt project as analytics engineers use it directly: parse, docs, status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from modelmart.ingest import ingest_records
from tests.conftest import run_dbt

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def built_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    ingest_records(
        "llm_calls",
        [
            {
                "event_id": "c1",
                "session_id": "s1",
                "provider": "openai",
                "model": "gpt-4o",
                "created_at": "2026-03-01T10:00:00Z",
                "response_time_ms": 100,
                "tokens_input": 10,
                "tokens_output": 5,
            }
        ],
        home,
    )
    ingest_records(
        "labels",
        [
            {
                "event_id": "l1",
                "target_event_id": "nowhere",
                "label": "x",
                "labeled_at": "2026-03-02",
            }
        ],
        home,
    )
    run = subprocess.run(
        [sys.executable, "-m", "modelmart.cli", "--home", str(home), "build", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return home


def dbt(args: list[str], home: Path) -> subprocess.CompletedProcess:
    return run_dbt(args, ROOT, {**os.environ, "MODELMART_HOME": str(home)}, home / "dbt")


def test_docs_generate_describes_every_mart(built_home: Path) -> None:
    run = dbt(["docs", "generate"], built_home)
    assert run.returncode == 0, run.stdout
    catalog = (built_home / "dbt" / "target" / "catalog.json").read_text()
    manifest = json.loads((built_home / "dbt" / "target" / "manifest.json").read_text())
    for mart in (
        "fct_llm_usage_daily",
        "fct_model_quality_daily",
        "fct_business_daily",
        "fct_dashboard_daily",
        "fct_alerts",
        "fct_alert_breaches",
    ):
        assert f"model.modelmart.{mart}" in catalog
    description = manifest["nodes"]["model.modelmart.fct_llm_usage_daily"]["description"]
    assert description.startswith("Grain: one row per usage_date × provider × model × team")


def test_plain_dbt_build_is_incremental_and_idempotent(built_home: Path) -> None:
    """An analytics engineer's `dbt build` (no modelmart wrapper) works on the same data."""
    first = dbt(["build", "--quiet"], built_home)
    assert first.returncode == 0, first.stdout
    second = dbt(["build", "--quiet"], built_home)
    assert second.returncode == 0, second.stdout


def test_status_reports_counts_freshness_and_orphans(built_home: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "modelmart.cli", "--home", str(built_home), "status"],
        capture_output=True,
        text=True,
        check=True,
    )
    out = run.stdout
    assert "llm_calls" in out and "published" in out
    assert "orphaned labels (target not stored yet): 1" in out
    assert "marts.fct_llm_usage_daily" in out and "last date 2026-03-01" in out
    assert "last build" in out and ": ok" in out
