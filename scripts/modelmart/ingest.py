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
import csv
import datetime as dt
import itertools
import json
import math
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from modelmart.compact import is_landed, landed_spans, landing_files
from modelmart.config import Paths, UserError, file_lock, get_paths
from modelmart.contract import CONTRACT, STREAMS, Column, Stream

# the live logger (spool + background writer) lives in its own module; kept importable here
from modelmart.logger import EventLogger  # noqa: F401

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
    missing = []
    for stream in STREAMS:
        for root in (paths.landing, paths.quarantine, paths.manifests):
            (root / stream).mkdir(parents=True, exist_ok=True)
        schema_file = paths.landing / stream / f"{0:012d}-schema.parquet"
        if not schema_file.exists():
            missing.append((stream, schema_file))
    if not missing:
        return  # the usual case: no DuckDB connection needed
    con = duckdb.connect()
    try:
        for stream, schema_file in missing:
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
    # one listing for every reader, aware of merged files (modelmart.compact)
    return landing_files(paths, stream)


def _seq_of(path: Path) -> int | None:
    match = _SEQ_RE.match(path.name)
    return int(match.group(1)) if match else None


def _recover(paths: Paths) -> None:
    """Remove what a crashed ingest left: temp files and uncommitted batches."""
    for root in (paths.landing, paths.quarantine, paths.manifests):
        for tmp in root.glob("*/*.tmp"):
            tmp.unlink(missing_ok=True)
    for stream in STREAMS:
        spans = landed_spans(paths, stream)
        for manifest in (paths.manifests / stream).glob("*.json"):
            info = json.loads(manifest.read_text())
            landing = paths.landing / stream / manifest.with_suffix(".parquet").name
            seq = _seq_of(manifest)
            # a compacted batch's rows are in a merged file (modelmart.compact)
            if info.get("status") == "ingested" and not is_landed(paths, stream, seq or 0, spans):
                (paths.quarantine / stream / landing.name).unlink(missing_ok=True)
                manifest.unlink()
        # a crash between the quarantine and the manifest rename leaves a quarantine
        # file whose batch never landed: its rows belong to a file that is not in
        for quarantine in (paths.quarantine / stream).glob("*.parquet"):
            if not is_landed(paths, stream, _seq_of(quarantine) or 0, spans):
                quarantine.unlink()


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


MAX_CSV_RECORD_BYTES = 8 * 2**20
"""The longest CSV record (one row, quoted newlines included) that is read; a longer
one is a ``malformed_csv_row`` of its row and the rest of the file is read."""
_CSV_WINDOW = 2 * MAX_CSV_RECORD_BYTES + 2**20  # holds any record that is read whole
_QUOTE, _COMMA, _LF, _CR = 34, 44, 10, 13


@dataclass
class _CsvScan:
    """Where the records of a CSV file are. ``good_*``: byte spans (end = the
    record's newline) of the well-formed data records with the header's number of
    fields; ``rows``: their numbers (header = row 0; every record takes a number,
    blank and malformed ones too, as a text editor shows the rows)."""

    names: list[str]
    header_end: int
    good_starts: np.ndarray
    good_ends: np.ndarray
    rows: np.ndarray
    problems: list[dict[str, Any]]
    blank: int
    mixed_line_ends: bool  # some records end with CRLF, others with LF


@dataclass
class _Records:
    """The complete records at the start of a scan window, up to its first quote error."""

    starts: np.ndarray  # offsets in the window; a record ends at its newline (excluded)
    ends: np.ndarray
    fields: np.ndarray  # number of fields of each record
    lone_cr: np.ndarray  # record has a carriage return outside quotes not before its newline
    error: int | None  # offset of the first misplaced quote (or of an unclosed field's record)
    reason: str | None


