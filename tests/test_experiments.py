"""Experiment marts against independent numpy/scipy computations on a dbt-built fixture.

Three experiments, configured in the project copy's experiments seed:

- ``pub``: the issue's published case, 0.10 vs 0.12 conversion with 1,000 users each;
- ``srm``: 5,000 vs 5,200 users at 50/50 (χ² p 0.04767, not flagged);
- ``mix``: three variants, every metric and the hard cases: users exposed to two
  variants (excluded, counted), repeated exposures to one variant (the first
  counts), exposures outside the dates or to an unconfigured experiment (ignored),
  events linked only through a session named by another event of the user, events
  before the exposure (CUPED's covariate), after the window (left out), refunds,
  tickets resolved by agent or human, LLM calls in and out of the window, unpriced
  calls, a broken split (SRM).

Built in two batches (the second holds the late events, a late exposure that makes a
user multi-variant, and late session links): the incremental result must equal the
reference computed on all events.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from modelmart.ingest import ingest_records
from tests.conftest import project_copy, run_cli

pytestmark = pytest.mark.slow

EXPERIMENTS_CSV = """experiment,description,control_variant,variants,traffic_split,start_date,end_date,primary_metric,secondary_metrics,guardrail_metrics,conversion_window_days,alpha,mde_relative,power,pre_exposure_days,sequential_n_star
pub,published case,control,control|treat,0.5|0.5,2026-03-01,2026-03-10,conversion,,,7,0.05,0.2,0.8,14,5000
srm,published SRM case,control,control|treat,0.5|0.5,2026-03-01,2026-03-10,conversion,,,7,,0.2,,,
mix,every metric,control,control|b|c,0.4|0.3|0.3,2026-03-01,2026-03-15,conversion,revenue_per_user|agent_resolution_rate,llm_cost_per_user|llm_latency_p95_ms,5,0.1,0.3,0.9,7,2000
"""
START = pd.Timestamp("2026-03-01", tz="UTC")
SPLIT = pd.Timestamp("2026-03-12", tz="UTC")  # batch 1: events before; batch 2: the rest
PRICE = {"input": 0.15, "output": 0.60, "cached": 0.075}  # gpt-4o-mini in seeds/llm_pricing.csv
CONFIG = pd.read_csv(pd.io.common.StringIO(EXPERIMENTS_CSV))


def at(day: float) -> pd.Timestamp:
    return START + pd.Timedelta(days=day)


def published_events() -> list[dict]:
    events = []
    for experiment, counts, converters in (
        ("pub", (1000, 1000), (100, 120)),
        ("srm", (5000, 5200), (0, 0)),
    ):
        for arm, (n, k) in enumerate(zip(counts, converters, strict=True)):
            variant = ("control", "treat")[arm]
            for i in range(n):
                user = f"{experiment}-{variant}-{i}"
                when = at((i % 5) + 0.5)
                events.append(
                    {
                        "event_id": f"x-{user}",
                        "occurred_at": when,
                        "event_type": "exposure",
                        "user_id": user,
                        "experiment": experiment,
                        "variant": variant,
                    }
                )
                if i < k:
                    events.append(
                        {
                            "event_id": f"c-{user}",
                            "occurred_at": when + pd.Timedelta(days=1),
                            "event_type": "conversion",
                            "user_id": user,
                            "revenue_usd": 10.0,
                        }
                    )
    return events


def mix_events(rng: np.random.Generator) -> tuple[list[dict], list[dict]]:
    events, calls = [], []
    variants = np.array(["control", "b", "c"])
    chosen = rng.choice(3, size=400, p=[0.25, 0.375, 0.375])  # not 40/30/30: SRM
    for i, v in enumerate(chosen):
        user, session, other = f"m{i}", f"ms{i}", f"mo{i}"
        exposed = at(rng.uniform(0, 14))
        variant = variants[v]

        def ev(kind: str, when: pd.Timestamp, n: int, user: str = user, **extra) -> None:
            events.append(
                {"event_id": f"{kind}-{user}-{n}", "occurred_at": when, "event_type": kind, **extra}
            )

        ev(
            "exposure",
            exposed,
            0,
            user_id=user,
            session_id=session,
            experiment="mix",
            variant=variant,
        )
        if i % 40 == 0:  # exposed again later to the same variant: the first counts
            ev(
                "exposure",
                exposed + pd.Timedelta(days=1),
                1,
                user_id=user,
                experiment="mix",
                variant=variant,
            )
        if i % 50 == 1:  # exposed later to another variant: excluded (arrives in batch 2 for some)
            ev(
                "exposure",
                exposed + pd.Timedelta(days=2),
                2,
                user_id=user,
                experiment="mix",
                variant=variants[(v + 1) % 3],
            )
        if i % 60 == 2:  # exposure before the experiment's dates: ignored
            ev("exposure", at(-3), 3, user_id=user, experiment="mix", variant=variants[(v + 1) % 3])
        if i % 70 == 3:
            ev("exposure", exposed, 4, user_id=user, experiment="ghost", variant="x")
        lift = 1.0 + 0.5 * (variant == "b")
        if rng.random() < 0.15 * lift:  # conversion, linked by the session only (no user_id)
            ev(
                "conversion",
                exposed + pd.Timedelta(hours=rng.uniform(1, 100)),
                5,
                session_id=session,
                revenue_usd=round(float(rng.uniform(20, 200)), 2),
            )
        value = rng.lognormal(0, 0.5)
        for n, offset in enumerate(rng.uniform(-9, 7, rng.integers(0, 5))):
            # purchases before (pre-window 7 days), in and after the 5-day window;
            # in another session, which an event naming the user makes theirs
            ev(
                "purchase",
                exposed + pd.Timedelta(days=offset),
                10 + n,
                user_id=user if n % 2 == 0 else None,
                session_id=other if n % 2 else None,
                revenue_usd=round(float(30 * value * rng.lognormal(0, 0.3)), 2),
            )
        if rng.random() < 0.3:
            ev(
                "refund",
                exposed + pd.Timedelta(days=rng.uniform(0, 6)),
                20,
                user_id=user,
                revenue_usd=-round(float(rng.uniform(5, 50)), 2),
            )
        for n in range(rng.integers(0, 4)):
            ev(
                "ticket",
                exposed + pd.Timedelta(hours=rng.uniform(-24, 150)),
                30 + n,
                session_id=session,
                resolved_by="agent" if rng.random() < 0.55 + 0.1 * v else "human",
            )
        ev(
            "note",
            exposed + pd.Timedelta(days=rng.uniform(3, 8)),
            40,
            user_id=user,
            session_id=other,
        )
        for n in range(rng.integers(0, 6)):
            when = exposed + pd.Timedelta(hours=rng.uniform(-30, 150))
            tokens = int(rng.integers(100, 3000))
            calls.append(
                {
                    "event_id": f"call-{user}-{n}",
                    "session_id": session if n % 2 == 0 else other,
                    "provider": "openai" if n != 4 else "mistral",
                    "model": "gpt-4o-mini" if n != 4 else "mistral-large",
                    "created_at": when,
                    "response_time_ms": round(float(rng.gamma(4, 120)), 1),
                    "tokens_input": tokens,
                    "tokens_output": int(rng.integers(10, 500)),
                    "tokens_cached_input": int(tokens // 3) if n % 3 == 0 else 0,
                }
            )
    calls.append(
        {
            "event_id": "call-nobody",
            "session_id": "nobody",
            "provider": "openai",
            "model": "gpt-4o-mini",
            "created_at": at(2),
            "response_time_ms": 99.0,
            "tokens_input": 10,
            "tokens_output": 10,
            "tokens_cached_input": 0,
        }
    )
    return events, calls


def frame(records: list[dict], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(records).reindex(columns=columns)


EVENT_COLUMNS = [
    "event_id",
    "occurred_at",
    "event_type",
    "session_id",
    "user_id",
    "resolved_by",
    "revenue_usd",
    "experiment",
    "variant",
]
CALL_COLUMNS = [
    "event_id",
    "session_id",
    "provider",
    "model",
    "created_at",
    "response_time_ms",
    "tokens_input",
    "tokens_output",
    "tokens_cached_input",
]


@pytest.fixture(scope="module")
def fixture(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("experiments")
    project = project_copy(tmp)
    (project / "seeds" / "experiments.csv").write_text(EXPERIMENTS_CSV)
    rng = np.random.default_rng(20261202)
    mixed, calls = mix_events(rng)
    events = frame(published_events() + mixed, EVENT_COLUMNS)
    events["revenue_usd"] = events["revenue_usd"].fillna(0.0)
    calls = frame(calls, CALL_COLUMNS)
    home = tmp / "home"
    env = {**os.environ, "MODELMART_PROJECT_DIR": str(project)}
    for step, batch in enumerate((events.occurred_at < SPLIT, events.occurred_at >= SPLIT)):
        part = events[batch].copy()
        part["occurred_at"] = part["occurred_at"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        part = part.astype(object).where(part.notna(), None)
        ingest_records("business_events", part, home)
        if step == 0:
            c = calls.assign(created_at=calls.created_at.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
            ingest_records("llm_calls", c, home)
        run = run_cli(home, "build", "--quiet", env=env)
        assert run.returncode == 0, run.stdout + run.stderr
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        results = con.execute("select * from marts.fct_experiment_results").df()
        daily = con.execute("select * from marts.fct_experiment_daily").df()
    finally:
        con.close()
    return {"events": events, "calls": calls, "results": results, "daily": daily}


# --- the independent reference -------------------------------------------------------------


def reference_users(events: pd.DataFrame, calls: pd.DataFrame) -> pd.DataFrame:
    """Per experiment × user, with pandas merges (vectorised: 12,000 users)."""
    cfg = CONFIG.assign(
        window=pd.to_timedelta(CONFIG.conversion_window_days, unit="D"),
        pre=pd.to_timedelta(CONFIG.pre_exposure_days.fillna(14), unit="D"),
    )
    exposures = events[events.event_type == "exposure"].merge(cfg, on="experiment")
    dates = exposures.occurred_at.dt.date
    exposures = exposures[
        (dates >= pd.to_datetime(exposures.start_date).dt.date)
        & (dates <= pd.to_datetime(exposures.end_date).dt.date)
    ]
    ordered = exposures.sort_values(["occurred_at", "event_id"])
    keys = ["experiment", "user_id"]
    users = ordered.groupby(keys, as_index=False).first()
    users["multiple"] = ordered.groupby(keys).variant.nunique().to_numpy() > 1
    users = users.rename(columns={"occurred_at": "t0"})
    users["exposure_date"] = users.t0.dt.date
    named = events[events.user_id.notna()]
    sessions = named[named.session_id.notna()][["user_id", "session_id"]].drop_duplicates()
    linked = pd.concat(
        [
            named[["user_id", "event_id"]],
            sessions.merge(events[["session_id", "event_id"]], on="session_id")[
                ["user_id", "event_id"]
            ],
        ]
    ).drop_duplicates()
    linked = linked.merge(events.drop(columns=["user_id", "experiment", "variant"]), on="event_id")
    linked = users[[*keys, "t0", "window", "pre"]].merge(linked, on="user_id")
    inside = linked[
        (linked.occurred_at >= linked.t0) & (linked.occurred_at < linked.t0 + linked.window)
    ]
    before = linked[
        (linked.occurred_at >= linked.t0 - linked.pre) & (linked.occurred_at < linked.t0)
    ]
    conversions = inside[inside.event_type == "conversion"]
    tickets = inside[inside.event_type == "ticket"]
    my_calls = (
        users[[*keys, "t0", "window"]].merge(sessions, on="user_id").merge(calls, on="session_id")
    )
    my_calls = my_calls[
        (my_calls.created_at >= my_calls.t0) & (my_calls.created_at < my_calls.t0 + my_calls.window)
    ]
    priced = my_calls.model == "gpt-4o-mini"
    my_calls["cost"] = np.where(
        priced,
        (
            (my_calls.tokens_input - my_calls.tokens_cached_input) * PRICE["input"]
            + my_calls.tokens_cached_input * PRICE["cached"]
            + my_calls.tokens_output * PRICE["output"]
        )
        / 1e6,
        0.0,
    )
    parts = {
        "converted": conversions.groupby(keys).size() > 0,
        "first_conversion_date": conversions.groupby(keys).occurred_at.min().dt.date,
        "revenue": inside.groupby(keys).revenue_usd.sum(),
        "pre_revenue": before.groupby(keys).revenue_usd.sum(),
        "tickets": tickets.groupby(keys).size(),
        "agent": tickets[tickets.resolved_by == "agent"].groupby(keys).size(),
        "cost": my_calls.groupby(keys).cost.sum(),
        "p95": my_calls.groupby(keys).response_time_ms.quantile(0.95),
    }
    out = users.set_index(keys)[["variant", "exposure_date", "multiple"]]
    for name, series in parts.items():
        out[name] = series.reindex(out.index)
    fill = {
        "converted": False,
        "revenue": 0.0,
        "pre_revenue": 0.0,
        "tickets": 0,
        "agent": 0,
        "cost": 0.0,
    }
    out = out.fillna(fill).infer_objects()
    out["converted"] = out.converted.astype(bool)
    out["first_conversion_date"] = out.first_conversion_date.where(out.converted, None)
    return out.reset_index()


@pytest.fixture(scope="module")
def users(fixture: dict) -> pd.DataFrame:
    return reference_users(fixture["events"], fixture["calls"])


def lift_stats(mc, vc, nc, mt, vt, nt, alpha, n_star):
    """The issue's formulas, computed with numpy/scipy (independent of the model's code)."""
    lift = (mt - mc) / mc
    se = np.sqrt(vc * mt**2 / (mc**4 * nc) + vt / (mc**2 * nt))
    nu = (vc / nc + vt / nt) ** 2 / ((vc / nc) ** 2 / (nc - 1) + (vt / nt) ** 2 / (nt - 1))
    t = stats.t.ppf(1 - alpha / 2, nu)
    n = nc + nt
    rho = np.sqrt((-2 * np.log(alpha) + np.log(-2 * np.log(alpha) + 1)) / n_star)
    half = np.sqrt(se**2 * n) * np.sqrt(
        2 * (n * rho**2 + 1) * np.log(np.sqrt(n * rho**2 + 1) / alpha) / (n * rho) ** 2
    )
    abs_se = np.sqrt(vc / nc + vt / nt)
    return {
        "lift_relative": lift,
        "lift_se": se,
        "df": nu,
        "ci_low": lift - t * se,
        "ci_high": lift + t * se,
        "p_value": 2 * stats.t.sf(abs(lift / se), nu),
        "seq_ci_low": lift - half,
        "seq_ci_high": lift + half,
        "abs_diff": mt - mc,
        "abs_ci_low": mt - mc - t * abs_se,
        "abs_ci_high": mt - mc + t * abs_se,
    }


def moments(metric: str, arm: pd.DataFrame) -> tuple[float, float, int]:
    if metric == "conversion":
        p = arm.converted.mean()
        return p, p * (1 - p), len(arm)
    if metric == "agent_resolution_rate":
        x, y = arm.agent.to_numpy(float), arm.tickets.to_numpy(float)
        r = x.sum() / y.sum()
        # delta method on the per-user mean of x − r·y, divided by mean y
        return r, np.var(x - r * y, ddof=1) / y.mean() ** 2, len(arm)
    column = {
        "revenue_per_user": "revenue",
        "llm_cost_per_user": "cost",
        "llm_latency_p95_ms": "p95",
    }[metric]
    values = arm[column].dropna().to_numpy(float)
    return values.mean(), values.var(ddof=1), len(values)


def close(got, want, p_value: bool = False) -> bool:
    tol = 1e-6 if p_value else 1e-9
    return bool(np.isclose(got, want, rtol=0, atol=tol * max(1.0, abs(want))))


# --- tests ---------------------------------------------------------------------------------


def test_published_values(fixture: dict) -> None:
    row = fixture["results"].set_index(["experiment", "metric"]).loc[("pub", "conversion")]
    assert (row.users, row.control_users) == (1000, 1000)
    assert (row.control_mean, row["mean"]) == (0.10, 0.12)
    assert abs(row.lift_relative - 0.2) < 1e-12
    assert abs(row.lift_se - 0.1533623) < 5e-8
    assert abs(row.df - 1985.37) < 5e-3
    assert abs(row.ci_low - -0.1007680) < 5e-8 and abs(row.ci_high - 0.5007680) < 5e-8
    assert abs(row.p_value - 0.1923502) < 5e-8
    assert abs(row.seq_ci_low - -0.2790700) < 5e-8 and abs(row.seq_ci_high - 0.6790700) < 5e-8
    assert row.status == "inconclusive" and row.seq_outcome == "neutral"
    assert row.conclusion.startswith(
        "Variant treat lifted conversion by 20.0 % (95 % CI -10.1 % to 50.1 %), "
        "sequential test not significant"
    )
    srm = fixture["results"].set_index("experiment").loc["srm"]
    assert abs(srm.srm_p_value - 0.04767) < 5e-6 and not srm.is_srm
    assert abs(srm.srm_p_value - stats.chisquare([5000, 5200]).pvalue) < 1e-12
    assert pd.isna(srm.lift_relative)  # control mean 0: the relative lift is undefined


def test_every_statistic_equals_scipy(fixture: dict, users: pd.DataFrame) -> None:
    results = fixture["results"].set_index(["experiment", "variant", "metric"])
    checked = 0
    for cfg in CONFIG.itertuples():
        members = users[(users.experiment == cfg.experiment)]
        multiple = int(members.multiple.sum())
        members = members[~members.multiple]
        variants = cfg.variants.split("|")
        shares = [float(s) for s in cfg.traffic_split.split("|")]
        counts = [int((members.variant == v).sum()) for v in variants]
        srm_p = stats.chisquare(counts, np.array(shares) * sum(counts)).pvalue
        alpha = 0.05 if pd.isna(cfg.alpha) else cfg.alpha
        n_star = 5000 if pd.isna(cfg.sequential_n_star) else cfg.sequential_n_star
        metrics = [cfg.primary_metric] + [
            m
            for col in (cfg.secondary_metrics, cfg.guardrail_metrics)
            if isinstance(col, str)
            for m in col.split("|")
        ]
        control = members[members.variant == cfg.control_variant]
        for variant in variants[1:]:
            treated = members[members.variant == variant]
            secondary_p = {}
            for metric in metrics:
                row = results.loc[(cfg.experiment, variant, metric)]
                (mc, vc, nc), (mt, vt, nt) = moments(metric, control), moments(metric, treated)
                assert (row.users, row.control_users) == (nt, nc), (cfg.experiment, metric)
                assert close(row["mean"], mt) and close(row.control_mean, mc)
                assert close(row.variance, vt) and close(row.control_variance, vc)
                assert close(row.srm_p_value, srm_p, p_value=True)
                assert row.multiple_exposure_users == multiple
                if mc == 0:
                    continue
                want = lift_stats(mc, vc, nc, mt, vt, nt, alpha, n_star)
                for key, value in want.items():
                    assert close(row[key], value, p_value=key == "p_value"), (
                        cfg.experiment,
                        metric,
                        key,
                    )
                if metric in ("revenue_per_user", "llm_cost_per_user"):
                    # the absolute difference's CI is scipy's Welch t-test's
                    column = {"revenue_per_user": "revenue", "llm_cost_per_user": "cost"}[metric]
                    welch = stats.ttest_ind(treated[column], control[column], equal_var=False)
                    ci = welch.confidence_interval(1 - alpha)
                    assert close(row.abs_ci_low, ci.low) and close(row.abs_ci_high, ci.high)
                if isinstance(cfg.secondary_metrics, str) and metric in cfg.secondary_metrics:
                    secondary_p[metric] = want["p_value"]
                checked += 1
            # Holm over the secondaries
            ordered = sorted(secondary_p.items(), key=lambda kv: kv[1])
            running = 0.0
            for rank, (metric, p) in enumerate(ordered):
                running = max(running, min(1.0, (len(ordered) - rank) * p))
                assert close(
                    results.loc[(cfg.experiment, variant, metric)].p_value_adjusted, running, True
                )
            if cfg.experiment == "mix":
                # CUPED: θ is the OLS slope of revenue on pre-exposure revenue, pooled
                both = pd.concat([control, treated])
                theta = np.polyfit(both.pre_revenue, both.revenue, 1)[0]
                adjusted = both.revenue - theta * (both.pre_revenue - both.pre_revenue.mean())
                row = results.loc[(cfg.experiment, variant, "revenue_per_user")]
                assert close(row.cuped_theta, theta)
                assert close(row.cuped_variance_reduction, 1 - adjusted.var() / both.revenue.var())
                a_c, a_t = adjusted[: len(control)], adjusted[len(control) :]
                want = lift_stats(
                    a_c.mean(), a_c.var(), len(a_c), a_t.mean(), a_t.var(), len(a_t), alpha, n_star
                )
                assert close(row.cuped_lift_relative, want["lift_relative"])
                assert close(row.cuped_p_value, want["p_value"], p_value=True)
    assert checked == 11  # pub's conversion; mix: 2 variants × 5 metrics
    mix = fixture["results"][fixture["results"].experiment == "mix"]
    assert mix.is_srm.all() and (mix.status == "invalid").all()
    assert mix.conclusion.str.startswith("Invalid: sample ratio mismatch").all()
    assert mix.multiple_exposure_users.iloc[0] > 0


def test_required_sample_and_status_rules(fixture: dict) -> None:
    row = fixture["results"].set_index(["experiment", "metric"]).loc[("pub", "conversion")]
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    want = z**2 * 0.09 * (1 / 0.5 + 1 / 0.5) / (0.2 * 0.10) ** 2
    assert row.required_users == int(np.ceil(want))
    assert row.is_complete  # the end date has passed
    assert row.decision_rule == 7 and row.recommendation.startswith("No detectable effect")


def test_daily_mart_equals_reference_after_incremental_build(
    fixture: dict, users: pd.DataFrame
) -> None:
    users = users[~users.multiple]
    events = fixture["events"]
    dates = sorted(set(events.occurred_at.dt.date))
    expected = []
    for cfg in CONFIG.itertuples():
        start = pd.Timestamp(cfg.start_date).date()
        last = pd.Timestamp(cfg.end_date).date() + dt.timedelta(
            days=int(cfg.conversion_window_days)
        )
        members = users[users.experiment == cfg.experiment]
        for variant, arm in members.groupby("variant"):
            for day in (d for d in dates if start <= d <= last):
                expected.append(
                    {
                        "experiment": cfg.experiment,
                        "variant": variant,
                        "experiment_date": day,
                        "users": int((arm.exposure_date <= day).sum()),
                        "new_users": int((arm.exposure_date == day).sum()),
                        "converted_users": int((arm.first_conversion_date.dropna() <= day).sum()),
                    }
                )
    want = pd.DataFrame(expected).sort_values(["experiment", "variant", "experiment_date"])
    got = fixture["daily"].sort_values(["experiment", "variant", "experiment_date"])
    got["experiment_date"] = pd.to_datetime(got.experiment_date).dt.date
    assert len(got) == len(want)
    for column in (
        "experiment",
        "variant",
        "experiment_date",
        "users",
        "new_users",
        "converted_users",
    ):
        assert got[column].tolist() == want[column].tolist(), column
    # final cumulative revenue = Σ of the users' in-window revenue
    final = got.groupby(["experiment", "variant"]).revenue_usd.last()
    total = users.groupby(["experiment", "variant"]).revenue.sum()
    assert np.allclose(final.loc[total.index], total, atol=1e-9)


def test_bad_experiment_and_translation_rows_fail_the_build_naming_them(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    seed = project / "seeds" / "experiments.csv"
    seed.write_text(
        EXPERIMENTS_CSV.splitlines()[0] + "\n"
        "good,ok,control,control|b,0.5|0.5,2026-03-01,2026-03-10,conversion,,,7,,0.2,,,\n"
        "bad_split,x,control,control|b,0.5|0.6,2026-03-01,2026-03-10,conversion,,,7,,0.2,,,\n"
        "bad_metric,x,ctl,control|b,0.5|0.5,2026-03-10,2026-03-01,nps,,,0,1.5,0.2,,,\n"
    )
    translations = project / "seeds" / "metric_translations.csv"
    translations.write_text(
        translations.read_text() + "latency_p95_ms,happiness,100,-0.01,-0.02,relative,x,\n"
    )
    home = tmp_path / "home"
    ingest_records(
        "business_events",
        [{"event_id": "e", "occurred_at": "2026-03-01T00:00:00Z", "event_type": "note"}],
        home,
    )
    run = run_cli(
        home, "build", "--quiet", env={**os.environ, "MODELMART_PROJECT_DIR": str(project)}
    )
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert (
        "seeds/experiments.csv row 3 (experiment bad_split): column traffic_split '0.5|0.6' sums to 1.1"
        in out
    )
    assert (
        "row 4 (experiment bad_metric): column control_variant 'ctl' is not one of the variants"
        in out
    )
    assert (
        "row 4 (experiment bad_metric): end_date 2026-03-01 is before start_date 2026-03-10" in out
    )
    assert "row 4 (experiment bad_metric): column primary_metric 'nps' is not a metric" in out
    assert (
        "row 4 (experiment bad_metric): column conversion_window_days must be a whole number" in out
    )
    assert "row 4 (experiment bad_metric): column alpha must be strictly between 0 and 1" in out
    assert "good" not in out.split("invalid experiments:")[1].split("row 3")[0]
    row = len(translations.read_text().splitlines())
    assert (
        f"seeds/metric_translations.csv row {row} (latency_p95_ms → happiness): unknown business_kpi"
        in out
    )
    assert (
        f"row {row} (latency_p95_ms → happiness): sensitivity_low must be ≤ sensitivity_high" in out
    )
    assert "Traceback" not in out
