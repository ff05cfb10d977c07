"""Ingest, build and serve at the same time; crashes leave a consistent state.

- a build succeeds while another process holds the published warehouse open
  read-only, and that reader sees the new snapshot once it reconnects;
- ingestion runs while a build runs;
- a process killed mid-ingest leaves the file either fully in or not at all, and a
  rerun converges; a process killed mid-build leaves the last snapshot published,
  and the next build completes.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelmart.config import get_paths
from modelmart.ingest import ingest_file, ingest_records
from tests.conftest import project_copy, run_cli

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "modelmart.cli"]
# big enough that the killed ingest is still writing its temp landing file when the
# test sees it, and that the killed build is inside dbt after 2 s (importing, parsing
# and running dbt alone takes longer; the rows only lengthen the rerun)
BIG_INGEST = 3_000_000
BIG_BUILD = 200_000


def calls(prefix: str, n: int, day: str = "2026-03-01") -> list[dict]:
    return [
        {
            "event_id": f"{prefix}{i}",
            "session_id": f"s{i % 7}",
            "provider": "openai",
            "model": "gpt-4o",
            "created_at": f"{day}T10:{i % 60:02d}:00Z",
            "response_time_ms": 100 + i,
            "tokens_input": 100,
            "tokens_output": 10,
        }
        for i in range(n)
    ]


def build(home: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return run_cli(home, "build", "--quiet", env=env, timeout=600)


def build_with_seed_rows(
    tmp_path: Path, seed: str, rows: list[str]
) -> tuple[Path, subprocess.CompletedProcess]:
    """Build a few calls against a copy of the project whose seed has extra rows."""
    home = tmp_path / "home"
    project = project_copy(tmp_path)
    ingest_records("llm_calls", calls("a", 10), home)
    path = project / "seeds" / seed
    path.write_text(path.read_text().rstrip("\n") + "\n" + "".join(f"{row}\n" for row in rows))
    return home, build(home, {**os.environ, "MODELMART_PROJECT_DIR": str(project)})


def published_calls(home: Path) -> int:
    con = duckdb.connect(str(get_paths(home).warehouse), read_only=True)
    try:
        return con.execute(
            "select coalesce(sum(calls), 0) from marts.fct_llm_usage_daily"
        ).fetchall()[0][0]
    finally:
        con.close()


@pytest.fixture(scope="module")
def built_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten calls ingested and built once; tests that start from that state copy it
    (the project fingerprint is a digest of the files' contents, so a copied home
    built on the checkout is up to date for a project copy too)."""
    home = tmp_path_factory.mktemp("built") / "home"
    ingest_records("llm_calls", calls("a", 10), home)
    first = build(home)
    assert first.returncode == 0, first.stdout + first.stderr
    assert published_calls(home) == 10
    return home


