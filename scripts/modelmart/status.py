"""What is stored, quarantined and published, and how fresh it is."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass, field

import duckdb

from modelmart.build import latest_committed_seq, read_state
from modelmart.compact import is_landed, landed_spans
from modelmart.config import Paths, get_paths
from modelmart.contract import STREAMS

IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")


def mart_dates(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """mart → its date column, from the mart catalog the build publishes
    (reference.mart_catalog, declared in the marts' YAML); names are checked to be
    plain identifiers before they reach SQL."""
    rows = con.execute(
        "select mart, column_name from reference.mart_catalog where entry_kind = 'date' order by mart"
    ).fetchall()
    return {
        mart: column
        for mart, column in rows
        if IDENTIFIER.fullmatch(mart) and IDENTIFIER.fullmatch(column)
    }


@dataclass
class StreamStatus:
    stream: str
    files: int = 0
    rejected_files: int = 0
    read: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    last_ingest_at: str | None = None
    reasons: dict[str, int] = field(default_factory=dict)


def manifests(paths: Paths) -> list[dict]:
    """Committed batches (ingested with their landing file, or rejected), oldest first."""
    rows = []
    for stream in STREAMS:
        spans = landed_spans(paths, stream)
        for f in sorted((paths.manifests / stream).glob("*.json")):
            info = json.loads(f.read_text())
            landed = is_landed(paths, stream, info.get("batch_seq") or 0, spans)
            if info.get("status") == "rejected" or landed:
                rows.append(info)
    return sorted(rows, key=lambda r: r.get("batch_seq") or 0)


def stream_status(paths: Paths) -> list[StreamStatus]:
    by_stream = {s: StreamStatus(s) for s in STREAMS}
    for m in manifests(paths):
        s = by_stream[m["stream"]]
        if m["status"] == "rejected":
            s.rejected_files += 1
            continue
        s.files += 1
        s.read += m["read"]
        s.stored += m["stored"]
        s.duplicates += m["duplicates"]
        s.quarantined += m["quarantined"]
        s.last_ingest_at = max(filter(None, [s.last_ingest_at, m.get("loaded_at")]), default=None)
        for reason, n in m.get("reasons", {}).items():
            s.reasons[reason] = s.reasons.get(reason, 0) + n
    return list(by_stream.values())


def published_status(paths: Paths) -> dict:
    """Freshness of the published snapshot, read with a short-lived read-only connection."""
    if not paths.warehouse.exists():
        return {}
    out: dict = {
        "published_mtime": dt.datetime.fromtimestamp(paths.warehouse.stat().st_mtime, dt.UTC)
    }
    con = duckdb.connect(str(paths.warehouse), read_only=True)
    try:
        out["marts"] = dates = mart_dates(con)
        for mart, column in dates.items():
            rows, last = con.execute(
                f"select count(*), max({column}) from marts.{mart}"
            ).fetchall()[0]
            out[mart] = {"rows": rows, "last_date": last}
        out["orphaned_labels"] = con.execute(
            "select count(*) from staging.stg_landing__labels l where not exists "
            "(select 1 from staging.stg_landing__predictions p where p.prediction_id = l.target_event_id) "
            "and not exists (select 1 from staging.stg_landing__llm_calls c where c.call_id = l.target_event_id)"
        ).fetchall()[0][0]
    except duckdb.Error as exc:
        out["error"] = str(exc).splitlines()[0]
    finally:
        con.close()
    return out


def render(home: str | os.PathLike[str] | None = None) -> str:
    paths = get_paths(home)
    lines = [
        f"MODELMART_HOME {paths.home}",
        "",
        "Ingested (read = stored + duplicate + quarantined):",
    ]
    lines.append(
        f"  {'stream':<16}{'files':>6}{'rejected':>9}{'read':>11}{'stored':>11}{'duplicate':>10}"
        f"{'quarantined':>12}  last ingest (UTC)"
    )
    for s in stream_status(paths):
        lines.append(
            f"  {s.stream:<16}{s.files:>6}{s.rejected_files:>9}{s.read:>11}{s.stored:>11}{s.duplicates:>10}"
            f"{s.quarantined:>12}  {s.last_ingest_at or '-'}"
        )
        if s.reasons:
            top = ", ".join(f"{k} {v}" for k, v in sorted(s.reasons.items(), key=lambda kv: -kv[1]))
            lines.append(f"  {'':<16}quarantine reasons: {top}")
    lines += _spool_lines(paths)
    state = read_state(paths)
    latest = latest_committed_seq(paths) if paths.landing.exists() else 0
    lines += ["", "Published warehouse:"]
    pub = published_status(paths)
    if not pub:
        lines.append(f"  none yet at {paths.warehouse} (run `modelmart build`)")
    else:
        age = dt.datetime.now(dt.UTC) - pub["published_mtime"]
        built = state.get("published_batch_seq", 0)
        lines.append(f"  {paths.warehouse}")
        lines.append(
            f"  published {pub['published_mtime']:%Y-%m-%d %H:%M:%S} UTC ({_age(age)} ago); "
            f"batches built ≤ {built}, newest committed {latest}"
            + (
                f" — {latest - built} batch(es) waiting for the next build"
                if latest > built
                else ""
            )
        )
        for mart in pub.get("marts", {}):
            if mart in pub:
                lines.append(
                    f"  marts.{mart:<32} rows {pub[mart]['rows']:>8}  last date {pub[mart]['last_date']}"
                )
        if "orphaned_labels" in pub:
            lines.append(f"  orphaned labels (target not stored yet): {pub['orphaned_labels']}")
        if "error" in pub:
            lines.append(f"  cannot read: {pub['error']}")
    last = state.get("last_build")
    if last:
        verdict = (
            "ok" if last["success"] else "FAILED: " + "; ".join(last.get("failures", []))[:500]
        )
        lines.append(f"  last build {last['finished_at']}: {verdict}")
    if (paths.build_dir / "BUILDING").exists():
        lines.append("  a build is running (or died; the next build recovers)")
    lines += _delivery_lines(paths)
    return "\n".join(lines)


def _delivery_lines(paths: Paths) -> list[str]:
    """Alert delivery health from the notification log: channels failing run after run."""
    from modelmart.notify import log as notify_log
    from modelmart.notify.engine import failing_channels

    if not notify_log.log_path(paths).exists():
        return []
    failing = failing_channels(paths.home)
    lines = ["", f"Alert delivery (log {notify_log.log_path(paths)}):"]
    if not failing:
        lines.append("  no channel failing")
    for f in failing:
        lines.append(
            f"  {f['channel']}/{f['target']} failed its last {f['failed_runs']} runs (last: {f['last']})"
        )
    return lines


def _age(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _spool_lines(paths: Paths) -> list[str]:
    """Live logging: what waits in the spool, and what loggers dropped under back-pressure."""
    from modelmart.spool import depth, dropped_counts

    waiting = {s: d for s, d in depth(paths).items() if d.segments}
    dropped = dropped_counts(paths)
    if not waiting and not dropped:
        return []
    lines = ["", "Spool (live loggers and collector, waiting for promotion):"]
    for stream in STREAMS:
        d = waiting.get(stream)
        if d or dropped.get(stream):
            lines.append(
                f"  {stream:<16} segments {d.segments if d else 0:>5}  bytes {d.bytes if d else 0:>10}"
                f"  dropped (back-pressure) {dropped.get(stream, 0)}"
            )
    return lines
