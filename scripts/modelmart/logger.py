"""The in-process logger: ``log()`` hands an event to memory, a thread makes it durable.

- ``log()`` appends to an in-memory queue and returns (no JSON, no disk, no lock
  in the usual case). A background thread encodes what is queued as JSON (orjson,
  one array per write) and appends it to a spool segment as one checksummed record
  with one fdatasync, when ``flush_size`` events are queued or the oldest queued
  event is ``flush_seconds`` old.
- ``flush()`` returns when every event logged before it (by any thread) is on
  disk: the caller drains the queue itself, under the lock that keeps one writer
  at a time (no hand-off to the thread and back: no wake-ups to wait for).
- A full queue (``max_buffer`` entries; a ``log_batch`` call is one entry) applies
  the back-pressure policy: ``"block"`` (default) waits up to ``block_timeout``
  seconds for room, then raises ``BufferFull``; ``"drop"`` drops the event and
  counts it (``dropped``, persisted for ``modelmart status``).
- Leaving the ``with`` block and interpreter exit flush. A kill -9 loses only what
  ``flush()`` had not acknowledged.
- Promotion of the spool into landing batches (validation, duplicates,
  quarantine) is ``modelmart ingest --spool``, ``modelmart run`` or the collector.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import datetime as dt
import decimal
import json
import math
import os
import threading
import time
from collections.abc import Iterable
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa

from modelmart.config import Paths, UserError, get_paths
from modelmart.contract import CONTRACT, STREAMS
from modelmart.spool import Segments, new_writer_id, record_dropped


class BufferFull(RuntimeError):
    """The logger's queue stayed full for the whole back-pressure timeout."""


