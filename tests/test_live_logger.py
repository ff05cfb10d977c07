"""The live logger and its spool: durable flush, back-pressure, promotion, kill -9."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from modelmart.logger import BufferFull, EventLogger
from modelmart.spool import depth, promote
from modelmart.status import render
from tests.conftest import landed_rows


def call(event_id: str, i: int = 0, **extra: object) -> dict:
    return {
        "event_id": event_id,
        "session_id": f"s{i % 3}",
        "provider": "openai",
        "model": "gpt-4o",
        "created_at": dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC) + dt.timedelta(seconds=i),
        "response_time_ms": 10.0 + i,
        "tokens_input": 100 + i,
        "tokens_output": i,
        **extra,
    }


def landed(home: Path, stream: str = "llm_calls") -> pd.DataFrame:
    return landed_rows(home, stream, "_batch_seq, _source_row")


def test_log_flush_promote_keeps_every_value(tmp_path: Path) -> None:
    home = tmp_path / "home"
    rows = [call(f"d{i}", i) for i in range(5)]
    frame = pd.DataFrame([call(f"f{i}", i, team="ml") for i in range(4)])
    arrow = pa.Table.from_pandas(pd.DataFrame([call(f"a{i}", i) for i in range(3)]))
    with EventLogger("llm_calls", home=home, flush_seconds=60) as log:
        log.log(rows[0])
        log.log_many(rows[1:])
        log.log_batch(frame)
        log.log_batch(arrow)
        log.log_batch([call("l0", 7, tokens_cached_input=200)])  # cached > input: quarantined
        log.flush()
        # durable before any promotion: the spool holds the events on disk
        assert sum(d.bytes for d in depth(home).values()) > 0
    (result,) = promote(home)
    assert (result.events, result.stored, result.quarantined) == (13, 12, 1)
    assert len(result.results) == 1  # one landing batch for all the flushes
    got = landed(home).set_index("event_id")
    expected = pd.concat(
        [pd.DataFrame(rows), frame, arrow.to_pandas()], ignore_index=True
    ).set_index("event_id")
    assert sorted(got.index) == sorted(expected.index)
    for column in ("session_id", "provider", "model", "tokens_input", "tokens_output"):
        assert got.loc[expected.index, column].tolist() == expected[column].tolist()
    assert np.allclose(got.loc[expected.index, "response_time_ms"], expected["response_time_ms"])
    created = pd.to_datetime(expected["created_at"], utc=True).dt.tz_localize(None)
    assert (got.loc[expected.index, "created_at"].values == created.values).all()
    assert got.loc["f0", "team"] == "ml" and got.loc["d0", "team"] == "unassigned"
    # promoting again finds nothing; the spool is empty
    assert promote(home) == []
    assert sum(d.segments for d in depth(home).values()) == 0


def test_back_pressure_drop_counts_and_block_raises(tmp_path: Path) -> None:
    home = tmp_path / "home"
    # the writer thread never drains on its own here (huge size and age thresholds)
    log = EventLogger(
        "llm_calls", home=home, flush_size=10**9, flush_seconds=3600, max_buffer=10, on_full="drop"
    )
    for i in range(25):
        log.log(call(f"x{i}", i))
    assert log.dropped == 15
    log.close()
    assert "dropped (back-pressure) 15" in render(home)
    (result,) = promote(home)
    assert result.stored == 10
    assert sorted(landed(home)["event_id"]) == sorted(f"x{i}" for i in range(10))

    blocking = EventLogger(
        "llm_calls",
        home=tmp_path / "h2",
        flush_size=10**9,
        flush_seconds=3600,
        max_buffer=3,
        block_timeout=0.2,
    )
    for i in range(3):
        blocking.log(call(f"b{i}", i))
    with pytest.raises(BufferFull, match="stayed full"):
        blocking.log(call("b3", 3))
    blocking.close()


def test_flush_from_many_threads_covers_their_events(tmp_path: Path) -> None:
    home = tmp_path / "home"
    log = EventLogger("llm_calls", home=home, flush_size=50, flush_seconds=0.05)

    def work(t: int) -> None:
        for i in range(300):
            log.log(call(f"t{t}-{i}", i))
            if i % 37 == 0:
                log.flush()

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    promote(home)
    ids = landed(home)["event_id"]
    assert ids.is_unique and len(ids) == 1200


_CHILD = """
import datetime as dt, random, sys
from modelmart.logger import EventLogger
run, home = sys.argv[1], sys.argv[2]
rng = random.Random(run)
log = EventLogger("llm_calls", home=home, flush_size=rng.choice([7, 200, 5000]), flush_seconds=0.01)
i = 0
while True:
    for _ in range(rng.randint(1, 300)):
        log.log({"event_id": f"{run}-{i}", "session_id": "s", "provider": "p", "model": "m",
                 "created_at": "2026-03-01T00:00:00", "response_time_ms": 1, "tokens_input": 1,
                 "tokens_output": 1})
        i += 1
    log.flush()
    print(i - 1, flush=True)
"""


def test_kill_9_loses_no_acknowledged_event_and_stores_none_twice(tmp_path: Path) -> None:
    """Loggers and promotions killed at random moments; after a final promotion every
    event a flush() acknowledged is stored exactly once. From the second run on the
    spool is promoted before the logger starts, so it writes into reused segments
    (their earlier records still in the file behind the new ones)."""
    home = tmp_path / "home"
    free = home / "spool" / "llm_calls" / "free"
    rng = random.Random(11)
    acked: dict[str, int] = {}
    reused = 0
    env = {**os.environ, "MODELMART_HOME": str(home)}
    for run in range(5):
        name = f"r{run}"
        if run:
            promote(home)
        free_before = len(list(free.glob("*.free")))
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, name, str(home)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        lines: list[str] = []
        started = threading.Event()

        def read(c: subprocess.Popen = child, out: list[str] = lines, ev=started) -> None:
            for line in c.stdout:
                out.append(line)
                ev.set()  # logging for real: the random kill moment counts from here
            ev.set()

        reader = threading.Thread(target=read)
        reader.start()
        started.wait(timeout=120)  # a loaded machine takes seconds to import pandas
        promoter = None
        if run % 2:  # a promotion racing the logger, killed too
            promoter = subprocess.Popen(
                [sys.executable, "-m", "modelmart.cli", "ingest", "--spool"],
                env=env,
                stdout=subprocess.DEVNULL,
            )
        time.sleep(rng.uniform(0.0, 1.2))
        child.send_signal(signal.SIGKILL)
        if promoter is not None:
            time.sleep(rng.uniform(0, 0.5))
            promoter.send_signal(signal.SIGKILL)
            promoter.wait()
        child.wait()
        reader.join()
        if lines:
            acked[name] = int(lines[-1])
        reused += max(0, free_before - len(list(free.glob("*.free"))))
    assert acked, "no logger acknowledged anything before its kill"
    assert reused >= 2, "the killed loggers never wrote into a reused segment"
    promote(home)
    assert sum(d.segments for d in depth(home).values()) == 0
    ids = landed(home)["event_id"]
    assert ids.is_unique, ids[ids.duplicated()].tolist()
    stored = set(ids)
    for name, last in acked.items():
        missing = [i for i in range(last + 1) if f"{name}-{i}" not in stored]
        assert not missing, f"{name}: acknowledged events lost: {missing[:5]}"
    # and nothing was stored that was never logged (ids are run-<n>, n counting up)
    assert all(i.split("-")[0] in {f"r{r}" for r in range(5)} for i in stored)
