"""Benchmark of live logging, in one run on this machine, side by side:

1. logger: ``EventLogger.log()`` per event and ``flush()`` every 200 events (durable:
   fsynced into the spool) against the naive SQLite path of scripts/bench.py
   (``executemany``, a new connection and commit per 200-row batch, features
   JSON-encoded), on the same rows, and against the floor of any such logger (the
   same chunks pre-encoded, one pwrite + fdatasync each), in rounds that take turns;
   ``log()`` and ``flush()`` latency percentiles; then the promotion of that spool
   into one validated landing batch;
2. collector: events/s on loopback with 1,000-event NDJSON requests from 4 client
   threads (keep-alive), request latency p50/p99;
3. file ingest (``modelmart ingest`` of the history's files) against a bare DuckDB
   copy of the same files to Parquet with no validation, and against the typed-copy
   floor (reading, typing, the stored-id anti-join and the write alone);
4. small files: the same rows landed as many small batches (one per simulated
   promotion), full build before and after ``modelmart compact``, against a full
   build of the rows landed as one batch per input file;
5. end to end: ``modelmart run`` going on the history while a service logs
   100 events/s; time from ``log()`` to the event being counted in the published
   ``fct_llm_usage_daily`` (polled every 0.5 s).

Usage: .venv/bin/python scripts/bench_live.py [--calls 200000] [--live-seconds 120] [--out f.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import numpy as np
import orjson
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import (
    CLI,
    END,
    PY,
    bare_copy,
    generate,
    naive_sqlite,
    rows_read,
    run_measured,
    typed_copy_floor,
)

from modelmart.logger import EventLogger
from modelmart.spool import promote


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "MODELMART_HOME": str(home), "MODELMART_QUIET_DBT": "1"}


def _events(landing: Path, rows: int) -> list[tuple[str, dict]]:
    """The rows naive_sqlite logs (calls, then calls/7 predictions), as a service holds them."""
    con = duckdb.connect()
    calls = con.execute(
        "select * exclude (_batch_seq, _loaded_at, _source_file, _source_row) "
        f"from read_parquet('{landing}/llm_calls/*.parquet') limit {rows}"
    ).df()
    preds = con.execute(
        "select * exclude (_batch_seq, _loaded_at, _source_file, _source_row) "
        f"from read_parquet('{landing}/predictions/*.parquet') limit {rows // 7}"
    ).df()
    con.close()
    out = []
    for stream, frame in (("llm_calls", calls), ("predictions", preds)):
        for rec in frame.to_dict("records"):
            rec = {k: v for k, v in rec.items() if v is not None and v == v}
            for k in ("created_at", "predicted_at"):
                if k in rec:
                    rec[k] = rec[k].isoformat()
            if "features" in rec:
                rec["features"] = json.loads(rec["features"])
            out.append((stream, rec))
    return out


def bench_logger(
    events: list[tuple[str, dict]],
    workdir: Path,
    promote_after: bool,
    time_calls: bool = False,
    warm: bool = False,
) -> dict:
    """``log()`` each event, ``flush()`` every 200 (durable at each flush). With
    ``time_calls`` each ``log()`` is timed too (for its latency; the throughput
    rounds leave it out, as the SQLite loop has no per-row clock either).

    ``warm``: a service's logger in its steady state, where ``modelmart run`` has
    promoted the spool meanwhile, so its segments wait in ``free/`` for reuse: the
    home of the previous warm run is promoted first (untimed: another process does
    it). Otherwise a new home: a logger's first segments, in new files."""
    home = workdir / ("logger-warm-home" if warm else "logger-home")
    if warm:
        promote(home)
    else:
        shutil.rmtree(home, ignore_errors=True)
    loggers = {s: EventLogger(s, home=home) for s in ("llm_calls", "predictions")}
    # the loop of naive_sqlite: each stream's rows in turn, 200 at a time
    by_stream: dict[str, list[dict]] = {}
    for stream, event in events:
        by_stream.setdefault(stream, []).append(event)
    log_ns = np.empty(len(events), dtype=np.int64)
    flushes: list[float] = []
    clock = time.perf_counter_ns
    i = 0
    started = time.perf_counter()
    for stream, rows in by_stream.items():
        logger = loggers[stream]
        log = logger.log
        for start in range(0, len(rows), 200):
            if time_calls:
                for event in rows[start : start + 200]:
                    t0 = clock()
                    log(event)
                    log_ns[i] = clock() - t0
                    i += 1
            else:
                for event in rows[start : start + 200]:
                    log(event)
            t0 = time.perf_counter()
            logger.flush()
            flushes.append(time.perf_counter() - t0)
    seconds = time.perf_counter() - started
    # where the loop's time went (read before close(), whose last write is untimed)
    parts = {"encode": sum(lg._writer.encode_seconds for lg in loggers.values())}
    for logger in loggers.values():
        for part, spent in logger._writer.segments.timings.items():
            parts[part] = parts.get(part, 0.0) + spent
    parts["flush_other"] = sum(flushes) - sum(parts.values())
    parts["outside_flush"] = seconds - sum(flushes)
    recycled = sum(lg._writer.segments.recycled for lg in loggers.values())
    for logger in loggers.values():
        logger.close()
    out = {
        "events": len(events),
        "recycled_segments": recycled,
        "seconds": seconds,
        "parts_s": parts,
        "rows_per_s": len(events) / seconds,
        "log_ns": log_ns,
        "flush_s": flushes,
    }
    if promote_after:
        t0 = time.perf_counter()
        promoted = promote(home)
        out["promote_seconds"] = round(time.perf_counter() - t0, 2)
        out["promoted_stored"] = sum(r.stored for r in promoted)
    return out


