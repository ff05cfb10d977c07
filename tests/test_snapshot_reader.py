"""The app's warehouse reader under publishes from another process.

Several server processes, each with several threads, read while a builder keeps
replacing the published file. Every query must succeed (a request that fails here
is an HTTP 500 in production), and every process must end on the last snapshot.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from pathlib import Path

import duckdb

from dash_app.data.warehouse import SnapshotReader

PROCESSES = 2
THREADS = 8
PUBLISHES = 60


def _publish(home: Path, value: int) -> None:
    staged = home / "staged.duckdb"
    con = duckdb.connect(str(staged))
    con.execute(f"create schema marts; create table marts.t as select {value} as v from range(100)")
    con.close()
    os.replace(staged, home / "warehouse.duckdb")


def _read_until_stopped(home: str, stop_file: str, queue: multiprocessing.Queue) -> None:
    reader = SnapshotReader(Path(home) / "warehouse.duckdb")
    errors: list[str] = []
    counts = [0] * THREADS

    def loop(slot: int) -> None:
        n = 0
        while not os.path.exists(stop_file):
            n += 1
            try:
                # a fresh parameter each time: no answer comes from the result cache
                reader.query("select max(v) as v, ? as n from marts.t", [slot * 10**9 + n])
                counts[slot] += 1
            except Exception as exc:  # every failure is the finding
                errors.append(repr(exc))

    threads = [threading.Thread(target=loop, args=(slot,)) for slot in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    last = int(reader.query("select max(v) as v from marts.t").v.iloc[0])
    reader.close()
    queue.put((sum(counts), errors[:5], len(errors), last))


def test_readers_in_several_processes_never_fail_while_snapshots_are_replaced(tmp_path):
    _publish(tmp_path, 0)
    stop_file = tmp_path / "stop"
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [
        context.Process(target=_read_until_stopped, args=(str(tmp_path), str(stop_file), queue))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    time.sleep(2)  # spawned interpreters import dash_app before they read
    for value in range(1, PUBLISHES + 1):
        _publish(tmp_path, value)
        time.sleep(0.02)
    stop_file.write_text("")
    results = [queue.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    for queries, sample, failed, last in results:
        assert failed == 0, sample
        assert queries > 0
        assert last == PUBLISHES
    # links exist only while a connection opens: no old snapshot stays pinned on disk
    assert list((tmp_path / ".serve").iterdir()) == []
