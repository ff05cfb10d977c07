"""The experiment statistics as plain functions (the dbt Python model's helpers),
the A/A peeking simulation at the README's scale, and the scorecard figure."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import stats

from tests.conftest import PROJECT

spec = importlib.util.spec_from_file_location(
    "experiment_sim", PROJECT / "scripts" / "experiment_sim.py"
)
sim = importlib.util.module_from_spec(spec)
sys.modules["experiment_sim"] = sim
spec.loader.exec_module(sim)
model = sim.load_stats()


def test_published_case_from_the_pure_functions() -> None:
    out = model.frequentist(0.10, 0.09, 1000, 0.12, 0.12 * 0.88, 1000, 0.05)
    assert abs(out["lift_se"] - 0.1533623) < 5e-8 and abs(out["df"] - 1985.37) < 5e-3
    assert abs(out["p_value"] - 0.1923502) < 5e-8
    half = model.sequential_halfwidth(out["lift_se"] ** 2, 2000, 0.05, 5000)
    assert abs(0.2 - half - -0.2790700) < 5e-8
    _, p = model.srm_p_value([5000, 5200], [0.5, 0.5])
    assert abs(p - 0.04767) < 5e-6


def test_welch_df_and_abs_ci_equal_scipy_on_random_samples() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.lognormal(1, 1, 300), rng.lognormal(1.1, 1.2, 250)
    out = model.frequentist(a.mean(), a.var(ddof=1), len(a), b.mean(), b.var(ddof=1), len(b), 0.1)
    welch = stats.ttest_ind(b, a, equal_var=False)
    assert abs(out["df"] - welch.df) < 1e-9
    ci = welch.confidence_interval(0.9)
    assert abs(out["abs_ci_low"] - ci.low) < 1e-9 and abs(out["abs_ci_high"] - ci.high) < 1e-9


def test_holm_matches_the_step_down_definition() -> None:
    got = model.holm([0.01, None, 0.04, 0.03])
    assert got[1] is None
    assert np.allclose([got[0], got[2], got[3]], [0.03, 0.06, 0.06], rtol=0, atol=1e-15)
    assert model.holm([0.5, 0.9]) == [1.0, 1.0]  # 2 × 0.5 capped at 1, monotone


def test_decision_rules_first_match_wins() -> None:
    rules = pd.read_csv(PROJECT / "seeds" / "experiment_decision_rules.csv")
    facts = {"srm": "no", "primary_outcome": "win", "guardrail_outcome": "ok", "complete": "no"}
    assert model.decide(rules, facts).status == "ship"
    assert model.decide(rules, {**facts, "srm": "yes"}).status == "invalid"
    assert model.decide(rules, {**facts, "guardrail_outcome": "worse"}).status == "dont_ship"
    assert model.decide(rules, {**facts, "primary_outcome": "neutral"}).status == "running"
    neutral_done = {**facts, "primary_outcome": "neutral", "complete": "yes"}
    assert model.decide(rules, neutral_done).status == "inconclusive"
    assert model.decide(rules, {**facts, "primary_outcome": "loss"}).status == "dont_ship"


def test_daily_peeking_inflates_naive_but_not_sequential_false_positives() -> None:
    result = sim.simulate(experiments=200, days=20, users_per_arm_per_day=100, seed=13)
    assert result["sequential_fpr"] <= result["alpha"]
    assert result["naive_peeking_fpr"] > result["alpha"]
    assert 0.0 < result["fixed_horizon_once_fpr"] < 0.1  # one look: about alpha


def test_scorecard_figure_is_valid_plotly_with_the_lifts_and_colours() -> None:
    from dash_app.figures.experiments import OUTCOME_COLORS, scorecard_figure

    rows = pd.DataFrame(
        {
            "metric_label": ["Conversion", "Revenue per user", "LLM cost per user"],
            "metric_role": ["primary", "secondary", "guardrail"],
            "lift_relative": [0.2, -0.05, 0.3],
            "ci_low": [0.1, -0.2, 0.1],
            "ci_high": [0.3, 0.1, 0.5],
            "seq_outcome": ["win", "neutral", "loss"],
        }
    )
    fig = scorecard_figure(rows, "t")
    go.Figure(fig)
    by_name = {trace["name"]: trace for trace in fig["data"]}
    assert (
        by_name["win"]["x"] == [0.2] and by_name["win"]["marker"]["color"] == OUTCOME_COLORS["win"]
    )
    loss = by_name["loss"]["error_x"]
    assert np.allclose(loss["array"], [0.2]) and np.allclose(loss["arrayminus"], [0.2])
    assert fig["layout"]["yaxis"]["categoryarray"][-1] == "Conversion (primary)"
