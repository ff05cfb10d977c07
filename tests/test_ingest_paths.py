"""The fast file path of ``modelmart.ingest`` (issue 11): one typed pass writes the
landing file and only the rows that need it are typed again by row number (repeated
or stored ids, bad rows), as constants or, past a limit, through a semi-join. Both
ways give the outcome computed here independently with pandas. Also: JSON Lines are
cut into lines as Python's own line iteration does, one in-memory database serves
every ingest of a process with nothing left from one to the next, and the file path
never imports pandas.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelmart.ingest import dedupe, ingest_file
from tests.test_ingest import CALL_HEADER, assert_balanced, quarantined, stored, write


def _calls_csv(path: Path, ids: list[str], tokens: list[int]) -> Path:
    lines = [CALL_HEADER] + [
        f"{i},s1,openai,gpt-4o,2026-03-01T10:00:00Z,120,{t},5,0,ok,search,qa"
        for i, t in zip(ids, tokens, strict=True)
    ]
    return write(path, "\n".join(lines) + "\n")


def _expected(ids: list[str], tokens: list[int], stored_tokens: dict[str, int]) -> pd.Series:
    """Outcome of each row, computed from the contract's rules with pandas."""
    frame = pd.DataFrame({"id": ids, "tokens": tokens})
    first = frame.groupby("id")["tokens"].transform("first")
    earlier = frame.groupby("id").cumcount() > 0
    known = frame["id"].map(stored_tokens)
    outcome = np.where(
        known.notna(),
        np.where(known == frame["tokens"], "duplicate", "conflict"),
        np.where(~earlier, "store", np.where(first == frame["tokens"], "duplicate", "conflict")),
    )
    return pd.Series(outcome, index=np.arange(1, len(frame) + 1))


@pytest.mark.parametrize("listed", [True, False], ids=["row-numbers-as-constants", "semi-join"])
def test_repeats_and_stored_ids_classified_alike_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, listed: bool
) -> None:
    if not listed:  # force the semi-join that very many special rows take
        monkeypatch.setattr(dedupe, "_MAX_LISTED_ROWS", 0)
    home = tmp_path / "home"
    rng = np.random.default_rng(3)
    # history: 300 ids; the batch repeats some of them (same or other tokens) and
    # repeats its own ids within the file, same content or not
    history = [f"c{n:05d}" for n in range(300)]
    first = ingest_file(_calls_csv(tmp_path / "a.csv", history, [10] * 300), "llm_calls", home)
    assert (first.stored, first.duplicates, first.quarantined) == (300, 0, 0)
    ids = [f"c{n:05d}" for n in rng.integers(200, 700, 2000)]
    tokens = [int(t) for t in rng.choice([10, 10, 10, 11], 2000)]
    result = ingest_file(_calls_csv(tmp_path / "b.csv", ids, tokens), "llm_calls", home)
    expected = _expected(ids, tokens, dict.fromkeys(history, 10))
    counts = expected.value_counts()
    assert result.stored == counts.get("store", 0)
    assert result.duplicates == counts.get("duplicate", 0)
    assert result.quarantined == counts.get("conflict", 0)
    assert_balanced(result)
    rows = stored(home, "llm_calls")
    batch = rows[rows["_batch_seq"] == result.batch_seq]
    assert batch["_source_row"].tolist() == expected.index[expected == "store"].tolist()
    assert batch["event_id"].is_unique and not set(batch["event_id"]) & set(history)
    bad = quarantined(home, "llm_calls")
    assert bad["source_row"].tolist() == expected.index[expected == "conflict"].tolist()
    assert set(bad["reason"]) == {"conflict"}


@pytest.mark.parametrize("listed", [True, False], ids=["row-numbers-as-constants", "semi-join"])
def test_bad_rows_found_by_number_keep_their_reasons(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, listed: bool
) -> None:
    if not listed:
        monkeypatch.setattr(dedupe, "_MAX_LISTED_ROWS", 0)
    home = tmp_path / "home"
    lines = [CALL_HEADER]
    reasons = {}
    for n in range(1, 1201):
        tokens, when = "7", "2026-03-01T10:00:00Z"
        if n % 7 == 0:
            tokens, reasons[n] = "-1", ("out_of_range", "tokens_input")
        elif n % 11 == 0:
            when, reasons[n] = "soon", ("wrong_type", "created_at")
        lines.append(f"e{n},s1,openai,gpt-4o,{when},120,{tokens},5,0,ok,search,qa")
    result = ingest_file(write(tmp_path / "c.csv", "\n".join(lines) + "\n"), "llm_calls", home)
    assert (result.stored, result.quarantined) == (1200 - len(reasons), len(reasons))
    assert_balanced(result)
    bad = quarantined(home, "llm_calls")
    got = {int(r.source_row): (r.reason, r.column_name) for r in bad.itertuples(index=False)}
    assert got == reasons
    assert bad.loc[bad["column_name"] == "created_at", "bad_value"].eq("soon").all()
    # the raw row is the given one, for every bad row
    raw = [json.loads(r) for r in bad["raw_row"]]
    assert [r["event_id"] for r in raw] == [f"e{n}" for n in sorted(reasons)]


