"""The public entry points: ingest a file, ingest in-memory records, discover input files."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from modelmart.config import UserError, file_lock, get_paths
from modelmart.contract import CONTRACT, STREAMS
from modelmart.ingest.commit import land, reject
from modelmart.ingest.layout import ensure_layout, recover
from modelmart.ingest.readers import FORMATS, read_csv, read_jsonl, read_parquet
from modelmart.ingest.results import FileResult, RejectedFile
from modelmart.ingest.sql import connect, run

if TYPE_CHECKING:
    import pandas as pd


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
        recover(paths)
        if fmt is None:
            return reject(
                paths,
                stream,
                source,
                f"unsupported file type {Path(path).suffix or '(none)'!r}; expected .csv, .jsonl or .parquet",
            )
        if size is None:
            return reject(paths, stream, source, f"cannot be read: {unreadable}")
        if size == 0:
            return reject(paths, stream, source, "empty file (0 bytes): no header, no rows")
        con = connect()
        try:
            reader = {"csv": read_csv, "jsonl": read_jsonl, "parquet": read_parquet}[fmt]
            try:
                problems = reader(con, Path(path), CONTRACT[stream])
                return land(con, paths, CONTRACT[stream], source, problems)
            except RejectedFile as exc:
                return reject(paths, stream, source, str(exc))
            except OSError as exc:  # e.g. no permission to read it
                return reject(paths, stream, source, f"cannot be read: {exc.strerror or exc}")
            except (duckdb.Error, pa.ArrowException) as exc:
                # readers are lazy (a Parquet footer can be fine and its pages corrupt),
                # so rows can fail to read inside land too: either way the file is
                # rejected whole, and temp files of the unfinished batch are dropped
                recover(paths)
                first = str(exc).strip().splitlines()[0]
                return reject(paths, stream, source, f"cannot be read as {fmt.upper()}: {first}")
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
    # imported here: pandas is not needed by (and slow to import for) the file path
    from modelmart.ingest.records import records_to_arrow

    ensure_layout(paths)
    with file_lock(paths.locks / "ingest.lock"):
        recover(paths)
        try:
            table = records_to_arrow(CONTRACT[stream], records)
        except RejectedFile as exc:
            return reject(paths, stream, source, str(exc))
        con = connect()
        try:
            con.register("incoming_arrow", table)
            run(con, "create or replace temp table incoming as select * from incoming_arrow")
            return land(con, paths, CONTRACT[stream], source, [])
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