def _scan_window(w: np.ndarray, at_eof: bool) -> _Records:
    """Split ``w`` (which starts at a record start) into records as RFC 4180 does:
    a newline ends a record unless it is inside quotes; a field is quoted only if
    its first byte is a quote, a quote inside it is doubled, and its closing quote
    is followed by a comma or the end of the record. Vectorised: the quote parity
    before each byte says whether it is inside quotes.
    """
    n = len(w)
    q = np.flatnonzero(w == _QUOTE)
    error, reason, outside = None, None, None
    if len(q):
        k = np.arange(len(q))
        prev = np.where(q > 0, w[np.maximum(q - 1, 0)], _LF)
        after_quote = np.zeros(len(q), bool)
        after_quote[1:] = q[1:] == q[:-1] + 1
        before_quote = np.zeros(len(q), bool)
        before_quote[:-1] = after_quote[1:]
        nxt = np.where(q + 1 < n, w[np.minimum(q + 1, n - 1)], -1)
        nxt2 = np.where(q + 2 < n, w[np.minimum(q + 2, n - 1)], -1)
        # the window's end is not an error: the record there is scanned again
        ok_open = (prev == _COMMA) | (prev == _LF) | after_quote
        ok_close = (
            (nxt == _COMMA)
            | (nxt == _LF)
            | ((nxt == _CR) & ((nxt2 == _LF) | (nxt2 == -1)))
            | before_quote
            | (nxt == -1)
        )
        bad = np.where(k % 2 == 0, ~ok_open, ~ok_close)
        if bad.any():
            i = int(np.argmax(bad))
            error = int(q[i])
            if i % 2 == 0:
                reason = "stray quote in an unquoted field"
            elif (w[q[i - 1] : q[i]] == _LF).any():
                reason = "unterminated quoted field"
            else:
                reason = "text after a closing quote"
        # uint8 wraps at 256, parity survives: the quote count before each byte, mod 2
        outside = (np.cumsum(w == _QUOTE, dtype=np.uint8) & 1) == 0
    limit = n if error is None else error
    part = w[:limit]
    free = outside[:limit] if outside is not None else None

    def unquoted(mask: np.ndarray) -> np.ndarray:
        return np.flatnonzero(mask if free is None else mask & free)

    ends = unquoted(part == _LF)
    if error is None and at_eof:
        tail = int(ends[-1]) + 1 if len(ends) else 0
        if len(q) % 2:
            error, reason = tail, "unterminated quoted field"
        elif tail < n:
            ends = np.append(ends, n)
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64) if len(ends) else ends
    commas = unquoted(part == _COMMA)
    fields = np.searchsorted(commas, ends) - np.searchsorted(commas, starts) + 1
    cr = unquoted(part == _CR)
    lone_cr = np.zeros(len(ends), bool)
    if len(cr):
        # a CR right before its record's newline (or at the end of the file) ends a line
        cr = cr[(cr + 1 < n) & (w[np.minimum(cr + 1, n - 1)] != _LF)]
        lone_cr[np.searchsorted(ends, cr)[np.searchsorted(ends, cr) < len(ends)]] = True
    return _Records(starts, ends, fields, lone_cr, error, reason)


def _csv_text(arr: np.ndarray, start: int, end: int) -> str:
    return arr[start : min(end, start + 2000)].tobytes().decode("utf-8", "replace")


def _next_line(arr: np.ndarray, begin: int) -> int:
    """Offset just past the first newline at or after ``begin`` (the end if none)."""
    for at in range(begin, len(arr), 1 << 20):
        found = np.flatnonzero(arr[at : at + (1 << 20)] == _LF)
        if len(found):
            return at + int(found[0]) + 1
    return len(arr)


def _bom(arr: np.ndarray) -> int:
    return 3 if arr[:3].tobytes() == b"\xef\xbb\xbf" else 0


