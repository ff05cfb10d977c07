"""Shared fixtures: one small demo warehouse for the Dash tests, and a running app."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(
    url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None, expect: int = 200
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"server exited with {proc.returncode}: {proc.stdout.read() if proc.stdout else ''}"
            )
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == expect:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code == expect:
                return
            time.sleep(0.2)
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def project_copy(tmp_path: Path) -> Path:
    """A copy of the dbt project (models incl. Python models, macros, seeds, dbt
    tests) whose seeds a test may edit; point MODELMART_PROJECT_DIR at it."""
    copy = tmp_path / "project"
    copy.mkdir()
    for name in ("models", "macros", "seeds", "tests/dbt"):
        shutil.copytree(PROJECT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(PROJECT / name, copy / name)
    return copy


def run_cli(
    home: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess:
    """`modelmart --home HOME ARGS...` in a fresh process; output captured, never raises."""
    return subprocess.run(
        [sys.executable, "-m", "modelmart.cli", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )


def run_dbt(
    args: list[str], project: Path, env: dict[str, str], target: Path
) -> subprocess.CompletedProcess:
    """Plain `dbt ARGS` on a project (its profiles.yml), target and logs under
    `target`; output captured, never raises."""
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            *args,
            "--profiles-dir",
            str(project),
            "--project-dir",
            str(project),
        ],
        capture_output=True,
        text=True,
        env={
            **env,
            "DBT_TARGET_PATH": str(target / "target"),
            "DBT_LOG_PATH": str(target / "logs"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        },
        check=False,
        timeout=900,
    )


def landed_rows(home: Path, stream: str = "llm_calls", order: str = "event_id"):
    """Every row of a stream's landing files (a DataFrame), read with DuckDB."""
    import duckdb

    con = duckdb.connect()
    try:
        return con.execute(
            f"select * from read_parquet('{home}/landing/{stream}/*.parquet', union_by_name = true) "
            f"order by {order}"
        ).df()
    finally:
        con.close()


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """90 demo days at low volume: every incident of the generator, built once."""
    home = tmp_path_factory.mktemp("demo-home")
    run = run_cli(home, "demo", "--calls-per-day", "400", "--predictions-per-day", "300")
    assert run.returncode == 0, run.stdout + run.stderr
    return home


@pytest.fixture(scope="session")
def served(demo_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`modelmart serve` on the demo warehouse; yields its base URL.

    The server's output goes to a file, not a pipe: it logs every request, and a
    pipe nobody reads fills up (64 KiB) after some hundred requests of a long
    session, blocking the server mid-request — pages then time out only in the
    full suite (the lost /operations part of test_slo_and_hourly_pages_in_a_browser)."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("served") / "serve.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "modelmart.cli",
            "--home",
            str(demo_home),
            "serve",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "MODELMART_USERS": ""},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_http(base + "/", proc=proc)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{exc}; server log: {log_path.read_text()[-4000:]}") from None
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