def _default(value: Any) -> Any:
    if value is pd.NaT:  # before datetimes: NaT is one (its isoformat() is "NaT")
        return None
    if isinstance(value, dt.datetime | dt.date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


_ENCODER = json.JSONEncoder(separators=(",", ":"), default=_default, allow_nan=False)
# orjson writes NaN and infinities as null, datetimes as ISO-8601 (as isoformat()),
# numpy scalars natively; whatever it refuses (an int over 64 bits, a non-string
# key, nesting deeper than 254) goes through the standard library's encoder
_ORJSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


def _clean(value: Any) -> Any:
    """NaN and infinities as null (what the contract makes of a missing number)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _stdlib_encode(value: Any) -> bytes:
    try:
        return _ENCODER.encode(value).encode()
    except ValueError:  # rare: a NaN somewhere
        return _ENCODER.encode(_clean(value)).encode()


def encode_event(event: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(event, default=_default, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError
        return _stdlib_encode(event)


def encode_events(events: list[dict[str, Any]]) -> bytes:
    """Many events as spool bytes without the last newline: one JSON array (one C call:
    ~1-2 µs an event with orjson, 7-28 µs with the standard library's encoder), which
    promotion writes out one event per line; when orjson refuses an event, one line
    per event instead (so an array is always orjson's, and reads back exactly)."""
    try:
        return orjson.dumps(events, default=_default, option=_ORJSON_OPTIONS)
    except TypeError:
        return b"\n".join(encode_event(e) for e in events)


def encode_batch(batch: Any) -> tuple[bytes, int]:
    """JSON Lines of a DataFrame, an Arrow table or a list of dicts, and its row count."""
    if isinstance(batch, pa.Table | pa.RecordBatch):
        batch = batch.to_pandas()
    if isinstance(batch, pd.DataFrame):
        if batch.empty:
            return b"", 0
        text = batch.to_json(orient="records", lines=True, date_format="iso", date_unit="us")
        return (text if text.endswith("\n") else text + "\n").encode(), len(batch)
    rows = list(batch)
    return b"".join(encode_event(r) + b"\n" for r in rows), len(rows)


class _Batch:
    __slots__ = ("data", "n")

    def __init__(self, data: Any, n: int) -> None:
        self.data, self.n = data, n


class SpoolWriter:
    """One stream's queue and the thread that appends it to the spool.

    Entries: an event dict or a ``_Batch`` (columnar, or pre-encoded JSON Lines
    bytes). The deque keeps their order across threads; one drain at a time (the
    thread's, or a ``flush()`` caller's) writes what is queued with one fdatasync.
    """

    def __init__(
        self,
        paths: Paths,
        stream: str,
        *,
        flush_size: int = 5_000,
        flush_seconds: float = 1.0,
        max_buffer: int = 1_000_000,
        on_full: str = "block",
        block_timeout: float = 30.0,
        rotate_seconds: float = 2.0,
        on_write: Any = None,
    ) -> None:
        if on_full not in {"block", "drop"}:
            raise UserError(f"on_full must be 'block' or 'drop', not {on_full!r}")
        self.paths, self.stream = paths, stream
        self.flush_size, self.flush_seconds = flush_size, flush_seconds
        self.max_buffer, self.on_full, self.block_timeout = max_buffer, on_full, block_timeout
        self.writer_id = new_writer_id()
        self.segments = Segments(
            paths, stream, writer_id=self.writer_id, rotate_seconds=rotate_seconds
        )
        self.dropped = 0
        self.written = 0  # events made durable
        self.encode_seconds = 0.0  # time spent encoding (for the benchmark)
        self.on_write = on_write  # callback(events, seconds) after each fsync
        self._queue: collections.deque = collections.deque()
        self._wake = threading.Event()
        self._room = threading.Condition()
        self._drop_lock = threading.Lock()
        self._drain_lock = threading.Lock()
        self._closed = False
        # put() appends without other checks below this queue length (0 once closed)
        self._fast_below = min(flush_size - 1, max_buffer)
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"modelmart-spool-{stream}", daemon=True
        )
        self._thread.start()
        _OPEN_WRITERS.add(self)

    # ------------------------------------------------------------ producer side

    def put(self, entry: Any) -> None:
        # the usual case in one comparison: open, room, and no wake-up due after it
        queue = self._queue
        if len(queue) < self._fast_below:
            queue.append(entry)
        else:
            self._put_checked(entry)

    def _put_checked(self, entry: Any) -> None:
        if self._closed:
            raise RuntimeError("logger is closed")
        queue = self._queue
        if len(queue) >= self.max_buffer and not self._make_room(entry):
            return
        queue.append(entry)
        if len(queue) >= self.flush_size:
            self._wake.set()

    def _make_room(self, entry: Any) -> bool:
        if self.on_full == "drop":
            with self._drop_lock:
                self.dropped += entry.n if isinstance(entry, _Batch) else 1
            return False
        self._wake.set()
        deadline = time.monotonic() + self.block_timeout
        with self._room:
            while len(self._queue) >= self.max_buffer:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BufferFull(
                        f"{self.stream}: the log buffer stayed full ({self.max_buffer} entries) "
                        f"for {self.block_timeout}s; is the disk under $MODELMART_HOME slow or full?"
                    )
                self._room.wait(left)
        return True

    def flush(self, timeout: float | None = None) -> None:
        """Wait until everything queued before this call is durable."""
        if self._error is not None:
            raise RuntimeError(f"spool writer failed: {self._error}") from self._error
        # the caller waits anyway, so it writes itself (no hand-off to the thread and
        # back); the drain lock keeps one writer at a time, and the drain takes every
        # entry queued before this point, whoever queued it
        if not self._drain_lock.acquire(timeout=-1 if timeout is None else timeout):
            raise TimeoutError(f"{self.stream}: flush not durable after {timeout}s")
        try:
            self._drain()
        finally:
            self._drain_lock.release()
        if self._error is not None:
            raise RuntimeError(f"spool writer failed: {self._error}") from self._error

    def seal(self) -> None:
        """Seal the current segment now, so that promotion can take it."""
        with self._drain_lock:
            self.segments.seal()

    def close(self) -> None:
        if self._closed:
            return
        self.flush()
        self._fast_below = 0
        self._closed = True
        self._wake.set()
        self._thread.join()
        _OPEN_WRITERS.discard(self)

    # ------------------------------------------------------------ writer thread

    def _run(self) -> None:
        oldest: float | None = None
        while True:
            timeout = (
                self.flush_seconds
                if oldest is None
                else max(0.0, oldest + self.flush_seconds - time.monotonic())
            )
            self._wake.wait(min(timeout, self.segments.rotate_seconds))
            self._wake.clear()
            if self._queue and oldest is None:
                oldest = time.monotonic()
            due = oldest is not None and time.monotonic() - oldest >= self.flush_seconds
            with self._drain_lock:
                if self._queue and (len(self._queue) >= self.flush_size or due or self._closed):
                    self._drain()
                    oldest = None if not self._queue else time.monotonic()
                try:
                    self.segments.maybe_seal()
                except OSError as exc:  # pragma: no cover - disk failure
                    self._error = exc
                if self._closed and not self._queue:
                    self._drain()
                    self.segments.close()
                    self._persist_dropped()
                    return

    def _drain(self) -> None:
        """Write the entries queued now (not those queued meanwhile) with one fdatasync.
        Caller holds the drain lock."""
        queue = self._queue
        n = len(queue)
        if not n:
            return
        started = time.perf_counter()
        pop = queue.popleft
        entries = [pop() for _ in range(n)]
        parts: list[bytes] = []
        if _Batch not in set(map(type, entries)):  # the usual case: log() only
            parts += (encode_events(entries), b"\n")
            entries, events = [], n
        else:
            events = 0
        lines: list[dict[str, Any]] = []
        for entry in entries:
            if isinstance(entry, _Batch):
                if lines:
                    parts.append(encode_events(lines) + b"\n")
                    lines = []
                data, k = (
                    (entry.data, entry.n)
                    if isinstance(entry.data, bytes)
                    else encode_batch(entry.data)
                )
                parts.append(data)
                events += k
            else:
                lines.append(entry)
                events += 1
        if lines:
            parts.append(encode_events(lines) + b"\n")
        self.encode_seconds += time.perf_counter() - started
        started = time.perf_counter()
        try:
            self.segments.append(parts)
        except BaseException as exc:  # flush() reports it: those events are not acknowledged
            self._error = exc
        else:
            self.written += events
            if self.on_write is not None:
                self.on_write(events, time.perf_counter() - started)
        with self._room:
            self._room.notify_all()
        if self.dropped:
            self._persist_dropped()

    def _persist_dropped(self) -> None:
        if self.dropped:
            record_dropped(self.paths, self.writer_id, {self.stream: self.dropped})


# writers not closed yet, flushed and closed at interpreter exit (as logging's handlers)
_OPEN_WRITERS: set[SpoolWriter] = set()


@atexit.register
def _flush_all_at_exit() -> None:
    for writer in list(_OPEN_WRITERS):
        with contextlib.suppress(Exception):  # exit must not raise
            writer.close()


class EventLogger:
    """Log events of one stream from a service; durable on ``flush()``.

    >>> with EventLogger("llm_calls") as log:
    ...     log.log({...})
    ...     log.flush()   # returns when the events above are on disk

    flush_size: events per background write (default 5,000); flush_seconds: the
    longest an event waits in memory (default 1 s); max_buffer / on_full /
    block_timeout: back-pressure (see the module docstring). ``batch_size`` is
    the older name of ``flush_size``.
    """

    def __init__(
        self,
        stream: str,
        *,
        flush_size: int | None = None,
        batch_size: int | None = None,
        flush_seconds: float = 1.0,
        max_buffer: int = 1_000_000,
        on_full: str = "block",
        block_timeout: float = 30.0,
        home: str | os.PathLike[str] | None = None,
        source: str = "api",
    ) -> None:
        if stream not in CONTRACT:
            raise UserError(f"unknown stream {stream!r} (expected one of {', '.join(STREAMS)})")
        self.stream, self.home, self.source = stream, home, source
        self.paths = get_paths(home)
        self._writer = SpoolWriter(
            self.paths,
            stream,
            flush_size=flush_size or batch_size or 5_000,
            flush_seconds=flush_seconds,
            max_buffer=max_buffer,
            on_full=on_full,
            block_timeout=block_timeout,
        )
        self.log = self._writer.put  # the hot path: one bound method, no wrapper

    def log_many(self, events: Iterable[dict[str, Any]]) -> None:
        for event in events:
            self._writer.put(event)

    def log_batch(self, batch: pd.DataFrame | pa.Table | list[dict[str, Any]]) -> None:
        """Log many events at once; columnar input is encoded by the background thread."""
        n = batch.num_rows if isinstance(batch, pa.Table) else len(batch)
        if n:
            self._writer.put(_Batch(batch if not isinstance(batch, list) else list(batch), n))

    def log_encoded(self, data: bytes, n: int) -> None:
        """Log ``n`` events given as JSON Lines bytes (the collector's path)."""
        if n:
            self._writer.put(_Batch(data, n))

    def flush(self, timeout: float | None = None) -> None:
        """Return when every event logged before this call is durable in the spool."""
        self._writer.flush(timeout)

    @property
    def dropped(self) -> int:
        return self._writer.dropped

    @property
    def written(self) -> int:
        return self._writer.written

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> EventLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
