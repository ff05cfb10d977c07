"""Compaction: merge small committed landing files into big ones, invisibly to readers.

A merged file holds the rows of consecutive landing files of one stream, each
row unchanged, with its own ``_batch_seq`` (so incremental builds stay exact),
ordered by batch then source row. It is named ``<last>-c<first>-<stream>.parquet``:
it covers that stream's batches ``first..last``, and its leading number is its
newest batch, as for any landing file.

The hazard: a build lists ``landing/<stream>/*.parquet`` (every dbt model that
reads a stream lists it again) and must never see both the old files and their
merged file, or neither. So:

- a build holds ``locks/landing.lock`` *shared* for its whole dbt run
  (``reading_landing``); ingests list landing files under ``locks/ingest.lock``;
- the swap — rename the merged file into place, delete the files it replaces —
  happens only under ``landing.lock`` *exclusive* and ``ingest.lock`` (taken in that
  order everywhere, so waiting for a build never holds up an ingest), so no build
  and no ingest is between the two steps;
- a journal written before the swap (``landing/<stream>/.compact-journal.json``)
  lets a crash between the two steps be finished before anyone reads: a build
  finishes it before it takes its shared lock, and the landing listing of ingests
  (``landing_files``) leaves out files a merged file already covers.

Merging itself (reading the small files, writing the big one) needs no lock:
committed landing files never change. A build waits at most for one swap
(milliseconds); a compaction waits for the build in progress to end.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from modelmart.config import LockBusy, Paths, file_lock, fsync_path, get_paths
from modelmart.contract import STREAMS

SMALL_BYTES = 32 << 20  # a landing file under this size is small
TARGET_BYTES = 256 << 20  # a merged file grows up to about this size (input bytes)
AUTO_THRESHOLD = 64  # automatic compaction: more small files than this in a stream
_NAME = re.compile(r"^(\d{12})-(?:c(\d{12})-)?(.+)\.parquet$")
JOURNAL = ".compact-journal.json"


def _span(path: Path) -> tuple[int, int] | None:
    """(first, last) batch of a landing file, None for a name that is not one."""
    m = _NAME.match(path.name)
    if not m:
        return None
    last = int(m.group(1))
    return (int(m.group(2)) if m.group(2) else last, last)


def landing_files(paths: Paths, stream: str) -> list[Path]:
    """The committed landing files of ``stream`` a reader should read.

    A single-batch file that a merged file already covers (left by a compaction
    that died mid-swap) is left out, so every row is listed once.
    """
    files = sorted((paths.landing / stream).glob("*.parquet"))
    merged = [s for f in files if (s := _span(f)) and s[0] != s[1]]
    if not merged:
        return files
    return [
        f
        for f in files
        if not ((s := _span(f)) and s[0] == s[1] and any(a <= s[0] <= b for a, b in merged))
    ]


@dataclass(frozen=True)
class LandedSpans:
    """Which batches of a stream have a landing file: their own, or a merged one."""

    singles: frozenset[int]
    merged: tuple[tuple[int, int], ...]

    def __contains__(self, seq: int) -> bool:
        return seq in self.singles or any(a <= seq <= b for a, b in self.merged)


def landed_spans(paths: Paths, stream: str) -> LandedSpans:
    singles, merged = set(), []
    for f in (paths.landing / stream).glob("*.parquet"):
        s = _span(f)
        if s is not None:
            if s[0] == s[1]:
                singles.add(s[0])
            else:
                merged.append(s)
    return LandedSpans(frozenset(singles), tuple(merged))


def is_landed(paths: Paths, stream: str, seq: int, spans: LandedSpans | None = None) -> bool:
    """Whether batch ``seq`` of ``stream`` has its rows in a landing file (its own or merged).
    Pass ``spans`` (``landed_spans``) when asking about many batches."""
    if spans is not None:
        return seq in spans
    if (paths.landing / stream / f"{seq:012d}-{stream}.parquet").exists():
        return True
    return any(
        (s := _span(f)) is not None and s[0] <= seq <= s[1]
        for f in (paths.landing / stream).glob("*-c*.parquet")
    )


@contextlib.contextmanager
def _flock(path: Path, mode: int) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, mode)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _finish_journals(paths: Paths) -> None:
    """Complete or undo a swap that died. Caller holds ingest.lock and landing.lock exclusive."""
    for stream in STREAMS:
        journal = paths.landing / stream / JOURNAL
        if not journal.exists():
            continue
        plan = json.loads(journal.read_text())
        merged = paths.landing / stream / plan["merged"]
        if merged.exists():
            for name in plan["remove"]:
                (paths.landing / stream / name).unlink(missing_ok=True)
        else:  # died before the rename: nothing changed
            _tmp_of(merged).unlink(missing_ok=True)
        journal.unlink()


def _tmp_of(target: Path) -> Path:
    # neither *.parquet (read by builds) nor *.tmp (removed by ingest's recovery)
    return target.with_name(f".{target.name}.compacting")


def _journals(paths: Paths) -> bool:
    return any((paths.landing / s / JOURNAL).exists() for s in STREAMS)


@contextlib.contextmanager
def reading_landing(paths: Paths) -> Iterator[None]:
    """Hold the landing files still for a reader (a build): no swap until it ends."""
    lock = paths.locks / "landing.lock"
    while True:
        if _journals(paths):
            with _flock(lock, fcntl.LOCK_EX), file_lock(paths.locks / "ingest.lock"):
                _finish_journals(paths)
        with _flock(lock, fcntl.LOCK_SH):
            if _journals(paths):  # a compaction died after we looked: finish it first
                continue
            yield
            return


@dataclass
class CompactResult:
    stream: str
    merged_files: int = 0  # input files merged
    written_files: int = 0  # merged files written
    rows: int = 0

    def summary(self) -> str:
        return (
            f"{self.stream}: merged {self.merged_files} files ({self.rows} rows) "
            f"into {self.written_files}"
        )


def _plan(
    files: list[Path], small_bytes: int, target_bytes: int, max_files: int
) -> list[list[Path]]:
    """Runs of consecutive small files (in batch order), each up to the target size.

    A big file breaks a run: a merged file covers every batch of its range.
    """
    groups: list[list[Path]] = []
    run: list[Path] = []
    size = 0

    def close_run() -> None:
        nonlocal run, size
        if len(run) > 1:
            groups.append(run)
        run, size = [], 0

    for f in files:
        span = _span(f)
        if span is None or span[1] == 0:  # the schema file stays
            continue
        fsize = f.stat().st_size
        if fsize >= small_bytes:
            close_run()
            continue
        if run and (size + fsize > target_bytes or len(run) >= max_files):
            close_run()
        run.append(f)
        size += fsize
    close_run()
    return groups


def _small_count(files: list[Path], small_bytes: int) -> int:
    return sum(1 for f in files if (s := _span(f)) and s[1] > 0 and f.stat().st_size < small_bytes)


def _merge(group: list[Path], stream: str) -> tuple[Path, Path, int]:
    first, last = _span(group[0])[0], _span(group[-1])[1]  # type: ignore[index]
    target = group[0].parent / f"{last:012d}-c{first:012d}-{stream}.parquet"
    tmp = _tmp_of(target)
    files = "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in group) + "]"
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute(
            f"copy (select * from read_parquet({files}, union_by_name = true) "
            "order by _batch_seq, _source_row) "
            f"to '{tmp}' (format parquet, compression zstd)"
        ).fetchall()
    finally:
        con.close()
    rows = pq.read_metadata(tmp).num_rows
    expected = sum(pq.read_metadata(f).num_rows for f in group)
    if rows != expected:  # a defect, never the data's: keep the small files
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"compaction of {group[0].parent}: {rows} rows written, {expected} read")
    fsync_path(tmp)
    return target, tmp, rows


def _swap(
    paths: Paths, stream: str, target: Path, tmp: Path, group: list[Path], wait: bool
) -> bool:
    from modelmart.ingest.layout import recover

    folder = paths.landing / stream
    lock_mode = fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB)
    try:
        # landing.lock first: waiting for a build must not hold ingest.lock (ingests are
        # never blocked by builds); then ingest.lock, held only for the swap itself
        with (
            _flock(paths.locks / "landing.lock", lock_mode),
            file_lock(paths.locks / "ingest.lock", wait=wait),
        ):
            _finish_journals(paths)
            recover(paths)  # a crashed ingest's leftovers go before the range is claimed
            if not all(f.exists() for f in group):  # another compaction took them
                tmp.unlink(missing_ok=True)
                return False
            journal = folder / JOURNAL
            journal.write_text(
                json.dumps({"merged": target.name, "remove": [f.name for f in group]})
            )
            fsync_path(journal)
            os.replace(tmp, target)  # the commit: from here the merged file is the truth
            for f in group:
                f.unlink()
            journal.unlink()
            fsync_path(folder)
            return True
    except (LockBusy, BlockingIOError):
        tmp.unlink(missing_ok=True)
        return False


def compact(
    home: str | os.PathLike[str] | None = None,
    *,
    streams: tuple[str, ...] = STREAMS,
    threshold: int = 1,
    small_bytes: int = SMALL_BYTES,
    target_bytes: int = TARGET_BYTES,
    max_files: int = 10_000,
    max_groups: int | None = None,
    wait: bool = True,
) -> list[CompactResult]:
    """Merge runs of small landing files in every stream with more than ``threshold``.

    ``wait=False``: give up (merge nothing) rather than wait for a build or an
    ingest in progress. ``max_groups`` bounds the merges per stream per call.
    """
    paths = get_paths(home)
    out = []
    with file_lock(paths.locks / "compact.lock", wait=wait):
        for stream in STREAMS:  # what a merge killed before its swap left
            for leftover in (paths.landing / stream).glob(".*.compacting"):
                leftover.unlink(missing_ok=True)
        for stream in streams:
            files = landing_files(paths, stream)
            if _small_count(files, small_bytes) <= threshold:
                continue
            result = CompactResult(stream)
            groups = _plan(files, small_bytes, target_bytes, max_files)
            for group in groups[:max_groups]:
                target, tmp, rows = _merge(group, stream)
                if _swap(paths, stream, target, tmp, group, wait):
                    result.merged_files += len(group)
                    result.written_files += 1
                    result.rows += rows
            if result.written_files:
                out.append(result)
    return out


def auto_compact(home: str | os.PathLike[str] | None = None) -> list[CompactResult]:
    """Compaction when a stream has more than ``AUTO_THRESHOLD`` small files, never waiting
    (``MODELMART_COMPACT_THRESHOLD`` overrides the threshold; 0 turns it off)."""
    threshold = int(os.environ.get("MODELMART_COMPACT_THRESHOLD", AUTO_THRESHOLD))
    if threshold <= 0:
        return []
    try:
        return compact(home, threshold=threshold, wait=False)
    except LockBusy:
        return []


def small_files(home: str | os.PathLike[str] | None = None) -> dict[str, int]:
    paths = get_paths(home)
    return {s: _small_count(landing_files(paths, s), SMALL_BYTES) for s in STREAMS}
