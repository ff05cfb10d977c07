"""The durable spool: where live events wait, already safe on disk, for promotion.

Layout under ``$MODELMART_HOME/spool/<stream>/``::

    <writer>-<n>.open     the segment a live writer appends to (it holds a lock on it)
    <writer>-<n>.seg      a sealed segment, ready for promotion
    free/<name>.free      promoted segments kept for writers to reuse (see below)
    promoting/<token>/    segments claimed by one promotion (see ``promote``)
    ../dropped/<writer>.json   events a writer dropped under back-pressure, per stream

A segment (format 3) is the 8 bytes ``MMSPOOL3``, an 8-byte salt drawn when the
segment is opened, and then records, append-only::

    <u32 payload length> <u32 CRC-32 of (length, salt, payload)> <8-byte salt> <payload>

little-endian; a payload is JSON Lines, where a line that is a JSON array holds
many events of one logger write. A writer appends one record per write and
fdatasyncs it before it acknowledges (``flush()`` returns, the collector answers
202). A reader takes records while their length fits the file, their salt is the
segment's and their checksum matches, and stops at the first that does not: a
writer killed mid-write leaves a record that was never acknowledged, and a torn or
zeroed tail (a crash can leave the grown size without the data) is detected and
dropped, never misread.

Segments are recycled, as SQLite's WAL and PostgreSQL's ``wal_recycle`` do: an
append into blocks that are already written and synced is a data-only fdatasync,
while an append that grows the file also commits ext4's journal (block
allocation, size), which measured about twice as slow here; writing zeros ahead
does not help, since delayed allocation allocates them at the next fdatasync
anyway. So promotion, once a claim's batch has landed, makes each of its
segments invalid (``MMSPFREE`` over the magic, fdatasynced) and keeps up to
``FREE_KEEP`` of them in ``free/``; a writer opening a segment takes one from
there and writes a new magic and salt over its start. The records of its earlier
life stay in the file after the new ones (until sealing cuts them off), but their
salt is not the new one, so no reader takes them; a crash before the new header is durable leaves
``MMSPFREE``, read as an empty segment (and nothing in it was acknowledged).

A ``.open`` segment whose lock nobody holds belongs to a dead writer and is
promoted like a sealed one.

Segments of the formats written before are read as they always were: format 2
(``MMSPOOL2``, records of ``<u32 length> <u32 CRC-32 of length and payload>
<payload>``, no salt, never recycled) and format 1 (plain JSON Lines, no header:
complete lines only, a torn last line left out).

Promotion moves sealed segments into ``promoting/<token>/``, joins their lines
into one JSON Lines file, and ingests it as one batch through the normal
validation (``ingest_file``): each landing file is big, whatever the flush size.
The batch's manifest names the token, so a promotion that dies at any point is
finished by the next one: a claimed token whose batch landed is deleted, one
whose batch did not land is ingested again. Every acknowledged event is stored
exactly once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import struct
import time
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from modelmart.config import Paths, file_lock, fsync_path, get_paths
from modelmart.contract import STREAMS

PROMOTE_MAX_BYTES = 256 << 20  # one batch at most this big (bytes of JSON Lines)

MAGIC = b"MMSPOOL3"  # the first bytes of a format-3 segment (then its salt)
MAGIC2 = b"MMSPOOL2"  # format 2: no salt
FREED = b"MMSPFREE"  # a promoted segment waiting in free/ for reuse: no records
_HEADER = struct.Struct("<II")  # payload length, CRC-32
_LENGTH = struct.Struct("<I")
SALT_BYTES = 8
_HEAD3 = _HEADER.size + SALT_BYTES  # a format-3 record's header
FREE_KEEP = 4  # promoted segments kept per stream for reuse ...
FREE_MAX_BYTES = 128 << 20  # ... when at most this big


def frame(payload: bytes, salt: bytes) -> bytes:
    """One format-3 record: header and payload."""
    length = _LENGTH.pack(len(payload))
    crc = zlib.crc32(payload, zlib.crc32(salt, zlib.crc32(length)))
    return length + _LENGTH.pack(crc) + salt + payload


def read_records(data: bytes) -> tuple[bytes, int]:
    """The payloads of a framed segment's intact records, joined, and how many bytes
    after them were left out (a torn or never acknowledged tail, or records of a
    recycled segment's earlier life; zeros are not counted)."""
    end = len(data)
    if data.startswith(MAGIC):
        salt = data[len(MAGIC) : len(MAGIC) + SALT_BYTES]
        pos, head = len(MAGIC) + SALT_BYTES, _HEAD3
    elif data.startswith(MAGIC2):
        salt, pos, head = b"", len(MAGIC2), _HEADER.size
    else:  # FREED (or not a framed segment): no records
        return b"", 0
    out = []
    while pos + head <= end:
        length, crc = _HEADER.unpack_from(data, pos)
        start = pos + head
        if length == 0 or start + length > end or data[pos + 8 : start] != salt:
            break
        payload = data[start : start + length]
        of_head = zlib.crc32(data[pos + 8 : start], zlib.crc32(data[pos : pos + 4]))
        if zlib.crc32(payload, of_head) != crc:
            break
        out.append(payload)
        pos = start + length
    rest = data[pos:]
    return b"".join(out), len(rest.rstrip(b"\0"))


def _as_paths(where: Paths | str | os.PathLike[str] | None) -> Paths:
    return where if isinstance(where, Paths) else get_paths(where)


def spool_dir(paths: Paths) -> Path:
    return paths.home / "spool"


def stream_dir(paths: Paths, stream: str) -> Path:
    return spool_dir(paths) / stream


class Segments:
    """Append-only segments of one stream written by one writer (not thread-safe:
    one thread, the writer's, calls it).

    ``append`` writes the bytes as one record and fdatasyncs: when it returns they
    are durable.
    A segment is sealed (renamed ``.open`` → ``.seg``) when it is older than
    ``rotate_seconds`` or bigger than ``rotate_bytes``, so promotion can take it.
    """

    def __init__(
        self,
        paths: Paths,
        stream: str,
        *,
        writer_id: str | None = None,
        rotate_seconds: float = 2.0,
        rotate_bytes: int = 64 << 20,
    ) -> None:
        self.paths, self.stream = paths, stream
        self.writer_id = writer_id or new_writer_id()
        self.rotate_seconds, self.rotate_bytes = rotate_seconds, rotate_bytes
        self.folder = stream_dir(paths, stream)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._n = 0
        self._fd: int | None = None
        self._path: Path | None = None
        self._opened_at = 0.0
        self._size = 0  # bytes of header and records
        self._salt = b""
        self.recycled = 0  # segments taken from free/ (for the benchmark)
        self.appends = 0  # fdatasyncs done (for the benchmark)
        # seconds spent in each part of an append (for the benchmark: a few clock
        # reads per write, none per event)
        self.timings = dict.fromkeys(("frame", "pwrite", "fdatasync", "create", "seal"), 0.0)

    def _open(self) -> None:
        t0 = time.perf_counter()
        self._n += 1
        self._path = self.folder / f"{self.writer_id}-{self._n:06d}.open"
        # created under another name and locked before it is visible as .open: the
        # lock tells promotion that a live writer still appends to this file
        creating = self._path.with_suffix(".creating")
        fd = self._take_free(creating)
        if fd is None:
            fd = os.open(creating, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # a new salt over the start (durable with the first record's fdatasync; until
        # then a recycled file still starts with FREED, and holds nothing acknowledged)
        self._salt = os.urandom(SALT_BYTES)
        os.pwrite(fd, MAGIC + self._salt, 0)
        self._fd, self._size = fd, len(MAGIC) + SALT_BYTES
        os.replace(creating, self._path)
        fsync_path(self.folder)
        self._opened_at = time.monotonic()
        self.timings["create"] += time.perf_counter() - t0

    def _take_free(self, creating: Path) -> int | None:
        """A promoted segment from ``free/``, renamed to ``creating``, opened (or None)."""
        free = self.folder / "free"
        for candidate in sorted(free.glob("*.free")) if free.is_dir() else ():
            try:
                os.rename(candidate, creating)  # atomic: one writer gets each file
            except FileNotFoundError:
                continue  # another writer took it
            fsync_path(free)
            self.recycled += 1
            return os.open(creating, os.O_RDWR | os.O_CLOEXEC)
        return None

    def append(self, data: bytes | list[bytes]) -> None:
        """Write the bytes (or the parts, joined) as one record, durable on return."""
        parts = [data] if isinstance(data, bytes) else [p for p in data if p]
        length = sum(map(len, parts))
        if not length:
            return
        if self._fd is None:
            self._open()
        assert self._fd is not None
        clock, timings = time.perf_counter, self.timings
        t0 = clock()
        head, salt = _LENGTH.pack(length), self._salt
        crc = zlib.crc32(salt, zlib.crc32(head))
        for part in parts:  # the checksum as frame() computes it, without joining
            crc = zlib.crc32(part, crc)
        record = [head + _LENGTH.pack(crc) + salt, *parts]
        if len(record) > 64:  # pwritev takes at most IOV_MAX buffers
            record = [b"".join(record)]
        size = _HEAD3 + length
        t1 = clock()
        timings["frame"] += t1 - t0
        written = os.pwritev(self._fd, record, self._size)
        if written < size:  # pwritev may write less (a signal); finish it
            rest = b"".join(record)
            while written < size:
                written += os.pwrite(self._fd, rest[written:], self._size + written)
        t2 = clock()
        os.fdatasync(self._fd)  # data and the grown size; what SQLite does on Linux
        t3 = clock()
        timings["pwrite"] += t2 - t1
        timings["fdatasync"] += t3 - t2
        self._size += size
        self.appends += 1
        if self._size >= self.rotate_bytes:
            self.seal()

    def maybe_seal(self) -> None:
        if self._fd is not None and time.monotonic() - self._opened_at >= self.rotate_seconds:
            self.seal()

    def seal(self) -> None:
        if self._fd is None or self._path is None:
            return
        t0 = time.perf_counter()
        # a reused segment: cut the earlier life's records off (not synced: no reader
        # takes them anyway), so a sealed segment's size is its records' (spool depth)
        if os.fstat(self._fd).st_size > self._size:
            os.ftruncate(self._fd, self._size)
        sealed = self._path.with_suffix(".seg")
        os.replace(self._path, sealed)
        fsync_path(self.folder)
        os.close(self._fd)  # after the rename: promotion never sees it unlocked as .open
        self._fd, self._path = None, None
        self.timings["seal"] += time.perf_counter() - t0

    def close(self) -> None:
        self.seal()


def new_writer_id() -> str:
    # sortable by time first, so promotion keeps the writers' order roughly
    return f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def record_dropped(paths: Paths, writer_id: str, dropped: dict[str, int]) -> None:
    """Persist a writer's dropped-event counts (for ``modelmart status``)."""
    folder = spool_dir(paths) / "dropped"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{writer_id}.json"
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(dropped))
    os.replace(tmp, target)


def dropped_counts(where: Paths | str | os.PathLike[str] | None) -> dict[str, int]:
    paths = _as_paths(where)
    totals: dict[str, int] = {}
    for f in (spool_dir(paths) / "dropped").glob("*.json"):
        with contextlib.suppress(OSError, ValueError):
            for stream, n in json.loads(f.read_text()).items():
                totals[stream] = totals.get(stream, 0) + int(n)
    return totals


def _ready_segments(folder: Path) -> list[Path]:
    """Sealed segments, and open ones whose writer is dead (nobody holds their lock)."""
    ready = []
    for path in sorted(folder.glob("*.seg")) + sorted(folder.glob("*.open")):
        if path.suffix == ".open":
            try:
                with open(path, "rb") as handle:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live writer's current segment
            except FileNotFoundError:
                continue  # sealed meanwhile: the next promotion takes it
        ready.append(path)
    return sorted(ready, key=lambda p: p.stem)


@dataclass
class SpoolDepth:
    segments: int = 0
    bytes: int = 0


def depth(where: Paths | str | os.PathLike[str] | None) -> dict[str, SpoolDepth]:
    """What waits in the spool per stream (sealed or open segments and claimed ones):
    their files' bytes (exact for sealed ones; a live writer's reused segment also
    counts its earlier life's records until it is sealed)."""
    paths = _as_paths(where)
    out = {}
    for stream in STREAMS:
        d = SpoolDepth()
        folder = stream_dir(paths, stream)
        for pattern in ("*.seg", "*.open", "promoting/*/*"):
            for p in folder.glob(pattern):
                with contextlib.suppress(FileNotFoundError):
                    d.bytes += p.stat().st_size
                    d.segments += 1
        out[stream] = d
    return out


@dataclass
class PromoteResult:
    stream: str
    segments: int = 0
    events: int = 0
    results: list = field(default_factory=list)  # FileResult per landed batch

    @property
    def stored(self) -> int:
        return sum(r.stored for r in self.results)

    @property
    def quarantined(self) -> int:
        return sum(r.quarantined for r in self.results)

    @property
    def duplicates(self) -> int:
        return sum(r.duplicates for r in self.results)


def _complete_lines(path: Path) -> bytes:
    """The segment's events, one JSON object per line.

    Formats 3 and 2: the intact records (see the module docstring). Format 1: only
    complete lines (a torn last line was never acknowledged). A line that is a JSON
    array holds many events of one logger write; it is written out one event per
    line, so the batch's row numbers count events.
    """
    data = path.read_bytes()
    framed = data.startswith((MAGIC, MAGIC2, FREED))
    if framed:
        data, _ = read_records(data)
    else:
        end = data.rfind(b"\n")
        data = data[: end + 1] if end >= 0 else b""
    if b"\n[" not in data and not data.startswith(b"["):
        return data
    out = []
    for line in data.splitlines(keepends=True):
        if not line.startswith(b"["):
            out.append(line)
        elif framed:  # orjson wrote the array (see logger.encode_events): exact both ways
            out.extend(
                orjson.dumps(e, option=orjson.OPT_APPEND_NEWLINE) for e in orjson.loads(line)
            )
        else:  # format 1: the standard library wrote it (ints of any size)
            out.extend(
                json.dumps(e, separators=(",", ":"), allow_nan=False).encode() + b"\n"
                for e in json.loads(line)
            )
    return b"".join(out)


def _landed_token(paths: Paths, stream: str, token: str) -> bool:
    """Whether a batch whose source names ``token`` is committed (landed or rejected)."""
    from modelmart.status import manifests

    return any(
        m.get("stream") == stream and token in (m.get("source") or "") for m in manifests(paths)
    )


def _ingest_claim(paths: Paths, stream: str, claim: Path) -> PromoteResult:
    from modelmart.ingest import ingest_file

    segments = sorted(p for p in claim.iterdir() if p.suffix in {".seg", ".open"})
    joined = claim / f"{claim.name}.jsonl"
    events = 0
    tmp = joined.with_suffix(".tmp")
    with open(tmp, "wb") as out:
        for seg in segments:
            data = _complete_lines(seg)
            events += data.count(b"\n")
            out.write(data)
    os.replace(tmp, joined)
    result = PromoteResult(stream, len(segments), events)
    if events:
        result.results.append(ingest_file(joined, stream, paths.home))
    _retire(claim)
    return result


def _retire(claim: Path) -> None:
    """Delete a claim whose batch has landed, keeping up to ``FREE_KEEP`` of its
    segments in ``free/`` for writers to reuse, each made invalid first (``FREED``
    over its magic, fdatasynced before the rename: a kept file never reads as
    records again)."""
    free = claim.parent.parent / "free"
    kept = len(list(free.glob("*.free"))) if free.is_dir() else 0
    for seg in sorted(p for p in claim.iterdir() if p.suffix in {".seg", ".open"}):
        if kept >= FREE_KEEP:
            break
        if seg.stat().st_size > FREE_MAX_BYTES:
            continue
        fd = os.open(seg, os.O_RDWR | os.O_CLOEXEC)
        try:
            os.pwrite(fd, FREED, 0)
            os.fdatasync(fd)
        finally:
            os.close(fd)
        free.mkdir(exist_ok=True)
        os.replace(seg, free / f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.free")
        kept += 1
    if kept:
        fsync_path(free)
    shutil.rmtree(claim)


def promote(
    home: str | os.PathLike[str] | None = None,
    streams: tuple[str, ...] = STREAMS,
    *,
    max_bytes: int = PROMOTE_MAX_BYTES,
) -> list[PromoteResult]:
    """Ingest what the spool holds, one large batch per stream (or a few, over ``max_bytes``)."""
    paths = get_paths(home)
    out: list[PromoteResult] = []
    with file_lock(paths.locks / "spool.lock"):
        for stream in streams:
            folder = stream_dir(paths, stream)
            if not folder.exists():
                continue
            total = PromoteResult(stream)
            # first finish what a promotion that died left claimed
            for claim in sorted((folder / "promoting").glob("*")):
                if _landed_token(paths, stream, claim.name):
                    _retire(claim)
                else:
                    _merge(total, _ingest_claim(paths, stream, claim))
            for leftover in folder.glob("*.creating"):
                _remove_if_abandoned(leftover)
            while ready := _ready_segments(folder):
                chosen, size = [], 0
                for seg in ready:
                    if chosen and size + seg.stat().st_size > max_bytes:
                        break
                    chosen.append(seg)
                    size += seg.stat().st_size
                claim = folder / "promoting" / f"spool-{time.time_ns()}-{uuid.uuid4().hex[:8]}"
                claim.mkdir(parents=True)
                for seg in chosen:
                    os.replace(seg, claim / seg.name)
                fsync_path(claim)
                fsync_path(folder)
                _merge(total, _ingest_claim(paths, stream, claim))
            if total.segments or total.results:
                out.append(total)
    return out


def _remove_if_abandoned(creating: Path) -> None:
    """Delete a ``.creating`` file of a writer killed before naming its segment (it
    holds nothing acknowledged). Not one a live writer is opening: its lock is held,
    or it changed in the last minute — ctime too, which the rename of a reused
    segment out of ``free/`` sets, while its mtime is of its earlier life."""
    with contextlib.suppress(OSError):
        st = creating.stat()
        if time.time() - max(st.st_mtime, st.st_ctime) <= 60:
            return
        with open(creating, "rb") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError: live
            creating.unlink()


def _merge(total: PromoteResult, part: PromoteResult) -> None:
    total.segments += part.segments
    total.events += part.events
    total.results.extend(part.results)
