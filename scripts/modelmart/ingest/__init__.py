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

Modules, one job each: ``layout`` (landing layout, sequence numbers, recovery),
``csv_scan`` and ``readers`` (CSV, JSON Lines, Parquet, records), ``validation`` (the
contract's rules in SQL), ``dedupe`` (duplicates and conflicts), ``commit`` (atomic
publish of a batch), ``api`` (the entry points re-exported here).
"""

from __future__ import annotations

from modelmart.ingest.api import discover, ingest_file, ingest_records
from modelmart.ingest.csv_scan import MAX_CSV_RECORD_BYTES
from modelmart.ingest.layout import (
    QUARANTINE_COLUMNS,
    committed_files,
    ensure_layout,
    recover,
    seq_of,
)
from modelmart.ingest.readers import FORMATS
from modelmart.ingest.results import FileResult, RejectedFile
from modelmart.ingest.validation import MAX_FEATURE_KEYS


def __getattr__(name: str) -> object:
    # the live logger (spool + background writer) lives in its own module; kept
    # importable here, loaded on first use (it imports pandas, which the file path
    # does not need)
    if name == "EventLogger":
        from modelmart.logger import EventLogger

        return EventLogger
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FORMATS",
    "MAX_CSV_RECORD_BYTES",
    "MAX_FEATURE_KEYS",
    "QUARANTINE_COLUMNS",
    "EventLogger",
    "FileResult",
    "RejectedFile",
    "committed_files",
    "discover",
    "ensure_layout",
    "ingest_file",
    "ingest_records",
    "recover",
    "seq_of",
]
