"""Where modelmart keeps its runtime state, and the locks that guard it.

Everything lives under one folder, ``$MODELMART_HOME`` (default ``data/`` in the
project root)::

    landing/<stream>/<seq>-<stream>.parquet     accepted rows, append-only
    quarantine/<stream>/<seq>-<stream>.parquet  rejected rows with a reason
    manifests/<stream>/<seq>-<stream>.json      per-file counts (read = stored + dup + quarantined)
    build/warehouse.duckdb                      dbt's working database (one writer: the builder)
    warehouse.duckdb                            the published snapshot, replaced atomically
    spool/<stream>/                             live events waiting for promotion (modelmart.spool)
    logs/                                       dbt and command logs
    locks/                                      advisory file locks
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Paths:
    home: Path

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def quarantine(self) -> Path:
        return self.home / "quarantine"

    @property
    def manifests(self) -> Path:
        return self.home / "manifests"

    @property
    def build_dir(self) -> Path:
        return self.home / "build"

    @property
    def build_db(self) -> Path:
        return self.build_dir / "warehouse.duckdb"

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def locks(self) -> Path:
        return self.home / "locks"

    def ensure(self) -> None:
        for folder in (
            self.landing,
            self.quarantine,
            self.manifests,
            self.build_dir,
            self.logs,
            self.locks,
        ):
            folder.mkdir(parents=True, exist_ok=True)


def get_paths(home: str | os.PathLike[str] | None = None) -> Paths:
    """Paths under ``home``, else ``$MODELMART_HOME``, else ``<project>/data``."""
    chosen = home or os.environ.get("MODELMART_HOME") or PROJECT_ROOT / "data"
    return Paths(Path(chosen).resolve())


def fsync_path(path: Path) -> None:
    """Make a file's data, or a directory's entries (renames into it), durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def file_lock(path: Path, *, wait: bool = True) -> Iterator[None]:
    """An advisory exclusive lock held for the ``with`` block.

    The kernel drops it when the process dies, so a killed ingest or build never
    leaves a stale lock behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        flags = fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB)
        try:
            fcntl.flock(handle, flags)
        except BlockingIOError as exc:
            raise LockBusy(path) from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class LockBusy(RuntimeError):
    def __init__(self, path: Path) -> None:
        super().__init__(f"another modelmart process holds {path}")


class UserError(Exception):
    """An error caused by input or usage: printed as one line, never a traceback."""
