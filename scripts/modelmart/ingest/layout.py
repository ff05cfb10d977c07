"""Landing layout, batch sequence numbers and recovery from a crashed ingest.

Every batch is ``<seq>-<stream>`` in ``landing/``, ``quarantine/`` and ``manifests/``;
the rename of the landing file is the commit. ``recover`` removes what a crashed
ingest left (temp files, and the manifest and quarantine of a batch that never landed).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import duckdb

from modelmart.compact import is_landed, landed_spans, landing_files
from modelmart.config import Paths
from modelmart.contract import CONTRACT, STREAMS
from modelmart.ingest.sql import run

_SEQ_RE = re.compile(r"^(\d{12})-")
META_COLUMNS = (
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
                *META_COLUMNS,
            ]
            select = ", ".join(f"cast(null as {t}) as {n}" for n, t in cols)
            tmp = schema_file.with_suffix(".parquet.tmp")
            run(con, f"copy (select {select} limit 0) to '{tmp}' (format parquet)")
            os.replace(tmp, schema_file)
    finally:
        con.close()


def committed_files(paths: Paths, stream: str) -> list[Path]:
    """Landing files of ``stream`` that are committed (renamed into place)."""
    # one listing for every reader, aware of merged files (modelmart.compact)
    return landing_files(paths, stream)


def seq_of(path: Path) -> int | None:
    match = _SEQ_RE.match(path.name)
    return int(match.group(1)) if match else None


def recover(paths: Paths) -> None:
    """Remove what a crashed ingest left: temp files and uncommitted batches."""
    for root in (paths.landing, paths.quarantine, paths.manifests):
        for tmp in root.glob("*/*.tmp"):
            tmp.unlink(missing_ok=True)
    for stream in STREAMS:
        spans = landed_spans(paths, stream)
        for manifest in (paths.manifests / stream).glob("*.json"):
            info = json.loads(manifest.read_text())
            landing = paths.landing / stream / manifest.with_suffix(".parquet").name
            seq = seq_of(manifest)
            # a compacted batch's rows are in a merged file (modelmart.compact)
            if info.get("status") == "ingested" and not is_landed(paths, stream, seq or 0, spans):
                (paths.quarantine / stream / landing.name).unlink(missing_ok=True)
                manifest.unlink()
        # a crash between the quarantine and the manifest rename leaves a quarantine
        # file whose batch never landed: its rows belong to a file that is not in
        for quarantine in (paths.quarantine / stream).glob("*.parquet"):
            if not is_landed(paths, stream, seq_of(quarantine) or 0, spans):
                quarantine.unlink()


def next_seq(paths: Paths) -> int:
    seqs = [seq_of(p) or 0 for p in paths.manifests.glob("*/*.json")]
    return max(seqs, default=0) + 1
