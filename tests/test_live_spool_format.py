"""The spool's record format: framed records with a salt and a checksum (format 3),
read back exactly; a torn, zeroed or corrupted tail is dropped, never misread;
recycled segments never give back the records of their earlier life; spools
written in the old formats (2: no salt; 1: plain JSON Lines) are still promoted."""

from __future__ import annotations

import datetime as dt
import decimal
import fcntl
import json
import os
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from modelmart import spool
from modelmart.config import get_paths
from modelmart.logger import EventLogger, encode_events
from modelmart.spool import (
    FREE_KEEP,
    FREED,
    MAGIC,
    Segments,
    _complete_lines,
    promote,
    read_records,
    stream_dir,
)
from tests.conftest import landed_rows


def call(event_id: str, i: int = 0) -> dict:
    return {
        "event_id": event_id,
        "session_id": f"s{i % 3}",
        "provider": "openai",
        "model": "gpt-4o",
        "created_at": f"2026-03-01T10:00:{i % 60:02d}",
        "response_time_ms": 10.5 + i,
        "tokens_input": 100 + i,
        "tokens_output": i,
    }


def _independent_frames(data: bytes) -> list[tuple[int, int, bytes]]:
    """(start, end, payload) of each record, parsed without the module's reader."""
    salt = data[8:16]
    out, pos = [], 16
    while pos + 16 <= len(data):
        length, crc = struct.unpack("<II", data[pos : pos + 8])
        if length == 0 or data[pos + 8 : pos + 16] != salt:
            break
        payload = data[pos + 16 : pos + 16 + length]
        assert zlib.crc32(data[pos : pos + 4] + salt + payload) == crc
        out.append((pos, pos + 16 + length, payload))
        pos += 16 + length
    return out


def test_records_read_back_and_every_torn_or_corrupt_tail_is_dropped(tmp_path: Path) -> None:
    paths = get_paths(tmp_path / "home")
    seg = Segments(paths, "llm_calls", rotate_seconds=3600)
    payloads = [
        encode_events([call(f"e{k}-{i}", i) for i in range(n)]) + b"\n"
        for k, n in enumerate((1, 3, 40))
    ]
    for p in payloads:
        seg.append(p)
    (open_file,) = stream_dir(paths, "llm_calls").glob("*.open")
    live = open_file.read_bytes()
    # the open file is its magic, salt and records, all read back
    assert live.startswith(MAGIC) and len(live) == 16 + sum(16 + len(p) for p in payloads)
    assert read_records(live) == (b"".join(payloads), 0)
    frames = _independent_frames(live)
    assert [f[2] for f in frames] == payloads
    data = live[: frames[-1][1]]
    assert data == live
    # cut anywhere: exactly the records wholly before the cut
    for cut in range(len(MAGIC), len(data) + 1):
        whole = [p for start, end, p in frames if end <= cut]
        assert read_records(data[:cut])[0] == b"".join(whole), cut
    # a corrupted byte in a record's length, checksum, salt or payload drops it and
    # what follows
    for start, _, _ in frames:
        for offset in (0, 5, 8, 15, 20):
            bad = bytearray(data)
            bad[start + offset] ^= 0x41
            whole = [p for s, _, p in frames if s < start]
            got, left_out = read_records(bytes(bad))
            assert got == b"".join(whole) and left_out > 0
    # the file's zeros beyond the records after a crash are not records either
    assert read_records(data + b"\0" * 12)[0] == b"".join(payloads)
    seg.close()
    (sealed,) = stream_dir(paths, "llm_calls").glob("*.seg")
    assert sealed.read_bytes() == data
    # promotion's view: one event per line, the values as logged
    lines = _complete_lines(sealed).splitlines()
    assert [json.loads(x)["event_id"] for x in lines] == [
        f"e{k}-{i}" for k, n in enumerate((1, 3, 40)) for i in range(n)
    ]


def _ids(lines: bytes) -> list[str]:
    return [json.loads(x)["event_id"] for x in lines.splitlines()]


