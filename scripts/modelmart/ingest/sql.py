"""DuckDB helpers shared by the ingest modules: running statements, quoting, the connection."""

from __future__ import annotations

import duckdb


def run(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Run a statement to completion (DuckDB 2 keeps results pending until fetched)."""
    con.execute(sql).fetchall()


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect() -> duckdb.DuckDBPyConnection:
    # The contract takes a timestamp without an offset as UTC. DuckDB parses such
    # text in the session time zone, which with ICU loaded is the host's: pin it.
    # (a SET after connect: ICU is built in but not yet loaded while connect reads its config)
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    return con
