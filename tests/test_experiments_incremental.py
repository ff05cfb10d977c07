"""The incremental experiment models equal a full build after every kind of late data.

One project copy, one landing home, two databases: the incremental one is built after
each step (plain `dbt build`, as an analytics engineer runs it), a fresh one is built
from scratch on the same data. After each step every experiment relation must be the
same in both, row for row (the watermark column aside). The steps:

1. the first batch: exposures, events by user and by session, LLM calls;
2. a late first exposure of a new user; a second exposure of a user in the other
   variant (now multi-variant); a conversion by user_id; a purchase known only by
   its session; LLM calls in a linked session and in a session no user has yet;
3. an event naming a user and that unlinked session (its older calls now count for
   the user); an exposure earlier than a user's first (their windows move back);
4. an edit of the experiments seed (a shorter conversion window);
5. a price change of the model the calls use.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from modelmart.ingest import ingest_records
from tests.conftest import project_copy, run_dbt
from tests.test_marts_reference import biz

pytestmark = pytest.mark.slow

EXPERIMENTS_CSV = """experiment,description,control_variant,variants,traffic_split,start_date,end_date,primary_metric,secondary_metrics,guardrail_metrics,conversion_window_days,alpha,mde_relative,power,pre_exposure_days,sequential_n_star
t,incremental case,control,control|treat,0.5|0.5,2026-03-01,2026-03-10,conversion,revenue_per_user|agent_resolution_rate,llm_cost_per_user|llm_latency_p95_ms,7,0.05,0.2,0.8,14,5000
"""
RELATIONS = {
    "intermediate.int_experiment_users_exposed": ["experiment", "user_id"],
    "intermediate.int_experiment_user_days": ["experiment", "user_id", "activity_date"],
    "intermediate.int_experiment_user_metrics": ["experiment", "user_id"],
    "marts.fct_experiment_daily": ["experiment", "variant", "experiment_date"],
    "marts.fct_experiment_results": ["experiment", "variant", "metric"],
}
# the newest batch a build saw: the incremental models' watermark, not a result
WATERMARK = "source_batch_seq"


def exposure(eid, user, when, variant, session=None):
    return {
        "event_id": eid,
        "occurred_at": when,
        "event_type": "exposure",
        "user_id": user,
        "session_id": session,
        "experiment": "t",
        "variant": variant,
    }


def call(eid, session, when, rt, tin, tout):
    return {
        "event_id": eid,
        "session_id": session,
        "provider": "openai",
        "model": "gpt-4o-mini",
        "created_at": when,
        "response_time_ms": rt,
        "tokens_input": tin,
        "tokens_output": tout,
    }


EVENTS = {
    1: [
        exposure("x1", "u1", "2026-03-02T10:00:00Z", "control", "s1"),
        exposure("x2", "u2", "2026-03-02T11:00:00Z", "treat", "s2"),
        exposure("x3", "u3", "2026-03-04T09:00:00Z", "treat"),
        exposure("x4", "u4", "2026-03-03T08:00:00Z", "control", "s4"),
        exposure("x6", "u6", "2026-03-05T08:00:00Z", "treat", "s6"),
        biz("e1", "2026-03-03T10:00:00Z", "conversion", session="s1", revenue=50.0),
        biz("e2", "2026-03-05T10:00:00Z", "ticket", user="u3", resolved="agent"),
        biz("e3", "2026-02-25T10:00:00Z", "purchase", user="u4", revenue=30.0),
        biz("e4", "2026-03-06T10:00:00Z", "conversion", user="u6", revenue=12.0),
    ],
    2: [
        exposure("x5", "u5", "2026-03-06T10:00:00Z", "treat", "s5"),
        exposure("x2b", "u2", "2026-03-07T10:00:00Z", "control", "s2"),
        biz("e5", "2026-03-06T12:00:00Z", "conversion", user="u3", revenue=20.0),
        biz("e6", "2026-03-05T12:00:00Z", "purchase", session="s1", revenue=10.0),
    ],
    3: [
        biz("e7", "2026-03-06T13:00:00Z", "note", user="u1", session="sx"),
        exposure("x4a", "u4", "2026-03-01T08:00:00Z", "control"),
    ],
}
CALLS = {
    1: [
        call("c1", "s1", "2026-03-02T10:05:00Z", 100.0, 1000, 200),
        call("c2", "s1", "2026-03-03T10:05:00Z", 300.0, 2000, 100),
        call("c3", "s6", "2026-03-05T09:00:00Z", 250.0, 500, 50),
    ],
    2: [
        call("c4", "s4", "2026-03-04T10:00:00Z", 120.0, 800, 80),
        call("c5", "sx", "2026-03-05T10:00:00Z", 900.0, 4000, 400),
    ],
}


def relations(db: Path) -> dict[str, pd.DataFrame]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for name, keys in RELATIONS.items():
            frame = con.execute(f"select * from {name}").df()
            frame = frame.drop(columns=[c for c in (WATERMARK,) if c in frame])
            out[name] = frame.sort_values(keys).reset_index(drop=True)
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("experiments-incremental")
    project = project_copy(tmp)
    (project / "seeds" / "experiments.csv").write_text(EXPERIMENTS_CSV)
    home = tmp / "home"
    return {"tmp": tmp, "project": project, "home": home}


def build(setup: dict, db: Path) -> None:
    env = {**os.environ, "MODELMART_HOME": str(setup["home"]), "MODELMART_BUILD_DB": str(db)}
    run = run_dbt(
        [
            "build",
            "--select",
            "+fct_experiment_daily",
            "+fct_experiment_results",
            # the relations are compared below; dbt's data and unit tests run elsewhere
            "--exclude",
            "resource_type:test",
            "resource_type:unit_test",
        ],
        setup["project"],
        env,
        db.parent / f"dbt-{db.stem}",
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


def incremental_equals_full(setup: dict, step: int) -> dict[str, pd.DataFrame]:
    incremental = setup["tmp"] / "incremental.duckdb"
    build(setup, incremental)
    full = setup["tmp"] / f"full-{step}.duckdb"
    build(setup, full)
    got, want = relations(incremental), relations(full)
    for name in RELATIONS:
        assert list(got[name].columns) == list(want[name].columns), name
        pd.testing.assert_frame_equal(got[name], want[name], check_exact=False, rtol=1e-12)
    return got


def ingest(setup: dict, step: int) -> None:
    if step in EVENTS:
        assert ingest_records("business_events", EVENTS[step], setup["home"]).stored == len(
            EVENTS[step]
        )
    if step in CALLS:
        assert ingest_records("llm_calls", CALLS[step], setup["home"]).stored == len(CALLS[step])


def test_every_step_of_late_data_builds_incrementally_to_the_full_result(setup: dict) -> None:
    ingest(setup, 1)
    build(setup, setup["tmp"] / "incremental.duckdb")
    ingest(setup, 2)
    got = incremental_equals_full(setup, 2)
    users = got["intermediate.int_experiment_user_metrics"].set_index("user_id")
    # u5's late first exposure, u2 now multi-variant, u3's conversion by user_id,
    # u1's purchase known by its session only; the call in sx belongs to nobody yet
    assert users.loc["u5", "variant"] == "treat"
    assert bool(users.loc["u2", "is_multiple_exposure"])
    assert users.loc["u3", "conversions"] == 1 and users.loc["u3", "revenue_usd"] == 20.0
    assert users.loc["u1", "revenue_usd"] == 60.0 and users.loc["u1", "llm_calls"] == 2
    assert users.loc["u4", "llm_calls"] == 1 and users.loc["u4", "pre_exposure_revenue_usd"] == 30.0

    ingest(setup, 3)
    got = incremental_equals_full(setup, 3)
    users = got["intermediate.int_experiment_user_metrics"].set_index("user_id")
    # sx is u1's now: its call of 03-05 counts (u1's window is 03-02 10:00 + 7 days)
    assert users.loc["u1", "llm_calls"] == 3
    assert users.loc["u1", "llm_latency_p95_ms"] == pytest.approx(
        pd.Series([100.0, 300.0, 900.0]).quantile(0.95)
    )
    # u4's first exposure moved to 03-01: the purchase of 02-25 is still before it,
    # its window ends 03-08, the call of 03-04 is in it
    assert str(users.loc["u4", "exposed_at"]) == "2026-03-01 08:00:00"
    assert users.loc["u4", "llm_calls"] == 1

    experiments = setup["project"] / "seeds" / "experiments.csv"
    experiments.write_text(EXPERIMENTS_CSV.replace(",7,0.05,", ",1,0.05,"))
    got = incremental_equals_full(setup, 4)
    users = got["intermediate.int_experiment_user_metrics"].set_index("user_id")
    # a 1-day window: u6's conversion (a day and 2 hours after exposure) is out of it,
    # and of u1's calls only c1 (5 minutes after exposure) is in
    assert users.loc["u6", "conversions"] == 0 and users.loc["u1", "llm_calls"] == 1

    pricing = setup["project"] / "seeds" / "llm_pricing.csv"
    pricing.write_text(
        pricing.read_text().replace(
            "openai,gpt-4o-mini,2026-01-01,0.15,0.60,0.075",
            "openai,gpt-4o-mini,2026-01-01,0.30,1.20,0.15",
        )
    )
    got = incremental_equals_full(setup, 5)
    users = got["intermediate.int_experiment_user_metrics"].set_index("user_id")
    # u1's call in the 1-day window: c1, 1000 tokens in and 200 out, at the new prices
    assert users.loc["u1", "llm_cost_usd"] == pytest.approx((1000 * 0.30 + 200 * 1.20) / 1e6)
