"""Duplicates and conflicts: valid rows whose event_id repeats in the batch or is already stored."""

from __future__ import annotations

from pathlib import Path

import duckdb

from modelmart.contract import Stream
from modelmart.ingest.sql import literal, run


def _same_content(stream: Stream, left: str, right: str, right_prefix: str) -> str:
    return " and ".join(
        f"{left}.v_{c.name} is not distinct from {right}.{right_prefix}{c.name}"
        for c in stream.columns
    )


def classify(con: duckdb.DuckDBPyConnection, stream: Stream, landing_files: list[Path]) -> None:
    """Outcome of the valid rows whose event_id repeats in the file or is already stored.

    Every other valid row is simply stored, so the common case costs one
    semi-join of the incoming ids against the stored ids and nothing more.
    """
    files = "[" + ", ".join(literal(str(p)) for p in landing_files) + "]"
    run(
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
        f"event_id between {literal(low)} and {literal(high)}" if low is not None else "false"
    )
    run(
        con,
        "create or replace temp table stored_ids as select event_id "
        f"from read_parquet({files}) where {in_range} and event_id in "
        "(select v_event_id from checked where _problem is null)",
    )
    stored_cols = ", ".join(c.name for c in stream.columns)
    run(
        con,
        f"create or replace temp table stored_rows as select {stored_cols} from read_parquet({files}) "
        f"where {in_range} and event_id in (select event_id from stored_ids)",
    )
    run(
        con,
        "create or replace temp table special as select c.*, "
        "row_number() over (partition by c.v_event_id order by c._source_row) as rn from checked c "
        "where c._problem is null and (c.v_event_id in (select event_id from repeated_ids) "
        "or c.v_event_id in (select event_id from stored_ids))",
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
