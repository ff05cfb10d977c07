"""Build the dbt project into a private working database and publish it atomically.

- One build at a time (a file lock); ingestion and readers are never blocked:
  dbt writes ``build/warehouse.duckdb``, nobody else opens it.
- The build sees exactly the batches committed when it started (``max_batch_seq``),
  so a batch committing mid-build is picked up, whole, by the next build.
- Publishing copies the checkpointed working database next to the published file
  and renames it over ``warehouse.duckdb``: readers see the old snapshot or the
  new one, never a half-built one. Readers holding the old file keep reading it
  until they reconnect.
- A build that fails or dies leaves the last good snapshot published; the working
  copy is reset to that snapshot, so the next build starts from a known state.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from modelmart.compact import reading_landing
from modelmart.config import PROJECT_ROOT, LockBusy, Paths, UserError, file_lock, get_paths
from modelmart.contract import STREAMS
from modelmart.ingest.layout import committed_files, ensure_layout, seq_of

MARTS = (
    "fct_llm_usage_daily",
    "fct_model_quality_daily",
    "fct_model_quality_segment_daily",
    "fct_feature_drift_daily",
    "fct_label_shift_daily",
    "fct_calibration_daily",
    "fct_business_daily",
    "fct_dashboard_daily",
)
_PROJECT_INPUTS = ("models", "macros", "seeds", "dbt_project.yml", "profiles.yml")


@dataclass
class BuildResult:
    success: bool
    max_batch_seq: int
    full_refresh: bool
    seconds: float
    failures: list[str] = field(default_factory=list)
    published: Path | None = None
    up_to_date: bool = False

    def summary(self) -> str:
        kind = "full" if self.full_refresh else "incremental"
        if self.up_to_date:
            return (
                f"up to date: no batch newer than {self.max_batch_seq} and no project change "
                f"since the last build; {self.published} stays published (--force builds anyway)"
            )
        if self.success:
            return f"built ({kind}) batches ≤ {self.max_batch_seq} in {self.seconds:.1f}s; published {self.published}"
        return (
            f"build FAILED after {self.seconds:.1f}s; the last good snapshot stays published.\n  "
            + "\n  ".join(self.failures)
        )


def project_dir() -> Path:
    """The dbt project: this checkout, or $MODELMART_PROJECT_DIR (a copy with other seeds, say)."""
    return Path(os.environ.get("MODELMART_PROJECT_DIR") or PROJECT_ROOT)


def project_fingerprint() -> str:
    """Digest of everything that defines the models; a change forces a full rebuild."""
    digest = hashlib.sha256()
    root = project_dir()
    for name in _PROJECT_INPUTS:
        path = root / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            digest.update(str(f.relative_to(root)).encode())
            digest.update(f.read_bytes())
    return digest.hexdigest()[:16]


def check_seeds(root: Path) -> list[str]:
    """One line per seed file dbt could not read (not UTF-8, empty, a bad quote, a
    row with another number of fields than its header), naming the file and line.

    Checked before dbt runs: dbt would print a long traceback instead, even quiet.
    """
    problems = []
    for path in sorted((root / "seeds").rglob("*.csv")):
        name = path.relative_to(root)
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            problems.append(
                f"seed {name} line {line}: not UTF-8 text "
                f"(byte 0x{data[exc.start]:02x} at offset {exc.start})"
            )
            continue
        if not text.strip():
            problems.append(f"seed {name}: empty file (a seed needs a header row)")
            continue
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        try:
            header = next(reader)
            for row in reader:
                if row and len(row) != len(header):
                    problems.append(
                        f"seed {name} line {reader.line_num}: {len(row)} fields, "
                        f"the header has {len(header)}"
                    )
                    break
        except csv.Error as exc:
            problems.append(f"seed {name} line {reader.line_num}: not valid CSV ({exc})")
    return problems


def latest_committed_seq(paths: Paths) -> int:
    seqs = [seq_of(f) or 0 for s in STREAMS for f in committed_files(paths, s)]
    return max(seqs, default=0)


def changed_streams(paths: Paths, since: int) -> list[str]:
    """The streams with a committed landing file newer than batch ``since`` (a merged
    file counts by its last batch, so merging new batches marks their stream)."""
    return [s for s in STREAMS if any((seq_of(f) or 0) > since for f in committed_files(paths, s))]


def stream_selection(paths: Paths, state: dict, max_seq: int) -> list[str]:
    """dbt ``--select`` arguments for an incremental build: the landing sources whose
    streams have batches newer than the published snapshot, and everything downstream
    of them. Empty (build everything) when every stream changed or none did.

    The rest of the project has the same inputs as when it was last built (the seeds
    and models are in the project fingerprint, and no model reads the clock), so its
    relations in the working copy already are what a build would make of them: an LLM
    call logged by a service does not re-aggregate the predictions' drift marts."""
    published = state.get("published_batch_seq")
    if not isinstance(published, int) or published >= max_seq:
        return []
    streams = changed_streams(paths, published)
    if not streams or len(streams) == len(STREAMS):
        return []
    return ["--select", *(f"source:landing.{s}+" for s in streams)]


