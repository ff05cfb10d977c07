"""DuckDB helpers shared by the ingest modules: running statements, quoting, the connection."""

from __future__ import annotations

import os
import tempfile
import threading

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def run(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Run a statement to completion (DuckDB 2 keeps results pending until fetched)."""
    con.execute(sql).fetchall()


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_database: tuple[int, duckdb.DuckDBPyConnection] | None = None
_database_lock = threading.Lock()


def connect() -> duckdb.DuckDBPyConnection:
    """A fresh connection (its own temp tables and views) to this process's in-memory
    database: opening a database costs ~40 ms, a cursor on it almost nothing, and
    ``modelmart ingest`` of a folder opens one per file. Nothing is stored in the
    database itself (only temp objects, dropped when the connection closes)."""
    global _database
    with _database_lock:
        if _database is None or _database[0] != os.getpid():  # not one inherited by fork
            _database = (os.getpid(), duckdb.connect())
        con = _database[1].cursor()
    # The contract takes a timestamp without an offset as UTC. DuckDB parses such
    # text in the session time zone, which with ICU loaded is the host's: pin it.
    # (a SET after connect: ICU is built in but not yet loaded while connect reads its config)
    con.execute("set TimeZone = 'UTC'")
    return con


def int64_array(values: np.ndarray) -> pa.Array:
    """An Arrow int64 array over numpy's buffer (``pa.array`` would import pandas)."""
    values = np.ascontiguousarray(values, np.int64)
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


def load_arrow(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    """Temp table ``name`` from an Arrow table of plain columns (integers, text).

    Through an uncompressed Parquet file rather than ``con.register``: registering
    makes DuckDB import pandas, over a second of a command's start-up on a loaded
    machine, which the file path needs nowhere else (build the table from buffers,
    see :func:`int64_array`: ``pa.array`` of Python values imports it too).
    """
    with tempfile.NamedTemporaryFile(suffix=".parquet", prefix="modelmart-") as handle:
        pq.write_table(table, handle.name, compression="none")
        run(
            con,
            f"create or replace temp table {quote(name)} as "
            f"select * from read_parquet({literal(handle.name)})",
        )
