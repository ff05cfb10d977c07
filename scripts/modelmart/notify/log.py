"""The notification log: one JSON object a line, append-only, under
``$MODELMART_HOME/notify/log.jsonl``, written only by `modelmart notify` (under its
lock) and readable by anyone, e.g. with DuckDB::

    select * from read_json('data/notify/log.jsonl', format = 'newline_delimited')

Each record is fsync-ed before the next step, so after a kill -9 the log says what
happened up to the last record: a delivery has a ``sending`` record before its
request and a ``sent`` / ``failed`` record after it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from modelmart.config import Paths

FIELDS = (
    "run_id",
    "recorded_at",
    "mode",
    "route_id",
    "channel",
    "target",
    "alert_id",
    "rule_id",
    "severity",
    "series",
    "event",
    "digest_key",
    "outcome",
    "status_code",
    "attempts",
    "delivery_id",
    "detail",
)
# outcomes: sending (before a request), sent, failed, dry_run, skipped, interrupted


def log_path(paths: Paths) -> Path:
    return paths.home / "notify" / "log.jsonl"


def outbox_dir(paths: Paths) -> Path:
    return paths.home / "notify" / "outbox"


def append(path: Path, records: list[dict]) -> None:
    """Append whole lines and fsync: a record is on disk before the caller goes on."""
    if not records:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(
        json.dumps({k: r.get(k) for k in FIELDS}, ensure_ascii=False) + "\n" for r in records
    )
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            text = "\n" + text  # a line torn by a kill stays alone on its line
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read(path: Path) -> list[dict]:
    """Every complete record; a line torn by a kill mid-write is ignored."""
    try:
        raw = path.read_text()
    except FileNotFoundError:
        return []
    records = []
    for line in raw.splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records