def durable_floor(events: list[tuple[str, dict]], workdir: Path) -> dict:
    """The ceiling of any logger durable at every 200 events: the same chunks, already
    encoded (outside the timing), written with one pwrite + fdatasync each into a
    zero-filled file (no encoding, no queue, no framing, no segment rotation)."""
    chunks = [orjson.dumps([e for _, e in events[i : i + 200]]) for i in range(0, len(events), 200)]
    path = workdir / "floor.bin"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.pwrite(fd, bytes(sum(map(len, chunks))), 0)
        os.fsync(fd)
        offset = 0
        started = time.perf_counter()
        for chunk in chunks:
            os.pwrite(fd, chunk, offset)
            os.fdatasync(fd)
            offset += len(chunk)
        seconds = time.perf_counter() - started
    finally:
        os.close(fd)
        path.unlink()
    return {"rows_per_s": len(events) / seconds, "writes": len(chunks)}


def bench_logger_background(events: list[tuple[str, dict]], workdir: Path) -> dict:
    """The same events with ``flush_size=200``: the thread writes every 200 queued events
    (or all that queued meanwhile), the caller never waits; one ``flush()`` at the end,
    so the time counts every event durable."""
    home = workdir / "logger-bg-home"
    shutil.rmtree(home, ignore_errors=True)
    loggers = {s: EventLogger(s, home=home, flush_size=200) for s in ("llm_calls", "predictions")}
    started = time.perf_counter()
    for stream, event in events:
        loggers[stream].log(event)
    for logger in loggers.values():
        logger.flush()
    seconds = time.perf_counter() - started
    writes = sum(lg._writer.segments.appends for lg in loggers.values())
    for logger in loggers.values():
        logger.close()
    return {
        "events": len(events),
        "rows_per_s": len(events) / seconds,
        "writes": writes,
        "events_per_write": round(len(events) / max(writes, 1), 1),
    }


def fsync_probe(workdir: Path, n: int = 200) -> dict:
    """What one append + fdatasync of 30 kB costs on this disk right now."""
    path = workdir / "fsync-probe"
    times = []
    with open(path, "wb") as handle:
        for _ in range(n):
            t0 = time.perf_counter()
            handle.write(b"x" * 30_000)
            handle.flush()
            os.fdatasync(handle.fileno())
            times.append(time.perf_counter() - t0)
    path.unlink()
    return {
        "fdatasync_p50_ms": round(float(np.percentile(times, 50)) * 1000, 2),
        "fdatasync_p99_ms": round(float(np.percentile(times, 99)) * 1000, 2),
    }


