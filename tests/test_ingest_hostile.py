"""Hostile files (issue 10): every case runs through the real `modelmart ingest`
or `modelmart build` command in a fresh process, and checks what was stored,
what was quarantined (row, reason, column) and that read = stored + duplicate +
quarantined, with no traceback."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelmart.config import get_paths
from tests.conftest import project_copy, run_cli
from tests.test_concurrency import published_calls
from tests.test_ingest import CALL_HEADER, PREDICTION, quarantined, stored

CALL_COLUMNS = CALL_HEADER.split(",")


def ingest(home: Path, path: Path, stream: str) -> tuple[str, dict[str, int] | None]:
    """Run `modelmart ingest PATH --stream STREAM`; (stdout, counts of the file or None)."""
    run = run_cli(home, "ingest", str(path), "--stream", stream)
    out = run.stdout + run.stderr
    assert "Traceback" not in out, out
    match = re.search(r"\] read=(\d+) stored=(\d+) duplicate=(\d+) quarantined=(\d+)", run.stdout)
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


def row_numbers(home: Path, stream: str) -> dict[str, int]:
    """event_id -> _source_row of every stored row."""
    got = stored(home, stream)
    return dict(zip(got.event_id, got._source_row, strict=True))


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
    assert row_numbers(home, "llm_calls") == {"c1": 1, "c3": 3, "c6": 6, "c8": 8}
    got = stored(home, "llm_calls")
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


@pytest.mark.parametrize(("seed", "first_quoted"), [(1, 0), (2, 20_481), (3, 24_000)])
def test_random_valid_csv_files_round_trip_exactly(
    tmp_path: Path, seed: int, first_quoted: int
) -> None:
    """Property: a random valid llm_calls CSV file of 30,000+ rows, with quoted
    commas, quotes and newlines at random rows, from row ``first_quoted`` on (so
    past the first 20,480 rows for two of the files: nothing in a sample of the
    start says the file quotes at all), fields quoted at random even where not
    needed, LF or CRLF line ends, with or without a final newline, round-trips
    exactly: every stored value equals the written one and every row number is right."""
    rng = random.Random(seed)
    n = 30_000 + rng.randrange(5_000)
    special_rows = set(rng.sample(range(first_quoted, n), 400)) | {first_quoted}
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
            if any(ch in value for ch in ',"\r\n') or (i >= first_quoted and rng.random() < 0.05):
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


# ------------------------------------------------------------ 3. one bad features value


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_one_non_json_features_value_is_wrong_type_not_a_rejected_file(
    tmp_path: Path, fmt: str
) -> None:
    features = ['{"a": 1, "b": 2}', "not json", '{"a": 3, "b": 4.5}', "{unclosed"]
    records = [{**PREDICTION, "event_id": f"p{i}", "features": f} for i, f in enumerate(features)]
    path = tmp_path / f"p.{fmt}"
    if fmt == "csv":
        pd.DataFrame(records).to_csv(path, index=False)
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    home = tmp_path / "home"
    _, counts = ingest(home, path, "predictions")
    assert counts == {"read": 4, "stored": 2, "duplicate": 0, "quarantined": 2}
    got = stored(home, "predictions").set_index("event_id").features.to_dict()
    assert got == {"p0": '{"a":1.0,"b":2.0}', "p2": '{"a":3.0,"b":4.5}'}
    assert bad_rows(home, "predictions") == {
        (2, "wrong_type", "features"),
        (4, "wrong_type", "features"),
    }


# ------------------------------------------------------------ 4. NaN for an integer


def _calls_table(n: int, **columns: object) -> pa.Table:
    base = {
        "event_id": [f"n{i}" for i in range(n)],
        "session_id": ["s"] * n,
        "provider": ["o"] * n,
        "model": ["m"] * n,
        "created_at": pa.array([dt.datetime(2026, 3, 1)] * n, pa.timestamp("us")),
        "response_time_ms": [1.0] * n,
        "tokens_input": [float(i) for i in range(n)],
        "tokens_output": [1] * n,
    }
    base.update(columns)
    return pa.table(base)


def test_nan_in_a_parquet_double_column_for_an_integer_is_not_finite(tmp_path: Path) -> None:
    table = _calls_table(4, tokens_input=[1.0, float("nan"), 3.0, float("inf")])
    pq.write_table(table, tmp_path / "calls.parquet")
    csv_path = tmp_path / "calls.csv"
    csv_path.write_text(
        CALL_HEADER + "\nx1,s,o,m,2026-03-01,1,nan,1,0,ok,,\nx2,s,o,m,2026-03-01,1,7,1,0,ok,,\n"
    )
    home = tmp_path / "home"
    _, counts = ingest(home, tmp_path / "calls.parquet", "llm_calls")
    assert counts == {"read": 4, "stored": 2, "duplicate": 0, "quarantined": 2}
    _, counts = ingest(home, csv_path, "llm_calls")
    assert counts == {"read": 2, "stored": 1, "duplicate": 0, "quarantined": 1}
    got = stored(home, "llm_calls").set_index("event_id").tokens_input.to_dict()
    assert got == {"n0": 1, "n2": 3, "x2": 7}
    bad = quarantined(home, "llm_calls")
    assert sorted(zip(bad.event_id, bad.reason, bad.column_name, strict=True)) == [
        ("n1", "not_finite", "tokens_input"),
        ("n3", "not_finite", "tokens_input"),
        ("x1", "not_finite", "tokens_input"),
    ]


# ------------------------------------------------------------ 5. long lines


def test_a_line_over_two_megabytes_is_read_and_one_over_the_maximum_is_its_row(
    tmp_path: Path,
) -> None:
    from modelmart.ingest import MAX_CSV_RECORD_BYTES

    long_value = "x" * 3_000_000
    too_long = "y" * (MAX_CSV_RECORD_BYTES + 10)
    rows = [
        call_row(1),
        call_row(2),
        call_row(3, use_case=long_value),
        call_row(4, use_case=too_long),
        call_row(5, use_case=f'"{too_long}\nquoted"'),
        call_row(6),
    ]
    path = write_csv(tmp_path / "calls.csv", rows)
    home = tmp_path / "home"
    out, counts = ingest(home, path, "llm_calls")
    assert counts == {"read": 6, "stored": 4, "duplicate": 0, "quarantined": 2}, out
    got = stored(home, "llm_calls").set_index("event_id")
    assert got.loc["c3", "use_case"] == long_value
    assert got._source_row.to_dict() == {"c1": 1, "c2": 2, "c3": 3, "c6": 6}
    bad = quarantined(home, "llm_calls").set_index("source_row")
    assert list(bad.index) == [4, 5]
    assert set(bad.reason) == {"malformed_csv_row"}
    assert all(f"over the {MAX_CSV_RECORD_BYTES:,}-byte maximum" in v for v in bad.bad_value)
    assert f"{path} row 4 column -: malformed_csv_row" in out


# ------------------------------------------------------------ 6. objects in string columns


def test_json_objects_and_arrays_in_string_columns_are_wrong_type(tmp_path: Path) -> None:
    lines = [
        {"event_id": ["c1"], "provider": "openai"},
        {"event_id": "c2", "provider": {"name": "openai"}},
        {"event_id": "c3", "provider": '{"name": "openai"}'},  # a string: fine
        {"event_id": "c4", "provider": "openai", "team": []},
        {"event_id": "c5", "provider": "openai", "use_case": 42},
    ]
    common = {
        "session_id": "s",
        "model": "m",
        "created_at": "2026-03-01",
        "response_time_ms": 1,
        "tokens_input": 1,
        "tokens_output": 1,
    }
    path = tmp_path / "calls.jsonl"
    path.write_text("".join(json.dumps({**common, **line}) + "\n" for line in lines))
    home = tmp_path / "home"
    _, counts = ingest(home, path, "llm_calls")
    assert counts == {"read": 5, "stored": 2, "duplicate": 0, "quarantined": 3}
    got = stored(home, "llm_calls").set_index("event_id")
    assert got.provider.to_dict() == {"c3": '{"name": "openai"}', "c5": "openai"}
    assert got.loc["c5", "use_case"] == "42"
    assert bad_rows(home, "llm_calls") == {
        (1, "wrong_type", "event_id"),
        (2, "wrong_type", "provider"),
        (4, "wrong_type", "team"),
    }
    # the same in Parquet: a struct or a list is not a string
    table = _calls_table(2).set_column(2, "provider", pa.array([{"name": "openai"}, {"name": "x"}]))
    pq.write_table(table, tmp_path / "nested.parquet")
    _, counts = ingest(home, tmp_path / "nested.parquet", "llm_calls")
    assert counts == {"read": 2, "stored": 0, "duplicate": 0, "quarantined": 2}


# ------------------------------------------------------------ 7. impossible timestamps


def test_impossible_offsets_and_non_iso_timestamps_are_wrong_type(tmp_path: Path) -> None:
    given = {
        "t1": ("2026-03-01T10:00:00+25:00", None),
        "t2": ("2026-03-01T10:00:00+14:30", None),
        "t3": ("2026-03-01T10:00:00+14:00", "2026-02-28 20:00:00"),
        "t4": ("2026-03-01T10:00:00-12:00", "2026-03-01 22:00:00"),
        "t5": ("2026-03-01T24:00:00", None),
        "t6": ("2026-03-01 10:00 America/New_York", None),
        "t7": ("2026-02-30T10:00:00Z", None),
        "t8": ("2026-03-01T10:00:00+0530", "2026-03-01 04:30:00"),
        "t9": ("2026-03-01T10:61:00Z", None),
        "t10": ("2026-03-01 10:00:00.123456+00", "2026-03-01 10:00:00.123456"),
        "t11": ("2026-03-01T10:00:00+05:60", None),
    }
    path = tmp_path / "calls.csv"
    path.write_text(
        CALL_HEADER
        + "\n"
        + "".join(f"{k},s,o,m,{ts},1,1,1,0,ok,,\n" for k, (ts, _) in given.items())
    )
    home = tmp_path / "home"
    _, counts = ingest(home, path, "llm_calls")
    good = {k: pd.Timestamp(v) for k, (_, v) in given.items() if v}
    assert counts == {
        "read": len(given),
        "stored": len(good),
        "duplicate": 0,
        "quarantined": len(given) - len(good),
    }
    assert stored(home, "llm_calls").set_index("event_id").created_at.to_dict() == good
    bad = quarantined(home, "llm_calls")
    assert set(bad.event_id) == set(given) - set(good)
    assert set(zip(bad.reason, bad.column_name, strict=True)) == {("wrong_type", "created_at")}


# ------------------------------------------------------------ 8. bookkeeping column names


def test_an_extra_parquet_column_named_like_the_readers_bookkeeping_is_allowed(
    tmp_path: Path,
) -> None:
    table = _calls_table(3).append_column("file_row_number", pa.array([7, 8, 9]))
    table = table.append_column("_source_row", pa.array(["a", "b", "c"]))
    pq.write_table(table, tmp_path / "calls.parquet")
    home = tmp_path / "home"
    _, counts = ingest(home, tmp_path / "calls.parquet", "llm_calls")
    assert counts == {"read": 3, "stored": 3, "duplicate": 0, "quarantined": 0}
    assert stored(home, "llm_calls")._source_row.tolist() == [1, 2, 3]
    # the same names as extra CSV and JSON Lines columns
    path = tmp_path / "calls.csv"
    path.write_text(
        CALL_HEADER + ",file_row_number,_source_row,c0\nk1,s,o,m,2026-03-01,1,1,1,0,ok,,,x,y,z\n"
    )
    _, counts = ingest(home, path, "llm_calls")
    assert counts == {"read": 1, "stored": 1, "duplicate": 0, "quarantined": 0}
    assert stored(home, "llm_calls").set_index("event_id").loc["k1", "_source_row"] == 1


# ------------------------------------------------------------ 10. many distinct feature keys


def _canonical(features: dict[str, float]) -> str:
    return (
        "{" + ",".join(f"{json.dumps(k)}:{float(v)!r}" for k, v in sorted(features.items())) + "}"
    )


@pytest.mark.parametrize("shared", [True, False])
def test_feature_keys_cost_linear_and_both_strategies_store_the_same(
    tmp_path: Path, shared: bool
) -> None:
    """12,000 predictions with 3 keys each: shared keys (constant paths) or 36,000
    distinct keys (each row's own entries; took 56 s and 3 GB before). Every stored
    value equals the canonical text computed here."""
    rng = random.Random(5)
    rows, expected = [], {}
    for i in range(12_000):
        names = ["a", "b", "c"] if shared else [f"k{i}_{j}" for j in range(3)]
        features = {name: rng.randrange(-400, 400) / 4 for name in names}
        rows.append(json.dumps({**PREDICTION, "event_id": f"p{i}", "features": features}))
        expected[f"p{i}"] = _canonical(features)
    rows[7] = json.dumps({**PREDICTION, "event_id": "p7", "features": {"a": 1, "a ": None}})
    del expected["p7"]
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(rows) + "\n")
    home = tmp_path / "home"
    _, counts = ingest(home, path, "predictions")
    assert counts == {"read": 12_000, "stored": 11_999, "duplicate": 0, "quarantined": 1}
    assert stored(home, "predictions").set_index("event_id").features.to_dict() == expected
    assert bad_rows(home, "predictions") == {(8, "wrong_type", "features")}


def test_more_distinct_feature_keys_than_the_cap_rejects_the_file_with_a_message(
    tmp_path: Path,
) -> None:
    from modelmart.ingest import MAX_FEATURE_KEYS

    path = tmp_path / "p.jsonl"
    per_row = 1_000
    n_rows = MAX_FEATURE_KEYS // per_row + 1
    path.write_text(
        "".join(
            json.dumps(
                {
                    **PREDICTION,
                    "event_id": f"p{i}",
                    "features": {f"k{i}_{j}": 1.0 for j in range(per_row)},
                }
            )
            + "\n"
            for i in range(n_rows)
        )
    )
    home = tmp_path / "home"
    out, counts = ingest(home, path, "predictions")
    assert counts is None
    assert (
        f"REJECTED {path}: column features: {n_rows * per_row:,} distinct feature keys, "
        f"more than the {MAX_FEATURE_KEYS:,} allowed in one file"
    ) in out
    assert stored(home, "predictions").empty


# ------------------------------------------------------------ 12. ambiguous or empty files


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_an_empty_file_is_rejected_as_empty(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"calls.{fmt}"
    path.write_bytes(b"")
    out, counts = ingest(tmp_path / "home", path, "llm_calls")
    assert counts is None
    assert f"REJECTED {path}: empty file (0 bytes)" in out


def test_a_repeated_header_column_rejects_the_file_as_ambiguous(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    path.write_text(CALL_HEADER + ",model\nx1,s,o,gpt-4o,2026-03-01,1,1,1,0,ok,,,gpt-5\n")
    home = tmp_path / "home"
    out, counts = ingest(home, path, "llm_calls")
    assert counts is None
    assert f"REJECTED {path}: column 'model' appears more than once in the header" in out
    assert stored(home, "llm_calls").empty


# ------------------------------------------------------------ 9. seeds dbt cannot read


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b"provider,model,effective_from,input_usd_per_mtok,output_usd_per_mtok,"
            b"cached_input_usd_per_mtok\nopenai,gpt-4o,2026-01-01,5.00,15.00,2.50\n"
            b"openai,caf\xe9,2026-01-01,5.00,15.00,2.50\n",
            "seed seeds/llm_pricing.csv line 3: not UTF-8 text (byte 0xe9 at offset",
        ),
        (b"", "seed seeds/llm_pricing.csv: empty file (a seed needs a header row)"),
        (
            b"provider,model,effective_from,input_usd_per_mtok,output_usd_per_mtok,"
            b"cached_input_usd_per_mtok\nopenai,gpt-4o,2026-01-01,5.00,15.00,2.50\n"
            b"openai,gpt-4o-mini,2026-01-01,0.15\n",
            "seed seeds/llm_pricing.csv line 3: 4 fields, the header has 6",
        ),
    ],
)
def test_a_seed_that_cannot_be_read_fails_the_build_with_one_line(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    project = project_copy(tmp_path)
    (project / "seeds" / "llm_pricing.csv").write_bytes(content)
    env = {**os.environ, "MODELMART_PROJECT_DIR": str(project)}
    run = run_cli(tmp_path / "home", "build", "--quiet", env=env)
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "Traceback" not in out
    lines = [line.strip() for line in out.strip().splitlines()]
    assert lines[0].startswith("build FAILED") and "last good snapshot stays published" in lines[0]
    assert len(lines) == 2 and lines[1].startswith(expected), out
    assert not (get_paths(tmp_path / "home").build_dir / "BUILDING").exists()


# ------------------------------------------------------------ 11. a stale BUILDING marker


def test_a_killed_build_leaves_no_running_marker_when_the_next_is_up_to_date(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    path = write_csv(tmp_path / "calls.csv", [call_row(i) for i in range(1, 11)])
    _, counts = ingest(home, path, "llm_calls")
    assert counts is not None and counts["stored"] == 10
    first = run_cli(home, "build", "--quiet")
    assert first.returncode == 0, first.stdout + first.stderr
    marker = get_paths(home).build_dir / "BUILDING"
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelmart.cli", "--home", str(home), "build", "--force", "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not marker.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert marker.exists()
    os.kill(proc.pid, signal.SIGKILL)  # mid-build: the marker stays behind
    proc.wait()
    assert "a build is running" in run_cli(home, "status").stdout

    after = run_cli(home, "build", "--quiet")
    assert after.returncode == 0 and after.stdout.startswith("up to date"), after.stdout
    assert not marker.exists()
    assert "a build is running" not in run_cli(home, "status").stdout
    assert published_calls(home) == 10


def test_mixed_line_ends_byte_order_mark_and_blank_lines(tmp_path: Path) -> None:
    """CRLF and LF in one file (files appended to each other), a byte-order mark
    and blank lines: every row is read, at its own number; a CR inside quotes is
    kept, the one ending a line is not."""
    text = (
        "\ufeff" + CALL_HEADER + "\r\n"
        "c1,s,o,m,2026-03-01,1,1,1,0,ok,t,chat\r\n"
        "\r\n"
        'c3,s,o,m,2026-03-01,1,1,1,0,ok,t,"two\r\nlines"\n'
        "c4,s,o,m,2026-03-01,1,1,1,0,ok,t,chat\n"
        "\n"
        'c6,s,o,m,2026-03-01,1,1,1,0,ok,t,"end"\r\n'
        "c7,s,o,m,2026-03-01,1,1,1,0,ok,t,last"
    )
    path = tmp_path / "calls.csv"
    path.write_bytes(text.encode())
    home = tmp_path / "home"
    _, counts = ingest(home, path, "llm_calls")
    assert counts == {"read": 5, "stored": 5, "duplicate": 0, "quarantined": 0}
    assert row_numbers(home, "llm_calls") == {"c1": 1, "c3": 3, "c4": 4, "c6": 6, "c7": 7}
    got = stored(home, "llm_calls").sort_values("_source_row")
    assert got.use_case.tolist() == ["chat", "two\r\nlines", "chat", "end", "last"]


def test_api_records_with_a_dict_or_list_in_a_string_column_are_wrong_type(
    tmp_path: Path,
) -> None:
    """The same rule for in-memory events (ingest_records / EventLogger)."""
    from modelmart.ingest import ingest_records

    base = {
        "session_id": "s",
        "provider": "openai",
        "model": "m",
        "created_at": "2026-03-01",
        "response_time_ms": 1,
        "tokens_input": 1,
        "tokens_output": 1,
    }
    result = ingest_records(
        "llm_calls",
        [
            {**base, "event_id": "a1"},
            {**base, "event_id": "a2", "provider": {"name": "openai"}},
            {**base, "event_id": "a3", "team": ["x"]},
        ],
        tmp_path / "home",
    )
    assert (result.read, result.stored, result.quarantined) == (3, 1, 2)
    assert bad_rows(tmp_path / "home", "llm_calls") == {
        (2, "wrong_type", "provider"),
        (3, "wrong_type", "team"),
    }
