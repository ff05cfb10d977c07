"""Adding an alertable metric through the mart catalog alone (YAML + a rule).

A copy of the project gets one metric added to fct_llm_usage_daily's
`config.meta.mart_catalog.alertable_metrics` (tokens_input, a column the mart already
has) and a rule on it in seeds/alert_rules.csv. Without the YAML line the rule
fails the build naming its row; with it the rule is validated, evaluated
(fct_alert_breaches / fct_alerts equal a pandas computation from the raw calls)
and drawn (the app's thresholds / breaches and the chart helpers return the rule
line and the breach marks). No SQL, Python or macro is edited.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dash_app.data.alerts import breaches, thresholds
from dash_app.data.catalog import mart_catalog
from dash_app.data.filters import Filters
from dash_app.data.warehouse import SnapshotReader
from dash_app.figures.charts import add_breaches, add_thresholds, base
from modelmart.config import get_paths
from modelmart.ingest import ingest_records
from tests.conftest import project_copy, run_cli, run_dbt

pytestmark = pytest.mark.slow

START = dt.date(2026, 3, 1)
# calls per day × tokens_input per call, per team (days 1-8): for team a days 3
# and 5-7 exceed 400 (a lone day, then a run of 3); team b never does
PLAN = {
    "a": [(2, 100), (1, 300), (3, 150), (2, 150), (2, 250), (1, 500), (4, 120), (1, 50)],
    "b": [(1, 100), (1, 100), (1, 100), (1, 100), (1, 100), (1, 100), (1, 100), (1, 100)],
}
THRESHOLD = 400
PERIODS = 2
RULE = (
    f"llm_tokens_input_high,fct_llm_usage_daily,tokens_input,>,{THRESHOLD},warning,{PERIODS},"
    ",,,,,Input tokens of a model and team above 400 a day for 2 days"
)
YAML_LINE = (
    "          alertable_metrics: [calls, errors, error_rate, latency_p50_ms, latency_p95_ms, "
    "latency_p99_ms, tokens_total, cost_usd, unpriced_calls, unpriced_tokens]\n"
)


def raw_calls() -> list[dict]:
    rows = []
    for team, days in PLAN.items():
        for offset, (n, tokens) in enumerate(days):
            day = START + dt.timedelta(days=offset)
            for i in range(n):
                rows.append(
                    {
                        "event_id": f"{team}-{offset}-{i}",
                        "session_id": f"s-{team}-{offset}",
                        "provider": "openai",
                        "model": "gpt-4o",
                        "team": team,
                        "created_at": f"{day}T10:{i:02d}:00Z",
                        "response_time_ms": 100 + i,
                        "tokens_input": tokens,
                        "tokens_output": 10,
                    }
                )
    return rows


def expected_breaches(calls: pd.DataFrame) -> pd.DataFrame:
    """Per series and day above the threshold: the streak of consecutive calendar
    days above it, and is_alerting once the streak reaches PERIODS."""
    daily = calls.groupby(["team", "date"], as_index=False).tokens_input.sum()
    over = daily[daily.tokens_input > THRESHOLD].sort_values(["team", "date"])
    rows = []
    for team, group in over.groupby("team"):
        streak, previous = 0, None
        for day, value in zip(group.date, group.tokens_input, strict=True):
            streak = streak + 1 if previous == day - dt.timedelta(days=1) else 1
            previous = day
            rows.append(
                {
                    "series": f"openai · gpt-4o · {team}",
                    "metric_date": day,
                    "metric_value": float(value),
                    "breach_streak": streak,
                    "is_alerting": streak >= PERIODS,
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("alert-catalog")
    project = project_copy(tmp)
    rules = project / "seeds" / "alert_rules.csv"
    rules.write_text(rules.read_text().rstrip("\n") + "\n" + RULE + "\n")
    home = tmp / "home"
    calls = raw_calls()
    ingest_records("llm_calls", calls, home)
    env = {**os.environ, "MODELMART_PROJECT_DIR": str(project)}
    # the rule names a metric the catalog does not list yet: the seed and the
    # model that validates it are enough to see the build refuse it (plain dbt on
    # a scratch database; the full build below runs the same validation)
    refused = run_dbt(
        ["build", "--select", "alert_rules", "int_alert_rules_validated"],
        project,
        {**env, "MODELMART_HOME": str(home), "MODELMART_BUILD_DB": str(tmp / "scratch.duckdb")},
        tmp / "scratch",
    )
    # the one YAML change: the metric joins the mart's alertable metrics
    yml = project / "models" / "marts" / "_marts__models.yml"
    text = yml.read_text()
    assert text.count(YAML_LINE) == 1
    yml.write_text(text.replace(YAML_LINE, YAML_LINE.replace("]\n", ", tokens_input]\n")))
    accepted = run_cli(home, "build", "--quiet", env=env, timeout=600)
    frame = pd.DataFrame(calls)
    frame["date"] = pd.to_datetime(frame.created_at).dt.date
    return {"home": home, "refused": refused, "accepted": accepted, "calls": frame}


def test_a_rule_on_a_metric_outside_the_catalog_fails_naming_the_row(built: dict) -> None:
    refused = built["refused"]
    assert refused.returncode == 1
    assert "invalid alert rules" in refused.stdout
    assert (
        "seeds/alert_rules.csv rule llm_tokens_input_high: unknown metric 'tokens_input' "
        "for fct_llm_usage_daily" in refused.stdout
    )
    assert "Traceback" not in refused.stdout + refused.stderr


def test_the_yaml_line_alone_makes_the_metric_alertable(built: dict) -> None:
    accepted = built["accepted"]
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    con = duckdb.connect(str(get_paths(built["home"]).warehouse), read_only=True)
    try:
        metrics = [
            r[0]
            for r in con.execute(
                "select entry_name from reference.mart_catalog where mart = 'fct_llm_usage_daily' "
                "and entry_kind = 'alertable_metric' order by position"
            ).fetchall()
        ]
    finally:
        con.close()
    assert metrics[-1] == "tokens_input"
    assert len(metrics) == 11


def test_breaches_and_alerts_equal_pandas(built: dict) -> None:
    expected = expected_breaches(built["calls"])
    con = duckdb.connect(str(get_paths(built["home"]).warehouse), read_only=True)
    try:
        got = con.execute(
            "select series, metric_date, metric_value, breach_streak, is_alerting, threshold "
            "from marts.fct_alert_breaches where rule_id = 'llm_tokens_input_high' "
            "order by series, metric_date"
        ).df()
        alerts = con.execute(
            "select series, first_seen_date, last_seen_date, breach_days, is_active, status, "
            "resolved_date "
            "from marts.fct_alerts where rule_id = 'llm_tokens_input_high' order by first_seen_date"
        ).df()
    finally:
        con.close()
    assert len(expected) == 4  # team a: day 3 alone, then days 5-7
    got["metric_date"] = pd.to_datetime(got.metric_date).dt.date
    pd.testing.assert_frame_equal(
        got[expected.columns].reset_index(drop=True),
        expected.reset_index(drop=True),
        check_dtype=False,
    )
    assert set(got.threshold) == {THRESHOLD}
    # one alert: the run of days 5-7 reached 2 consecutive days on its second day;
    # day 3 alone never did. Day 8 reports a value under the line: resolved then
    run = expected.tail(3)
    assert list(run.breach_streak) == [1, 2, 3]
    assert len(alerts) == 1
    alert = alerts.iloc[0]
    assert alert.series == "openai · gpt-4o · a"
    assert pd.Timestamp(alert.first_seen_date).date() == run.metric_date.iloc[1]
    assert pd.Timestamp(alert.last_seen_date).date() == run.metric_date.iloc[-1]
    assert alert.breach_days == len(run)
    assert not alert.is_active and alert.status == "resolved"
    assert pd.Timestamp(alert.resolved_date).date() == START + dt.timedelta(days=7)


def test_the_app_draws_the_rule_and_the_breaches(built: dict) -> None:
    reader = SnapshotReader(get_paths(built["home"]).warehouse)
    try:
        assert mart_catalog(reader)["fct_llm_usage_daily"] == {
            "date": "usage_date",
            "provider": "provider",
            "model": "model",
            "team": "team",
        }
        rules = thresholds(reader, "tokens_input", "fct_llm_usage_daily")
        assert list(rules.rule_id) == ["llm_tokens_input_high"]
        assert rules.threshold.iloc[0] == THRESHOLD
        filters = Filters(start=START, end=START + dt.timedelta(days=7))
        points = breaches(reader, filters, "fct_llm_usage_daily", "tokens_input")
        expected = expected_breaches(built["calls"])
        assert len(points) == len(expected)
        assert sorted(points.metric_value) == sorted(expected.metric_value)
        fig = base("Input tokens", "tokens")
        add_thresholds(fig, rules)
        add_breaches(fig, points)
        lines = [s for s in fig["layout"]["shapes"] if s["type"] == "line"]
        assert [s["y0"] for s in lines] == [THRESHOLD]
        marks = [t for t in fig["data"] if t["mode"] == "markers"]
        drawn = sorted(float(y) for t in marks for y in t["y"])
        assert drawn == sorted(expected.metric_value)
    finally:
        reader.close()


def test_a_catalog_identifier_that_is_not_a_column_name_fails_naming_the_yaml(
    tmp_path: Path,
) -> None:
    """Only plain column names from the catalog ever reach SQL: an expression in
    meta.mart_catalog stops the build, naming the YAML file and the mart."""
    project = project_copy(tmp_path)
    yml = project / "models" / "marts" / "_marts__models.yml"
    text = yml.read_text()
    line = "          dimensions: {provider: provider}\n"
    assert text.count(line) == 1  # fct_dashboard_daily's
    yml.write_text(
        text.replace(line, '          dimensions: {provider: "provider; drop table x"}\n')
    )
    env = {
        **os.environ,
        "MODELMART_HOME": str(tmp_path / "home"),
        "MODELMART_BUILD_DB": str(tmp_path / "scratch.duckdb"),
    }
    run = run_dbt(["compile", "--select", "mart_catalog"], project, env, tmp_path / "scratch")
    assert run.returncode != 0
    assert "invalid mart catalog" in run.stdout
    assert (
        "models/marts/_marts__models.yml model fct_dashboard_daily: meta.mart_catalog identifier "
        "'provider; drop table x' must be a lower-case column name" in run.stdout
    )
