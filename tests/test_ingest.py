"""Ingestion edge cases: every rule of the event contract, per format.

Each test lands files into a fresh MODELMART_HOME and checks what was stored,
what was quarantined (reason, column, row) and that read = stored + duplicates
+ quarantined.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelmart.config import get_paths
from modelmart.ingest import EventLogger, discover, ingest_file, ingest_records
from modelmart.spool import promote

CALL_HEADER = (
    "event_id,session_id,provider,model,created_at,response_time_ms,tokens_input,"
    "tokens_output,tokens_cached_input,status,team,use_case"
)

# the required fields of one prediction, for tests that vary the rest
PREDICTION = {
    "model_name": "churn",
    "model_version": "v1",
    "predicted_at": "2026-03-01T10:00:00Z",
    "predicted_label": "stay",
    "score": 0.7,
}


def stored(home: Path, stream: str) -> pd.DataFrame:
    files = str(get_paths(home).landing / stream / "*.parquet")
    con = duckdb.connect()
    try:
        return con.execute(
            f"select * from read_parquet('{files}') order by _batch_seq, _source_row"
        ).df()
    finally:
        con.close()


def quarantined(home: Path, stream: str) -> pd.DataFrame:
    folder = get_paths(home).quarantine / stream
    if not list(folder.glob("*.parquet")):
        return pd.DataFrame(columns=["source_row", "reason", "column_name"])
    con = duckdb.connect()
    try:
        frame = con.execute(
            f"select * from read_parquet('{folder}/*.parquet') order by batch_seq, source_row"
        ).df()
        return frame.astype(object).where(frame.notna(), None)
    finally:
        con.close()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def assert_balanced(result) -> None:
    assert result.read == result.stored + result.duplicates + result.quarantined


def test_csv_rows_are_typed_converted_to_utc_and_bad_rows_quarantined(tmp_path: Path) -> None:
    home = tmp_path / "home"
    csv = write(
        tmp_path / "in" / "calls.csv",
        "\n".join(
            [
                CALL_HEADER,
                "c1,s1,openai,gpt-4o,2026-03-01T23:30:00-05:00,120.5,100,20,,,,chat",  # next UTC day
                "c2,s1,openai,gpt-4o,2026-03-02T01:00:00+02:00,80,100,20,30,error,support,",  # previous UTC day
                "c3,s1,openai,gpt-4o,2026-03-02 10:00:00,80,100,20,0,ok,,",  # no offset = UTC
                "c4,s2,openai,gpt-4o,not-a-time,80,100,20,0,ok,,",
                "c5,s2,openai,gpt-4o,2026-03-02,-5,100,20,0,ok,,",
                "c6,s2,openai,gpt-4o,2026-03-02,5,12.5,20,0,ok,,",
                "c7,s2,openai,gpt-4o,2026-03-02,5,10,20,11,ok,,",
                "c8,s2,openai,gpt-4o,2026-03-02,5,10,20,0,pending,,",
                "c9,,openai,gpt-4o,2026-03-02,5,10,20,0,ok,,",
                "c10,s2,openai",  # too few fields
                "c11,s2,openai,gpt-4o,2026-03-02,inf,10,20,0,ok,,",
            ]
        )
        + "\n",
    )
    result = ingest_file(csv, "llm_calls", home)
    assert_balanced(result)
    assert (result.read, result.stored, result.duplicates, result.quarantined) == (11, 3, 0, 8)

    rows = stored(home, "llm_calls").set_index("event_id")
    assert rows.loc["c1", "created_at"] == pd.Timestamp("2026-03-02 04:30:00")
    assert rows.loc["c2", "created_at"] == pd.Timestamp("2026-03-01 23:00:00")
    assert rows.loc["c3", "created_at"] == pd.Timestamp("2026-03-02 10:00:00")
    # defaults of the contract
    assert rows.loc["c1", "tokens_cached_input"] == 0
    assert rows.loc["c1", "status"] == "ok"
    assert rows.loc["c1", "team"] == "unassigned"
    assert rows.loc["c2", "status"] == "error"
    assert rows.loc["c1", "response_time_ms"] == 120.5

    bad = quarantined(home, "llm_calls")
    found = {(int(r.source_row), r.reason, r.column_name) for r in bad.itertuples()}
    assert found == {
        (4, "wrong_type", "created_at"),
        (5, "out_of_range", "response_time_ms"),
        (6, "wrong_type", "tokens_input"),
        (7, "cached_exceeds_input", "tokens_cached_input"),
        (8, "not_in_enum", "status"),
        (9, "missing_required", "session_id"),
        (10, "malformed_csv_row", None),
        (11, "not_finite", "response_time_ms"),
    }
    # the message names file, row and column
    assert any(f"{csv} row 4 column created_at: wrong_type" in e for e in result.examples)


def test_duplicates_and_conflicts_within_a_file_and_against_stored_rows(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = write(
        tmp_path / "a.csv",
        CALL_HEADER + "\n" + "d1,s,openai,gpt-4o,2026-03-01T10:00:00Z,5,10,20,0,ok,t,\n"
        "d1,s,openai,gpt-4o,2026-03-01T10:00:00Z,5,10,20,0,ok,t,\n"  # exact duplicate in file
        "d1,s,openai,gpt-4o,2026-03-01T10:00:00Z,6,10,20,0,ok,t,\n"  # conflict in file
        "d2,s,openai,gpt-4o,2026-03-01T10:00:00Z,5,10,20,0,ok,t,\n",
    )
    r1 = ingest_file(first, "llm_calls", home)
    assert (r1.read, r1.stored, r1.duplicates, r1.quarantined) == (4, 2, 1, 1)
    # same instant written with an offset and default values spelled out: same content
    second = write(
        tmp_path / "b.csv",
        CALL_HEADER + "\n" + "d1,s,openai,gpt-4o,2026-03-01T12:00:00+02:00,5.0,10,20,,,t,\n"
        "d2,s,openai,gpt-4o,2026-03-01T10:00:00Z,999,10,20,0,ok,t,\n"  # conflicts with stored
        "d3,s,openai,gpt-4o,2026-03-01T10:00:00Z,5,10,20,0,ok,t,\n",
    )
    r2 = ingest_file(second, "llm_calls", home)
    assert (r2.read, r2.stored, r2.duplicates, r2.quarantined) == (3, 1, 1, 1)
    rows = stored(home, "llm_calls")
    assert sorted(rows.event_id) == ["d1", "d2", "d3"]
    # the stored row is kept, not replaced by the conflicting one
    assert rows.set_index("event_id").loc["d2", "response_time_ms"] == 5
    bad = quarantined(home, "llm_calls")
    assert list(bad.reason) == ["conflict", "conflict"]
    assert list(bad.bad_value) == [
        "differs from an earlier row of this file",
        "differs from the stored row",
    ]

    # re-running the same file converges: nothing new is stored
    r3 = ingest_file(second, "llm_calls", home)
    assert (r3.stored, r3.duplicates, r3.quarantined) == (0, 2, 1)
    assert len(stored(home, "llm_calls")) == 3


def test_jsonl_features_and_malformed_lines(tmp_path: Path) -> None:
    home = tmp_path / "home"
    base = PREDICTION
    lines = [
        json.dumps({**base, "event_id": "p1", "features": {"tenure": 3, "spend": 10.5}}),
        json.dumps(
            {**base, "event_id": "p2", "features": json.dumps({"tenure": 4})}
        ),  # JSON string
        "{not json",
        json.dumps({**base, "event_id": "p3", "features": {"tenure": "long"}}),
        json.dumps({**base, "event_id": "p4", "score": 1.2}),
        json.dumps({**base, "event_id": "p5", "status": "ok", "segment": "web", "latency_ms": 12}),
        "",
        json.dumps({**base, "event_id": "p6", "features": [1, 2]}),
        json.dumps({**base, "event_id": "p7", "score": "high"}),
    ]
    path = write(tmp_path / "predictions" / "p.jsonl", "\n".join(lines) + "\n")
    result = ingest_file(path, "predictions", home)
    assert_balanced(result)
    assert (result.read, result.stored, result.quarantined) == (8, 3, 5)
    rows = stored(home, "predictions").set_index("event_id")
    assert json.loads(rows.loc["p1", "features"]) == {"tenure": 3, "spend": 10.5}
    assert json.loads(rows.loc["p2", "features"]) == {"tenure": 4}
    assert rows.loc["p1", "segment"] == "all" and rows.loc["p5", "segment"] == "web"
    bad = {
        (int(r.source_row), r.reason, r.column_name)
        for r in quarantined(home, "predictions").itertuples()
    }
    assert bad == {
        (3, "malformed_json", None),
        (4, "wrong_type", "features"),
        (5, "out_of_range", "score"),
        (8, "wrong_type", "features"),
        (9, "wrong_type", "score"),
    }


def test_parquet_typed_columns_struct_and_map_features(tmp_path: Path) -> None:
    home = tmp_path / "home"
    utc = dt.UTC
    table = pa.table(
        {
            "event_id": ["q1", "q2"],
            "model_name": ["churn", "churn"],
            "model_version": ["v2", "v2"],
            "predicted_at": pa.array(
                [
                    dt.datetime(2026, 3, 1, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=-3))),
                    dt.datetime(2026, 3, 2, 1, 0, tzinfo=utc),
                ],
                pa.timestamp("us", tz="America/Sao_Paulo"),
            ),
            "predicted_label": ["stay", "churn"],
            "score": [0.9, 0.6],
            "features": pa.array([{"a": 1.0, "b": 2.0}, {"a": 3.0, "b": None}]),
        }
    )
    path = tmp_path / "predictions" / "p.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(table, path)
    result = ingest_file(path, "predictions", home)
    assert (result.read, result.stored, result.quarantined) == (2, 1, 1)
    rows = stored(home, "predictions").set_index("event_id")
    assert rows.loc["q1", "predicted_at"] == pd.Timestamp("2026-03-02 02:00:00")
    assert json.loads(rows.loc["q1", "features"]) == {"a": 1.0, "b": 2.0}
    # a null feature value is not a number
    assert quarantined(home, "predictions").iloc[0].column_name == "features"

    map_table = pa.table(
        {
            "event_id": ["m1"],
            "model_name": ["churn"],
            "model_version": ["v2"],
            "predicted_at": pa.array([dt.datetime(2026, 3, 2)], pa.timestamp("us")),
            "predicted_label": ["stay"],
            "score": [0.5],
            "features": pa.array([[("x", 1.5)]], pa.map_(pa.string(), pa.float64())),
        }
    )
    map_path = tmp_path / "predictions" / "m.parquet"
    pq.write_table(map_table, map_path)
    assert ingest_file(map_path, "predictions", home).stored == 1
    assert json.loads(stored(home, "predictions").set_index("event_id").loc["m1", "features"]) == {
        "x": 1.5
    }


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("calls.txt", b"whatever", "unsupported file type '.txt'"),
        (
            "calls.csv",
            b"event_id,session_id\nx,y\n",
            "missing required column(s) provider, model, created_at",
        ),
        ("calls.parquet", b"PAR1 this is not parquet", "cannot be read as PARQUET"),
        (
            "calls.csv",
            (CALL_HEADER + "\nx,\x80\x81,o,m,2026-03-01,1,1,1,0,ok,,\n").encode("latin-1"),
            "not UTF-8 text (invalid byte at offset",
        ),
        ("calls.jsonl", b"this is not json\nneither is this\n", "no line is a JSON object"),
    ],
)
def test_unreadable_files_are_rejected_whole_with_one_message(
    tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    home = tmp_path / "home"
    path = tmp_path / name
    path.write_bytes(content)
    result = ingest_file(path, "llm_calls", home)
    assert result.status == "rejected"
    assert expected in result.message
    assert result.summary().startswith(f"REJECTED {path}")
    assert stored(home, "llm_calls").empty
    assert quarantined(home, "llm_calls").empty


def test_business_event_conditional_requirements(tmp_path: Path) -> None:
    home = tmp_path / "home"
    events = [
        {
            "event_id": "b1",
            "occurred_at": "2026-03-01T10:00:00Z",
            "event_type": "ticket",
            "resolved_by": "agent",
        },
        {"event_id": "b2", "occurred_at": "2026-03-01T10:00:00Z", "event_type": "ticket"},
        {
            "event_id": "b3",
            "occurred_at": "2026-03-01T10:00:00Z",
            "event_type": "exposure",
            "user_id": "u",
            "experiment": "tone",
            "variant": "a",
        },
        {
            "event_id": "b4",
            "occurred_at": "2026-03-01T10:00:00Z",
            "event_type": "exposure",
            "experiment": "tone",
            "variant": "a",
        },
        {
            "event_id": "b5",
            "occurred_at": "2026-03-01T10:00:00Z",
            "event_type": "refund",
            "revenue_usd": -20,
        },
        {
            "event_id": "b6",
            "occurred_at": "2026-03-01T10:00:00Z",
            "event_type": "ticket",
            "resolved_by": "robot",
        },
        {
            "event_id": "b7",
            "occurred_at": "2026-03-01T10:00:00Z",
            "event_type": "conversion",
            "revenue_usd": float("inf"),
        },
    ]
    result = ingest_records("business_events", events, home)
    assert (result.read, result.stored, result.quarantined) == (7, 3, 4)
    bad = {
        (r.event_id, r.reason, r.column_name)
        for r in quarantined(home, "business_events").itertuples()
    }
    assert bad == {
        ("b2", "missing_required", "resolved_by"),
        ("b4", "missing_required", "user_id"),
        ("b6", "not_in_enum", "resolved_by"),
        ("b7", "not_finite", "revenue_usd"),
    }
    rows = stored(home, "business_events").set_index("event_id")
    assert rows.loc["b1", "revenue_usd"] == 0  # default
    assert rows.loc["b5", "revenue_usd"] == -20


def test_event_logger_batches_dicts_and_dataframes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    calls = [
        {
            "event_id": f"e{i}",
            "session_id": "s",
            "provider": "openai",
            "model": "gpt-4o",
            "created_at": dt.datetime(2026, 3, 1, 10, i, tzinfo=dt.UTC),
            "response_time_ms": 10 * i,
            "tokens_input": 5,
            "tokens_output": 1,
        }
        for i in range(7)
    ]
    with EventLogger("llm_calls", batch_size=3, home=home) as log:
        log.log_many(calls)
    # the logger spools; promotion lands what it holds as one batch
    (promoted,) = promote(home)
    assert [(r.stored, r.batch_seq) for r in promoted.results] == [(7, 1)]
    frame = pd.DataFrame([*calls[:2], {**calls[0], "event_id": "e99"}])
    result = ingest_records("llm_calls", frame, home)
    assert (result.stored, result.duplicates) == (1, 2)
    assert len(stored(home, "llm_calls")) == 8


def test_landing_folder_discovery_and_cli(tmp_path: Path) -> None:
    home = tmp_path / "home"
    inbox = tmp_path / "inbox"
    write(
        inbox / "llm_calls" / "a.csv",
        CALL_HEADER + "\nx1,s,openai,gpt-4o,2026-03-01,5,1,1,0,ok,,\n",
    )
    write(
        inbox / "labels" / "l.csv",
        "event_id,target_event_id,label,labeled_at\nl1,x1,correct,2026-03-03\n",
    )
    write(inbox / "labels" / "broken.csv", "event_id\nl2\n")
    assert [(p.name, s) for p, s in discover([inbox], None)] == [
        ("broken.csv", "labels"),
        ("l.csv", "labels"),
        ("a.csv", "llm_calls"),
    ]
    cli = [sys.executable, "-m", "modelmart.cli", "--home", str(home)]
    run = subprocess.run([*cli, "ingest", str(inbox)], capture_output=True, text=True, check=False)
    assert run.returncode == 1, run.stderr  # one file rejected
    assert "Traceback" not in run.stderr + run.stdout
    assert f"REJECTED {inbox / 'labels' / 'broken.csv'}: missing required column(s)" in run.stdout
    assert "read=1 stored=1 duplicate=0 quarantined=0" in run.stdout
    missing = subprocess.run(
        [*cli, "ingest", str(tmp_path / "nope")], capture_output=True, text=True, check=False
    )
    assert missing.returncode == 2
    assert "no such file or folder" in missing.stderr and "Traceback" not in missing.stderr
    status = subprocess.run([*cli, "status"], capture_output=True, text=True, check=True)
    assert "llm_calls" in status.stdout and "none yet" in status.stdout
    for command in ("ingest", "build", "demo", "status"):
        helped = subprocess.run(
            [*cli, command, "--help"], capture_output=True, text=True, check=True
        )
        assert "usage: modelmart" in helped.stdout


def test_recovery_removes_uncommitted_batches(tmp_path: Path) -> None:
    """What a crash between writing and the committing rename leaves is discarded."""
    home = tmp_path / "home"
    paths = get_paths(home)
    ingest_records(
        "labels",
        [{"event_id": "l1", "target_event_id": "t", "label": "a", "labeled_at": "2026-03-01"}],
        home,
    )
    # simulate a crash: a manifest and a quarantine file without their landing file, plus temp files
    orphan = "000000000002-labels"
    (paths.manifests / "labels" / f"{orphan}.json").write_text(json.dumps({"status": "ingested"}))
    (paths.quarantine / "labels" / f"{orphan}.parquet").write_bytes(b"partial")
    (paths.landing / "labels" / f"{orphan}.parquet.tmp").write_bytes(b"partial")
    # a crash between the quarantine rename and the manifest rename: no manifest at all
    (paths.quarantine / "labels" / "000000000003-labels.parquet").write_bytes(b"partial")
    result = ingest_records(
        "labels",
        [{"event_id": "l2", "target_event_id": "t", "label": "b", "labeled_at": "2026-03-02"}],
        home,
    )
    assert result.batch_seq == 2  # the uncommitted number is reused
    assert not (paths.landing / "labels" / f"{orphan}.parquet.tmp").exists()
    assert list((paths.quarantine / "labels").iterdir()) == []
    assert sorted(stored(home, "labels").event_id) == ["l1", "l2"]


def test_timestamps_without_offset_are_utc_whatever_the_host_zone(tmp_path: Path) -> None:
    """The contract takes an offset-less timestamp as UTC; DuckDB would read it in
    the session zone, which follows the host's TZ: ingest in New York to prove it."""
    home = tmp_path / "home"
    path = write(
        tmp_path / "calls.csv",
        CALL_HEADER + "\nz1,s,o,m,2026-03-01 00:30,1,1,1,0,ok,,"
        "\nz2,s,o,m,2026-03-01T23:30:00-02:00,1,1,1,0,ok,,\n",
    )
    code = (
        "import datetime as dt, sys\n"
        "from modelmart.ingest import ingest_file, ingest_records\n"
        "ingest_file(sys.argv[1], 'llm_calls', sys.argv[2])\n"
        "ingest_records('llm_calls', [dict(event_id='z3', session_id='s', provider='o', model='m', "
        "created_at=dt.datetime(2026, 3, 1, 0, 30), response_time_ms=1, tokens_input=1, "
        "tokens_output=1)], sys.argv[2])\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(path), str(home)],
        check=True,
        env={**os.environ, "TZ": "America/New_York"},
    )
    rows = stored(home, "llm_calls").set_index("event_id").created_at
    assert rows.to_dict() == {
        "z1": pd.Timestamp("2026-03-01 00:30"),
        "z2": pd.Timestamp("2026-03-02 01:30"),
        "z3": pd.Timestamp("2026-03-01 00:30"),
    }