def _state_file(paths: Paths) -> Path:
    return paths.build_dir / "state.json"


def read_state(paths: Paths) -> dict:
    try:
        return json.loads(_state_file(paths).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    os.replace(tmp, path)


def _remove_db(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)


def _reset_working_copy(paths: Paths) -> None:
    """Make the working database equal to the published snapshot (or empty)."""
    _remove_db(paths.build_db)
    if paths.warehouse.exists():
        shutil.copyfile(paths.warehouse, paths.build_db)


def _checkpoint(db: Path) -> None:
    con = duckdb.connect(str(db))
    try:
        con.execute("checkpoint").fetchall()
    finally:
        con.close()


def publish(paths: Paths) -> Path:
    """Copy the working database and atomically rename it over the published one."""
    _checkpoint(paths.build_db)
    tmp = paths.home / f".warehouse.{os.getpid()}.duckdb.tmp"
    shutil.copyfile(paths.build_db, tmp)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, paths.warehouse)
    return paths.warehouse


def run_dbt(args: list[str], paths: Paths, max_batch_seq: int) -> tuple[bool, list[str]]:
    """Run one dbt command in-process against the working database."""
    from dbt.cli.main import dbtRunner  # imported late: dbt is slow to import

    os.environ["MODELMART_HOME"] = str(paths.home)
    os.environ["MODELMART_BUILD_DB"] = str(paths.build_db)
    # the batch freeze goes in as an env var: dbt re-parses only the staging models
    # that read it, where a changed --vars would re-parse the whole project
    os.environ["MODELMART_MAX_BATCH_SEQ"] = str(max_batch_seq)
    # dbt's own artifacts stay under MODELMART_HOME, not in the checkout
    os.environ["DBT_TARGET_PATH"] = str(paths.build_dir / "target")
    os.environ["DBT_LOG_PATH"] = str(paths.logs)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    full_args = [
        *args,
        "--project-dir",
        str(project_dir()),
        "--profiles-dir",
        str(project_dir()),
        "--quiet" if os.environ.get("MODELMART_QUIET_DBT") else "--no-quiet",
    ]
    result = dbtRunner().invoke(full_args)
    failures: list[str] = []
    if result.exception is not None:
        failures.append(f"dbt: {str(result.exception).strip()}")
    for node in getattr(result.result, "results", None) or []:
        status = str(getattr(node, "status", "")).lower()
        if status in {"error", "fail", "runtime error"}:
            message = (node.message or "").strip().replace("\n", " ")
            failures.append(
                f"{node.node.resource_type} {node.node.name}: {status}: {message[:400]}"
            )
    return bool(result.success) and not failures, failures