def _scan_csv(arr: np.ndarray) -> _CsvScan:
    """Find every record of a CSV file (bytes); reject it if its header is not usable."""
    size = len(arr)
    bom = _bom(arr)
    head = _scan_window(arr[bom : bom + _CSV_WINDOW], bom + _CSV_WINDOW >= size)
    if not len(head.ends):
        if head.error is not None:
            raise RejectedFile(f"header row is not valid CSV: {head.reason}")
        raise RejectedFile("no header row (the file has no complete first line)")
    header_end = bom + int(head.ends[0])
    text = arr[bom:header_end].tobytes().decode("utf-8").rstrip("\r")
    if not text:
        raise RejectedFile("the first line is empty; expected the header row")
    if head.lone_cr[0]:
        raise RejectedFile("header row has a carriage return that does not end the line")
    names = next(csv.reader([text], strict=True))
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise RejectedFile(f"column {name!r} appears more than once in the header (ambiguous)")
        seen.add(name)
    n_fields = len(names)
    starts, ends, rows = [], [], []
    problems: list[dict[str, Any]] = []
    blank = 0
    # line ends seen: [LF, CRLF]; DuckDB's parser takes one kind for the whole file
    line_ends = [0, 0]
    line_ends[int(header_end > 0 and arr[header_end - 1] == _CR)] += 1
    pos, row = header_end + 1, 1

    def malformed(number: int, at: int, end: int, why: str) -> None:
        problems.append(
            {
                "source_row": number,
                "reason": "malformed_csv_row",
                "column_name": None,
                "bad_value": why,
                "raw_row": json.dumps({"line": _csv_text(arr, at, end)}),
            }
        )

    while pos < size:
        lim = min(size, pos + _CSV_WINDOW)
        rec = _scan_window(arr[pos:lim], lim == size)
        m = len(rec.ends)
        if m:
            length = rec.ends - rec.starts
            is_blank = (length == 0) | ((length == 1) & (arr[pos + rec.starts] == _CR))
            too_long = length > MAX_CSV_RECORD_BYTES
            bad = ~is_blank & ((rec.fields != n_fields) | rec.lone_cr | too_long)
            ok = ~is_blank & ~bad
            closed = rec.ends[ok & (rec.ends < lim - pos)]  # ended by an LF
            with_cr = int((arr[pos + closed - 1] == _CR).sum())
            line_ends[1] += with_cr
            line_ends[0] += len(closed) - with_cr
            numbers = np.arange(row, row + m, dtype=np.int64)
            starts.append(rec.starts[ok] + pos)
            ends.append(rec.ends[ok] + pos)
            rows.append(numbers[ok])
            blank += int(is_blank.sum())
            for i in np.flatnonzero(bad):
                s, e = pos + int(rec.starts[i]), pos + int(rec.ends[i])
                if too_long[i]:
                    why = (
                        f"record of {e - s:,} bytes, over the {MAX_CSV_RECORD_BYTES:,}-byte maximum"
                    )
                elif rec.lone_cr[i]:
                    why = "carriage return outside quotes that does not end the line"
                elif rec.fields[i] > n_fields:
                    why = f"too many columns ({rec.fields[i]}, the header has {n_fields})"
                else:
                    why = f"missing columns ({rec.fields[i]}, the header has {n_fields})"
                malformed(int(numbers[i]), s, e, why)
            row += m
        if rec.error is not None:
            # the row where the bad quote's record starts is malformed; reading
            # resumes at the next line, so one stray quote costs one row
            begin = pos + (int(rec.ends[-1]) + 1 if m else 0)
            resume = _next_line(arr, begin)
            malformed(row, begin, resume, str(rec.reason))
            pos, row = resume, row + 1
        elif m:
            pos += int(rec.ends[-1]) + 1
        else:
            # no record ends within a whole window: longer than the maximum
            resume = _next_line(arr, pos)
            malformed(row, pos, resume, f"record over the {MAX_CSV_RECORD_BYTES:,}-byte maximum")
            pos, row = resume, row + 1
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0, np.int64)  # noqa: E731
    return _CsvScan(
        names,
        header_end,
        cat(starts),
        cat(ends),
        cat(rows),
        problems,
        blank,
        mixed_line_ends=min(line_ends) > 0,
    )


def _read_csv(con: duckdb.DuckDBPyConnection, path: Path, stream: Stream) -> list[dict[str, Any]]:
    """Load a CSV as text columns into ``incoming``; malformed rows become problems.

    The file is read as RFC 4180 with a header (comma, double quote doubled to
    escape it), never guessed from a sample: the records are found here, over the
    whole file, and DuckDB parses only the well-formed ones with that fixed dialect,
    so every row keeps its own number and no quote far into the file is mis-read.
    """
    _check_utf8(path)
    arr = np.memmap(path, np.uint8, mode="r")  # paged in as scanned, closed when dropped
    size = len(arr)
    scan = _scan_csv(arr)
    _check_columns(stream, scan.names, str(path))
    clean = None
    if scan.problems or scan.blank or scan.mixed_line_ends:
        # only the well-formed records go to the parser (the header first), each
        # ended by LF (a CR before a record's LF is not part of its last field)
        marks = np.zeros(size + 1, np.int8)
        marks[scan.good_starts] += 1
        np.subtract.at(marks, np.minimum(scan.good_ends + 1, size), 1)
        keep = np.cumsum(marks[:size], dtype=np.int8).astype(bool)
        last = scan.good_ends[scan.good_ends > scan.good_starts] - 1
        keep[last[arr[last] == _CR]] = False
        clean = tempfile.NamedTemporaryFile(suffix=".csv", prefix="modelmart-")  # noqa: SIM115
        clean.write(arr[_bom(arr) : scan.header_end].tobytes().rstrip(b"\r") + b"\n")
        clean.write(arr[keep].tobytes())
        clean.flush()
    del arr
    try:
        index = {name: i for i, name in enumerate(scan.names)}
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(scan.names))) + "}"
        present = [c.name for c in stream.columns if c.name in index]
        select = ", ".join(f"c{index[name]} as {_quote(name)}" for name in present) or "1 as _none"
        src = _literal(clean.name if clean else str(path))
        _run(
            con,
            f"create or replace temp table raw_in as select {select} from read_csv({src}, "
            "delim = ',', quote = '\"', escape = '\"', header = true, auto_detect = false, "
            f"columns = {columns}, strict_mode = true, null_padding = false, "
            f"max_line_size = {MAX_CSV_RECORD_BYTES + 4096}, "
            f"buffer_size = {4 * MAX_CSV_RECORD_BYTES})",
        )
    finally:
        if clean is not None:
            clean.close()
    good = con.execute("select count(*) from raw_in").fetchall()[0][0]
    if good != len(scan.rows):  # a defect of this module, never of the input
        raise RuntimeError(f"{path}: {len(scan.rows)} CSV records found but {good} parsed")
    con.register("row_numbers", pa.table({"_source_row": scan.rows}))
    _project(con, stream, present, "raw_in")
    return scan.problems