def test_parquet_corrupt_past_its_footer_is_rejected_and_the_next_file_still_lands(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    inbox = tmp_path / "inbox" / "llm_calls"
    inbox.mkdir(parents=True)
    n = 5000
    table = pa.table(
        {
            "event_id": [f"c{i}" for i in range(n)],
            "session_id": ["s"] * n,
            "provider": ["o"] * n,
            "model": ["m"] * n,
            "created_at": pa.array([dt.datetime(2026, 3, 1)] * n, pa.timestamp("us")),
            "response_time_ms": [float(i) for i in range(n)],
            "tokens_input": [i for i in range(n)],
            "tokens_output": [1] * n,
        }
    )
    pq.write_table(table, inbox / "a_corrupt.parquet", compression="snappy")
    data = bytearray((inbox / "a_corrupt.parquet").read_bytes())
    # overwrite data pages, keep the footer (and its length and magic) intact
    footer_len = int.from_bytes(data[-8:-4], "little")
    for i in range(8, len(data) - footer_len - 8, 7):
        data[i] = 0xFF
    (inbox / "a_corrupt.parquet").write_bytes(bytes(data))
    # a UBIGINT beyond BIGINT's range is a wrong value in its row, not a crash
    big = pa.table(
        {
            **{name: table.column(name).slice(0, 2) for name in table.column_names},
            "tokens_input": pa.array([1, 2**63 + 5], pa.uint64()),
        }
    )
    pq.write_table(big, inbox / "b_big.parquet")
    cli = [sys.executable, "-m", "modelmart.cli", "--home", str(home)]
    run = subprocess.run(
        [*cli, "ingest", str(tmp_path / "inbox")], capture_output=True, text=True, check=False
    )
    assert "Traceback" not in run.stdout + run.stderr, run.stderr
    assert run.returncode == 1
    assert f"REJECTED {inbox / 'a_corrupt.parquet'}: cannot be read as PARQUET" in run.stdout
    assert "read=2 stored=1 duplicate=0 quarantined=1" in run.stdout
    assert stored(home, "llm_calls").event_id.tolist() == ["c0"]
    bad = quarantined(home, "llm_calls").iloc[0]
    assert (bad.source_row, bad.reason, bad.column_name) == (2, "wrong_type", "tokens_input")
    assert not list(get_paths(home).landing.glob("*/*.tmp"))


def test_features_with_the_same_content_are_duplicates_and_only_numbers_pass(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    base = PREDICTION
    first = ingest_records(
        "predictions", [{**base, "event_id": "f1", "features": {"a": 1, "b": 2}}], home
    )
    assert first.stored == 1
    again = ingest_records(
        "predictions",
        [
            {**base, "event_id": "f1", "features": {"b": 2, "a": 1}},  # other key order
            {**base, "event_id": "f1", "features": {"a": 1.0, "b": 2.0}},  # 1.0 for 1
            {**base, "event_id": "f1", "features": {"a": 1.5, "b": 2}},  # really different
            {**base, "event_id": "f2", "features": {"a": "1.5"}},  # a string, not a number
            {**base, "event_id": "f3", "features": {"a": True}},
        ],
        home,
    )
    assert_balanced(again)
    assert (again.stored, again.duplicates, again.quarantined) == (0, 2, 3)
    reasons = {
        (int(r.source_row), r.reason, r.column_name)
        for r in quarantined(home, "predictions").itertuples()
    }
    assert reasons == {
        (3, "conflict", "event_id"),
        (4, "wrong_type", "features"),
        (5, "wrong_type", "features"),
    }
    # the same event from Parquet (a map: values are doubles) is a duplicate as well
    path = tmp_path / "predictions" / "f.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "event_id": ["f1"],
                **{k: [v] for k, v in base.items() if k != "predicted_at"},
                "predicted_at": pa.array([dt.datetime(2026, 3, 1, 10)], pa.timestamp("us")),
                "features": pa.array(
                    [[("b", 2.0), ("a", 1.0)]], pa.map_(pa.string(), pa.float64())
                ),
            }
        ),
        path,
    )
    assert ingest_file(path, "predictions", home).duplicates == 1


