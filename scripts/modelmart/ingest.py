"""Ingestion: validate event files against the contract and land them append-only.

Design (see README, "Architecture"):
- Every file becomes one *batch* with a monotonically increasing sequence number.
  Accepted rows go to ``landing/<stream>/<seq>-<stream>.parquet``, rejected rows
  with a reason to ``quarantine/``, counts to ``manifests/``.
- The rename of the landing file is the commit: a batch without its landing file
  never happened, so a crash leaves each file either fully in or not at all.
- Ingestion never opens the warehouse, so it neither blocks nor is blocked by a
  build or a dashboard. Ingests serialise among themselves on one file lock,
  which keeps duplicate detection exact and sequence numbers gap-free in order.
- All work is columnar (DuckDB over Arrow/Parquet/CSV); no row-by-row inserts.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from modelmart.config import Paths, UserError, file_lock, get_paths
from modelmart.contract import CONTRACT, STREAMS, Column, Stream

FORMATS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_SEQ_RE = re.compile(r"^(\d{12})-")
_META_COLUMNS = (
    ("_batch_seq", "BIGINT"),
    ("_loaded_at", "TIMESTAMP"),
    ("_source_file", "VARCHAR"),
    ("_source_row", "BIGINT"),
    ("_row_hash", "VARCHAR"),
)
QUARANTINE_COLUMNS = (
    ("stream", "VARCHAR"),
    ("source_file", "VARCHAR"),
    ("source_row", "BIGINT"),
    ("event_id", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("column_name", "VARCHAR"),
    ("bad_value", "VARCHAR"),
    ("raw_row", "VARCHAR"),
    ("batch_seq", "BIGINT"),
    ("quarantined_at", "TIMESTAMP"),
)


@dataclass
class FileResult:
    """What happened to one input file (or one API batch)."""

    source: str
    stream: str
    status: str  # ingested | rejected
    read: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    batch_seq: int | None = None
    message: str | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.status == "rejected":
            return f"REJECTED {self.source}: {self.message}"
        text = (
            f"{self.source} [{self.stream}] read={self.read} stored={self.stored} "
            f"duplicate={self.duplicates} quarantined={self.quarantined}"
        )
        if self.reasons:
            text += " (" + ", ".join(f"{k}: {v}" for k, v in sorted(self.reasons.items())) + ")"
        return text


class RejectedFile(Exception):
    """The whole file is unreadable; nothing of it is stored."""


# ---------------------------------------------------------------- layout


def ensure_layout(paths: Paths) -> None:
    """Create the folders and one empty, typed Parquet file per stream.

    The empty file lets dbt's sources glob a stream before its first batch.
    """
    paths.ensure()
    con = duckdb.connect()
    try:
        for stream in STREAMS:
            for root in (paths.landing, paths.quarantine, paths.manifests):
                (root / stream).mkdir(parents=True, exist_ok=True)
            schema_file = paths.landing / stream / f"{0:012d}-schema.parquet"
            if not schema_file.exists():
                cols = [
                    *((c.name, c.landing_type) for c in CONTRACT[stream].columns),
                    *_META_COLUMNS,
                ]
                select = ", ".join(f"cast(null as {t}) as {n}" for n, t in cols)
                tmp = schema_file.with_suffix(".parquet.tmp")
                _run(con, f"copy (select {select} limit 0) to '{tmp}' (format parquet)")
                os.replace(tmp, schema_file)
    finally:
        con.close()


def committed_files(paths: Paths, stream: str) -> list[Path]:
    """Landing files of ``stream`` that are committed (renamed into place)."""
    return sorted((paths.landing / stream).glob("*.parquet"))


def _seq_of(path: Path) -> int | None:
    match = _SEQ_RE.match(path.name)
    return int(match.group(1)) if match else None


def _recover(paths: Paths) -> None:
    """Remove what a crashed ingest left: temp files and uncommitted batches."""
    for root in (paths.landing, paths.quarantine, paths.manifests):
        for tmp in root.glob("*/*.tmp"):
            tmp.unlink(missing_ok=True)
    for stream in STREAMS:
        for manifest in (paths.manifests / stream).glob("*.json"):
            info = json.loads(manifest.read_text())
            landing = paths.landing / stream / manifest.with_suffix(".parquet").name
            if info.get("status") == "ingested" and not landing.exists():
                (paths.quarantine / stream / landing.name).unlink(missing_ok=True)
                manifest.unlink()


def _next_seq(paths: Paths) -> int:
    seqs = [_seq_of(p) or 0 for p in paths.manifests.glob("*/*.json")]
    return max(seqs, default=0) + 1


# ---------------------------------------------------------------- reading


def _run(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Run a statement to completion (DuckDB 2 keeps results pending until fetched)."""
    con.execute(sql).fetchall()


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _check_columns(stream: Stream, present: Iterable[str], source: str) -> None:
    missing = [c for c in stream.required if c not in set(present)]
    if missing:
        raise RejectedFile(
            f"missing required column(s) {', '.join(missing)} for stream {stream.name}"
        )


