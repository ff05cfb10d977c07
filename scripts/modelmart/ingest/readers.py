"""Readers: each input format into the temp table ``incoming`` (text or native columns,
with ``_source_row``), plus the rows that are malformed as a whole (problems)."""

from __future__ import annotations

import codecs
import json
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from modelmart.contract import Stream
from modelmart.ingest.csv_scan import CR, LF, MAX_CSV_RECORD_BYTES, scan_csv, write_well_formed
from modelmart.ingest.results import RejectedFile
from modelmart.ingest.sql import int64_array, literal, load_arrow, quote, run

FORMATS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def check_columns(stream: Stream, present: Iterable[str], source: str) -> None:
    missing = [c for c in stream.required if c not in set(present)]
    if missing:
        raise RejectedFile(
            f"missing required column(s) {', '.join(missing)} for stream {stream.name}"
        )


def check_utf8(path: Path) -> None:
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


def read_csv(con: duckdb.DuckDBPyConnection, path: Path, stream: Stream) -> list[dict[str, Any]]:
    """Load a CSV as text columns into ``incoming``; malformed rows become problems.

    The file is read as RFC 4180 with a header (comma, double quote doubled to
    escape it), never guessed from a sample: the records are found here, over the
    whole file, and DuckDB parses only the well-formed ones with that fixed dialect,
    so every row keeps its own number and no quote far into the file is mis-read.
    """
    check_utf8(path)
    arr = np.memmap(path, np.uint8, mode="r")  # paged in as scanned, closed when dropped
    scan = scan_csv(arr)
    check_columns(stream, scan.names, str(path))
    clean = None
    if scan.problems or scan.blank or scan.mixed_line_ends:
        # only the well-formed records go to the parser (the header first)
        clean = tempfile.NamedTemporaryFile(suffix=".csv", prefix="modelmart-")  # noqa: SIM115
        write_well_formed(arr, scan, clean)
    del arr
    try:
        index = {name: i for i, name in enumerate(scan.names)}
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(scan.names))) + "}"
        present = [c.name for c in stream.columns if c.name in index]
        select = ", ".join(f"c{index[name]} as {quote(name)}" for name in present) or "1 as _none"
        src = literal(clean.name if clean else str(path))
        run(
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
    load_arrow(
        con, "row_numbers", pa.Table.from_arrays([int64_array(scan.rows)], names=["_source_row"])
    )
    _project(con, stream, present, "raw_in")
    return scan.problems


def _jsonl_lines(path: Path) -> pa.Table:
    """(_source_row, line): every line, numbered from 1 as a text editor shows them,
    without its LF and without any CR; a byte-order mark is not part of the first.

    Cut with numpy on the bytes (no Python per line) into one Arrow string array;
    DuckDB's string_split of the whole file is quadratic (minutes for 1M lines).
    """
    data = np.fromfile(path, np.uint8)
    bom = data[:3].tobytes() == b"\xef\xbb\xbf"
    if bom:
        data = data[3:]
    lf = np.flatnonzero(data == LF)
    starts = np.concatenate(([0], lf + 1)).astype(np.int64)
    # the file ends with a newline: no line after it (a lone mark is a line)
    if starts[-1] == len(data) and not (bom and len(data) == 0):
        starts = starts[:-1]
    cr = np.flatnonzero(data == CR)
    # offsets in the text without CR and LF: each line's start, less the LFs (one per
    # line before it) and CRs before it
    offsets = starts - np.arange(len(starts)) - np.searchsorted(cr, starts)
    text = data[(data != LF) & (data != CR)]
    offsets = np.append(offsets, len(text)).astype(np.int64)
    lines = pa.LargeStringArray.from_buffers(len(starts), pa.py_buffer(offsets), pa.py_buffer(text))
    numbers = int64_array(np.arange(1, len(starts) + 1))
    return pa.Table.from_arrays([numbers, lines], names=["_source_row", "line"])


def read_jsonl(con: duckdb.DuckDBPyConnection, path: Path, stream: Stream) -> list[dict[str, Any]]:
    check_utf8(path)
    lines = _jsonl_lines(path)
    load_arrow(con, "lines", lines)
    run(
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
    check_columns(stream, present, str(path))
    # each line parsed once into all the contract's columns, as text exactly as
    # json_extract_string gives it (strings unquoted, numbers and objects as JSON);
    # a column no line has comes out NULL
    structure = literal(json.dumps({c.name: "VARCHAR" for c in stream.columns}))
    cols = ", ".join(f"s.{quote(c.name)}" for c in stream.columns)
    # an object or array given for a string column comes out as its JSON text,
    # like a string that looks like one: the line says which it was (looked up
    # only for text that starts like JSON, so the usual row costs nothing more)
    nested = "".join(
        f", case when left(s.{quote(c.name)}, 1) in ('{{', '[') then "
        f"json_type(line, {literal('$.' + json.dumps(c.name))}) in ('OBJECT', 'ARRAY') "
        f"end as {quote('_nested_' + c.name)}"
        for c in stream.columns
        if c.kind == "string"
    )
    run(
        con,
        f"create or replace temp table incoming as select _source_row, {cols}{nested} "
        f"from (select _source_row, line, from_json(line, {structure}) as s from objs)",
    )
    return problems


def read_parquet(
    con: duckdb.DuckDBPyConnection, path: Path, stream: Stream
) -> list[dict[str, Any]]:
    """Expose a Parquet file as ``incoming`` with its native column types (no copy)."""
    src = literal(str(path))
    described = {
        r[0]: r[1] for r in con.execute(f"describe select * from read_parquet({src})").fetchall()
    }
    check_columns(stream, described, str(path))
    cols = ", ".join(
        quote(c.name) if c.name in described else f"cast(null as varchar) as {quote(c.name)}"
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
        run(
            con,
            f"create or replace temp table incoming as select _source_row, {cols} from parquet_rows",
        )
        return []
    run(
        con,
        f"create or replace temp view incoming as select file_row_number + 1 as _source_row, {cols} "
        f"from read_parquet({src}, file_row_number = true)",
    )
    return []


def _project(
    con: duckdb.DuckDBPyConnection, stream: Stream, present: Sequence[str], table: str
) -> None:
    cols = ", ".join(
        f"cast({quote(c.name)} as varchar) as {quote(c.name)}"
        if c.name in present
        else f"cast(null as varchar) as {quote(c.name)}"
        for c in stream.columns
    )
    # positional join keeps file order, which row numbers rely on; a view over the
    # parsed table (its columns are already text): not one more copy of it
    run(
        con,
        f"create or replace temp view incoming as select r._source_row, {cols} "
        f"from {table} positional join row_numbers r",
    )