def test_features_edge_cases_stored_canonically_or_quarantined(tmp_path: Path) -> None:
    """Keys that need escaping in a JSON path, an empty object, repeated keys, JSON
    null, a number beyond double's range and a nested object, written as raw JSON
    Lines text (json.dumps could not write some of them)."""
    home = tmp_path / "home"
    head = json.dumps({**PREDICTION, "event_id": "ID"})[:-1].replace('"ID"', '"{id}"')
    features = {
        "k1": '{"a/b~c": 2, "é\\"q": 1.50, "A": -0}',
        "k2": "{}",
        "k3": '{"a": 1, "a": 2}',
        "k4": '{"a": 1, "b": null}',
        "k5": '{"a": 1e999}',
        "k6": '{"a": {"x": 1}}',
        "k7": '{"b": 3, "a": 12345678901234567890}',
    }
    path = write(
        tmp_path / "predictions" / "f.jsonl",
        "".join(
            head.replace("{id}", event_id) + f', "features": {value}}}\n'
            for event_id, value in features.items()
        ),
    )
    result = ingest_file(path, "predictions", home)
    assert_balanced(result)
    rows = stored(home, "predictions").set_index("event_id")
    assert rows.features.to_dict() == {
        "k1": '{"A":0.0,"a/b~c":2.0,"é\\"q":1.5}',
        "k2": "{}",
        "k7": '{"a":12345678901234567000.0,"b":3.0}',
    }
    bad = quarantined(home, "predictions")
    assert sorted(zip(bad.event_id, bad.reason, bad.column_name, strict=True)) == [
        (k, "wrong_type", "features") for k in ("k3", "k4", "k5", "k6")
    ]