_JSONL_BATCH = 200_000


def _read_jsonl(con: duckdb.DuckDBPyConnection, path: Path, stream: Stream) -> list[dict[str, Any]]:
    _check_utf8(path)
    # lines numbered from 1 as a text editor shows them; read in batches through Arrow
    # (DuckDB's string_split of the whole file is quadratic: minutes for 1M lines)
    batches, number = [], 0
    with open(path, "rb") as fh:
        while True:
            chunk = list(itertools.islice(fh, _JSONL_BATCH))
            if not chunk:
                break
            text = [line.decode("utf-8").replace("\r", "").rstrip("\n") for line in chunk]
            if number == 0 and text[0].startswith("\ufeff"):
                text[0] = text[0][1:]  # a byte-order mark is not part of the first object
            rows = pa.array(range(number + 1, number + len(text) + 1), pa.int64())
            batches.append(
                pa.record_batch([rows, pa.array(text, pa.string())], ["_source_row", "line"])
            )
            number += len(text)
    lines = pa.Table.from_batches(
        batches, schema=pa.schema([("_source_row", pa.int64()), ("line", pa.string())])
    )
    con.register("jsonl_lines", lines)
    _run(con, "create or replace temp table lines as select * from jsonl_lines")
    con.unregister("jsonl_lines")
    _run(
        con,
        "create or replace temp table objs as select _source_row, line from lines "
        "where json_valid(line) and json_type(line) = 'OBJECT'",
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
            "select l._source_row, l.line from lines l anti join objs o using (_source_row) "
            "where trim(l.line) <> '' order by l._source_row"
        ).fetchall()
    ]
    total = con.execute("select count(*) from objs").fetchall()[0][0]
    if total == 0 and problems:
        raise RejectedFile("no line is a JSON object (not JSON Lines?)")
    present = [
        r[0] for r in con.execute("select distinct unnest(json_keys(line)) from objs").fetchall()
    ]
    _check_columns(stream, present, str(path))
    # each line parsed once into all the contract's columns, as text exactly as
    # json_extract_string gives it (strings unquoted, numbers and objects as JSON);
    # a column no line has comes out NULL
    structure = _literal(json.dumps({c.name: "VARCHAR" for c in stream.columns}))
    cols = ", ".join(f"s.{_quote(c.name)}" for c in stream.columns)
    # an object or array given for a string column comes out as its JSON text,
    # like a string that looks like one: the line says which it was (looked up
    # only for text that starts like JSON, so the usual row costs nothing more)
    nested = "".join(
        f", case when left(s.{_quote(c.name)}, 1) in ('{{', '[') then "
        f"json_type(line, {_literal('$.' + json.dumps(c.name))}) in ('OBJECT', 'ARRAY') "
        f"end as {_quote('_nested_' + c.name)}"
        for c in stream.columns
        if c.kind == "string"
    )
    _run(
        con,
        f"create or replace temp table incoming as select _source_row, {cols}{nested} "
        f"from (select _source_row, line, from_json(line, {structure}) as s from objs)",
    )
    return problems


def _read_parquet(
    con: duckdb.DuckDBPyConnection, path: Path, stream: Stream
) -> list[dict[str, Any]]:
    """Expose a Parquet file as ``incoming`` with its native column types (no copy)."""
    src = _literal(str(path))
    described = {
        r[0]: r[1] for r in con.execute(f"describe select * from read_parquet({src})").fetchall()
    }
    _check_columns(stream, described, str(path))
    cols = ", ".join(
        _quote(c.name) if c.name in described else f"cast(null as varchar) as {_quote(c.name)}"
        for c in stream.columns
    )
    if "file_row_number" in described:
        # the reader's own row-number column would collide with the user's (an extra
        # column, allowed): number the rows through Arrow instead (a copy, so rare)
        table = pq.read_table(path, columns=[c.name for c in stream.columns if c.name in described])
        con.register(
            "parquet_rows",
            table.append_column("_source_row", pa.array(np.arange(1, table.num_rows + 1))),
        )
        _run(
            con,
            f"create or replace temp table incoming as select _source_row, {cols} from parquet_rows",
        )
        return []
    _run(
        con,
        f"create or replace temp view incoming as select file_row_number + 1 as _source_row, {cols} "
        f"from read_parquet({src}, file_row_number = true)",
    )
    return []