def test_recycled_segments_never_give_back_their_earlier_records(tmp_path: Path) -> None:
    home = tmp_path / "home"
    folder = stream_dir(get_paths(home), "llm_calls")
    first = [call(f"first{i}", i) for i in range(50)]
    with EventLogger("llm_calls", home=home) as log:
        log.log_many(first)
    (r,) = promote(home)
    assert (r.events, r.stored, r.duplicates) == (50, 50, 0)
    # promotion kept the segment for reuse, invalid: it reads as no records
    (free,) = (folder / "free").glob("*.free")
    kept = free.read_bytes()
    assert kept.startswith(FREED) and read_records(kept) == (b"", 0)
    # the next writer takes it and writes fewer events over its start
    second = [call(f"second{i}", i) for i in range(3)]
    log = EventLogger("llm_calls", home=home)
    log.log_many(second)
    log.flush()
    assert log._writer.segments.recycled == 1 and not list((folder / "free").glob("*.free"))
    (live,) = folder.glob("*.open")
    data = live.read_bytes()
    assert len(data) == len(kept)  # reused in place: the earlier records follow the new
    assert _ids(_complete_lines(live)) == [e["event_id"] for e in second]
    assert read_records(data)[1] > 0  # ... and are left out
    # a writer killed after writing its new magic and salt, before its first record:
    # the earlier life's records under a new salt are not records
    assert read_records(MAGIC + bytes(range(8)) + kept[16:]) == (b"", len(kept[16:].rstrip(b"\0")))
    log.close()
    # sealing cuts the earlier life off: the sealed segment is its records alone
    (sealed,) = folder.glob("*.seg")
    records_end = _independent_frames(data)[-1][1]
    assert sealed.read_bytes() == data[:records_end] and records_end < len(data)
    (r,) = promote(home)
    assert (r.events, r.stored, r.duplicates, r.quarantined) == (3, 3, 0, 0)
    rows = landed_rows(home)
    assert sorted(rows["event_id"]) == sorted(e["event_id"] for e in first + second)


def test_a_taken_but_unwritten_free_segment_promotes_as_empty(tmp_path: Path) -> None:
    """A writer killed after taking a free file and naming it .open, before any record
    was durable: the file still starts with FREED, and promotes as nothing."""
    home = tmp_path / "home"
    folder = stream_dir(get_paths(home), "llm_calls")
    with EventLogger("llm_calls", home=home) as log:
        log.log_many(call(f"a{i}", i) for i in range(20))
    promote(home)
    (free,) = (folder / "free").glob("*.free")
    free.rename(folder / "00000000000000000009-9-cccccccc-000001.open")
    (r,) = promote(home)
    assert (r.segments, r.events, r.results) == (1, 0, [])
    assert len(landed_rows(home)) == 20


def test_promotion_keeps_at_most_free_keep_segments(tmp_path: Path) -> None:
    home = tmp_path / "home"
    paths = get_paths(home)
    seg = Segments(paths, "llm_calls", rotate_seconds=3600)
    for k in range(FREE_KEEP + 2):
        seg.append(encode_events([call(f"s{k}-{i}", i) for i in range(5)]) + b"\n")
        seg.seal()
    (r,) = promote(home)
    assert (r.segments, r.stored) == (FREE_KEEP + 2, 5 * (FREE_KEEP + 2))
    free = list((stream_dir(paths, "llm_calls") / "free").glob("*.free"))
    assert len(free) == FREE_KEEP and all(f.read_bytes().startswith(FREED) for f in free)
    assert not list((stream_dir(paths, "llm_calls") / "promoting").iterdir())


def test_values_survive_the_encoding(tmp_path: Path) -> None:
    """orjson's path and the standard library's fallback (an int over 64 bits) give
    the same values back through promotion's reading."""
    home = tmp_path / "home"
    odd = {
        "ts": pd.Timestamp("2026-03-01 10:00:00.123456"),
        "aware": dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC),
        "day": dt.date(2026, 3, 1),
        "n": np.int64(7),
        "x": np.float64(0.25),
        "nan": float("nan"),
        "inf": float("-inf"),
        "dec": decimal.Decimal("1.5"),
        "nat": pd.NaT,
        "flag": np.bool_(True),
        "text": 'é\u2028\n"q"',
        "nested": {"a": [1, 2.5, None]},
    }
    expected = {
        "ts": "2026-03-01T10:00:00.123456",
        "aware": "2026-03-01T10:00:00+00:00",
        "day": "2026-03-01",
        "n": 7,
        "x": 0.25,
        "nan": None,
        "inf": None,
        "dec": 1.5,
        "nat": None,
        "flag": True,
        "text": 'é\u2028\n"q"',
        "nested": {"a": [1, 2.5, None]},
    }
    with EventLogger("llm_calls", home=home, flush_seconds=60) as log:
        log.log({"event_id": "a", **odd})
        log.log({"event_id": "b", **odd, "big": 2**70})  # orjson refuses: the fallback
        log.log({"event_id": "c", **odd})
        log.flush()
    (seg,) = stream_dir(get_paths(home), "llm_calls").glob("*.seg")
    got = [json.loads(x) for x in _complete_lines(seg).splitlines()]
    assert got == [
        {"event_id": "a", **expected},
        {"event_id": "b", **expected, "big": 2**70},
        {"event_id": "c", **expected},
    ]


