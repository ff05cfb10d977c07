"""Hostile files (issue 10): every case runs through the real `modelmart ingest`
or `modelmart build` command in a fresh process, and checks what was stored,
what was quarantined (row, reason, column) and that read = stored + duplicate +
quarantined, with no traceback."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import re
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelmart.config import get_paths
from tests.conftest import run_cli
from tests.test_ingest import CALL_HEADER, PREDICTION, quarantined, stored

CALL_COLUMNS = CALL_HEADER.split(",")


def ingest(home: Path, path: Path, stream: str) -> tuple[str, dict[str, int] | None]:
    """Run `modelmart ingest PATH --stream STREAM`; (stdout, counts of the file or None)."""
    run = run_cli(home, "ingest", str(path), "--stream", stream)
    out = run.stdout + run.stderr
    assert "Traceback" not in out, out
    match = re.search(r"read=(\d+) stored=(\d+) duplicate=(\d+) quarantined=(\d+)", run.stdout)
    if match is None:
        return out, None
    counts = dict(
        zip(("read", "stored", "duplicate", "quarantined"), map(int, match.groups()), strict=True)
    )
    assert counts["read"] == counts["stored"] + counts["duplicate"] + counts["quarantined"]
    return out, counts


def call_row(i: int, **values: str) -> list[str]:
    row = {
        "event_id": f"c{i}",
        "session_id": f"s{i % 97}",
        "provider": "openai",
        "model": "gpt-4o",
        "created_at": "2026-03-01T10:00:00Z",
        "response_time_ms": str(100 + i % 50),
        "tokens_input": str(10 + i % 7),
        "tokens_output": "5",
        "tokens_cached_input": "0",
        "status": "ok",
        "team": "t",
        "use_case": "chat",
    }
    row.update(values)
    return [row[c] for c in CALL_COLUMNS]


def write_csv(path: Path, rows: list[list[str]], header: str = CALL_HEADER) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "\n" + buffer.getvalue(), newline="")
    return path


def bad_rows(home: Path, stream: str) -> set[tuple[int, str, str | None]]:
    return {
        (int(r.source_row), r.reason, r.column_name) for r in quarantined(home, stream).itertuples()
    }


# ------------------------------------------------------------ 1. no dialect guessing


def test_quoted_newline_and_comma_far_into_a_file_are_read_exactly(tmp_path: Path) -> None:
    """Case 1: a quoted newline at row 25,000 and a quoted comma at row 26,000 of a
    30,000-row file (the sniffer samples about the first 20,000)."""
    rows = [call_row(i) for i in range(1, 30_001)]
    rows[24_999] = call_row(25_000, use_case="first line\nsecond line")
    rows[25_999] = call_row(26_000, model="gpt-4o, mini")
    path = write_csv(tmp_path / "calls.csv", rows)
    home = tmp_path / "home"
    _, counts = ingest(home, path, "llm_calls")
    assert counts == {"read": 30_000, "stored": 30_000, "duplicate": 0, "quarantined": 0}
    got = stored(home, "llm_calls").set_index("event_id")
    assert got.loc["c25000", "use_case"] == "first line\nsecond line"
    assert got.loc["c26000", "model"] == "gpt-4o, mini"
    # every row keeps its number: c<i> is row i
    assert (got._source_row == got.index.str[1:].astype(int)).all()


def test_unterminated_quote_is_a_malformed_row_where_it_starts(tmp_path: Path) -> None:
    """Case 2: one unclosed quote does not flip the dialect: the valid quoted row
    before it is stored as written, the broken row is quarantined at its own
    number, and the rows after it are read."""
    header = CALL_HEADER
    body = [
        'c1,s,openai,"gpt-4o, mini",2026-03-01,1,1,1,0,ok,t,chat',  # valid quoted comma
        'c2,s,openai,"gpt-4o,2026-03-01,1,1,1,0,ok,t,chat',  # unclosed, middle of the file
        "c3,s,openai,gpt-4o,2026-03-01,1,1,1,0,ok,t,chat",
        'c4,s,openai,"gpt"x,2026-03-01,1,1,1,0,ok,t,chat',  # text after the closing quote
        'c5,s,openai,gp"t,2026-03-01,1,1,1,0,ok,t,chat',  # stray quote in an unquoted field
        'c6,s,openai,"quoted ""inner"" ok",2026-03-01,1,1,1,0,ok,t,chat',
        'c7,s,openai,gpt-4o,2026-03-01,1,1,1,0,ok,t,"chat',  # unclosed at the end of the file
        "c8,s,openai,gpt-4o,2026-03-01,1,1,1,0,ok,t,chat",
    ]
    path = tmp_path / "calls.csv"
    path.write_text(header + "\n" + "\n".join(body) + "\n")
    home = tmp_path / "home"
    _, counts = ingest(home, path, "llm_calls")
    assert counts == {"read": 8, "stored": 4, "duplicate": 0, "quarantined": 4}
    got = stored(home, "llm_calls")
    assert dict(zip(got.event_id, got._source_row, strict=True)) == {
        "c1": 1,
        "c3": 3,
        "c6": 6,
        "c8": 8,
    }
    models = dict(zip(got.event_id, got.model, strict=True))
    assert models["c1"] == "gpt-4o, mini" and models["c6"] == 'quoted "inner" ok'
    bad = quarantined(home, "llm_calls").set_index("source_row")
    assert set(bad.reason) == {"malformed_csv_row"}
    assert bad.bad_value.to_dict() == {
        2: "unterminated quoted field",
        4: "text after a closing quote",
        5: "stray quote in an unquoted field",
        7: "unterminated quoted field",
    }
    # the quarantined text is the row's own line
    assert json.loads(bad.loc[5, "raw_row"])["line"].startswith("c5,s,openai,gp")


def test_unclosed_quote_runs_to_the_end_of_the_file(tmp_path: Path) -> None:
    """An unclosed quote whose field would run to the end of the file: only its row
    is lost, not every row after it."""
    path = tmp_path / "calls.csv"
    path.write_text(
        CALL_HEADER + "\n"
        'c1,s,openai,"gpt-4o,2026-03-01,1,1,1,0,ok,t,chat\n'
        "c2,s,openai,gpt-4o,2026-03-01,1,1,1,0,ok,t,chat\n"
        "c3,s,openai,gpt-4o,2026-03-01,1,1,1,0,ok,t,chat\n"
    )
    home = tmp_path / "home"
    _, counts = ingest(home, path, "llm_calls")
    assert counts == {"read": 3, "stored": 2, "duplicate": 0, "quarantined": 1}
    assert bad_rows(home, "llm_calls") == {(1, "malformed_csv_row", None)}
    assert stored(home, "llm_calls")._source_row.tolist() == [2, 3]


# ------------------------------------------------------------ the property test


def _random_text(rng: random.Random, special: bool) -> str:
    """A value without surrounding whitespace (the contract trims blanks);
    ``special`` puts commas, quotes, newlines (LF and CRLF) at random places."""
    pieces = ["abc", "gpt", "é", "x y", "42", "-", "_"]
    if special:
        pieces += [",", '"', '""', "\n", "\r\n", ", ", '"a,b"', "\n\n"]
    text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 6)))
    return f"a{text}z"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_valid_csv_files_round_trip_exactly(tmp_path: Path, seed: int) -> None:
    """Property: a random valid llm_calls CSV file of 30,000+ rows, with quoted
    commas, quotes and newlines at random rows (many past row 20,480) and fields
    quoted at random even where not needed, LF or CRLF line ends, with or without
    a final newline, round-trips exactly: every stored value equals the written
    one and every row number is right."""
    rng = random.Random(seed)
    n = 30_000 + rng.randrange(5_000)
    special_rows = set(rng.sample(range(n), 300)) | set(rng.sample(range(20_481, n), 100))
    eol = rng.choice(["\n", "\r\n"])
    expected = []
    lines = [CALL_HEADER]
    base = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    for i in range(n):
        special = i in special_rows
        when = base + dt.timedelta(seconds=rng.randrange(86_400 * 30))
        offset = dt.timezone(dt.timedelta(minutes=rng.choice([-300, 0, 90, 330, 840])))
        tokens_input = rng.randrange(10_000)
        row = {
            "event_id": f"e{i}-" + _random_text(rng, special and rng.random() < 0.3),
            "session_id": _random_text(rng, special and rng.random() < 0.5),
            "provider": _random_text(rng, special and rng.random() < 0.5),
            "model": _random_text(rng, special and rng.random() < 0.5),
            "created_at": when.astimezone(offset).isoformat(),
            "response_time_ms": repr(round(rng.uniform(0, 5000), rng.randrange(4))),
            "tokens_input": str(tokens_input),
            "tokens_output": str(rng.randrange(5000)),
            "tokens_cached_input": str(rng.randrange(tokens_input + 1)),
            "status": rng.choice(["ok", "error"]),
            "team": _random_text(rng, special and rng.random() < 0.5),
            "use_case": _random_text(rng, special),
        }
        expected.append({**row, "_source_row": i + 1, "created_at": when.replace(tzinfo=None)})
        fields = []
        for column in CALL_COLUMNS:
            value = row[column]
            if any(ch in value for ch in ',"\r\n') or rng.random() < 0.05:
                value = '"' + value.replace('"', '""') + '"'
            fields.append(value)
        lines.append(",".join(fields))
    text = eol.join(lines) + (eol if rng.random() < 0.5 else "")
    path = tmp_path / "calls.csv"
    path.write_bytes(text.encode())

    home = tmp_path / "home"
    _, counts = ingest(home, path, "llm_calls")
    assert counts == {"read": n, "stored": n, "duplicate": 0, "quarantined": 0}
    got = stored(home, "llm_calls").sort_values("_source_row").reset_index(drop=True)
    want = pd.DataFrame(expected)
    assert got._source_row.tolist() == want._source_row.tolist()
    for column in ("event_id", "session_id", "provider", "model", "status", "team", "use_case"):
        assert got[column].tolist() == want[column].tolist(), column
    assert got.created_at.tolist() == [pd.Timestamp(t) for t in want.created_at]
    assert got.response_time_ms.tolist() == [float(v) for v in want.response_time_ms]
    for column in ("tokens_input", "tokens_output", "tokens_cached_input"):
        assert got[column].tolist() == [int(v) for v in want[column]], column