def _project(
    con: duckdb.DuckDBPyConnection, stream: Stream, present: Sequence[str], table: str
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
        if c.kind == "string" and any(isinstance(v, dict | list) for v in values):
            arrays[f"_nested_{c.name}"] = pa.array([isinstance(v, dict | list) for v in values])
    return pa.table(arrays)


# ---------------------------------------------------------------- validation


_INTEGER_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
)
_FLOAT_TYPES = ("FLOAT", "DOUBLE", "HUGEINT", "UHUGEINT")
_NESTED_TYPES = ("STRUCT", "MAP", "UNION", "JSON", "VARIANT")
# date, optional time (hours 00-23), optional offset up to ±14:00 (or Z)
_ISO_TIMESTAMP = (
    r"\d{4}-\d{2}-\d{2}([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?)?"
    r" ?([Zz]|[+-](0\d|1[0-3])(:?[0-5]\d)?|[+-]14(:?00)?)?"
)


def _present_expr(c: Column, source_type: str) -> str:
    """The value as given, NULL when absent (blank text counts as absent)."""
    if source_type == "VARCHAR":
        return f"nullif(trim({_quote(c.name)}), '')"
    return _quote(c.name)


MAX_FEATURE_KEYS = 100_000
"""Most distinct feature names (keys of ``features``) in one file; a file with more
is rejected whole with a message (a feature is a column of the drift marts)."""
_NUMBER_TYPES = "('BIGINT', 'UBIGINT', 'DOUBLE')"


def _features_text(c: Column, source_type: str) -> str:
    """The given features value as JSON text (Parquet maps and structs rendered as
    JSON), NULL unless it is valid JSON: no JSON function ever sees invalid text
    (DuckDB may evaluate both sides of an AND, so a guard beside it is not enough)."""
    value = _present_expr(c, source_type)
    text = value if source_type == "VARCHAR" else f"to_json({value})::varchar"
    return f"(case when json_valid({text}) then {text} end)"


def _json_pointer(key: str) -> str:
    """An RFC 6901 pointer to a top-level key, as a SQL literal."""
    return _literal("/" + key.replace("~", "~0").replace("/", "~1"))


def _features_lists(c: Column, source_type: str, keys: Sequence[str]) -> str:
    """Columns ``fv_<name>``, ``ft_<name>``: the values and JSON types at ``keys``.

    NULL unless the value is a JSON object without repeated keys. ``keys`` are all
    the keys the column holds, sorted, so every object is parsed once with a list
    of constant paths instead of cast JSON-to-MAP (several times slower). Used when
    the rows share their keys (cost: rows x distinct keys).
    """
    text_json = _features_text(c, source_type)
    is_object = (
        f"json_type({text_json}) = 'OBJECT' "
        f"and len(json_keys({text_json})) = len(list_distinct(json_keys({text_json})))"
    )
    if keys:
        paths = "[" + ", ".join(_json_pointer(k) for k in keys) + "]"
        values, types = f"json_extract({text_json}, {paths})", f"json_type({text_json}, {paths})"
    else:  # every object in the column is empty
        values, types = "cast([] as json[])", "cast([] as varchar[])"
    return (
        f"case when {is_object} then {values} end as fv_{c.name}, "
        f"case when {is_object} then {types} end as ft_{c.name}"
    )


def _features_expr(c: Column, keys: Sequence[str]) -> str:
    """Canonical features text (keys sorted, numbers as doubles), NULL when not valid.

    Valid: a JSON object without repeated keys whose every value is a finite JSON
    number ("1.5", true and null are not). Stored canonically, the same features
    sent in another key order, as 1 or 1.0, or from another format are the same
    content: a duplicate, not a conflict.
    """
    values, types = f"fv_{c.name}", f"ft_{c.name}"
    numbers_only = (
        f"list_bool_and(list_transform({types}, "
        f"lambda t: t is null or t in {_NUMBER_TYPES})) is not false"
    )
    finite = (
        f"list_bool_and(list_transform({values}, lambda v: v is null or isfinite(v::double))) "
        "is not false"
    )
    entries = ", ".join(
        f"case when {values}[{i}] is not null then to_json({_literal(k)}::varchar) || ':' "
        f"|| to_json({values}[{i}]::double) end"
        for i, k in enumerate(keys, start=1)
    )
    canonical = f"'{{' || concat_ws(',', {entries}) || '}}'" if keys else "'{}'"
    return f"case when {values} is not null and {numbers_only} and {finite} then {canonical} end"


