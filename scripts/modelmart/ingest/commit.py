"""Commit of one batch: landing, quarantine and manifest written to temp files, then renamed
(quarantine, manifest, landing last: the landing rename is the commit)."""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import asdict
from typing import Any

import duckdb

from modelmart.config import Paths, fsync_path
from modelmart.contract import Stream
from modelmart.ingest.dedupe import classify, rows_where
from modelmart.ingest.layout import committed_files, next_seq
from modelmart.ingest.results import FileResult
from modelmart.ingest.sql import literal, run
from modelmart.ingest.validation import validate

_PROBLEM_COLUMNS = {
    "source_row": "BIGINT",
    "reason": "VARCHAR",
    "column_name": "VARCHAR",
    "bad_value": "VARCHAR",
    "raw_row": "VARCHAR",
}


def _problems_table(con: duckdb.DuckDBPyConnection, problems: list[dict[str, Any]]) -> None:
    """Temp table ``read_problems``: the rows a reader found malformed as a whole.

    Through JSON Lines, not Arrow: building an Arrow array from Python values makes
    pyarrow import pandas (over a second of start-up), which the file path avoids.
    """
    if not problems:
        cols = ", ".join(f"cast(null as {t}) as {n}" for n, t in _PROBLEM_COLUMNS.items())
        run(con, f"create or replace temp table read_problems as select {cols} limit 0")
        return
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", prefix="modelmart-") as handle:
        for p in problems:
            handle.write(json.dumps({n: p[n] for n in _PROBLEM_COLUMNS}) + "\n")
        handle.flush()
        columns = (
            "{"
            + ", ".join(f"{literal(n)}: {literal(k)}" for n, k in _PROBLEM_COLUMNS.items())
            + "}"
        )
        run(
            con,
            "create or replace temp table read_problems as select * from "
            f"read_json({literal(handle.name)}, format = 'newline_delimited', columns = {columns})",
        )


