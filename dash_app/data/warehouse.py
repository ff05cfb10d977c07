"""Read-only access to the published warehouse, one snapshot at a time.

The builder publishes by replacing ``$MODELMART_HOME/warehouse.duckdb`` with
``os.replace``. Two DuckDB facts shape this module:

* a read-only connection never blocks the builder (it writes elsewhere), so the
  app may keep one open;
* the Python client caches database instances by path: while any connection to a
  path is open, a new ``connect`` to the same path returns the *old* instance, so
  a replaced file would never be seen under steady traffic.

So each published snapshot (identified by inode and mtime) is opened through its
own hard link ``<home>/.serve/warehouse-<inode>-<mtime>.duckdb``: a new path per
snapshot, hence a new instance, while requests already running on the old one
finish undisturbed. Requests get a cursor of the current snapshot's connection
(cheap: ~0.3 ms, against ~17 ms for a fresh connect). Links of retired snapshots
are removed when a newer one is linked; their connections are closed after a
grace period. The reader re-creates its state after a fork
(gunicorn workers), since DuckDB connections must not cross a fork.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

# a query of the app takes milliseconds; a retired snapshot gets far longer than that
RETIRE_AFTER_S = 120.0
# a published snapshot never changes, so its query results can be kept until it is
# replaced: bounded by entries and by result size
CACHE_ENTRIES = 512
CACHE_MAX_ROWS = 20_000


class NoWarehouse(RuntimeError):
    """Nothing has been published yet."""


@dataclass(frozen=True)
class Snapshot:
    """Identity and age of one published warehouse file."""

    key: str
    published_at: float  # POSIX seconds (the file's mtime: publish renames a fresh copy)


@dataclass
class _Open:
    snapshot: Snapshot
    path: Path
    connection: duckdb.DuckDBPyConnection
    retired_at: float | None = None


class SnapshotReader:
    """Hands out read-only cursors on the newest published snapshot."""

    def __init__(self, warehouse: Path, link_dir: Path | None = None) -> None:
        self.warehouse = Path(warehouse)
        self.link_dir = Path(link_dir) if link_dir else self.warehouse.parent / ".serve"
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._current: _Open | None = None
        self._retired: list[_Open] = []
        self._cache: OrderedDict[tuple, pd.DataFrame] = OrderedDict()

    def snapshot(self) -> Snapshot:
        try:
            st = os.stat(self.warehouse)
        except FileNotFoundError:
            raise NoWarehouse(
                f"no warehouse published at {self.warehouse}: run `modelmart build`"
            ) from None
        return Snapshot(key=f"{st.st_ino}-{st.st_mtime_ns}", published_at=st.st_mtime)

    @contextlib.contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        current = self._acquire()
        cur = current.connection.cursor()
        try:
            yield cur
        finally:
            cur.close()

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run one parameterised query on the current snapshot (results cached per
        snapshot: it is immutable). The caller gets its own copy."""
        params = list(params or [])
        current = self._acquire()
        key = (current.snapshot.key, sql, repr(params))
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit.copy()
        cur = current.connection.cursor()
        try:
            frame = cur.execute(sql, params).df()
        finally:
            cur.close()
        if len(frame) <= CACHE_MAX_ROWS:
            with self._lock:
                self._cache[key] = frame
                while len(self._cache) > CACHE_ENTRIES:
                    self._cache.popitem(last=False)
        return frame.copy()

    def close(self) -> None:
        with self._lock:
            for item in [*self._retired, *([self._current] if self._current else [])]:
                self._drop(item)
            self._retired, self._current = [], None

    # ------------------------------------------------------------------ internals

    def _acquire(self) -> _Open:
        snapshot = self.snapshot()
        with self._lock:
            if os.getpid() != self._pid:
                # a forked child inherits the parent's objects but must not use them
                self._pid, self._current, self._retired = os.getpid(), None, []
                self._cache = OrderedDict()
            if self._current is None or self._current.snapshot.key != snapshot.key:
                self._cache.clear()
                opened = self._open(snapshot)
                if self._current is not None:
                    self._current.retired_at = time.monotonic()
                    self._retired.append(self._current)
                self._current = opened
            self._reap()
            return self._current

    def _open(self, snapshot: Snapshot) -> _Open:
        path = self._link(snapshot)
        # the app's queries are small: one DuckDB thread each answers them faster than
        # a pool, and leaves the other cores to concurrent requests and the builder
        connection = duckdb.connect(str(path), read_only=True, config={"threads": 1})
        return _Open(snapshot=snapshot, path=path, connection=connection)

    def _link(self, snapshot: Snapshot) -> Path:
        try:
            self.link_dir.mkdir(parents=True, exist_ok=True)
            path = self.link_dir / f"warehouse-{snapshot.key}.duckdb"
            if not path.exists():
                try:
                    os.link(self.warehouse, path)
                except FileExistsError:  # another worker linked it first
                    pass
            if os.stat(path).st_ino == int(snapshot.key.split("-")[0]):
                # links of older snapshots: unlinking a file other workers still
                # read is harmless (their open handles keep it), and no new
                # request will ask for an old snapshot
                for old in self.link_dir.glob("warehouse-*.duckdb"):
                    if old != path:
                        with contextlib.suppress(OSError):
                            old.unlink()
                return path
        except OSError:
            pass
        # read-only home or a filesystem without hard links: open the file itself
        # (new snapshots are then seen once no request holds the old one)
        return self.warehouse

    def _reap(self) -> None:
        now = time.monotonic()
        keep = []
        for item in self._retired:
            if item.retired_at is not None and now - item.retired_at > RETIRE_AFTER_S:
                self._drop(item)
            else:
                keep.append(item)
        self._retired = keep

    def _drop(self, item: _Open) -> None:
        with contextlib.suppress(duckdb.Error):
            item.connection.close()