def _features_per_row(con: duckdb.DuckDBPyConnection, c: Column, source_type: str) -> None:
    """Table ``features_<name>`` (_source_row, canonical text): the same result as
    :func:`_features_expr`, computed from each object's own entries (cost: rows x
    keys per row), for files whose rows do not share their keys."""
    value = _features_text(c, source_type)
    number = f"e.type in {_NUMBER_TYPES}"
    _run(
        con,
        f"create or replace temp table features_{c.name} as "
        f"with o as (select _source_row, {value}::json as j from incoming "
        f"where json_type({value}) = 'OBJECT') "
        "select o._source_row, case when count(e.key) = 0 then '{}' "
        f"when count(e.key) = count(distinct e.key) and bool_and({number}) "
        f"and bool_and(case when {number} then isfinite(e.value::double) end) "
        "then '{' || string_agg(to_json(e.key) || ':' || "
        f"to_json(case when {number} then e.value::double end), ',' order by e.key) || '}}' "
        "end as canonical from o left join lateral json_each(o.j) e on true "
        "group by o._source_row",
    )


def _feature_keys(
    con: duckdb.DuckDBPyConnection, c: Column, source_type: str
) -> tuple[list[str], bool]:
    """Every key of the column's JSON objects, in SQL's sort order, and whether the
    rows share them (then constant paths are cheapest, else each row's own entries).

    Rejects a file with more than MAX_FEATURE_KEYS distinct keys.
    """
    value = _features_text(c, source_type)
    _run(
        con,
        f"create or replace temp table feature_keys as select unnest(json_keys(j)) as k from "
        f"(select {value} as j from incoming) where json_type(j) = 'OBJECT'",
    )
    entries, objects = con.execute(
        "select count(*), (select count(*) from "
        f"(select {value} as j from incoming) where json_type(j) = 'OBJECT') from feature_keys"
    ).fetchall()[0]
    distinct = con.execute("select count(distinct k) from feature_keys").fetchall()[0][0]
    if distinct > MAX_FEATURE_KEYS:
        raise RejectedFile(
            f"column {c.name}: {distinct:,} distinct feature keys, more than the "
            f"{MAX_FEATURE_KEYS:,} allowed in one file"
        )
    # constant paths cost about half a per-row entry each (measured): worth it
    # while the distinct keys are at most about twice the keys of an average row
    shared = distinct <= 2 * entries / max(objects, 1)
    if not shared:
        return [], False
    keys = [r[0] for r in con.execute("select distinct k from feature_keys order by k").fetchall()]
    return keys, True


def _typed_expr(c: Column, source_type: str, feature_keys: Sequence[str] | None = None) -> str:
    """The contract-typed value, NULL when the given value cannot be that type.

    Native Parquet types are used as they are (no round trip through text); text
    from CSV / JSON Lines / the API is parsed.
    """
    raw = f"r_{c.name}"
    text = source_type == "VARCHAR"
    numeric = (
        source_type in _INTEGER_TYPES
        or source_type in _FLOAT_TYPES
        or source_type.startswith("DECIMAL")
    )
    if c.kind == "timestamp":
        if text:
            # ISO 8601 only, and an offset within ±14:00: DuckDB alone would take
            # '+25:00' (another date) or a zone name
            return (
                f"case when regexp_full_match(trim({raw}), {_literal(_ISO_TIMESTAMP)}) "
                f"then (try_cast({raw} as timestamptz) at time zone 'UTC') end"
            )
        if source_type.startswith("TIMESTAMP WITH TIME ZONE"):
            return f"({raw} at time zone 'UTC')"
        if source_type.startswith("TIMESTAMP") or source_type == "DATE":
            return f"cast({raw} as timestamp)"
        return "cast(null as timestamp)"
    if c.kind == "double":
        return f"try_cast({raw} as double)" if text or numeric else "cast(null as double)"
    if c.kind == "integer":
        if source_type in _INTEGER_TYPES:
            # try_: a UBIGINT beyond the BIGINT range is a wrong value of that row
            return f"try_cast({raw} as bigint)"
        if not (text or numeric):
            return "cast(null as bigint)"
        as_double = f"try_cast({raw} as double)"
        # try_cast in the branch too: DuckDB may cast rows the condition excludes
        return (
            f"case when isfinite({as_double}) and {as_double} = round({as_double}) "
            f"and abs({as_double}) < 9e15 then try_cast({as_double} as bigint) end"
        )
    if c.kind == "features":
        if feature_keys is None:  # computed per row (_features_per_row), joined in
            return f"fc_{c.name}"
        return _features_expr(c, feature_keys)
    if text:
        return raw
    if source_type.startswith(_NESTED_TYPES) or source_type.endswith("]"):
        return "cast(null as varchar)"  # a struct, map or list is not a string
    return f"cast({raw} as varchar)"