def _python_lines(data: bytes) -> list[str]:
    """Lines as the contract numbers them: split on LF only (a last LF ends the last
    line), every CR dropped, a byte-order mark not part of the first."""
    parts = data.split(b"\n")
    if data.endswith(b"\n"):
        parts = parts[:-1]
    out = [line.decode("utf-8").replace("\r", "") for line in parts]
    if out and out[0].startswith("\ufeff"):
        out[0] = out[0][1:]
    return out


def test_jsonl_lines_numbered_as_a_text_editor_shows_them(tmp_path: Path) -> None:
    home = tmp_path / "home"
    good = '{"event_id": "%s", "model_name": "m", "model_version": "v1", '
    good += '"predicted_at": "2026-03-01T10:00:00Z", "predicted_label": "stay", "score": 0.5}'
    data = (
        (
            "\ufeff" + good % "p1" + "\r\n"  # mark and CRLF
            "\n"  # blank line: counted, not a problem
            "not json\r\n"
            + good % "p2"
            + "\n[1, 2]\n"  # an array is not an object
            + '{"a\r": 1}\n'  # CR inside a line is dropped with the others
            + good % "p3"  # last line without a newline
        ).encode()
    )
    path = tmp_path / "in.jsonl"
    path.write_bytes(data)
    lines = _python_lines(data)
    result = ingest_file(path, "predictions", home)
    assert result.stored == 3 and result.read == len([t for t in lines if t.strip()])
    got = stored(home, "predictions")
    assert got["_source_row"].tolist() == [
        n for n, t in enumerate(lines, 1) if t.startswith('{"event_id"')
    ]
    bad = quarantined(home, "predictions")
    malformed = [n for n, t in enumerate(lines, 1) if t in ("not json", "[1, 2]")]
    assert bad.loc[bad["reason"] == "malformed_json", "source_row"].tolist() == malformed
    # the object whose key held a CR parsed without it: missing required columns
    assert bad.loc[bad["source_row"] == 6, "reason"].tolist() == ["missing_required"]


def test_one_database_per_process_and_nothing_left_between_ingests(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = _calls_csv(tmp_path / "a.csv", ["x1", "x2"], [3, 3])
    second = _calls_csv(tmp_path / "b.csv", ["x3", "x2"], [3, 4])
    assert ingest_file(first, "llm_calls", home).stored == 2
    # nothing of the first ingest's temp tables is seen by the next (x2 conflicts
    # with the stored row, not with a leftover of the first batch's own tables)
    result = ingest_file(second, "llm_calls", home)
    assert (result.stored, result.quarantined, result.reasons) == (1, 1, {"conflict": 1})
    third = _calls_csv(tmp_path / "c.csv", ["x4", "x4"], [1, 1])
    result = ingest_file(third, "llm_calls", home)
    assert (result.stored, result.duplicates) == (1, 1)
    assert sorted(stored(home, "llm_calls")["event_id"]) == ["x1", "x2", "x3", "x4"]


def test_the_file_path_never_imports_pandas(tmp_path: Path) -> None:
    csv = _calls_csv(tmp_path / "in" / "llm_calls" / "a.csv", ["a", "a", "b"], [1, 2, 1])
    jsonl = write(tmp_path / "in" / "predictions" / "p.jsonl", "{}\nnot json\n")
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from modelmart.ingest import ingest_file\n"
        f"print(ingest_file(Path({str(csv)!r}), 'llm_calls', {str(tmp_path / 'h')!r}).summary())\n"
        f"print(ingest_file(Path({str(jsonl)!r}), 'predictions', {str(tmp_path / 'h')!r}).summary())\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines()[-1] == "False", out
    assert "stored=2 duplicate=0 quarantined=1" in out