def build(
    home: str | os.PathLike[str] | None = None,
    *,
    full_refresh: bool = False,
    force: bool = False,
) -> BuildResult:
    """Run ``dbt build`` on the committed batches and publish the result.

    Nothing is built when no batch is newer than the published snapshot and the
    project did not change (the models depend on nothing else, not even the
    clock), unless ``force``.
    """
    paths = get_paths(home)
    ensure_layout(paths)
    started = time.monotonic()
    try:
        with file_lock(paths.locks / "build.lock", wait=False), reading_landing(paths):
            # reading_landing: no compaction swaps landing files under a running build
            return _build_locked(paths, full_refresh, force, started)
    except LockBusy as exc:
        raise UserError(
            "another build is running (lock held on build.lock); try again when it ends"
        ) from exc


def _up_to_date(paths: Paths, state: dict, max_seq: int) -> bool:
    """The published snapshot is what a build would produce now. For an incremental
    build only: a changed project or a missing working copy already forced a full one."""
    return (
        (state.get("last_build") or {}).get("success") is True
        and state.get("published_batch_seq") == max_seq
        and paths.warehouse.exists()
    )


def _build_locked(paths: Paths, full_refresh: bool, force: bool, started: float) -> BuildResult:
    marker = paths.build_dir / "BUILDING"
    state = read_state(paths)
    if marker.exists():
        # the previous build died mid-way: its working copy is not trusted. Reset,
        # the working copy is the published snapshot again and the marker is
        # stale, whether or not this build goes on to run dbt
        _reset_working_copy(paths)
        marker.unlink()
    fingerprint = project_fingerprint()
    if state.get("project_fingerprint") != fingerprint or not paths.build_db.exists():
        full_refresh = True
    max_seq = latest_committed_seq(paths)
    if not (full_refresh or force) and _up_to_date(paths, state, max_seq):
        seconds = time.monotonic() - started
        return BuildResult(True, max_seq, False, seconds, [], paths.warehouse, up_to_date=True)
    seed_problems = check_seeds(project_dir())
    if seed_problems:
        _write_json(
            _state_file(paths),
            {
                **state,
                "last_build": {
                    "success": False,
                    "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "failures": seed_problems,
                    "max_batch_seq": max_seq,
                },
            },
        )
        return BuildResult(False, max_seq, full_refresh, time.monotonic() - started, seed_problems)
    selection = [] if full_refresh or force else stream_selection(paths, state, max_seq)
    marker.write_text(
        json.dumps({"pid": os.getpid(), "started_at": dt.datetime.now(dt.UTC).isoformat()})
    )
    # unit tests check model logic, not data: they run in CI (`dbt build`, pytest),
    # not on every production build, as dbt recommends
    args = [
        "build",
        "--exclude-resource-type",
        "unit_test",
        *(["--full-refresh"] if full_refresh else []),
        # on incremental builds, leave out: integrity tests over whole-history views
        # (dbt_project.yml), and the seeds with their tests: seeds are part of the
        # project fingerprint, so any edit forces a full build, which loads and tests
        # them; an incremental build reads the seed tables already in its working copy
        *([] if full_refresh else ["--exclude", "tag:history_scan", "resource_type:seed"]),
        *selection,
    ]
    ok, failures = run_dbt(args, paths, max_seq)
    seconds = time.monotonic() - started
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    if not ok:
        _reset_working_copy(paths)
        marker.unlink(missing_ok=True)
        _write_json(
            _state_file(paths),
            {
                **state,
                "last_build": {
                    "success": False,
                    "finished_at": now,
                    "failures": failures,
                    "max_batch_seq": max_seq,
                },
            },
        )
        return BuildResult(False, max_seq, full_refresh, seconds, failures)
    publish_started = time.monotonic()
    published = publish(paths)
    publish_seconds = time.monotonic() - publish_started
    marker.unlink(missing_ok=True)
    _write_json(
        _state_file(paths),
        {
            "project_fingerprint": fingerprint,
            "published_at": now,
            "published_batch_seq": max_seq,
            "last_build": {
                "success": True,
                "finished_at": now,
                "seconds": round(seconds, 2),
                "publish_seconds": round(publish_seconds, 2),
                "full_refresh": full_refresh,
                "max_batch_seq": max_seq,
            },
        },
    )
    return BuildResult(True, max_seq, full_refresh, time.monotonic() - started, [], published)