def _problem_case(stream: Stream, nested: Iterable[str] = ()) -> str:
    """One CASE giving 'reason|column' for the first rule a row breaks, else NULL.

    ``nested``: string columns with a flag ``nx_<name>`` (the value was a JSON
    object or array, which is not a string).
    """
    whens: list[str] = []
    for c in stream.columns:
        raw, typed = f"r_{c.name}", f"t_{c.name}"
        if c.required:
            whens.append(f"when {raw} is null then 'missing_required|{c.name}'")
        if c.name in nested:
            whens.append(f"when nx_{c.name} then 'wrong_type|{c.name}'")
        if c.kind == "integer":
            whens.append(f"when nf_{c.name} then 'not_finite|{c.name}'")
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
    names = {c.name for c in stream.columns}
    for column, condition, reason in stream.row_rules:
        cond = re.sub(
            r"\b([a-z_]+)\b",
            lambda m: f"v_{m.group(1)}" if m.group(1) in names else m.group(1),
            condition,
        )
        whens.append(f"when not ({cond}) then '{reason}|{column}'")
    return "case " + " ".join(whens) + " end"


def _validate(con: duckdb.DuckDBPyConnection, stream: Stream) -> None:
    """``incoming`` → ``checked``: given values (r_*), typed values (v_*), the problem."""
    types = {r[0]: r[1] for r in con.execute("describe incoming").fetchall()}
    keys: dict[str, list[str] | None] = {}
    extra, joins = [], ""
    for c in stream.columns:
        if c.kind != "features":
            continue
        found, shared = _feature_keys(con, c, types[c.name])
        if shared:
            keys[c.name] = found
            extra.append(_features_lists(c, types[c.name], found))
        else:
            keys[c.name] = None
            _features_per_row(con, c, types[c.name])
            extra.append(f"features_{c.name}.canonical as fc_{c.name}")
            joins += f" left join features_{c.name} using (_source_row)"
    nested = [c.name for c in stream.columns if f"_nested_{c.name}" in types]
    extra += [f"coalesce({_quote('_nested_' + name)}, false) as nx_{name}" for name in nested]
    present = ", ".join(
        [f"{_present_expr(c, types[c.name])} as r_{c.name}" for c in stream.columns] + extra
    )
    typed = ", ".join(
        [
            f"{_typed_expr(c, types[c.name], keys.get(c.name, []))} as t_{c.name}"
            for c in stream.columns
        ]
        + [
            # NaN or infinity given for an integer: not_finite, as for a double
            f"coalesce(not isfinite(try_cast(r_{c.name} as double)), false) as nf_{c.name}"
            if types[c.name] == "VARCHAR" or types[c.name] in _FLOAT_TYPES
            else f"false as nf_{c.name}"
            for c in stream.columns
            if c.kind == "integer"
        ]
    )
    values = ", ".join(
        f"coalesce(t_{c.name}, {c.default}) as v_{c.name}"
        if c.default
        else f"t_{c.name} as v_{c.name}"
        for c in stream.columns
    )
    v_columns = ", ".join(f"v_{c.name}" for c in stream.columns)
    raw_json = (
        "to_json({"
        + ", ".join(f"{_literal(c.name)}: r_{c.name}" for c in stream.columns)
        + "})::varchar"
    )
    _run(
        con,
        "create or replace temp table checked as "
        f"with r as (select _source_row, {present} from incoming{joins}), "
        f"t as (select *, {typed} from r), "
        f"v as (select *, {values} from t), "
        f"p as (select *, {_problem_case(stream, nested)} as _problem from v) "
        # the given values are kept only for rows that go to quarantine
        f"select _source_row, {v_columns}, _problem, "
        f"case when _problem is not null then {raw_json} end as _raw_row, "
        f"case when _problem is not null then r_event_id end as _raw_event_id from p",
    )


def _same_content(stream: Stream, left: str, right: str, right_prefix: str) -> str:
    return " and ".join(
        f"{left}.v_{c.name} is not distinct from {right}.{right_prefix}{c.name}"
        for c in stream.columns
    )