def test_csv_row_numbers_count_blank_lines_and_quoted_newlines(tmp_path: Path) -> None:
    """Row n is the n-th record after the header as a text editor shows the file
    (blank lines keep their number; a quoted newline does not start a record)."""
    home = tmp_path / "home"
    path = write(
        tmp_path / "labels.csv",
        "event_id,target_event_id,label,labeled_at\n"
        "e1,t,a,2026-01-01\n"
        "\n"
        "e2,t,a,2026-01-01,extra\n"
        "e3,t,a,2026-01-01\n"
        '"e4\nx",t,a,2026-01-01\n'
        "e5,t,a\n",
    )
    result = ingest_file(path, "labels", home)
    assert_balanced(result)
    rows = stored(home, "labels")
    assert dict(zip(rows.event_id, rows._source_row, strict=True)) == {"e1": 1, "e3": 4, "e4\nx": 5}
    bad = quarantined(home, "labels")
    assert [(int(r.source_row), r.reason) for r in bad.itertuples()] == [
        (3, "malformed_csv_row"),
        (6, "malformed_csv_row"),
    ]


def test_jsonl_with_a_byte_order_mark_reads_its_first_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    line = json.dumps({**PREDICTION, "event_id": "bom1"})
    path = tmp_path / "p.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + line.encode() + b"\n")
    result = ingest_file(path, "predictions", home)
    assert (result.read, result.stored, result.quarantined) == (1, 1, 0)