def bench_collector(landing: Path, workdir: Path, requests: int = 200) -> dict:
    home = workdir / "collector-home"
    shutil.rmtree(home, ignore_errors=True)
    con = duckdb.connect()
    frame = con.execute(
        "select * exclude (_batch_seq, _loaded_at, _source_file, _source_row) "
        f"from read_parquet('{landing}/llm_calls/*.parquet') limit {requests * 1000}"
    ).df()
    con.close()
    frame["created_at"] = frame["created_at"].map(lambda t: t.isoformat())
    lines = [json.dumps({k: v for k, v in r.items() if v == v}) for r in frame.to_dict("records")]
    bodies = ["\n".join(lines[i : i + 1000]).encode() for i in range(0, len(lines), 1000)]
    proc = subprocess.Popen(
        [*CLI, "--home", str(home), "collect", "--port", "0", "--promote-seconds", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    port = int(proc.stdout.readline().split(":")[2].split("/")[0])
    latencies: list[float] = []
    lock = threading.Lock()
    queue = list(range(len(bodies)))

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if not queue:
                    break
                i = queue.pop()
            t0 = time.perf_counter()
            conn.request("POST", "/v1/events/llm_calls", bodies[i])
            response = conn.getresponse()
            response.read()
            assert response.status == 202, response.status
            with lock:
                latencies.append(time.perf_counter() - t0)
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    proc.terminate()
    proc.wait()
    return {
        "requests": len(bodies),
        "events": len(lines),
        "events_per_s": len(lines) / seconds,
        "request_p50_ms": float(np.percentile(latencies, 50) * 1000),
        "request_p99_ms": float(np.percentile(latencies, 99) * 1000),
    }


def bench_small_files(workdir: Path, batches_per_stream: int) -> dict:
    """Small batches vs one batch per file: full builds before/after compaction."""
    inputs = workdir / "small-inputs"
    shutil.rmtree(inputs, ignore_errors=True)
    generate(inputs, 90_000, 30, END, seed=3)  # ~1,000 calls a day for 30 days
    one = workdir / "one-file-home"
    small = workdir / "small-home"
    for h in (one, small):
        shutil.rmtree(h, ignore_errors=True)
    run_measured([*CLI, "--home", str(one), "ingest", str(inputs)])
    # the same landed rows cut into many batches, the streams interleaved as
    # promotions of a live spool would land them
    split = workdir / "small-split"
    shutil.rmtree(split, ignore_errors=True)
    con = duckdb.connect()
    pieces: list[list[Path]] = []
    for stream in ("predictions", "labels", "llm_calls", "business_events"):
        frame = con.sql(
            "select * exclude (_batch_seq, _loaded_at, _source_file, _source_row) "
            f"from read_parquet('{one}/landing/{stream}/*.parquet', union_by_name = true) "
            "order by _batch_seq, _source_row"
        ).to_arrow_table()
        n = frame.num_rows
        step = max(1, -(-n // batches_per_stream))
        folder = split / stream
        folder.mkdir(parents=True)
        files = []
        for k, offset in enumerate(range(0, n, step)):
            path = folder / f"{k:05d}.parquet"
            pq.write_table(frame.slice(offset, step), path)
            files.append(path)
        pieces.append(files)
    con.close()
    order = [files[k] for k in range(max(map(len, pieces))) for files in pieces if k < len(files)]
    code = (
        "import sys, pathlib; from modelmart.ingest import ingest_file\n"
        "for p in sys.argv[2:]:\n"
        "    ingest_file(pathlib.Path(p), pathlib.Path(p).parent.name, sys.argv[1])\n"
    )
    t_ingest, _, _ = run_measured([PY, "-c", code, str(small), *map(str, order)])
    n_files = sum(
        len(list((small / "landing" / s).glob("*.parquet")))
        for s in ("predictions", "labels", "llm_calls", "business_events")
    )
    t_one, _, _ = run_measured([*CLI, "--home", str(one), "build", "--quiet"], _env(one))
    t_small, _, _ = run_measured([*CLI, "--home", str(small), "build", "--quiet"], _env(small))
    t_compact, _, _ = run_measured([*CLI, "--home", str(small), "compact"], _env(small))
    n_after = sum(
        len(list((small / "landing" / s).glob("*.parquet")))
        for s in ("predictions", "labels", "llm_calls", "business_events")
    )
    t_after, _, _ = run_measured(
        [*CLI, "--home", str(small), "build", "--quiet", "--full-refresh"], _env(small)
    )
    return {
        "small_batches": len(order),
        "landing_files_before": n_files,
        "landing_files_after": n_after,
        "ingest_small_seconds": round(t_ingest, 1),
        "build_one_file_s": round(t_one, 1),
        "build_small_files_s": round(t_small, 1),
        "compact_s": round(t_compact, 1),
        "build_after_compact_s": round(t_after, 1),
        "ratio_small_vs_one": round(t_small / t_one, 2),
        "ratio_compacted_vs_one": round(t_after / t_one, 2),
    }


def bench_end_to_end(
    home: Path, seconds: float, rate: float = 100.0, max_wait: float = 600.0
) -> dict:
    """`modelmart run` going; a service logs `rate` events/s dated a day of their own
    (counted from what that day already holds, so the part can run again on a home)."""
    live_day = END + dt.timedelta(days=1)
    warehouse = home / "warehouse.duckdb"

    def published_live_calls() -> int:
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            return int(
                con.execute(
                    "select coalesce(sum(calls), 0) from marts.fct_llm_usage_daily "
                    "where usage_date = ?",
                    [live_day],
                ).fetchall()[0][0]
            )
        finally:
            con.close()

    baseline = published_live_calls()
    token = f"{time.time_ns():x}"
    run = subprocess.Popen(
        [*CLI, "--home", str(home), "run", "--interval", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**_env(home), "MODELMART_BUILD_NICE": "0"},
        start_new_session=True,  # its build too can be stopped at the end
    )
    cycle_lines: list[str] = []
    threading.Thread(target=lambda: cycle_lines.extend(run.stdout), daemon=True).start()
    logged_at: list[float] = []
    stop = threading.Event()

    def service() -> None:
        with EventLogger("llm_calls", home=home) as log:
            t0 = time.monotonic()
            i = 0
            while time.monotonic() - t0 < seconds:
                target = t0 + i / rate
                if (wait := target - time.monotonic()) > 0:
                    time.sleep(wait)
                log.log(
                    {
                        "event_id": f"live-{token}-{i}",
                        "session_id": f"live-s{i % 50}",
                        "provider": "openai",
                        "model": "gpt-4o-mini",
                        "created_at": f"{live_day.isoformat()}T12:00:00",
                        "response_time_ms": 100.0,
                        "tokens_input": 10,
                        "tokens_output": 5,
                    }
                )
                logged_at.append(time.monotonic())
                i += 1
        stop.set()

    producer = threading.Thread(target=service)
    producer.start()
    visible: list[tuple[float, int]] = []
    deadline = time.monotonic() + seconds + max_wait
    while time.monotonic() < deadline:
        time.sleep(0.5)
        try:
            n = published_live_calls() - baseline
        except duckdb.Error:
            continue
        visible.append((time.monotonic(), n))
        if stop.is_set() and n >= len(logged_at):
            break
    producer.join()
    ended = time.monotonic()
    run.terminate()
    try:
        run.wait(timeout=300)
    except subprocess.TimeoutExpired:  # a build longer than that: stop it and its build
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    # events are promoted in the order logged: the k-th event is visible once k are;
    # one never visible by the deadline counts with its wait so far (a lower bound)
    latencies = []
    j = 0
    for k, t in enumerate(logged_at):
        while j < len(visible) and visible[j][1] < k + 1:
            j += 1
        latencies.append((visible[j][0] if j < len(visible) else ended) - t)
    never = sum(1 for k in range(len(logged_at)) if not visible or visible[-1][1] < k + 1)
    cycles = [line for line in cycle_lines if line.startswith("cycle ")]
    return {
        "events": len(logged_at),
        "visible": visible[-1][1] if visible else 0,
        "not_visible_by_deadline": never,  # > 0: the latencies below are lower bounds
        "latency_p50_s": float(np.percentile(latencies, 50)) if latencies else None,
        "latency_p95_s": float(np.percentile(latencies, 95)) if latencies else None,
        "latency_max_s": float(max(latencies)) if latencies else None,
        "cycles": len(cycles),
        "cycle_lines": [c.strip() for c in cycles],
        "warehouse_mib": round(warehouse.stat().st_size / 2**20),
        "load_average": os.getloadavg(),
    }


def _parts_median(runs: list[dict]) -> dict[str, float]:
    """Median seconds of each part of the loop over the runs (see ``bench_logger``)."""
    return {
        part: round(float(np.median([run["parts_s"][part] for run in runs])), 4)
        for part in runs[0]["parts_s"]
    }


def bench_logger_side_by_side(landing: Path, rows: int, workdir: Path, rounds: int = 5) -> dict:
    """The naive SQLite path, the logger in its steady state (``warm``: reusing
    promoted segments), a new logger (``cold``: new files) and the floor, on the
    same rows, in turns (each goes first in turn) so that the disk's and the
    machine's drift hit all alike; the ratio of each round's pair, and their median."""
    events = _events(landing, rows)
    probe_before = fsync_probe(workdir)
    shutil.rmtree(workdir / "logger-warm-home", ignore_errors=True)
    bench_logger(events, workdir, promote_after=False, warm=True)  # its first segments
    naive_rates, logger_runs, cold_runs, floor_rates = [], [], [], []
    contenders = ["naive", "logger", "cold", "floor"]
    for r in range(rounds):
        for which in contenders[r % 4 :] + contenders[: r % 4]:  # each goes first in turn
            if which == "naive":
                naive_rates.append(naive_sqlite(landing, rows, workdir)["rows_per_s"])
            elif which == "logger":
                logger_runs.append(bench_logger(events, workdir, promote_after=False, warm=True))
            elif which == "cold":
                cold_runs.append(bench_logger(events, workdir, promote_after=r == rounds - 1))
            else:
                floor_rates.append(durable_floor(events, workdir)["rows_per_s"])
    timed = bench_logger(events, workdir, promote_after=False, time_calls=True)
    background = bench_logger_background(events, workdir)
    rates = [run["rows_per_s"] for run in logger_runs]
    ratios = [lg / nv for lg, nv in zip(rates, naive_rates, strict=True)]
    cold_rates = [run["rows_per_s"] for run in cold_runs]
    cold_ratios = [lg / nv for lg, nv in zip(cold_rates, naive_rates, strict=True)]
    floor_ratios = [fl / nv for fl, nv in zip(floor_rates, naive_rates, strict=True)]
    of_floor = [lg / fl for lg, fl in zip(rates, floor_rates, strict=True)]
    log_ns = timed["log_ns"]
    flushes = [f for run in logger_runs for f in run["flush_s"]]
    med = float(np.median(naive_rates))
    return {
        "events": len(events),
        "rounds": rounds,
        "rows_per_s": round(float(np.median(rates))),
        "sqlite_rows_per_s": round(med),
        "ratio_vs_sqlite": round(float(np.median(ratios)), 2),
        "rounds_rows_per_s": [round(x) for x in rates],
        "rounds_sqlite_rows_per_s": [round(x) for x in naive_rates],
        "rounds_ratio": [round(x, 2) for x in ratios],
        "recycled_segments_per_round": [run["recycled_segments"] for run in logger_runs],
        "cold_rows_per_s": round(float(np.median(cold_rates))),
        "cold_ratio_vs_sqlite": round(float(np.median(cold_ratios)), 2),
        "rounds_cold_ratio": [round(x, 2) for x in cold_ratios],
        "cold_parts_median_s": _parts_median(cold_runs),
        "floor_rows_per_s": round(float(np.median(floor_rates))),
        "floor_ratio_vs_sqlite": round(float(np.median(floor_ratios)), 2),
        "rounds_floor_ratio_vs_sqlite": [round(x, 2) for x in floor_ratios],
        "logger_share_of_floor": round(float(np.median(of_floor)), 2),
        "log_p50_us": round(float(np.percentile(log_ns, 50) / 1000), 3),
        "log_p99_us": round(float(np.percentile(log_ns, 99) / 1000), 3),
        "log_max_us": round(float(log_ns.max() / 1000), 1),
        "flush_p50_ms": round(float(np.percentile(flushes, 50) * 1000), 3),
        "flush_p99_ms": round(float(np.percentile(flushes, 99) * 1000), 3),
        "flushes": len(flushes),
        # median seconds per part of the loop over the rounds, and the total
        "parts_median_s": _parts_median(logger_runs),
        "loop_median_s": round(float(np.median([run["seconds"] for run in logger_runs])), 3),
        "promote_seconds": cold_runs[-1]["promote_seconds"],
        "promoted_stored": cold_runs[-1]["promoted_stored"],
        "background_rows_per_s": round(background["rows_per_s"]),
        "background_events_per_write": background["events_per_write"],
        "ratio_background_vs_sqlite": round(background["rows_per_s"] / med, 1),
        "fsync_probe_before": probe_before,
        "fsync_probe_after": fsync_probe(workdir),
        "load_average": os.getloadavg(),
    }


def bench_file_ingest(inputs: Path, home: Path, workdir: Path) -> dict:
    """``modelmart ingest`` (the real command, start-up included) against the bare
    copy and the typed-copy floor of scripts/bench.py, on the same files, in turn."""
    for path in inputs.rglob("*.*"):  # the same warm page cache for every contender
        path.read_bytes()
    t_ingest, _, out = run_measured([*CLI, "--home", str(home), "ingest", str(inputs)])
    rows = rows_read(out)
    # the command's own figure: from its first file to its last (no start-up)
    inside = float(out.rsplit(" in ", 1)[1].split("s ", 1)[0])
    t_copy, copy_rows = bare_copy(inputs, workdir)
    t_floor, _ = typed_copy_floor(inputs, workdir)
    bare = copy_rows / t_copy
    return {
        "rows": rows,
        "ingest_rows_per_s": round(rows / t_ingest),
        "ingest_rows_per_s_without_startup": round(rows / inside),
        "bare_copy_rows_per_s": round(bare),
        "typed_copy_floor_rows_per_s": round(copy_rows / t_floor),
        "ratio_ingest_vs_bare_copy": round((rows / t_ingest) / bare, 2),
        "ratio_floor_vs_bare_copy": round((copy_rows / t_floor) / bare, 2),
        "ratio_ingest_vs_floor": round((rows / t_ingest) / (copy_rows / t_floor), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000, help="LLM calls in the history")
    parser.add_argument("--sqlite-rows", type=int, default=100_000)
    parser.add_argument("--small-batches", type=int, default=150, help="per stream")
    parser.add_argument("--live-seconds", type=float, default=120)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=5, help="logger vs SQLite turns")
    parser.add_argument(
        "--only-logger",
        action="store_true",
        help="only the logger against SQLite (on the history's landing files in --workdir)",
    )
    parser.add_argument(
        "--only-end-to-end",
        action="store_true",
        help="only the end-to-end part, on the history already ingested and built in --workdir",
    )
    parser.add_argument(
        "--only-file-ingest",
        action="store_true",
        help="only the file ingest against the bare copy and the typed-copy floor",
    )
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-live-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results: dict = {"machine": {"cpus": os.cpu_count()}, "history_calls": args.calls}

    inputs, home = workdir / "inputs", workdir / "home"
    if args.only_logger:
        side = bench_logger_side_by_side(home / "landing", args.sqlite_rows, workdir, args.rounds)
        print(json.dumps(side))
        return
    if args.only_end_to_end:
        print(json.dumps(bench_end_to_end(home, args.live_seconds), default=str))
        return
    shutil.rmtree(inputs, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)
    generate(inputs, args.calls, 90, END, seed=7)
    results["file_ingest"] = bench_file_ingest(inputs, home, workdir)
    print("file ingest", results["file_ingest"], flush=True)
    if args.only_file_ingest:
        print(json.dumps(results, indent=1))
        return

    results["logger"] = bench_logger_side_by_side(
        home / "landing", args.sqlite_rows, workdir, args.rounds
    )
    print("logger", results["logger"], flush=True)

    results["collector"] = {
        k: round(v, 2) if isinstance(v, float) else v
        for k, v in bench_collector(home / "landing", workdir).items()
    }
    print("collector", results["collector"], flush=True)

    results["small_files"] = bench_small_files(workdir, args.small_batches)
    print("small files", results["small_files"], flush=True)

    t_build, _, _ = run_measured([*CLI, "--home", str(home), "build", "--quiet"], _env(home))
    results["history_full_build_s"] = round(t_build, 1)
    results["end_to_end"] = bench_end_to_end(home, args.live_seconds)
    print("end to end", results["end_to_end"], flush=True)

    text = json.dumps(results, indent=1, default=str)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