def test_a_spool_of_the_old_format_is_still_promoted(tmp_path: Path) -> None:
    """Segments the previous logger wrote (JSON Lines, JSON-array lines, a dead
    writer's .open with a torn last line) promote next to new ones, in one batch."""
    home = tmp_path / "home"
    folder = stream_dir(get_paths(home), "llm_calls")
    folder.mkdir(parents=True)
    old_sealed = [call(f"old{i}", i) for i in range(5)]
    array = [call(f"arr{i}", i) for i in range(4)]
    # the old writer: one JSON object per line, or one array line per write (stdlib json)
    (folder / "00000000000000000001-1-aaaaaaaa-000001.seg").write_bytes(
        b"".join(json.dumps(e).encode() + b"\n" for e in old_sealed)
        + json.dumps(array, separators=(",", ":")).encode()
        + b"\n"
    )
    # format 2: framed records without a salt
    framed = [call(f"v2-{i}", i) for i in range(4)]
    v2 = b"MMSPOOL2"
    for payload in (encode_events(framed[:1]) + b"\n", encode_events(framed[1:]) + b"\n"):
        length = struct.pack("<I", len(payload))
        v2 += length + struct.pack("<I", zlib.crc32(length + payload)) + payload
    (folder / "00000000000000000001-1-aaaaaaaa-000002.seg").write_bytes(v2 + b"\0" * 100)
    dead = [call(f"dead{i}", i) for i in range(3)]
    (folder / "00000000000000000002-2-bbbbbbbb-000001.open").write_bytes(
        json.dumps(dead, separators=(",", ":")).encode()
        + b"\n"
        + json.dumps(call("torn", 9)).encode()[:-7]  # killed mid-write: no newline
    )
    with EventLogger("llm_calls", home=home) as log:  # and a new-format segment
        log.log_many(call(f"new{i}", i) for i in range(6))
    (result,) = promote(home)
    assert len(result.results) == 1 and result.segments == 4
    logged = old_sealed + array + framed + dead + [call(f"new{i}", i) for i in range(6)]
    assert (result.events, result.stored, result.quarantined) == (len(logged), len(logged), 0)
    got = landed_rows(home).set_index("event_id")
    want = pd.DataFrame(logged).set_index("event_id")
    assert sorted(got.index) == sorted(want.index)  # "torn" is not among them
    for column in ("session_id", "tokens_input", "tokens_output"):
        assert got.loc[want.index, column].tolist() == want[column].tolist()
    assert np.allclose(got.loc[want.index, "response_time_ms"], want["response_time_ms"])
    assert promote(home) == []


def test_promotion_removes_only_abandoned_creating_files(tmp_path: Path, monkeypatch) -> None:
    """A .creating file is a writer killed before naming its segment, unless a writer
    is opening it right now: one just renamed out of free/ (old mtime, new ctime) or
    one whose lock is held stays."""
    folder = stream_dir(get_paths(tmp_path / "home"), "llm_calls")
    folder.mkdir(parents=True)
    reused = folder / "w-000001.creating"
    reused.write_bytes(FREED + b"old records")
    old = time.time() - 3600
    os.utime(reused, (old, old))  # a reused file keeps its earlier life's mtime
    promote(tmp_path / "home")
    assert reused.exists()  # its ctime is new: a writer is opening it
    later = time.time() + 120
    monkeypatch.setattr(spool.time, "time", lambda: later)
    held = folder / "w-000002.creating"
    held.write_bytes(b"")
    with open(held, "rb") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        promote(tmp_path / "home")
        assert held.exists()  # locked: live
    promote(tmp_path / "home")
    assert not reused.exists() and not held.exists()  # abandoned: removed
