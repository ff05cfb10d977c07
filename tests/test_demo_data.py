"""The demo generator: deterministic, contract-shaped, and carrying its incidents."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from modelmart.contract import CONTRACT
from modelmart.demo_data import EXPERIMENTS, SPIKE_DAYS, DemoConfig, generate, pricing_rows

SMALL = DemoConfig(days=50, llm_calls_per_day=300, predictions_per_day=200, seed=3)


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(folder.rglob("*")):
        if f.is_file():
            h.update(f.relative_to(folder).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    generate(out, SMALL)
    return out


def rows(demo: Path, stream: str, pattern: str, reader: str) -> list[tuple]:
    con = duckdb.connect()
    try:
        return con.execute(f"select * from {reader}('{demo / stream / pattern}')").fetchall()
    finally:
        con.close()


def test_same_seed_same_files(demo: Path, tmp_path: Path) -> None:
    generate(tmp_path, SMALL)
    assert digest(tmp_path) == digest(demo)
    other = tmp_path / "other"
    generate(other, DemoConfig(days=50, llm_calls_per_day=300, predictions_per_day=200, seed=4))
    assert digest(other) != digest(demo)


def test_every_stream_has_its_contract_columns(demo: Path) -> None:
    con = duckdb.connect()
    try:
        for stream, reader, pattern in (
            ("llm_calls", "read_parquet", "part-*.parquet"),
            ("predictions", "read_json_auto", "part-*.jsonl"),
            ("labels", "read_csv_auto", "part-*.csv"),
            ("business_events", "read_csv_auto", "part-*.csv"),
        ):
            columns = {
                r[0]
                for r in con.execute(
                    f"describe select * from {reader}('{demo / stream / pattern}')"
                ).fetchall()
            }
            assert set(CONTRACT[stream].required) <= columns, stream
    finally:
        con.close()


def test_incidents_are_present(demo: Path) -> None:
    con = duckdb.connect()
    try:
        calls = f"read_parquet('{demo / 'llm_calls' / 'part-*.parquet'}')"
        start = con.execute(f"select min(created_at)::date from {calls}").fetchall()[0][0]
        p95 = dict(
            con.execute(
                f"select (created_at::date - date '{start}') in {tuple(SPIKE_DAYS)} as spike, "
                f"quantile_cont(response_time_ms, 0.95) from {calls} where provider = 'anthropic' group by 1"
            ).fetchall()
        )
        assert p95[True] > 1200 > p95[False]
        models = {r[0] for r in con.execute(f"select distinct model from {calls}").fetchall()}
        priced = {r["model"] for r in pricing_rows()}
        assert "mistral-large" in models - priced  # an unpriced model
        duplicated = con.execute(
            f"select count(*) - count(distinct event_id) from {calls}"
        ).fetchall()[0][0]
        assert duplicated > 0
        # labels arrive after their targets, by hours to days
        delays = np.array(
            [
                r[0]
                for r in con.execute(
                    f"select epoch(l.labeled_at::timestamp - c.created_at) / 3600 from read_csv_auto("
                    f"'{demo / 'labels' / 'part-*.csv'}') l join {calls} c on c.event_id = l.target_event_id"
                ).fetchall()
            ]
        )
        assert delays.min() > 0 and delays.max() > 24
    finally:
        con.close()
    changes = [r for r in pricing_rows() if r["model"] == "gpt-4o"]
    assert (
        len(changes) == 2 and changes[0]["input_usd_per_mtok"] != changes[1]["input_usd_per_mtok"]
    )


def test_seed_file_matches_the_generators_price_table() -> None:
    seed = Path(__file__).resolve().parents[1] / "seeds" / "llm_pricing.csv"
    con = duckdb.connect()
    try:
        stored = con.execute(f"select * from read_csv('{seed}', all_varchar=true)").fetchall()
    finally:
        con.close()
    expected = [r for r in pricing_rows()]
    assert len(stored) == len(expected)
    for got, want in zip(stored, expected, strict=True):
        assert got[:3] == (want["provider"], want["model"], want["effective_from"])
        assert float(got[3]) == want["input_usd_per_mtok"]
        assert (float(got[5]) if got[5] else None) == want["cached_input_usd_per_mtok"]


def test_clean_config_has_no_bad_rows(tmp_path: Path) -> None:
    generate(
        tmp_path, DemoConfig(days=5, llm_calls_per_day=100, predictions_per_day=50, bad_rows=False)
    )
    assert not list(tmp_path.rglob("*malformed*"))
    con = duckdb.connect()
    try:
        dupes = con.execute(
            f"select count(*) - count(distinct event_id) from read_parquet('{tmp_path}/llm_calls/*.parquet')"
        ).fetchall()[0][0]
    finally:
        con.close()
    assert dupes == 0


def test_experiments_come_from_their_own_stream(demo: Path, tmp_path: Path, monkeypatch) -> None:
    """Without the experiment events every other file is byte for byte the same, and
    the experiment files hold the configured experiments with their true effects."""
    import modelmart.demo_data as demo_data

    monkeypatch.setattr(
        demo_data,
        "_experiment_events",
        lambda *a: pd.DataFrame({"occurred_at": pd.Series([], dtype="datetime64[ns]")}),
    )
    generate(tmp_path, SMALL)
    for path in sorted(demo.rglob("*")):
        if path.is_file() and "experiments" not in path.name:
            assert path.read_bytes() == (tmp_path / path.relative_to(demo)).read_bytes(), path
    con = duckdb.connect()
    try:
        exposures = dict(
            con.execute(
                f"select experiment, count(distinct user_id) from read_csv_auto("
                f"'{demo / 'business_events' / '*-experiments.csv'}') where event_type = 'exposure' "
                "group by 1"
            ).fetchall()
        )
    finally:
        con.close()
    assert set(exposures) == {name for name, *_ in EXPERIMENTS}
    seeded = pd.read_csv(Path(__file__).resolve().parents[1] / "seeds" / "experiments.csv")
    assert {name for name, *_ in EXPERIMENTS} <= set(seeded.experiment)