def _classify(con: duckdb.DuckDBPyConnection, stream: Stream, landing_files: list[Path]) -> None:
    """Outcome of the valid rows whose event_id repeats in the file or is already stored.

    Every other valid row is simply stored, so the common case costs one
    semi-join of the incoming ids against the stored ids and nothing more.
    """
    files = "[" + ", ".join(_literal(str(p)) for p in landing_files) + "]"
    _run(
        con,
        "create or replace temp table repeated_ids as select v_event_id as event_id from checked "
        "where _problem is null group by v_event_id having count(*) > 1",
    )
    # the incoming ids' range as constants: DuckDB then skips every stored row group
    # whose min/max event_id lies outside it (ids that grow with time, as most do,
    # are found without reading the old files' ids at all)
    low, high = con.execute(
        "select min(v_event_id), max(v_event_id) from checked where _problem is null"
    ).fetchall()[0]
    in_range = (
        f"event_id between {_literal(low)} and {_literal(high)}" if low is not None else "false"
    )
    _run(
        con,
        "create or replace temp table stored_ids as select event_id "
        f"from read_parquet({files}) where {in_range} and event_id in "
        "(select v_event_id from checked where _problem is null)",
    )
    stored_cols = ", ".join(c.name for c in stream.columns)
    _run(
        con,
        f"create or replace temp table stored_rows as select {stored_cols} from read_parquet({files}) "
        f"where {in_range} and event_id in (select event_id from stored_ids)",
    )
    _run(
        con,
        "create or replace temp table special as select c.*, "
        "row_number() over (partition by c.v_event_id order by c._source_row) as rn from checked c "
        "where c._problem is null and (c.v_event_id in (select event_id from repeated_ids) "
        "or c.v_event_id in (select event_id from stored_ids))",
    )
    _run(
        con,
        "create or replace temp table classified as select s._source_row, case "
        f"when st.event_id is not null and {_same_content(stream, 's', 'st', '')} then 'duplicate' "
        "when st.event_id is not null then 'conflict_stored' "
        "when s.rn = 1 then 'store' "
        f"when {_same_content(stream, 's', 'f', 'v_')} then 'duplicate' "
        "else 'conflict_in_file' end as outcome "
        "from special s left join stored_rows st on st.event_id = s.v_event_id "
        "left join (select * from special where rn = 1) f on f.v_event_id = s.v_event_id",
    )


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
        f"{src} as _source_file, c._source_row::bigint as _source_row "
        "from checked c where c._problem is null and c._source_row not in "
        "(select _source_row from classified where outcome <> 'store')) "
        f"to {_literal(str(tmp_landing))} (format parquet, compression zstd)",
    )
    _problems_table(con, problems)
    _run(
        con,
        "create or replace temp table quarantined as "
        "select _source_row as source_row, _raw_event_id as event_id, split_part(_problem, '|', 1) as reason, "
        "split_part(_problem, '|', 2) as column_name, null::varchar as bad_value, _raw_row as raw_row "
        "from checked where _problem is not null "
        "union all select c._source_row, c.v_event_id, 'conflict', 'event_id', "
        "case k.outcome when 'conflict_stored' then 'differs from the stored row' "
        "else 'differs from an earlier row of this file' end, "
        "to_json({"
        + ", ".join(f"{_literal(c.name)}: c.v_{c.name}" for c in stream.columns)
        + "})::varchar "
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
    valid = con.execute("select count(*) from checked where _problem is null").fetchall()[0][0]
    counts["store"] = valid - sum(n for outcome, n in counts.items() if outcome != "store")
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
    # The contract takes a timestamp without an offset as UTC. DuckDB parses such
    # text in the session time zone, which with ICU loaded is the host's: pin it.
    # (a SET after connect: ICU is built in but not yet loaded while connect reads its config)
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    return con


def ingest_file(path: Path, stream: str, home: str | os.PathLike[str] | None = None) -> FileResult:
    """Ingest one file into ``stream``; never raises for bad content."""
    paths = get_paths(home)
    if stream not in CONTRACT:
        raise UserError(f"{path}: unknown stream {stream!r} (expected one of {', '.join(STREAMS)})")
    ensure_layout(paths)
    source = str(Path(path).resolve())
    fmt = FORMATS.get(Path(path).suffix.lower())
    try:
        size: int | None = Path(path).stat().st_size
        unreadable = None
    except OSError as exc:
        size, unreadable = None, exc.strerror
    with file_lock(paths.locks / "ingest.lock"):
        _recover(paths)
        if fmt is None:
            return _reject(
                paths,
                stream,
                source,
                f"unsupported file type {Path(path).suffix or '(none)'!r}; expected .csv, .jsonl or .parquet",
            )
        if size is None:
            return _reject(paths, stream, source, f"cannot be read: {unreadable}")
        if size == 0:
            return _reject(paths, stream, source, "empty file (0 bytes): no header, no rows")
        con = _connect()
        try:
            reader = {"csv": _read_csv, "jsonl": _read_jsonl, "parquet": _read_parquet}[fmt]
            try:
                problems = reader(con, Path(path), CONTRACT[stream])
                return _land(con, paths, CONTRACT[stream], source, problems)
            except RejectedFile as exc:
                return _reject(paths, stream, source, str(exc))
            except OSError as exc:  # e.g. no permission to read it
                return _reject(paths, stream, source, f"cannot be read: {exc.strerror or exc}")
            except (duckdb.Error, pa.ArrowException) as exc:
                # readers are lazy (a Parquet footer can be fine and its pages corrupt),
                # so rows can fail to read inside _land too: either way the file is
                # rejected whole, and temp files of the unfinished batch are dropped
                _recover(paths)
                first = str(exc).strip().splitlines()[0]
                return _reject(paths, stream, source, f"cannot be read as {fmt.upper()}: {first}")
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