def land(
    con: duckdb.DuckDBPyConnection,
    paths: Paths,
    stream: Stream,
    source: str,
    problems: list[dict[str, Any]],
) -> FileResult:
    """Validate, classify and commit ``incoming`` as one batch. Caller holds the ingest lock."""
    validate(con, stream)
    landing_files = committed_files(paths, stream.name)
    classify(con, stream, landing_files)
    seq = next_seq(paths)
    loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    name = f"{seq:012d}-{stream.name}"
    landing = paths.landing / stream.name / f"{name}.parquet"
    quarantine = paths.quarantine / stream.name / f"{name}.parquet"
    manifest = paths.manifests / stream.name / f"{name}.json"
    src, ts = literal(source), literal(loaded_at.isoformat(sep=" "))

    cols = ", ".join(f"c.v_{c.name}::{c.landing_type} as {c.name}" for c in stream.columns)
    tmp_landing = landing.with_suffix(".parquet.tmp")
    # one pass over the input: every valid row is typed and written as it is
    # checked, but the few repeated or stored ones that are not stored
    stored = con.execute(
        f"copy (select {cols}, {seq}::bigint as _batch_seq, {ts}::timestamp as _loaded_at, "
        f"{src} as _source_file, c._source_row::bigint as _source_row "
        "from validated c where c._problem is null and c._source_row not in "
        "(select _source_row from not_stored)) "
        f"to {literal(str(tmp_landing))} (format parquet, compression zstd)",
    ).fetchall()[0][0]
    # the bad rows are the rest (neither written nor classified): found by number
    # against the written file, then only they are checked again for their reason
    run(
        con,
        "create or replace temp table bad_rows as select _source_row from incoming "
        f"where _source_row not in (select _source_row from read_parquet({literal(str(tmp_landing))})) "
        "and _source_row not in (select _source_row from special)",
    )
    bad = [r[0] for r in con.execute("select _source_row from bad_rows").fetchall()]
    run(
        con,
        "create or replace temp table checked as select _source_row, _problem, _raw_row, "
        f"_raw_event_id from validated c where {rows_where(bad, 'bad_rows')}",
    )
    without_reason = con.execute("select count(*) from checked where _problem is null").fetchall()[
        0
    ][0]
    if without_reason or len(bad) != con.execute("select count(*) from checked").fetchall()[0][0]:
        raise RuntimeError(f"{source}: rows neither stored, classified nor with a problem")
    _problems_table(con, problems)
    run(
        con,
        "create or replace temp table quarantined as "
        "select _source_row as source_row, _raw_event_id as event_id, split_part(_problem, '|', 1) as reason, "
        "split_part(_problem, '|', 2) as column_name, null::varchar as bad_value, _raw_row as raw_row "
        "from checked where _problem is not null "
        "union all select c._source_row, c.v_event_id, 'conflict', 'event_id', "
        "case k.outcome when 'conflict_stored' then 'differs from the stored row' "
        "else 'differs from an earlier row of this file' end, "
        "to_json({"
        + ", ".join(f"{literal(c.name)}: c.v_{c.name}" for c in stream.columns)
        + "})::varchar "
        "from special c join classified k using (_source_row) where k.outcome like 'conflict%' "
        "union all select source_row, null, reason, column_name, bad_value, raw_row from read_problems",
    )
    # the bad value itself, for the message (only the blamed column)
    value_case = (
        "case column_name "
        + " ".join(
            f"when {literal(c.name)} then json_extract_string(raw_row, {literal('$.' + c.name)})"
            for c in stream.columns
        )
        + " end"
    )
    run(
        con,
        f"update quarantined set bad_value = {value_case} where bad_value is null and column_name <> ''",
    )
    counts = dict(
        con.execute("select outcome, count(*) from classified group by outcome").fetchall()
    )
    # every stored row was written (the count of the write itself)
    counts["store"] = stored
    reasons = dict(
        con.execute("select reason, count(*) from quarantined group by reason").fetchall()
    )
    n_quarantined = sum(reasons.values())
    examples = [
        f"{source} row {row} column {col or '-'}: {reason}"
        + (f" ({val!r})" if val is not None else "")
        for row, col, reason, val in con.execute(
            "select source_row, column_name, reason, bad_value from quarantined order by source_row limit 5"
        ).fetchall()
    ]
    tmp_q = quarantine.with_suffix(".parquet.tmp")
    if n_quarantined:
        run(
            con,
            f"copy (select {literal(stream.name)} as stream, {src} as source_file, source_row, event_id, "
            f"reason, nullif(column_name, '') as column_name, bad_value, raw_row, {seq}::bigint as batch_seq, "
            f"{ts}::timestamp as quarantined_at from quarantined order by source_row) "
            f"to {literal(str(tmp_q))} (format parquet)",
        )
    # rows read, counted on the input itself (not from the outcomes), so that the
    # balance below is a real check that nothing was dropped on the way
    read = con.execute("select count(*) from incoming").fetchall()[0][0] + len(problems)
    accounted = (
        sum(counts.values())
        + n_quarantined
        - counts.get("conflict_stored", 0)
        - counts.get("conflict_in_file", 0)
    )
    if read != accounted:  # a defect of this module, never of the input: commit nothing
        raise RuntimeError(
            f"{source}: {read} rows read but {accounted} stored, duplicate or quarantined"
        )
    result = FileResult(
        source=source,
        stream=stream.name,
        status="ingested",
        read=read,
        stored=counts.get("store", 0),
        duplicates=counts.get("duplicate", 0),
        quarantined=n_quarantined,
        batch_seq=seq,
        reasons=reasons,
        examples=examples,
    )
    tmp_m = manifest.with_suffix(".json.tmp")
    tmp_m.write_text(json.dumps({**asdict(result), "loaded_at": loaded_at.isoformat()}, indent=1))
    # durable before they are named (a power loss never leaves a committed name
    # over missing data, and promotion frees the spool only after this returns)
    for path in [tmp_m, tmp_landing] + ([tmp_q] if n_quarantined else []):
        fsync_path(path)
    # commit order: quarantine, manifest, then the landing rename that makes it real
    if n_quarantined:
        os.replace(tmp_q, quarantine)
        fsync_path(quarantine.parent)
    os.replace(tmp_m, manifest)
    os.replace(tmp_landing, landing)
    fsync_path(manifest.parent)
    fsync_path(landing.parent)
    return result


def reject(paths: Paths, stream: str, source: str, message: str) -> FileResult:
    result = FileResult(source=source, stream=stream, status="rejected", message=message)
    seq = next_seq(paths)
    manifest = paths.manifests / stream / f"{seq:012d}-{stream}.json"
    tmp = manifest.with_suffix(".json.tmp")
    tmp.write_text(
        json.dumps(
            {
                **asdict(result),
                "batch_seq": seq,
                "loaded_at": dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(),
            }
        )
    )
    fsync_path(tmp)
    os.replace(tmp, manifest)
    fsync_path(manifest.parent)
    return result
