"""Benchmark: modelmart ingest and build against a naive path and a hand-written floor.

For each scale (LLM calls; the other streams proportional, as the demo generator
makes them) it measures, in one run on this machine:

- modelmart ingest (rows/s over all streams, peak memory) — the real CLI;
- modelmart full build (seconds, peak memory) and the incremental build after
  one more day of events is ingested;
- (a) the naive path: rows logged into SQLite with ``executemany``, one new
  connection and commit per 200-row batch, features JSON-encoded per row
  (measured on a sample, its rate extrapolated);
- (b) the floor: one hand-written DuckDB SQL script (scripts/bench_floor.sql)
  computing the same marts from the same landed files, checked against the marts;
- two ceilings the targets run into: a bare DuckDB copy of the same input files to
  Parquet (no validation at all: the most any ingest could do here), and a build
  with nothing new (dbt's fixed cost on this project: the least any incremental
  build costs).

Usage: .venv/bin/python scripts/bench.py [--scales 1000000,10000000] [--out bench.json]
Every step runs as its own process; peak memory is the process tree's RSS,
sampled every 50 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import psutil

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
CLI = [PY, "-m", "modelmart.cli"]
END = dt.date(2026, 11, 1)


def run_measured(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run a command; return (seconds, peak RSS of its process tree in MiB, stdout)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    peak = 0
    root = psutil.Process(proc.pid)
    out_chunks: list[str] = []
    while proc.poll() is None:
        try:
            rss = root.memory_info().rss + sum(
                c.memory_info().rss for c in root.children(recursive=True)
            )
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.05)
    out_chunks.append(proc.stdout.read())
    seconds = time.perf_counter() - started
    output = "".join(out_chunks)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{output[-3000:]}")
    return seconds, peak / 2**20, output


def generate(
    out: Path,
    calls: int,
    days: int,
    end: dt.date,
    seed: int,
    prefix: str = "",
    predictions: int | None = None,
) -> float:
    per_day = (predictions // 90) if predictions else calls // 630
    code = (
        "import datetime, pathlib; from modelmart.demo_data import DemoConfig, generate; "
        f"generate(pathlib.Path({str(out)!r}), DemoConfig(days={days}, llm_calls_per_day={calls // 90}, "
        f"predictions_per_day={per_day}, seed={seed}, end_date=datetime.date.fromisoformat({end.isoformat()!r}), "
        f"id_prefix={prefix!r}))"
    )
    seconds, _, _ = run_measured([PY, "-c", code])
    return seconds


def rows_read(output: str) -> int:
    line = next(x for x in output.splitlines() if x.startswith("total:"))
    return int(line.split("read=")[1].split()[0])


def naive_sqlite(landing: Path, rows: int, workdir: Path) -> dict:
    """Log `rows` LLM calls and rows/7 predictions the naive way; rows per second."""
    con = duckdb.connect()
    calls = con.execute(
        f"select event_id, session_id, provider, model, strftime(created_at, '%Y-%m-%dT%H:%M:%S'), "
        f"response_time_ms, tokens_input, tokens_output, tokens_cached_input, status, team, use_case "
        f"from read_parquet('{landing}/llm_calls/*.parquet') limit {rows}"
    ).fetchall()
    preds = con.execute(
        f"select event_id, model_name, model_version, strftime(predicted_at, '%Y-%m-%dT%H:%M:%S'), predicted_label, "
        f"score, features from read_parquet('{landing}/predictions/*.parquet') limit {rows // 7}"
    ).fetchall()
    con.close()
    # the service holds features as dicts and JSON-encodes them per row
    preds = [(*p[:6], json.loads(p[6]) if p[6] else {}) for p in preds]
    db = workdir / "naive.sqlite"
    db.unlink(missing_ok=True)
    setup = sqlite3.connect(db)
    setup.execute(
        "create table llm_calls (event_id text primary key, session_id text, provider text, model text, "
        "created_at text, response_time_ms real, tokens_input integer, tokens_output integer, "
        "tokens_cached_input integer, status text, team text, use_case text)"
    )
    setup.execute(
        "create table predictions (event_id text primary key, model_name text, model_version text, "
        "predicted_at text, predicted_label text, score real, features text)"
    )
    setup.commit()
    setup.close()
    started = time.perf_counter()
    for i in range(0, len(calls), 200):
        conn = sqlite3.connect(db)
        conn.executemany(
            "insert or ignore into llm_calls values (?,?,?,?,?,?,?,?,?,?,?,?)", calls[i : i + 200]
        )
        conn.commit()
        conn.close()
    for i in range(0, len(preds), 200):
        conn = sqlite3.connect(db)
        conn.executemany(
            "insert or ignore into predictions values (?,?,?,?,?,?,?)",
            [(*p[:6], json.dumps(p[6])) for p in preds[i : i + 200]],
        )
        conn.commit()
        conn.close()
    seconds = time.perf_counter() - started
    n = len(calls) + len(preds)
    return {"rows": n, "seconds": round(seconds, 2), "rows_per_s": n / seconds}


def _empty_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir()
    return path


def bare_copy(inputs: Path, workdir: Path) -> tuple[float, int]:
    """The ingest ceiling: DuckDB reads every input file and writes it to Parquet,
    with no validation, no duplicate detection and no commit protocol."""
    out = _empty_dir(workdir / "bare")
    readers = {
        ".csv": "read_csv('{}', header = true)",
        ".jsonl": "read_json('{}', format = 'newline_delimited')",
        ".parquet": "read_parquet('{}')",
    }
    started = time.perf_counter()
    con = duckdb.connect()
    rows = 0
    for i, path in enumerate(sorted(inputs.rglob("*.*"))):
        source = readers[path.suffix].format(path)
        target = out / f"{i}.parquet"
        rows += con.execute(
            f"copy (select * from {source}) to '{target}' (format parquet, compression zstd)"
        ).fetchall()[0][0]
    con.close()
    seconds = time.perf_counter() - started
    shutil.rmtree(out, ignore_errors=True)
    return seconds, rows


def typed_copy_floor(inputs: Path, workdir: Path) -> tuple[float, int]:
    """The least that an ingest keeping the event contract must do, as plain DuckDB:
    read each file (CSV as text, as the contract's reader does), cast every contract
    column to its landing type, add the batch columns, drop the rows whose event_id
    is already stored (one anti-join against the stream's earlier outputs) and write
    zstd Parquet. No reasons, quarantine, in-file duplicates, CSV row scan, manifest
    or commit protocol: a ceiling for ``modelmart ingest``, measured beside the bare
    copy. Returns (seconds, rows written); its rate is of the rows read (as the bare
    copy's count)."""
    from modelmart.contract import CONTRACT

    out = _empty_dir(workdir / "floor_copy")
    readers = {
        ".csv": "read_csv('{}', header = true, all_varchar = true)",
        ".jsonl": "read_json('{}', format = 'newline_delimited')",
        ".parquet": "read_parquet('{}', file_row_number = true)",
    }
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    written_rows = 0
    written: dict[str, list[str]] = {}
    for i, path in enumerate(sorted(inputs.rglob("*.*"))):
        stream = CONTRACT[path.parent.name]
        source = readers[path.suffix].format(path)
        given = {r[0] for r in con.execute(f"describe select * from {source}").fetchall()}
        given.discard("file_row_number")

        def typed(c, given=given, path=path) -> str:
            if c.name not in given:
                return f"null::{c.landing_type} as {c.name}"
            if c.kind == "features":
                value = f"to_json({c.name})::varchar"
            elif path.suffix == ".csv":  # blank text is absent, as the contract says
                value = f"nullif(trim({c.name}), '')"
            else:
                value = c.name
            return f"try_cast({value} as {c.landing_type}) as {c.name}"

        cols = ", ".join(typed(c) for c in stream.columns)
        earlier = written.setdefault(stream.name, [])
        seen = (
            " where event_id not in (select event_id from read_parquet(["
            + ", ".join(f"'{p}'" for p in earlier)
            + "]))"
            if earlier
            else ""
        )
        # each row's number in its file, as the landing files keep it
        number = "file_row_number + 1" if path.suffix == ".parquet" else "row_number() over ()"
        target = out / f"{i}.parquet"
        written_rows += con.execute(
            f"copy (select *, {i}::bigint as _batch_seq, now()::timestamp as _loaded_at, "
            f"'{path}' as _source_file, _source_row "
            f"from (select {cols}, {number} as _source_row from {source}){seen}) "
            f"to '{target}' (format parquet, compression zstd)"
        ).fetchall()[0][0]
        earlier.append(str(target))
    con.close()
    seconds = time.perf_counter() - started
    shutil.rmtree(out, ignore_errors=True)
    return seconds, written_rows


def floor(landing: Path, workdir: Path) -> tuple[float, float, Path]:
    sql = (ROOT / "scripts" / "bench_floor.sql").read_text()
    sql = sql.replace("{landing}", str(landing)).replace("{seeds}", str(ROOT / "seeds"))
    script = workdir / "floor.sql"
    script.write_text(sql)
    target = workdir / "floor.duckdb"
    target.unlink(missing_ok=True)
    code = (
        f"import duckdb; con = duckdb.connect({str(target)!r}); "
        f"con.execute(open({str(script)!r}).read()).fetchall(); con.close()"
    )
    seconds, peak, _ = run_measured([PY, "-c", code])
    return seconds, peak, target


def check_floor(floor_db: Path, warehouse: Path) -> list[str]:
    """The floor must compute the same numbers, or the comparison is meaningless."""
    checks = {
        "fct_llm_usage_daily": "count(*), sum(calls), round(sum(cost_usd), 6), sum(unpriced_tokens), "
        "round(sum(latency_p95_ms), 3)",
        "fct_model_quality_daily": "count(*), sum(predictions), sum(correct), sum(labeled_rolling_7d), "
        "round(sum(accuracy_rolling_7d), 9)",
        "fct_model_quality_segment_daily": "count(*), sum(predictions), sum(correct), sum(labeled), "
        "round(sum(accuracy), 9)",
        "fct_business_daily": "count(*), sum(tickets), round(sum(revenue_usd), 6)",
        "fct_dashboard_daily": "count(*), sum(llm_calls), round(sum(cost_usd), 6), sum(tickets), "
        "round(sum(revenue_usd), 6), sum(labeled_calls_rolling_7d)",
    }
    con = duckdb.connect()
    con.execute(f"attach '{floor_db}' as floor (read_only)")
    con.execute(f"attach '{warehouse}' as wh (read_only)")
    result = []
    for mart, exprs in checks.items():
        ours = con.execute(f"select {exprs} from wh.marts.{mart}").fetchall()[0]
        theirs = con.execute(f"select {exprs} from floor.main.{mart}").fetchall()[0]
        result.append(f"{mart}: {'OK' if ours == theirs else f'MISMATCH {ours} vs {theirs}'}")
    con.close()
    return result


def bench_scale(calls: int, workdir: Path, sqlite_rows: int) -> dict:
    scale_dir = workdir / f"calls-{calls}"
    shutil.rmtree(scale_dir, ignore_errors=True)
    scale_dir.mkdir(parents=True)
    home = scale_dir / "home"
    env = {**os.environ, "MODELMART_HOME": str(home)}
    print(f"\n== {calls:,} LLM calls: generating demo events", flush=True)
    gen_s = generate(scale_dir / "input", calls, 90, END, seed=11)
    gen_next_s = generate(
        scale_dir / "next_day", calls, 1, END + dt.timedelta(days=1), seed=12, prefix="d91-"
    )
    print(f"   generated in {gen_s:.1f}s (+{gen_next_s:.1f}s for the extra day)", flush=True)

    ingest_s, ingest_mem, out = run_measured([*CLI, "ingest", str(scale_dir / "input")], env)
    n_read = rows_read(out)
    print(
        f"   ingest: {n_read:,} rows in {ingest_s:.1f}s = {n_read / ingest_s:,.0f} rows/s, peak {ingest_mem:.0f} MiB",
        flush=True,
    )
    bare_s, bare_rows = bare_copy(scale_dir / "input", scale_dir)
    print(
        f"   bare DuckDB copy of the same files (no validation): {bare_rows:,} rows in {bare_s:.1f}s "
        f"= {bare_rows / bare_s:,.0f} rows/s",
        flush=True,
    )
    build_s, build_mem, _ = run_measured([*CLI, "build", "--full-refresh", "--quiet"], env)
    print(f"   full build: {build_s:.1f}s, peak {build_mem:.0f} MiB", flush=True)
    next_ingest_s, _, _ = run_measured([*CLI, "ingest", str(scale_dir / "next_day")], env)
    inc_s, inc_mem, _ = run_measured([*CLI, "build", "--quiet"], env)
    # --force: without it, a build with nothing new is skipped at once
    noop_s, _, _ = run_measured([*CLI, "build", "--force", "--quiet"], env)
    print(
        f"   +1 day: ingest {next_ingest_s:.1f}s, incremental build {inc_s:.1f}s, peak {inc_mem:.0f} MiB; "
        f"then a build with nothing new: {noop_s:.1f}s",
        flush=True,
    )

    floor_s, floor_mem, floor_db = floor(home / "landing", scale_dir)
    print(
        f"   floor (hand-written SQL, same marts, now over 91 days): {floor_s:.1f}s, peak {floor_mem:.0f} MiB",
        flush=True,
    )
    # the full build again on exactly the data the floor saw, for a like-for-like ratio
    build2_s, build2_mem, _ = run_measured([*CLI, "build", "--full-refresh", "--quiet"], env)
    checks = check_floor(floor_db, home / "warehouse.duckdb")
    for line in checks:
        print(f"   floor check {line}", flush=True)
    naive = naive_sqlite(home / "landing", sqlite_rows, scale_dir)
    print(
        f"   naive SQLite: {naive['rows']:,} rows in {naive['seconds']}s = {naive['rows_per_s']:,.0f} rows/s",
        flush=True,
    )
    size = sum(f.stat().st_size for f in (scale_dir / "input").rglob("*") if f.is_file())
    result = {
        "llm_calls": calls,
        "rows_ingested": n_read,
        "input_mib": round(size / 2**20, 1),
        "generate_s": round(gen_s, 1),
        "ingest_s": round(ingest_s, 2),
        "ingest_rows_per_s": round(n_read / ingest_s),
        "ingest_peak_mib": round(ingest_mem),
        "bare_copy_s": round(bare_s, 2),
        "bare_copy_rows_per_s": round(bare_rows / bare_s),
        "full_build_s": round(build_s, 2),
        "full_build_peak_mib": round(build_mem),
        "full_build_91d_s": round(build2_s, 2),
        "full_build_91d_peak_mib": round(build2_mem),
        "incremental_build_s": round(inc_s, 2),
        "incremental_build_peak_mib": round(inc_mem),
        "noop_build_s": round(noop_s, 2),
        "floor_s": round(floor_s, 2),
        "floor_peak_mib": round(floor_mem),
        "floor_checks": checks,
        "sqlite_rows": naive["rows"],
        "sqlite_rows_per_s": round(naive["rows_per_s"]),
    }
    result["ratio_ingest_vs_sqlite"] = round(
        result["ingest_rows_per_s"] / result["sqlite_rows_per_s"], 1
    )
    result["ratio_build_vs_floor"] = round(build2_s / floor_s, 2)
    # against the full build of the same 91 days (the first full build also pays
    # dbt's first, complete parse of the project)
    result["ratio_incremental_vs_full"] = round(inc_s / build2_s, 3)
    result["ratio_bare_copy_vs_sqlite"] = round(
        result["bare_copy_rows_per_s"] / result["sqlite_rows_per_s"], 1
    )
    result["ratio_noop_vs_full"] = round(noop_s / build2_s, 3)
    shutil.rmtree(scale_dir / "input", ignore_errors=True)
    shutil.rmtree(scale_dir / "next_day", ignore_errors=True)
    return result


DRIFT_MODELS = (
    "int_prediction_features",
    "int_drift_reference_windows",
    "fct_feature_drift_daily",
    "fct_label_shift_daily",
    "fct_calibration_bins_daily",
    "fct_calibration_daily",
    "fct_confusion_matrix_daily",
    "fct_classification_daily",
    "fct_drift_status_daily",
)


def bench_drift(predictions: int, workdir: Path) -> dict:
    """Drift's share of a full build at `predictions` predictions × 5 features × 90 days."""
    scale_dir = workdir / f"drift-{predictions}"
    shutil.rmtree(scale_dir, ignore_errors=True)
    home = scale_dir / "home"
    env = {**os.environ, "MODELMART_HOME": str(home)}
    print(f"\n== drift: {predictions:,} predictions × 5 features × 90 days", flush=True)
    generate(scale_dir / "input", 90_000, 90, END, seed=21, predictions=predictions)
    run_measured([*CLI, "ingest", str(scale_dir / "input")], env)
    build_s, build_mem, _ = run_measured([*CLI, "build", "--full-refresh", "--quiet"], env)
    results = json.loads((home / "build" / "target" / "run_results.json").read_text())
    times: dict[str, float] = {}
    all_nodes_s = 0.0
    for node in results["results"]:
        name = node["unique_id"].split(".")[-1]
        all_nodes_s += node.get("execution_time") or 0.0
        if node["unique_id"].startswith("model."):
            times[name] = node.get("execution_time") or 0.0
    # dbt runs nodes on two threads, so shares are of summed node time, not wall time
    drift_s = sum(times.get(name, 0.0) for name in DRIFT_MODELS)
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    stored = con.execute("select count(*) from staging.stg_landing__predictions").fetchone()[0]
    feature_days = con.execute("select count(*) from marts.fct_feature_drift_daily").fetchone()[0]
    con.close()
    shutil.rmtree(scale_dir / "input", ignore_errors=True)
    result = {
        "predictions": int(stored),
        "feature_days": int(feature_days),
        "full_build_s": round(build_s, 2),
        "full_build_peak_mib": round(build_mem),
        "models_s": round(sum(times.values()), 2),
        "drift_models_s": round(drift_s, 2),
        "drift_by_model_s": {name: round(times.get(name, 0.0), 2) for name in DRIFT_MODELS},
        "nodes_s": round(all_nodes_s, 2),
        "drift_share_of_models": round(drift_s / max(sum(times.values()), 1e-9), 3),
        "drift_share_of_build": round(drift_s / max(all_nodes_s, 1e-9), 3),
    }
    print(
        f"   full build {build_s:.1f}s (peak {build_mem:.0f} MiB); drift models {drift_s:.1f}s of "
        f"{all_nodes_s:.1f}s node time = {result['drift_share_of_build']:.0%} of the build "
        f"({result['drift_share_of_models']:.0%} of model time)",
        flush=True,
    )
    return result


def table(results: list[dict]) -> str:
    lines = [
        "| LLM calls (+ other streams) | ingest rows/s (peak MiB) | naive SQLite rows/s | ingest ÷ SQLite (target ≥ 50) "
        "| full build s (peak MiB) | hand-written SQL s (peak MiB) | build ÷ SQL (target ≤ 2) "
        "| +1 day incremental s | incremental ÷ full (target ≤ 0.15) | build peak ≤ 4 GiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
        # the two ceilings the targets run into, measured in the same run (second table)
    ]
    for r in results:
        peak = max(
            r["full_build_peak_mib"], r["full_build_91d_peak_mib"], r["incremental_build_peak_mib"]
        )
        lines.append(
            f"| {r['llm_calls']:,} (+{r['rows_ingested'] - r['llm_calls']:,}) "
            f"| {r['ingest_rows_per_s']:,} ({r['ingest_peak_mib']:,}) | {r['sqlite_rows_per_s']:,} "
            f"| {r['ratio_ingest_vs_sqlite']} {'✔' if r['ratio_ingest_vs_sqlite'] >= 50 else '✘'} "
            f"| {r['full_build_91d_s']} ({r['full_build_91d_peak_mib']:,}) | {r['floor_s']} ({r['floor_peak_mib']:,}) "
            f"| {r['ratio_build_vs_floor']} {'✔' if r['ratio_build_vs_floor'] <= 2 else '✘'} "
            f"| {r['incremental_build_s']} | {r['ratio_incremental_vs_full']} "
            f"{'✔' if r['ratio_incremental_vs_full'] <= 0.15 else '✘'} "
            f"| {peak:,} MiB {'✔' if peak <= 4096 else '✘'} |"
        )
    lines += [
        "",
        "| LLM calls | bare DuckDB copy rows/s (no validation) | bare copy ÷ SQLite | "
        "build with nothing new s | nothing new ÷ full |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['llm_calls']:,} | {r['bare_copy_rows_per_s']:,} | {r['ratio_bare_copy_vs_sqlite']} "
            f"| {r['noop_build_s']} | {r['ratio_noop_vs_full']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scales", default="1000000,10000000", help="LLM calls per run, comma-separated"
    )
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "modelmart-bench"
    )
    parser.add_argument(
        "--sqlite-rows", type=int, default=200_000, help="LLM calls logged the naive way"
    )
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    parser.add_argument(
        "--drift-predictions",
        type=int,
        default=5_000_000,
        help="predictions for the drift run (0 skips it)",
    )
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(
        f"machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB; "
        f"duckdb {duckdb.__version__}",
        flush=True,
    )
    results = [
        bench_scale(int(s), args.workdir, args.sqlite_rows) for s in args.scales.split(",") if s
    ]
    drift = bench_drift(args.drift_predictions, args.workdir) if args.drift_predictions else None
    if results:
        print("\n" + table(results))
    if args.out:
        args.out.write_text(json.dumps({"scales": results, "drift": drift}, indent=1))


if __name__ == "__main__":
    main()
