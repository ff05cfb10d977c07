"""Duplicates and conflicts: valid rows whose event_id repeats in the batch or is already stored."""

from __future__ import annotations

from pathlib import Path

import duckdb

from modelmart.contract import Stream
from modelmart.ingest.sql import literal, run

_MAX_LISTED_ROWS = 50_000
"""Most row numbers given as constants in a filter (see rows_where)."""


def _same_content(stream: Stream, left: str, right: str, right_prefix: str) -> str:
    return " and ".join(
        f"{left}.v_{c.name} is not distinct from {right}.{right_prefix}{c.name}"
        for c in stream.columns
    )


def rows_where(rows: list[int], table: str) -> str:
    """A filter on ``c._source_row`` for these row numbers (also in ``table``).

    As constants they filter the input before the view types it (a semi-join
    would type every row first); a semi-join when they are very many."""
    if not rows:
        return "false"
    if len(rows) <= _MAX_LISTED_ROWS:
        return "c._source_row in (" + ", ".join(map(str, rows)) + ")"
    return f"c._source_row in (select _source_row from {table})"


def classify(con: duckdb.DuckDBPyConnection, stream: Stream, landing_files: list[Path]) -> None:
    """The valid rows whose event_id repeats in the batch or is already stored.

    Tables: ``special`` (their typed values, ``rn`` = order among the valid rows of
    that id), ``classified`` (their outcome: store, duplicate, conflict_stored,
    conflict_in_file) and ``not_stored`` (the rows of those that are not stored).
    Every other valid row is simply stored, so the common case costs one grouping
    of the batch's ids and one semi-join against the stored ids, nothing more.
    """
    files = "[" + ", ".join(literal(str(p)) for p in landing_files) + "]"
    # ids of all rows (valid or not: a superset is harmless, only valid rows are
    # classified); the grouping lists the ids that repeat in the batch
    run(
        con,
        "create or replace temp table repeated_ids as select v_event_id as event_id from ids "
        "where v_event_id is not null group by v_event_id having count(*) > 1",
    )
    # the incoming ids' range as constants: DuckDB then skips every stored row group
    # whose min/max event_id lies outside it (ids that grow with time, as most do,
    # are found without reading the old files' ids at all)
    low, high = con.execute("select min(v_event_id), max(v_event_id) from ids").fetchall()[0]
    in_range = (
        f"event_id between {literal(low)} and {literal(high)}" if low is not None else "false"
    )
    run(
        con,
        "create or replace temp table stored_ids as select event_id "
        f"from read_parquet({files}) where {in_range} and event_id in "
        "(select v_event_id from ids)",
    )
    stored_cols = ", ".join(c.name for c in stream.columns)
    run(
        con,
        f"create or replace temp table stored_rows as select {stored_cols} from read_parquet({files}) "
        f"where {in_range} and event_id in (select event_id from stored_ids)",
    )
    run(
        con,
        "create or replace temp table special_rows as select _source_row from ids "
        "where v_event_id in (select event_id from repeated_ids) "
        "or v_event_id in (select event_id from stored_ids)",
    )
    rows = [r[0] for r in con.execute("select _source_row from special_rows").fetchall()]
    # the typed values only of these rows (typed again from the view, by row number)
    run(
        con,
        "create or replace temp table special as select * exclude (_raw_row, _raw_event_id), "
        "row_number() over (partition by v_event_id order by _source_row) as rn from "
        f"(select * from validated c where {rows_where(rows, 'special_rows')}) "
        "where _problem is null",
    )
    run(
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
    run(
        con,
        "create or replace temp table not_stored as select _source_row from classified "
        "where outcome <> 'store'",
    )
