"""`modelmart run`: spool and watched files reach the published marts, hooks run, a failed
build is survived, SIGTERM stops it cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from modelmart.logger import EventLogger
from tests.conftest import project_copy


def published_calls(home: Path) -> int:
    warehouse = home / "warehouse.duckdb"
    if not warehouse.exists():
        return -1
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return int(
            con.execute("select coalesce(sum(calls), 0) from marts.fct_llm_usage_daily").fetchall()[
                0
            ][0]
        )
    finally:
        con.close()


def call(event_id: str, i: int) -> dict:
    return {
        "event_id": event_id,
        "session_id": f"s{i % 4}",
        "provider": "openai",
        "model": "gpt-4o",
        "created_at": f"2026-03-01T10:{i % 60:02d}:00",
        "response_time_ms": 100 + i,
        "tokens_input": 50,
        "tokens_output": 5,
    }


def wait_for(predicate, timeout: float, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        assert proc.poll() is None, "modelmart run exited"
        time.sleep(0.5)
    raise TimeoutError("condition not reached")


@pytest.mark.slow
def test_run_loop_end_to_end(tmp_path: Path) -> None:
    home, inbox = tmp_path / "home", tmp_path / "inbox"
    (inbox / "llm_calls").mkdir(parents=True)
    project = project_copy(tmp_path)
    hook_log = tmp_path / "hook.log"
    hook = f"{sys.executable} -c \"import os; open({str(hook_log)!r}, 'a').write(os.environ['MODELMART_PUBLISHED_BATCH_SEQ'] + chr(10))\""
    env = {**os.environ, "MODELMART_PROJECT_DIR": str(project), "MODELMART_BUILD_NICE": "0"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "modelmart.cli",
            "--home",
            str(home),
            "run",
            "--interval",
            "1",
            "--settle-seconds",
            "0.2",
            "--watch",
            str(inbox),
            "--on-publish",
            hook,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        with EventLogger("llm_calls", home=home) as log:
            log.log_many(call(f"live{i}", i) for i in range(30))
            log.flush()
        (inbox / "llm_calls" / "batch.jsonl").write_text(
            "".join(json.dumps(call(f"file{i}", i)) + "\n" for i in range(12))
        )
        wait_for(lambda: published_calls(home) == 42, 300, proc)
        wait_for(lambda: hook_log.exists(), 30, proc)
        # a broken model: the build fails, the snapshot stays, the loop goes on
        broken = project / "models" / "marts" / "zz_broken.sql"
        broken.write_text("select * from a_table_that_does_not_exist\n")
        with EventLogger("llm_calls", home=home) as log:
            log.log_many(call(f"late{i}", i) for i in range(5))
        time.sleep(0.1)
        lines: list[str] = []
        while not any("FAILED" in line for line in lines):
            line = proc.stdout.readline()
            assert line, "run loop ended"
            lines.append(line)
        assert published_calls(home) == 42
        broken.unlink()
        wait_for(lambda: published_calls(home) == 47, 300, proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=300)
    output = "".join(lines) + rest
    assert proc.returncode == 0, output
    assert "run: stopped after" in output
    cycles = [line for line in output.splitlines() if line.startswith("cycle ")]
    assert any("spool 30 events (30 stored" in line for line in cycles), output
    assert any("files 1;" in line for line in cycles), output
    assert any("hooks 1/1 ok" in line for line in cycles), output
    assert any("retried next cycle" in line for line in cycles), output
    seqs = [int(x) for x in hook_log.read_text().split()]
    assert seqs == sorted(seqs) and len(seqs) >= 2
