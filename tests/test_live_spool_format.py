"""The spool's record format: framed records with a checksum (format 2), read back
exactly; a torn, zeroed or corrupted tail is dropped, never misread; a spool
written in the old format (plain JSON Lines) is still promoted."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from modelmart.config import get_paths
from modelmart.logger import EventLogger, encode_events
from modelmart.spool import MAGIC, Segments, _complete_lines, promote, read_records, stream_dir
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
    out, pos = [], len(MAGIC)
    while pos + 8 <= len(data):
        length, crc = struct.unpack("<II", data[pos : pos + 8])
        if length == 0:
            break
        payload = data[pos + 8 : pos + 8 + length]
        assert zlib.crc32(data[pos : pos + 4] + payload) == crc
        out.append((pos, pos + 8 + length, payload))
        pos += 8 + length
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
    # the open file is zero-filled ahead of its records, and they are all read back
    assert live.startswith(MAGIC) and live.endswith(b"\0" * 64)
    assert read_records(live) == (b"".join(payloads), 0)
    frames = _independent_frames(live)
    assert [f[2] for f in frames] == payloads
    data = live[: frames[-1][1]]
    # cut anywhere: exactly the records wholly before the cut
    for cut in range(len(MAGIC), len(data) + 1):
        whole = [p for start, end, p in frames if end <= cut]
        assert read_records(data[:cut])[0] == b"".join(whole), cut
    # a corrupted byte in a record's length, checksum or payload drops it and what follows
    for start, _, _ in frames:
        for offset in (0, 5, 8, 20):
            bad = bytearray(data)
            bad[start + offset] ^= 0x41
            whole = [p for s, _, p in frames if s < start]
            got, left_out = read_records(bytes(bad))
            assert got == b"".join(whole) and left_out > 0
    # the file's zeros beyond the records after a crash are not records either
    assert read_records(data + b"\0" * 12)[0] == b"".join(payloads)
    seg.close()
    (sealed,) = stream_dir(paths, "llm_calls").glob("*.seg")
    assert sealed.read_bytes() == data  # sealing truncates the zeros away
    # promotion's view: one event per line, the values as logged
    lines = _complete_lines(sealed).splitlines()
    assert [json.loads(x)["event_id"] for x in lines] == [
        f"e{k}-{i}" for k, n in enumerate((1, 3, 40)) for i in range(n)
    ]


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
    dead = [call(f"dead{i}", i) for i in range(3)]
    (folder / "00000000000000000002-2-bbbbbbbb-000001.open").write_bytes(
        json.dumps(dead, separators=(",", ":")).encode()
        + b"\n"
        + json.dumps(call("torn", 9)).encode()[:-7]  # killed mid-write: no newline
    )
    with EventLogger("llm_calls", home=home) as log:  # and a new-format segment
        log.log_many(call(f"new{i}", i) for i in range(6))
    (result,) = promote(home)
    assert len(result.results) == 1 and result.segments == 3
    logged = old_sealed + array + dead + [call(f"new{i}", i) for i in range(6)]
    assert (result.events, result.stored, result.quarantined) == (len(logged), len(logged), 0)
    got = landed_rows(home).set_index("event_id")
    want = pd.DataFrame(logged).set_index("event_id")
    assert sorted(got.index) == sorted(want.index)  # "torn" is not among them
    for column in ("session_id", "tokens_input", "tokens_output"):
        assert got.loc[want.index, column].tolist() == want[column].tolist()
    assert np.allclose(got.loc[want.index, "response_time_ms"], want["response_time_ms"])
    assert promote(home) == []
