"""Compaction: rows and batch numbers kept, and no build ever sees a half-swapped landing."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from modelmart.build import MARTS
from modelmart.compact import JOURNAL, compact, landing_files, reading_landing
from modelmart.config import get_paths
from modelmart.contract import STREAMS
from modelmart.demo_data import DemoConfig, generate
from modelmart.ingest import ingest_file
from modelmart.status import stream_status
from tests.conftest import run_cli


def landing_rows(home: Path, stream: str) -> pd.DataFrame:
    con = duckdb.connect()
    try:
        return con.execute(
            f"select * exclude (_loaded_at) from read_parquet('{home}/landing/{stream}/*.parquet', "
            "union_by_name = true) order by _batch_seq, _source_row"
        ).df()
    finally:
        con.close()


def marts(home: Path) -> dict[str, pd.DataFrame]:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return {m: con.execute(f"select * from marts.{m} order by all").df() for m in MARTS}
    finally:
        con.close()


@pytest.fixture(scope="module")
def small_batches(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short demo history landed as ~50 small batches, the streams interleaved."""
    root = tmp_path_factory.mktemp("compact")
    inbox = root / "inbox"
    generate(
        inbox,
        DemoConfig(days=14, llm_calls_per_day=60, predictions_per_day=50, bad_rows=False),
    )
    con = duckdb.connect()
    chunks: list[list[Path]] = []
    for stream in STREAMS:
        frame = (
            con.execute(
                f"select * from read_parquet('{inbox}/{stream}/*.parquet', union_by_name = true)"
            ).df()
            if list((inbox / stream).glob("*.parquet"))
            else None
        )
        if frame is None:
            texts = sorted((inbox / stream).glob("*"))
            frame = pd.concat(
                [con.execute(f"select * from '{p}'").df() for p in texts], ignore_index=True
            )
        parts = []
        for i, piece in enumerate(
            frame.iloc[j : j + max(1, len(frame) // 12)]
            for j in range(0, len(frame), max(1, len(frame) // 12))
        ):
            path = root / "split" / stream / f"{i:03d}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            piece.to_parquet(path)
            parts.append(path)
        chunks.append(parts)
    home = root / "home"
    for i in range(max(len(c) for c in chunks)):
        for stream, parts in zip(STREAMS, chunks, strict=True):
            if i < len(parts):
                assert ingest_file(parts[i], stream, home).status == "ingested"
    return home


def test_compaction_keeps_every_row_and_its_batch(small_batches: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(small_batches, home)
    before = {s: landing_rows(home, s) for s in STREAMS}
    status_before = stream_status(get_paths(home))
    files_before = {s: len(landing_files(get_paths(home), s)) for s in STREAMS}
    results = compact(home)
    assert {r.stream for r in results} == set(STREAMS)
    for r in results:
        assert r.written_files == 1 and r.merged_files == files_before[r.stream] - 1  # schema stays
    for s in STREAMS:
        pd.testing.assert_frame_equal(landing_rows(home, s), before[s])
        assert len(landing_files(get_paths(home), s)) == 2
    # manifests still count as landed: the status is unchanged
    assert stream_status(get_paths(home)) == status_before
    # an ingest after compaction still finds the stored rows (duplicates, not new rows)
    again = ingest_file(
        small_batches.parent / "split" / "llm_calls" / "003.parquet", "llm_calls", home
    )
    assert again.stored == 0 and again.duplicates == again.read > 0
    assert stream_status(get_paths(home))[2].files == status_before[2].files + 1


def test_a_swap_that_died_midway_is_finished_before_anyone_reads(
    small_batches: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    shutil.copytree(small_batches, home)
    paths = get_paths(home)
    folder = paths.landing / "llm_calls"
    olds = [f for f in landing_files(paths, "llm_calls") if not f.name.startswith("0000000000")]
    olds = landing_files(paths, "llm_calls")[1:4]
    before = landing_rows(home, "llm_calls")
    # the state a kill between the merged file's rename and the deletes leaves behind
    first, last = int(olds[0].name[:12]), int(olds[-1].name[:12])
    merged = folder / f"{last:012d}-c{first:012d}-llm_calls.parquet"
    con = duckdb.connect()
    con.execute(
        "copy (select * from read_parquet(["
        + ", ".join(f"'{f}'" for f in olds)
        + f"]) order by _batch_seq, _source_row) to '{merged}' (format parquet)"
    ).fetchall()
    (folder / JOURNAL).write_text(
        json.dumps({"merged": merged.name, "remove": [f.name for f in olds]})
    )
    # the ingest listing already reads each row once
    assert not set(olds) & set(landing_files(paths, "llm_calls"))
    with reading_landing(paths):  # what a build does first
        assert not (folder / JOURNAL).exists()
        assert not any(f.exists() for f in olds)
        pd.testing.assert_frame_equal(landing_rows(home, "llm_calls"), before)


@pytest.mark.slow
def test_builds_during_a_compaction_loop_equal_the_uncompacted_build(
    small_batches: Path, tmp_path: Path
) -> None:
    reference = tmp_path / "reference"
    shutil.copytree(small_batches, reference)
    run = run_cli(reference, "build", "--quiet")
    assert run.returncode == 0, run.stdout + run.stderr
    expected = marts(reference)
    assert all(len(frame) for frame in expected.values())

    home = tmp_path / "home"
    shutil.copytree(small_batches, home)
    done = threading.Event()
    swaps: list[float] = []
    errors: list[BaseException] = []

    def compaction_loop() -> None:
        # one small merge at a time (3 files), again and again, merged files merged again
        try:
            while not done.is_set():
                merged = compact(home, max_files=3, max_groups=1)
                if merged:
                    swaps.append(time.monotonic())
                else:
                    time.sleep(0.01)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    worker = threading.Thread(target=compaction_loop)
    worker.start()
    windows = []
    try:
        for i in range(3):
            started = time.monotonic()
            run = run_cli(home, "build", "--quiet", *(["--full-refresh"] if i else []))
            windows.append((started, time.monotonic()))
            assert run.returncode == 0, run.stdout + run.stderr
            got = marts(home)
            for mart, frame in expected.items():
                pd.testing.assert_frame_equal(got[mart], frame, rtol=1e-9, obj=f"build {i}: {mart}")
    finally:
        done.set()
        worker.join()
    assert not errors, errors
    # compaction really ran while builds did (its merges interleaved with them)
    assert sum(1 for t in swaps if windows[0][0] < t < windows[-1][1]) >= 3
    assert sum(len(landing_files(get_paths(home), s)) for s in STREAMS) < sum(
        len(landing_files(get_paths(small_batches), s)) for s in STREAMS
    )


def test_a_compaction_waiting_for_a_build_does_not_hold_up_ingests(
    small_batches: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    shutil.copytree(small_batches, home)
    paths = get_paths(home)
    split = small_batches.parent / "split" / "llm_calls"
    merged: list = []
    with reading_landing(paths):  # what a running build holds
        worker = threading.Thread(target=lambda: merged.extend(compact(home)))
        worker.start()
        # the compaction has written its first merged file and waits to swap it in
        # (the kernel lists it as waiting for landing.lock)
        deadline = time.monotonic() + 60
        while not _waiting_for(paths.locks / "landing.lock") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _waiting_for(paths.locks / "landing.lock")
        assert worker.is_alive() and not merged
        results: list = []
        ingest = threading.Thread(
            target=lambda: results.append(ingest_file(split / "000.parquet", "llm_calls", home))
        )
        ingest.start()
        ingest.join(timeout=60)
        assert results, "the ingest waited for the compaction that waits for the build"
        assert results[0].status == "ingested" and results[0].duplicates == results[0].read
        assert worker.is_alive()
    worker.join(timeout=60)
    assert {r.stream for r in merged} == set(STREAMS)


def _waiting_for(lock: Path) -> bool:
    """Whether some process waits for the flock on ``lock`` (Linux: /proc/locks)."""
    inode = f":{os.stat(lock).st_ino} "
    return any(
        "->" in line and inode in line for line in Path("/proc/locks").read_text().splitlines()
    )