def copy_of(built_home: Path, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(built_home, home)
    return home


def big_calls_file(path: Path, n: int) -> Path:
    rng = np.random.default_rng(1)
    ids = np.char.add("big", np.arange(n).astype(str))
    table = pa.table(
        {
            "event_id": ids,
            "session_id": np.char.add("s", (np.arange(n) // 4).astype(str)),
            "provider": np.full(n, "openai"),
            "model": np.full(n, "gpt-4o"),
            "created_at": pa.array(
                np.datetime64("2026-03-01") + (np.arange(n) % 86400).astype("timedelta64[s]")
            ),
            "response_time_ms": rng.gamma(2, 200, n),
            "tokens_input": rng.integers(10, 1000, n),
            "tokens_output": rng.integers(1, 100, n),
        }
    )
    pq.write_table(table, path)
    return path


def test_build_while_a_reader_holds_the_warehouse_open(built_home: Path, tmp_path: Path) -> None:
    home = copy_of(built_home, tmp_path)
    assert published_calls(home) == 10

    go = tmp_path / "go"
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import duckdb, os, time
            path = {str(get_paths(home).warehouse)!r}
            con = duckdb.connect(path, read_only=True)
            print(con.execute("select sum(calls) from marts.fct_llm_usage_daily").fetchall()[0][0], flush=True)
            while not os.path.exists({str(go)!r}):
                time.sleep(0.05)
            # still the old snapshot through the open connection
            print(con.execute("select sum(calls) from marts.fct_llm_usage_daily").fetchall()[0][0], flush=True)
            con.close()
            con = duckdb.connect(path, read_only=True)
            print(con.execute("select sum(calls) from marts.fct_llm_usage_daily").fetchall()[0][0], flush=True)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "10"
        ingest_records("llm_calls", calls("b", 5, "2026-03-02"), home)
        second = build(home)
        assert second.returncode == 0, second.stdout + second.stderr
        go.touch()
        out, _ = reader.communicate(timeout=60)
    finally:
        reader.kill()
    assert out.split() == ["10", "15"]
    assert published_calls(home) == 15


def test_build_with_nothing_new_is_skipped_unless_forced(built_home: Path, tmp_path: Path) -> None:
    home = copy_of(built_home, tmp_path)
    published = get_paths(home).warehouse
    before = published.stat()

    again = build(home)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "up to date: no batch newer than 1 and no project change" in again.stdout
    after = published.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)

    forced = run_cli(home, "build", "--force", "--quiet", timeout=600)
    assert forced.returncode == 0 and "built (incremental)" in forced.stdout, forced.stdout
    assert published.stat().st_ino != before.st_ino  # a new snapshot, renamed into place
    assert published_calls(home) == 10

    ingest_records("llm_calls", calls("b", 5, "2026-03-02"), home)
    newer = build(home)
    assert "built (incremental) batches ≤ 2" in newer.stdout, newer.stdout
    assert published_calls(home) == 15


def test_ingest_runs_during_a_build_and_waits_for_the_next(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ingest_records("llm_calls", calls("a", 10), home)
    running = subprocess.Popen(
        [*CLI, "--home", str(home), "build", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    marker = get_paths(home).build_dir / "BUILDING"
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    result = ingest_records("llm_calls", calls("late", 3), home)  # not blocked by the build
    ingest_seconds = time.monotonic() - started
    out, _ = running.communicate(timeout=600)
    assert running.returncode == 0, out
    assert result.stored == 3
    assert ingest_seconds < 30  # generous: it must not wait for the build
    # the build froze the batches committed at its start; the late batch is in the next one
    assert published_calls(home) == 10
    assert build(home).returncode == 0
    assert published_calls(home) == 13


def test_killed_ingest_leaves_file_all_or_nothing_and_rerun_converges(tmp_path: Path) -> None:
    home = tmp_path / "home"
    paths = get_paths(home)
    big = big_calls_file(tmp_path / "big.parquet", BIG_INGEST)
    proc = subprocess.Popen(
        [*CLI, "--home", str(home), "ingest", str(big), "--stream", "llm_calls"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # kill it while it is writing its batch (temp landing file present), or as late as we can
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if list((paths.landing / "llm_calls").glob("*.tmp")):
            break
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    landed = [
        p
        for p in (paths.landing / "llm_calls").glob("0*.parquet")
        if not p.name.endswith("schema.parquet")
    ]
    count = pq.read_table(landed[0]).num_rows if landed else 0
    assert count in (0, BIG_INGEST)  # all or nothing

    result = ingest_file(big, "llm_calls", home)
    assert result.stored + result.duplicates == BIG_INGEST
    con = duckdb.connect()
    try:
        total = con.execute(
            f"select count(*), count(distinct event_id) from read_parquet("
            f"'{paths.landing}/llm_calls/*.parquet')"
        ).fetchall()[0]
    finally:
        con.close()
    assert total == (BIG_INGEST, BIG_INGEST)
    assert not list((paths.landing / "llm_calls").glob("*.tmp"))


def test_killed_build_keeps_last_snapshot_and_next_build_completes(
    built_home: Path, tmp_path: Path
) -> None:
    home = copy_of(built_home, tmp_path)
    paths = get_paths(home)
    ingest_file(big_calls_file(tmp_path / "big.parquet", BIG_BUILD), "llm_calls", home)

    proc = subprocess.Popen(
        [*CLI, "--home", str(home), "build", "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    marker = paths.build_dir / "BUILDING"
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(2.0)  # inside dbt by now
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert published_calls(home) == 10  # the old snapshot, intact and readable

    rerun = build(home)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert published_calls(home) == BIG_BUILD + 10
    assert not marker.exists()


def test_failed_build_reports_what_failed_and_keeps_snapshot(
    built_home: Path, tmp_path: Path
) -> None:
    home = copy_of(built_home, tmp_path)
    project = project_copy(tmp_path)
    env = {**os.environ, "MODELMART_PROJECT_DIR": str(project)}
    ingest_records("llm_calls", calls("b", 10, "2026-03-02"), home)
    # an edit that repeats a price row breaks the seed's grain test
    seed = project / "seeds" / "llm_pricing.csv"
    seed.write_text(seed.read_text() + "openai,gpt-4o,2026-01-01,9,9,9\n")
    failed = build(home, env)
    assert failed.returncode == 1
    assert "build FAILED" in failed.stdout and "last good snapshot stays published" in failed.stdout
    assert "unique_combination_of_columns_llm_pricing" in failed.stdout
    assert "Traceback" not in failed.stdout + failed.stderr
    assert published_calls(home) == 10
    status = subprocess.run(
        [*CLI, "--home", str(home), "status"], capture_output=True, text=True, check=True
    )
    assert "last build" in status.stdout and "FAILED" in status.stdout

    # fix the price table: the next build publishes everything, re-priced
    seed.write_text(seed.read_text().replace("openai,gpt-4o,2026-01-01,9,9,9\n", ""))
    assert build(home, env).returncode == 0
    assert published_calls(home) == 20


def test_price_edit_reprices_history_on_next_build(built_home: Path, tmp_path: Path) -> None:
    # built_home: 10 calls of openai gpt-4o, 100 input + 10 output tokens each
    home = copy_of(built_home, tmp_path)
    project = project_copy(tmp_path)
    env = {**os.environ, "MODELMART_PROJECT_DIR": str(project)}

    def cost() -> float:
        con = duckdb.connect(str(get_paths(home).warehouse), read_only=True)
        try:
            return con.execute("select sum(cost_usd) from marts.fct_dashboard_daily").fetchall()[0][
                0
            ]
        finally:
            con.close()

    assert cost() == pytest.approx(10 * (100 * 5.00 + 10 * 15.00) / 1e6)
    seed = project / "seeds" / "llm_pricing.csv"
    seed.write_text(
        seed.read_text().replace(
            "openai,gpt-4o,2026-01-01,5.00,15.00,2.50", "openai,gpt-4o,2026-01-01,7.00,21.00,3.50"
        )
    )
    # no new events at all: only the price table changed
    assert build(home, env).returncode == 0
    assert cost() == pytest.approx(10 * (100 * 7.00 + 10 * 21.00) / 1e6)


def test_bad_alert_rule_fails_the_build_naming_the_rule(tmp_path: Path) -> None:
    home, failed = build_with_seed_rows(
        tmp_path,
        "alert_rules.csv",
        [
            "bogus_metric,fct_dashboard_daily,happiness,>,1,critical,1,,,,,,x",
            "bogus_comparator,fct_dashboard_daily,latency_p95_ms,=>,1,critical,1,,,,,,x",
        ],
    )
    assert failed.returncode == 1
    assert "invalid alert rules" in failed.stdout
    assert "rule bogus_metric: unknown metric 'happiness' for fct_dashboard_daily" in failed.stdout
    assert "rule bogus_comparator: bad comparator '=>'" in failed.stdout
    assert "Traceback" not in failed.stdout + failed.stderr
    assert not get_paths(home).warehouse.exists()  # nothing half-built was published


def test_reference_window_that_ends_before_it_starts_fails_the_build(tmp_path: Path) -> None:
    home, failed = build_with_seed_rows(
        tmp_path, "drift_reference_windows.csv", ["churn,v9,2026-10-08,2026-10-01"]
    )
    assert failed.returncode == 1
    assert "expression_is_true_drift_reference_windows" in failed.stdout
    assert "Traceback" not in failed.stdout + failed.stderr
    assert not get_paths(home).warehouse.exists()
