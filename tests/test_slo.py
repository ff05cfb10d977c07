"""Hourly facts and SLOs against an independent pandas computation.

Fixture (three UTC days of LLM calls and predictions, two ingestion batches):
- a three-hour gap without any call (no data: SLI NULL, not 100 % good; the
  freshness SLI goes bad once the newest call is older than its threshold);
- an afternoon of errors that exhausts the availability budget mid-period, after
  which the rolling one-day period recovers;
- a late second batch: calls on an earlier day and labels for earlier
  predictions, built incrementally, must give the same marts as the reference;
- an accuracy SLO against a fixed objective and one relative to the baseline of
  the version's reference window.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from modelmart.config import get_paths
from modelmart.ingest import ingest_records
from tests.conftest import PROJECT, project_copy, run_cli

pytestmark = pytest.mark.slow

SLOS = """slo_id,description,sli_kind,objective,threshold,period_days,stream,provider,model,team,model_name,model_version
avail_all,all calls succeed,availability,0.9,,1,,,,,,
lat_openai,openai within 300 ms,latency,0.8,300,2,,openai,,,,
lat_support,support within 500 ms,latency,0.7,500,,,,,support,,
acc_fixed,churn accuracy 60 %,accuracy,0.6,,1,,,,,churn,
acc_baseline,churn within 10 % of baseline,accuracy,,0.1,2,,,,,churn,v1
fresh_calls,newest call under 90 min,freshness,0.95,90,1,llm_calls,,,,,
"""
REFERENCE_WINDOWS = (
    "model_name,model_version,reference_start,reference_end\nchurn,v1,2026-10-01,2026-10-01\n"
)
START = pd.Timestamp("2026-10-01 00:00:00")
HOURS = 72
GAP = range(29, 32)  # 2026-10-02 05:00 .. 07:59: no call at all
ERROR_BURST = range(38, 44)  # 2026-10-02 14:00 .. 19:59: most calls fail


def make_calls(rng: np.random.Generator, prefix: str, hours: range, per_hour: int) -> list[dict]:
    rows = []
    for hour in hours:
        if hour in GAP:
            continue
        for i in range(per_hour + int(rng.integers(0, 3))):
            provider = ["openai", "anthropic"][i % 2]
            error_share = 0.8 if hour in ERROR_BURST else 0.05
            at = START + pd.Timedelta(hours=hour, seconds=int(rng.integers(0, 3600)))
            row = {
                "event_id": f"{prefix}{hour}-{i}",
                "session_id": f"s{hour}-{i // 3}",
                "provider": provider,
                "model": "gpt-4o" if provider == "openai" else "claude-haiku-4",
                "created_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "response_time_ms": float(np.round(rng.gamma(3, 100), 1)),
                "tokens_input": int(rng.integers(50, 500)),
                "tokens_output": int(rng.integers(5, 50)),
                "status": "error" if rng.random() < error_share else "ok",
            }
            if i % 3:
                row["team"] = ["support", "sales"][i % 2]
            rows.append(row)
    return rows


def make_predictions(rng: np.random.Generator) -> tuple[list[dict], list[dict]]:
    preds, labels = [], []
    for hour in range(0, HOURS, 2):  # every other hour: the hours between have no data
        for i in range(4):
            version = "v1" if i < 3 else "v2"
            at = START + pd.Timedelta(hours=hour, minutes=int(rng.integers(0, 60)))
            pid = f"p{hour}-{i}"
            label = ["stay", "churn"][int(rng.integers(0, 2))]
            preds.append(
                {
                    "event_id": pid,
                    "model_name": "churn",
                    "model_version": version,
                    "predicted_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "predicted_label": label,
                    "score": 0.7,
                    "latency_ms": float(10 + i),
                }
            )
            if rng.random() < 0.8:
                truth = label if rng.random() < (0.9 if hour < 24 else 0.6) else "other"
                labels.append(
                    {
                        "event_id": f"l{pid}",
                        "target_event_id": pid,
                        "label": truth,
                        "labeled_at": (at + pd.Timedelta(hours=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    }
                )
    return preds, labels


RNG = np.random.default_rng(20261201)
CALLS_1 = make_calls(RNG, "a", range(0, HOURS), 6)
CALLS_2 = make_calls(RNG, "b", range(10, 14), 2)  # late calls on day one
PREDS, LABELS = make_predictions(RNG)
LABELS_1, LABELS_2 = LABELS[::2], LABELS[1::2]  # half the labels arrive in batch 2


# ----------------------------------------------------------------- reference


def burn_alerts() -> list[dict]:
    project = yaml.safe_load((PROJECT / "dbt_project.yml").read_text())
    return project["vars"]["slo_burn_alerts"]


def calls_frame(calls: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(calls)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True).dt.tz_convert(None)
    frame["hour"] = frame["created_at"].dt.floor("h")
    frame["team"] = frame["team"].fillna("unassigned")
    frame["is_error"] = frame["status"].eq("error")
    return frame


def preds_frame(preds: list[dict], labels: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(preds)
    frame["predicted_at"] = pd.to_datetime(frame["predicted_at"], utc=True).dt.tz_convert(None)
    frame["hour"] = frame["predicted_at"].dt.floor("h")
    truth = pd.DataFrame(labels).set_index("target_event_id")["label"]
    frame["labeled"] = frame["event_id"].isin(truth.index)
    frame["correct"] = frame["event_id"].map(truth).eq(frame["predicted_label"])
    return frame


def ref_usage_hourly(calls: pd.DataFrame) -> pd.DataFrame:
    def pct(values: pd.Series, q: float) -> float:
        return float(np.percentile(values, q))

    rows = []
    for (hour, provider, model, team), g in calls.groupby(["hour", "provider", "model", "team"]):
        rows.append(
            {
                "usage_hour": hour,
                "provider": provider,
                "model": model,
                "team": team,
                "calls": len(g),
                "errors": int(g.is_error.sum()),
                "latency_p50_ms": pct(g.response_time_ms, 50),
                "latency_p95_ms": pct(g.response_time_ms, 95),
                "latency_p99_ms": pct(g.response_time_ms, 99),
                "tokens_total": int((g.tokens_input + g.tokens_output).sum()),
            }
        )
    return pd.DataFrame(rows)


def ref_slo_status(calls: pd.DataFrame, preds: pd.DataFrame) -> pd.DataFrame:
    slos = pd.read_csv(pd.io.common.StringIO(SLOS))
    frames = []
    for slo in slos.itertuples():
        source = preds if slo.sli_kind == "accuracy" else calls
        hours = pd.date_range(source.hour.min(), source.hour.max(), freq="h")
        if slo.sli_kind in ("availability", "latency"):
            scoped = calls
            for column in ("provider", "model", "team"):
                value = getattr(slo, column)
                if isinstance(value, str):
                    scoped = scoped[scoped[column] == value]
            good_flag = (
                ~scoped.is_error
                if slo.sli_kind == "availability"
                else scoped.response_time_ms <= slo.threshold
            )
            good = good_flag.groupby(scoped.hour).sum()
            total = scoped.groupby("hour").size()
        elif slo.sli_kind == "accuracy":
            scoped = preds[preds.model_name == slo.model_name]
            if isinstance(slo.model_version, str):
                scoped = scoped[scoped.model_version == slo.model_version]
            good = scoped.correct.groupby(scoped.hour).sum()
            total = scoped.labeled.groupby(scoped.hour).sum()
        else:  # freshness: the newest call at each hour's end
            ends = hours + pd.Timedelta(hours=1)
            newest = np.array(
                [calls.created_at[calls.created_at < end].max() for end in ends],
                dtype="datetime64[ns]",
            )
            fresh = newest >= (ends - pd.Timedelta(minutes=slo.threshold)).to_numpy()
            good = pd.Series(fresh.astype(int), index=hours)
            total = pd.Series(1, index=hours)
        frame = pd.DataFrame(index=hours)
        frame["good"] = good.reindex(hours, fill_value=0).astype(float)
        frame["total"] = total.reindex(hours, fill_value=0).astype(float)
        objective = slo.objective
        baseline = np.nan
        if np.isnan(objective):  # relative to the baseline: reference window = 2026-10-01
            ref = preds[
                (preds.model_name == slo.model_name)
                & (preds.model_version == slo.model_version)
                & (preds.predicted_at.dt.date == pd.Timestamp("2026-10-01").date())
            ]
            baseline = ref.correct.sum() / ref.labeled.sum()
            objective = baseline * (1 - slo.threshold)
        budget = 1 - objective
        period = int(slo.period_days if not np.isnan(slo.period_days) else 30) * 24
        bad = frame.total - frame.good

        def burn(window: int, bad=bad, frame=frame, budget=budget) -> pd.Series:
            b = bad.rolling(window, min_periods=1).sum()
            t = frame.total.rolling(window, min_periods=1).sum()
            return (b / t.where(t > 0)) / budget

        frame["sli"] = frame.good / frame.total.where(frame.total > 0)
        frame["objective"] = objective
        frame["baseline_accuracy"] = baseline
        frame["error_budget"] = budget
        for name, window in (("1h", 1), ("2h", 2), ("6h", 6), ("1d", 24), ("3d", 72)):
            frame[f"burn_rate_{name}"] = burn(window)
        frame["burn_rate_period"] = burn(period)
        frame["good_period"] = frame.good.rolling(period, min_periods=1).sum()
        frame["total_period"] = frame.total.rolling(period, min_periods=1).sum()
        frame["budget_consumed"] = frame.burn_rate_period
        frame["budget_remaining"] = 1 - frame.burn_rate_period
        for action in ("page", "ticket"):
            fires = pd.Series(False, index=hours)
            for entry in burn_alerts():
                if entry["action"] != action:
                    continue
                long = burn(entry["long_hours"]).fillna(0) > entry["factor"]
                short = burn(entry["short_hours"]).fillna(0) > entry["factor"]
                fires |= long & short
            frame[f"is_{action}"] = fires
        frame["budget_state"] = np.select(
            [frame.total_period == 0, frame.burn_rate_period >= 1, frame.budget_remaining < 0.2],
            ["no_data", "exhausted", "warning"],
            "ok",
        )
        frame["slo_id"] = slo.slo_id
        frames.append(frame.rename_axis("status_hour").reset_index())
    return pd.concat(frames, ignore_index=True)


def ref_slo_alerts(status: pd.DataFrame) -> pd.DataFrame:
    rows = []
    metric = {"page": "burn_rate_1h", "ticket": "burn_rate_1d"}
    for slo_id, g in status.groupby("slo_id"):
        g = g.sort_values("status_hour").reset_index(drop=True)
        for action in ("page", "ticket"):
            on = g[f"is_{action}"].to_numpy()
            run_id = np.cumsum(np.r_[True, on[1:] != on[:-1]])
            for _, run in g[on].groupby(run_id[on]):
                rows.append(
                    {
                        "rule_id": f"slo:{slo_id}:{action}",
                        "first_hour": run.status_hour.iloc[0],
                        "last_hour": run.status_hour.iloc[-1],
                        "last_value": run[metric[action]].iloc[-1],
                        "worst_value": run[metric[action]].max(),
                        "is_active": run.status_hour.iloc[-1] == g.status_hour.iloc[-1],
                    }
                )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------- system under test


def query(home: Path, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(get_paths(home).warehouse), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def build(home: Path, env: dict[str, str]) -> None:
    run = run_cli(home, "build", "--quiet", env=env, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    copy = project_copy(tmp_path_factory.mktemp("slo-project"))
    (copy / "seeds" / "slos.csv").write_text(SLOS)
    (copy / "seeds" / "drift_reference_windows.csv").write_text(REFERENCE_WINDOWS)
    return {**os.environ, "MODELMART_PROJECT_DIR": str(copy)}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, project: dict[str, str]) -> Path:
    home = tmp_path_factory.mktemp("slo-home")
    ingest_records("llm_calls", CALLS_1, home)
    ingest_records("predictions", PREDS, home)
    ingest_records("labels", LABELS_1, home)
    build(home, project)
    return home


def compare_status(home: Path, calls: list[dict], labels: list[dict]) -> pd.DataFrame:
    want = ref_slo_status(calls_frame(calls), preds_frame(PREDS, labels))
    got = query(home, "select * from marts.fct_slo_status")
    keys = ["slo_id", "status_hour"]
    got = got.sort_values(keys).reset_index(drop=True)
    want = want.sort_values(keys).reset_index(drop=True)
    assert got[keys].astype(str).values.tolist() == want[keys].astype(str).values.tolist()
    numeric = [
        "good", "total", "sli", "objective", "error_budget", "baseline_accuracy",
        "burn_rate_1h", "burn_rate_2h", "burn_rate_6h", "burn_rate_1d", "burn_rate_3d",
        "burn_rate_period", "good_period", "total_period", "budget_consumed", "budget_remaining",
    ]  # fmt: skip
    for column in numeric:
        g = got[column].astype(float).to_numpy()
        w = want[column].astype(float).to_numpy()
        assert np.array_equal(np.isnan(g), np.isnan(w)), column
        assert np.allclose(g[~np.isnan(g)], w[~np.isnan(w)], rtol=1e-9), column
    for column in ("is_page", "is_ticket", "budget_state"):
        assert got[column].tolist() == want[column].tolist(), column
    latest = got.groupby("slo_id").status_hour.transform("max")
    assert got.is_latest.tolist() == (got.status_hour == latest).tolist()
    return want


def compare_alerts(home: Path, status: pd.DataFrame) -> None:
    want = ref_slo_alerts(status)
    got = query(home, "select * from marts.fct_alerts where mart = 'fct_slo_status'")
    got["first_hour"] = pd.to_datetime(got.alert_id.str.rsplit(":", n=3).str[-3:].str.join(":"))
    keys = ["rule_id", "first_hour"]
    got = got.sort_values(keys).reset_index(drop=True)
    want = want.sort_values(keys).reset_index(drop=True)
    assert len(want) > 0
    assert got[keys].astype(str).values.tolist() == want[keys].astype(str).values.tolist()
    assert pd.to_datetime(got.last_seen_date).dt.date.tolist() == [h.date() for h in want.last_hour]
    assert np.allclose(got.last_value, want.last_value) and np.allclose(
        got.worst_value, want.worst_value
    )
    assert got.is_active.tolist() == want.is_active.tolist()
    assert set(got.severity) <= {"critical", "warning"}
    assert (
        got.severity == np.where(got.rule_id.str.endswith(":page"), "critical", "warning")
    ).all()


def test_hourly_usage_equals_reference_and_reconciles_with_daily(home: Path) -> None:
    want = ref_usage_hourly(calls_frame(CALLS_1))
    got = query(home, "select * from marts.fct_llm_usage_hourly")
    keys = ["usage_hour", "provider", "model", "team"]
    got = got.sort_values(keys).reset_index(drop=True)
    want = want.sort_values(keys).reset_index(drop=True)
    assert got[keys].astype(str).values.tolist() == want[keys].astype(str).values.tolist()
    for column in want.columns.difference(keys):
        assert np.allclose(got[column].astype(float), want[column].astype(float)), column
    # Σ hours = the day, every additive column
    daily = query(
        home,
        """
        select d.usage_date, d.provider, d.model, d.team,
               any_value(d.calls) - sum(h.calls) as calls,
               any_value(d.errors) - sum(h.errors) as errors,
               any_value(d.tokens_total) - sum(h.tokens_total) as tokens,
               coalesce(any_value(d.cost_usd), 0) - coalesce(sum(h.cost_usd), 0) as cost
        from marts.fct_llm_usage_daily as d
        join marts.fct_llm_usage_hourly as h using (usage_date, provider, model, team)
        group by d.usage_date, d.provider, d.model, d.team
        """,
    )
    assert len(daily) == query(home, "select count(*) n from marts.fct_llm_usage_daily").n[0]
    assert (daily[["calls", "errors", "tokens"]] == 0).all().all()
    assert np.allclose(daily.cost, 0)


def test_slo_status_equals_pandas_reference(home: Path) -> None:
    status = compare_status(home, CALLS_1, LABELS_1)
    gap = status[
        (status.slo_id == "avail_all")
        & status.status_hour.isin(START + pd.to_timedelta(list(GAP), "h"))
    ]
    # an hour with no traffic has no data: total 0, SLI NULL, never 100 % good
    assert (gap.total == 0).all() and gap.sli.isna().all() and gap.burn_rate_1h.isna().all()
    # the error burst exhausts the one-day budget mid-period, the period later recovers
    avail = status[status.slo_id == "avail_all"].reset_index(drop=True)
    exhausted = avail.index[avail.budget_state == "exhausted"]
    assert len(exhausted) > 0 and exhausted[0] > 0 and exhausted[-1] < len(avail) - 1
    assert avail.budget_state.iloc[-1] != "exhausted"
    assert avail.is_page.any() and avail.is_ticket.any()
    # the stream's gap makes freshness bad for the hours past its 90 minutes
    fresh = status[status.slo_id == "fresh_calls"].set_index("status_hour")
    assert fresh.good.loc[START + pd.Timedelta(hours=31)] == 0
    assert fresh.good.loc[START + pd.Timedelta(hours=28)] == 1


def test_slo_alerts_join_the_alerts_mart(home: Path) -> None:
    compare_alerts(home, compare_status(home, CALLS_1, LABELS_1))


def test_incremental_build_with_late_data_equals_reference(
    home: Path, project: dict[str, str]
) -> None:
    ingest_records("llm_calls", CALLS_2, home)
    ingest_records("labels", LABELS_2, home)
    build(home, project)
    calls = CALLS_1 + CALLS_2
    want = ref_usage_hourly(calls_frame(calls))
    got = query(home, "select * from marts.fct_llm_usage_hourly order by all")
    assert got.calls.sum() == len(calls) and len(got) == len(want)
    quality = query(
        home,
        "select model_name, model_version, sum(predictions) p, sum(labeled) l, sum(correct) c "
        "from marts.fct_model_quality_hourly group by all order by all",
    )
    preds = preds_frame(PREDS, LABELS)
    ref = preds.groupby(["model_name", "model_version"]).agg(
        p=("event_id", "size"), l=("labeled", "sum"), c=("correct", "sum")
    )
    assert quality[["p", "l", "c"]].values.tolist() == ref.values.tolist()
    compare_alerts(home, compare_status(home, calls, LABELS))


def test_bad_slo_rows_fail_the_build_naming_the_row(tmp_path: Path) -> None:
    copy = project_copy(tmp_path)
    path = copy / "seeds" / "slos.csv"
    path.write_text(
        path.read_text().rstrip("\n")
        + "\nbad_kind,x,speed,0.9,,,,,,,,\nbad_objective,x,availability,99.9,,,,,,,,"
        + "\nbad_scope,x,freshness,0.9,60,,llm_calls,openai,,,,\n"
    )
    home = tmp_path / "home"
    ingest_records("llm_calls", CALLS_1[:5], home)
    failed = run_cli(
        home, "build", "--quiet", env={**os.environ, "MODELMART_PROJECT_DIR": str(copy)}
    )
    out = failed.stdout + failed.stderr
    assert failed.returncode == 1, out
    assert "invalid SLOs" in out
    rows = len(path.read_text().splitlines())
    assert f"seeds/slos.csv row {rows - 2} (slo bad_kind): unknown sli_kind 'speed'" in out
    assert (
        f"row {rows - 1} (slo bad_objective): objective 99.9 must lie strictly between 0 and 1"
        in out
    )
    assert (
        f"row {rows} (slo bad_scope): scope column provider does not apply to a freshness SLO"
        in out
    )
    assert "Traceback" not in out
    assert not get_paths(home).warehouse.exists()