def _check_utf8(path: Path) -> None:
    """Reject a text file that is not UTF-8 (the contract's encoding) as a whole."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 22):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise RejectedFile(
                    f"not UTF-8 text (invalid byte at offset {offset + exc.start})"
                ) from exc
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise RejectedFile("not UTF-8 text (truncated character at the end)") from exc


def _read_csv(con: duckdb.DuckDBPyConnection, path: Path, stream: Stream) -> list[dict[str, Any]]:
    """Load a CSV as text columns into ``incoming``; malformed lines become problems."""
    _check_utf8(path)
    src = _literal(str(path))
    _run(con, "drop table if exists reject_errors")
    _run(con, "drop table if exists reject_scans")
    _run(
        con,
        f"create or replace temp table raw_in as select * from read_csv({src}, header = true, "
        "all_varchar = true, store_rejects = true, parallel = false)",
    )
    present = [r[0] for r in con.execute("describe raw_in").fetchall()]
    _check_columns(stream, present, str(path))
    rejects = con.execute(
        "select line, min(error_type), any_value(csv_line) from reject_errors group by line order by line"
    ).fetchall()
    good = con.execute("select count(*) from raw_in").fetchall()[0][0]
    # Data rows are numbered 1.. in file order (header excluded); rejected lines
    # keep their number, so good rows take the numbers that remain.
    bad_rows = {int(line) - 1 for line, _, _ in rejects}
    numbers = np.setdiff1d(
        np.arange(1, good + len(bad_rows) + 1), np.fromiter(bad_rows, int, len(bad_rows))
    )
    con.register("row_numbers", pa.table({"_source_row": numbers[:good]}))
    _project(con, stream, present, "raw_in", with_row_numbers=True)
    return [
        {
            "source_row": int(line) - 1,
            "reason": "malformed_csv_row",
            "column_name": None,
            "bad_value": str(etype).lower(),
            "raw_row": json.dumps({"line": text}),
        }
        for line, etype, text in rejects
    ]


def _read_jsonl(con: duckdb.DuckDBPyConnection, path: Path, stream: Stream) -> list[dict[str, Any]]:
    _check_utf8(path)
    src = _literal(str(path))
    _run(
        con,
        "create or replace temp table lines as "
        "select row_number() over () as _source_row, line from ("
        f"select unnest(string_split(replace(content, chr(13), ''), chr(10))) as line from read_text({src}))",
    )
    _run(
        con,
        "create or replace temp table objs as select _source_row, line::json as obj from lines "
        "where trim(line) <> '' and json_valid(line) and json_type(line::json) = 'OBJECT'",
    )
    problems = [
        {
            "source_row": int(n),
            "reason": "malformed_json",
            "column_name": None,
            "bad_value": None,
            "raw_row": json.dumps({"line": text[:2000]}),
        }
        for n, text in con.execute(
            "select _source_row, line from lines where trim(line) <> '' "
            "and _source_row not in (select _source_row from objs)"
        ).fetchall()
    ]
    total = con.execute("select count(*) from objs").fetchall()[0][0]
    if total == 0 and not problems:
        present: list[str] = []
    else:
        present = [
            r[0] for r in con.execute("select distinct unnest(json_keys(obj)) from objs").fetchall()
        ]
    if total == 0 and problems:
        raise RejectedFile("no line is a JSON object (not JSON Lines?)")
    _check_columns(stream, present, str(path))
    cols = ", ".join(
        f"json_extract_string(obj, {_literal('$.' + c.name)}) as {_quote(c.name)}"
        if c.name in present
        else f"cast(null as varchar) as {_quote(c.name)}"
        for c in stream.columns
    )
    _run(con, f"create or replace temp table incoming as select _source_row, {cols} from objs")
    return problems


def _read_parquet(
    con: duckdb.DuckDBPyConnection, path: Path, stream: Stream
) -> list[dict[str, Any]]:
    src = _literal(str(path))
    _run(con, f"create or replace temp view raw_in as select * from read_parquet({src})")
    described = {r[0]: r[1] for r in con.execute("describe raw_in").fetchall()}
    _check_columns(stream, described, str(path))
    _run(
        con,
        "create or replace temp table raw_numbered as select row_number() over () as _source_row, * from raw_in",
    )
    exprs = []
    for c in stream.columns:
        if c.name not in described:
            exprs.append(f"cast(null as varchar) as {_quote(c.name)}")
        elif c.kind == "features" and not described[c.name].upper().startswith("VARCHAR"):
            exprs.append(f"to_json({_quote(c.name)})::varchar as {_quote(c.name)}")
        else:
            exprs.append(f"cast({_quote(c.name)} as varchar) as {_quote(c.name)}")
    _run(
        con,
        f"create or replace temp table incoming as select _source_row, {', '.join(exprs)} from raw_numbered",
    )
    return []


def _project(
    con: duckdb.DuckDBPyConnection,
    stream: Stream,
    present: Sequence[str],
    table: str,
    *,
    with_row_numbers: bool,
) -> None:
    cols = ", ".join(
        f"cast({_quote(c.name)} as varchar) as {_quote(c.name)}"
        if c.name in present
        else f"cast(null as varchar) as {_quote(c.name)}"
        for c in stream.columns
    )
    # positional join keeps file order, which row numbers rely on
    _run(
        con,
        f"create or replace temp table incoming as select r._source_row, {cols} "
        f"from {table} positional join row_numbers r",
    )


def _records_to_arrow(stream: Stream, records: pd.DataFrame | Sequence[dict[str, Any]]) -> pa.Table:
    frame = (
        records if isinstance(records, pd.DataFrame) else pd.DataFrame.from_records(list(records))
    )
    missing = [c for c in stream.required if c not in frame.columns]
    if missing:
        raise RejectedFile(
            f"missing required column(s) {', '.join(missing)} for stream {stream.name}"
        )

    def to_text(value: Any) -> str | None:
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
            return None
        if isinstance(value, dict | list):
            return json.dumps(value)
        if isinstance(value, pd.Timestamp | dt.datetime):
            return value.isoformat()
        return str(value)

    arrays = {"_source_row": pa.array(np.arange(1, len(frame) + 1))}
    for c in stream.columns:
        values = frame[c.name].tolist() if c.name in frame.columns else [None] * len(frame)
        arrays[c.name] = pa.array([to_text(v) for v in values], type=pa.string())
    return pa.table(arrays)


# ---------------------------------------------------------------- validation


def _typed_expr(c: Column) -> str:
    raw = f"r_{c.name}"
    if c.kind == "timestamp":
        return f"(try_cast({raw} as timestamptz) at time zone 'UTC')"
    if c.kind == "double":
        return f"try_cast({raw} as double)"
    if c.kind == "integer":
        return (
            f"case when try_cast({raw} as double) = round(try_cast({raw} as double)) "
            f"and abs(try_cast({raw} as double)) < 9e15 then cast(try_cast({raw} as double) as bigint) end"
        )
    if c.kind == "features":
        return (
            f"case when json_valid({raw}) and json_type({raw}::json) = 'OBJECT' "
            f"and list_bool_and(list_transform(map_values(try_cast({raw}::json as map(varchar, double))), "
            f"lambda v: v is not null and isfinite(v))) is not false "
            f"and try_cast({raw}::json as map(varchar, double)) is not null "
            f"then json({raw})::varchar end"
        )
    return raw


def _problem_case(stream: Stream) -> str:
    """One CASE giving 'reason|column' for the first rule a row breaks, else NULL."""
    whens: list[str] = []
    for c in stream.columns:
        raw, typed = f"r_{c.name}", f"t_{c.name}"
        if c.required:
            whens.append(f"when {raw} is null then 'missing_required|{c.name}'")
        whens.append(f"when {raw} is not null and {typed} is null then 'wrong_type|{c.name}'")
        if c.finite:
            whens.append(
                f"when {typed} is not null and not isfinite({typed}) then 'not_finite|{c.name}'"
            )
        if c.min_value is not None:
            whens.append(f"when {typed} < {c.min_value} then 'out_of_range|{c.name}'")
        if c.max_value is not None:
            whens.append(f"when {typed} > {c.max_value} then 'out_of_range|{c.name}'")
        if c.enum:
            allowed = ", ".join(_literal(v) for v in c.enum)
            whens.append(
                f"when {typed} is not null and {typed} not in ({allowed}) then 'not_in_enum|{c.name}'"
            )
    for column, event_type in stream.required_when:
        whens.append(
            f"when t_event_type = {_literal(event_type)} and r_{column} is null "
            f"then 'missing_required|{column}'"
        )
    for column, condition, reason in stream.row_rules:
        cond = re.sub(
            r"\b([a-z_]+)\b",
            lambda m: (
                f"v_{m.group(1)}" if m.group(1) in {c.name for c in stream.columns} else m.group(1)
            ),
            condition,
        )
        whens.append(f"when not ({cond}) then '{reason}|{column}'")
    return "case " + " ".join(whens) + " end"


def _validate(con: duckdb.DuckDBPyConnection, stream: Stream) -> None:
    """``incoming`` (text) → ``checked``: typed values (v_*), problem, row hash."""
    raw = ", ".join(f"nullif(trim({_quote(c.name)}), '') as r_{c.name}" for c in stream.columns)
    _run(con, f"create or replace temp view raw_v as select _source_row, {raw} from incoming")
    typed = ", ".join(f"{_typed_expr(c)} as t_{c.name}" for c in stream.columns)
    _run(con, f"create or replace temp view typed_v as select *, {typed} from raw_v")
    values = ", ".join(
        f"coalesce(t_{c.name}, {c.default}) as v_{c.name}"
        if c.default
        else f"t_{c.name} as v_{c.name}"
        for c in stream.columns
    )
    _run(con, f"create or replace temp view valued_v as select *, {values} from typed_v")
    hash_input = ", ".join(f"coalesce(cast(v_{c.name} as varchar), chr(0))" for c in stream.columns)
    _run(
        con,
        "create or replace temp table checked as select *, "
        f"{_problem_case(stream)} as _problem, md5(concat_ws(chr(31), {hash_input})) as _row_hash "
        "from valued_v",
    )


def _classify(con: duckdb.DuckDBPyConnection, stream: Stream, landing_files: list[Path]) -> None:
    """Split valid rows into store / duplicate / conflict (``classified``)."""
    files = "[" + ", ".join(_literal(str(p)) for p in landing_files) + "]"
    _run(
        con,
        "create or replace temp table ranked as select _source_row, v_event_id, _row_hash, "
        "row_number() over (partition by v_event_id order by _source_row) as rn, "
        "first_value(_row_hash) over (partition by v_event_id order by _source_row) as first_hash "
        "from checked where _problem is null",
    )
    _run(
        con,
        "create or replace temp table stored_keys as select event_id, any_value(_row_hash) as stored_hash "
        f"from read_parquet({files}) where event_id in (select v_event_id from ranked) group by event_id",
    )
    _run(
        con,
        "create or replace temp table classified as select r._source_row, case "
        "when s.event_id is not null and s.stored_hash = r._row_hash then 'duplicate' "
        "when s.event_id is not null then 'conflict_stored' "
        "when r.rn = 1 then 'store' "
        "when r._row_hash = r.first_hash then 'duplicate' "
        "else 'conflict_in_file' end as outcome "
        "from ranked r left join stored_keys s on s.event_id = r.v_event_id",
    )


# ---------------------------------------------------------------- the pipeline


def _problems_table(con: duckdb.DuckDBPyConnection, problems: list[dict[str, Any]]) -> None:
    frame = pa.table(
        {
            "source_row": pa.array([p["source_row"] for p in problems], pa.int64()),
            "reason": pa.array([p["reason"] for p in problems], pa.string()),
            "column_name": pa.array([p["column_name"] for p in problems], pa.string()),
            "bad_value": pa.array([p["bad_value"] for p in problems], pa.string()),
            "raw_row": pa.array([p["raw_row"] for p in problems], pa.string()),
        }
    )
    con.register("read_problems", frame)


def _land(
    con: duckdb.DuckDBPyConnection,
    paths: Paths,
    stream: Stream,
    source: str,
    problems: list[dict[str, Any]],
) -> FileResult:
    """Validate, classify and commit ``incoming`` as one batch. Caller holds the ingest lock."""
    _validate(con, stream)
    landing_files = committed_files(paths, stream.name)
    _classify(con, stream, landing_files)
    seq = _next_seq(paths)
    loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    name = f"{seq:012d}-{stream.name}"
    landing = paths.landing / stream.name / f"{name}.parquet"
    quarantine = paths.quarantine / stream.name / f"{name}.parquet"
    manifest = paths.manifests / stream.name / f"{name}.json"
    src, ts = _literal(source), _literal(loaded_at.isoformat(sep=" "))

    cols = ", ".join(f"c.v_{c.name}::{c.landing_type} as {c.name}" for c in stream.columns)
    tmp_landing = landing.with_suffix(".parquet.tmp")
    _run(
        con,
        f"copy (select {cols}, {seq}::bigint as _batch_seq, {ts}::timestamp as _loaded_at, "
        f"{src} as _source_file, c._source_row::bigint as _source_row, c._row_hash "
        "from checked c join classified k using (_source_row) where k.outcome = 'store' "
        f"order by c._source_row) to {_literal(str(tmp_landing))} (format parquet, compression zstd)",
    )
    _problems_table(con, problems)
    raw_json = (
        "to_json({"
        + ", ".join(f"{_literal(c.name)}: r_{c.name}" for c in stream.columns)
        + "})::varchar"
    )
    _run(
        con,
        "create or replace temp table quarantined as "
        f"select _source_row as source_row, r_event_id as event_id, split_part(_problem, '|', 1) as reason, "
        f"split_part(_problem, '|', 2) as column_name, null::varchar as bad_value, {raw_json} as raw_row "
        "from checked where _problem is not null "
        f"union all select c._source_row, c.r_event_id, 'conflict', 'event_id', "
        f"case k.outcome when 'conflict_stored' then 'differs from the stored row' "
        f"else 'differs from an earlier row of this file' end, {raw_json} "
        "from checked c join classified k using (_source_row) where k.outcome like 'conflict%' "
        "union all select source_row, null, reason, column_name, bad_value, raw_row from read_problems",
    )
    # the bad value itself, for the message (only the blamed column)
    value_case = (
        "case column_name "
        + " ".join(
            f"when {_literal(c.name)} then json_extract_string(raw_row, {_literal('$.' + c.name)})"
            for c in stream.columns
        )
        + " end"
    )
    _run(
        con,
        f"update quarantined set bad_value = {value_case} where bad_value is null and column_name <> ''",
    )
    counts = dict(
        con.execute("select outcome, count(*) from classified group by outcome").fetchall()
    )
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
    if n_quarantined:
        tmp_q = quarantine.with_suffix(".parquet.tmp")
        _run(
            con,
            f"copy (select {_literal(stream.name)} as stream, {src} as source_file, source_row, event_id, "
            f"reason, nullif(column_name, '') as column_name, bad_value, raw_row, {seq}::bigint as batch_seq, "
            f"{ts}::timestamp as quarantined_at from quarantined order by source_row) "
            f"to {_literal(str(tmp_q))} (format parquet)",
        )
    result = FileResult(
        source=source,
        stream=stream.name,
        status="ingested",
        read=sum(counts.values())
        + n_quarantined
        - counts.get("conflict_stored", 0)
        - counts.get("conflict_in_file", 0),
        stored=counts.get("store", 0),
        duplicates=counts.get("duplicate", 0),
        quarantined=n_quarantined,
        batch_seq=seq,
        reasons=reasons,
        examples=examples,
    )
    tmp_m = manifest.with_suffix(".json.tmp")
    tmp_m.write_text(json.dumps({**asdict(result), "loaded_at": loaded_at.isoformat()}, indent=1))
    # commit order: quarantine, manifest, then the landing rename that makes it real
    if n_quarantined:
        os.replace(quarantine.with_suffix(".parquet.tmp"), quarantine)
    os.replace(tmp_m, manifest)
    os.replace(tmp_landing, landing)
    return result


def _reject(paths: Paths, stream: str, source: str, message: str) -> FileResult:
    result = FileResult(source=source, stream=stream, status="rejected", message=message)
    seq = _next_seq(paths)
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
    os.replace(tmp, manifest)
    return result


def _connect() -> duckdb.DuckDBPyConnection:
    # Without the ICU extension (not installable offline) DuckDB renders and
    # parses TIMESTAMPTZ in UTC, which is exactly the contract's convention.
    return duckdb.connect()


def ingest_file(path: Path, stream: str, home: str | os.PathLike[str] | None = None) -> FileResult:
    """Ingest one file into ``stream``; never raises for bad content."""
    paths = get_paths(home)
    if stream not in CONTRACT:
        raise UserError(f"{path}: unknown stream {stream!r} (expected one of {', '.join(STREAMS)})")
    ensure_layout(paths)
    source = str(Path(path).resolve())
    fmt = FORMATS.get(Path(path).suffix.lower())
    with file_lock(paths.locks / "ingest.lock"):
        _recover(paths)
        if fmt is None:
            return _reject(
                paths,
                stream,
                source,
                f"unsupported file type {Path(path).suffix or '(none)'!r}; expected .csv, .jsonl or .parquet",
            )
        con = _connect()
        try:
            reader = {"csv": _read_csv, "jsonl": _read_jsonl, "parquet": _read_parquet}[fmt]
            try:
                problems = reader(con, Path(path), CONTRACT[stream])
            except RejectedFile as exc:
                return _reject(paths, stream, source, str(exc))
            except duckdb.Error as exc:
                first = str(exc).strip().splitlines()[0]
                return _reject(paths, stream, source, f"cannot be read as {fmt.upper()}: {first}")
            return _land(con, paths, CONTRACT[stream], source, problems)
        finally:
            con.close()


def ingest_records(
    stream: str,
    records: pd.DataFrame | Sequence[dict[str, Any]],
    home: str | os.PathLike[str] | None = None,
    source: str = "api",
) -> FileResult:
    """Ingest in-memory events (a list of dicts or a DataFrame) as one batch."""
    paths = get_paths(home)
    if stream not in CONTRACT:
        raise UserError(f"unknown stream {stream!r} (expected one of {', '.join(STREAMS)})")
    ensure_layout(paths)
    with file_lock(paths.locks / "ingest.lock"):
        _recover(paths)
        try:
            table = _records_to_arrow(CONTRACT[stream], records)
        except RejectedFile as exc:
            return _reject(paths, stream, source, str(exc))
        con = _connect()
        try:
            con.register("incoming_arrow", table)
            _run(con, "create or replace temp table incoming as select * from incoming_arrow")
            return _land(con, paths, CONTRACT[stream], source, [])
        finally:
            con.close()


class EventLogger:
    """Buffer events from a service and land them in batches.

    >>> with EventLogger("llm_calls", batch_size=5000) as log:
    ...     log.log({...})
    """

    def __init__(
        self,
        stream: str,
        *,
        batch_size: int = 10_000,
        home: str | os.PathLike[str] | None = None,
        source: str = "api",
    ) -> None:
        if stream not in CONTRACT:
            raise UserError(f"unknown stream {stream!r} (expected one of {', '.join(STREAMS)})")
        self.stream, self.batch_size, self.home, self.source = stream, batch_size, home, source
        self._buffer: list[dict[str, Any]] = []
        self.results: list[FileResult] = []

    def log(self, event: dict[str, Any]) -> None:
        self._buffer.append(event)
        if len(self._buffer) >= self.batch_size:
            self.flush()

    def log_many(self, events: Iterable[dict[str, Any]]) -> None:
        for event in events:
            self.log(event)

    def flush(self) -> FileResult | None:
        if not self._buffer:
            return None
        batch, self._buffer = self._buffer, []
        result = ingest_records(
            self.stream, batch, self.home, source=f"{self.source}:{self.stream}"
        )
        self.results.append(result)
        return result

    def __enter__(self) -> EventLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()


def discover(
    targets: Sequence[str | os.PathLike[str]], stream: str | None
) -> list[tuple[Path, str | None]]:
    """Expand files and folders into (file, stream); stream from --stream or the folder name."""
    found: list[tuple[Path, str | None]] = []
    for target in map(Path, targets):
        if not target.exists():
            raise UserError(f"{target}: no such file or folder")
        if target.is_file():
            found.append(
                (target, stream or (target.parent.name if target.parent.name in CONTRACT else None))
            )
            continue
        if stream or target.name in CONTRACT:
            for f in sorted(
                p for p in target.iterdir() if p.is_file() and not p.name.startswith(".")
            ):
                found.append((f, stream or target.name))
            continue
        subfolders = [target / s for s in STREAMS if (target / s).is_dir()]
        if not subfolders:
            raise UserError(
                f"{target}: no stream folders ({', '.join(STREAMS)}) inside; use --stream"
            )
        for folder in subfolders:
            for f in sorted(
                p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
            ):
                found.append((f, folder.name))
    return found
