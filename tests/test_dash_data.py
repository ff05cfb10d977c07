"""The Dash app without a browser: data functions against an independent pandas
computation on the marts, figures, callbacks called directly, snapshot switching,
login and roles."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from werkzeug.security import generate_password_hash

from dash_app.components.page import own_param, with_params
from dash_app.config import AppConfig, parse_users
from dash_app.data import alerts, llm, overview, quality
from dash_app.data.filters import Filters
from dash_app.data.warehouse import NoWarehouse, SnapshotReader
from dash_app.figures import charts
from modelmart.config import UserError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(demo_home: Path):
    from dash_app.app import create_app

    return create_app(AppConfig(warehouse=demo_home / "warehouse.duckdb"))


@pytest.fixture(scope="module")
def reader(demo_home: Path):
    source = SnapshotReader(demo_home / "warehouse.duckdb", link_dir=demo_home / ".serve-tests")
    yield source
    source.close()


@pytest.fixture(scope="module")
def marts(demo_home: Path) -> dict[str, pd.DataFrame]:
    """The marts as plain DataFrames, read without the app's code."""
    con = duckdb.connect(str(demo_home / "warehouse.duckdb"), read_only=True)
    try:
        names = [
            "fct_llm_usage_daily",
            "fct_dashboard_daily",
            "fct_model_quality_daily",
            "fct_model_quality_segment_daily",
            "fct_alerts",
            "fct_alert_breaches",
            "fct_feature_drift_daily",
            "fct_calibration_bins_daily",
            "fct_confusion_matrix_daily",
        ]
        frames = {name: con.execute(f"select * from marts.{name}").df() for name in names}
        frames["budgets"] = con.execute("select * from reference.budgets").df()
    finally:
        con.close()
    for frame in frames.values():
        for column in frame.columns:
            if column.endswith("_date") or column == "budget_month":
                frame[column] = pd.to_datetime(frame[column]).dt.date
    return frames


def period(marts: dict, days: int = 30) -> Filters:
    newest = marts["fct_llm_usage_daily"].usage_date.max()
    return Filters(start=newest - dt.timedelta(days=days - 1), end=newest)


def find(component, component_id):
    """Depth-first search of a Dash component tree by id."""
    if component is None or isinstance(component, str | int | float):
        return None
    if isinstance(component, list | tuple):
        for child in component:
            hit = find(child, component_id)
            if hit is not None:
                return hit
        return None
    if getattr(component, "id", None) == component_id:
        return component
    return find(getattr(component, "children", None), component_id)


def texts(component) -> str:
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(texts(c) for c in component)
    return texts(getattr(component, "children", None))


# ------------------------------------------------------------------ filters


def test_filters_round_trip_through_the_url():
    filters = Filters.from_query(
        {
            "start": "2026-10-31",
            "end": "2026-10-01",
            "provider": ["openai", "anthropic", "openai"],
            "team": "support",
            "junk": "x",
        }
    )
    assert filters.start == dt.date(2026, 10, 1) and filters.end == dt.date(2026, 10, 31)  # swapped
    assert filters.provider == ("openai", "anthropic") and filters.team == ("support",)
    assert Filters.from_query(
        dict(
            pair.split("=")
            for pair in filters.to_search()[1:].split("&")
            if not pair.startswith("provider")
        )
    ).team == ("support",)
    assert (
        filters.to_search()
        == "?start=2026-10-01&end=2026-10-31&provider=openai&provider=anthropic&team=support"
    )
    # a page's own parameters survive a change of the shared filters; stale shared ones go
    assert (
        filters.to_search_keeping(
            "?start=2026-01-01&slo=latency&provider=x&experiment=a&experiment=b"
        )
        == "?start=2026-10-01&end=2026-10-31&provider=openai&provider=anthropic&team=support"
        "&slo=latency&experiment=a&experiment=b"
    )
    assert Filters().to_search_keeping("?slo=latency&team=x") == "?slo=latency"
    assert Filters().to_search_keeping(None) == ""
    # a page's own choices: set, repeated for a list, removed by None, the rest kept
    assert (
        with_params("?provider=x&by=team&severity=info", by=None, severity=["critical", "warning"])
        == "?provider=x&severity=critical&severity=warning"
    )
    assert (
        with_params("?by=team", by="model") == "?by=model" and with_params("?by=t", by=None) == ""
    )
    assert own_param({"by": ["team", "model"]}, "by", ["team", "model"], "provider") == "model"
    assert own_param({"by": "nonsense"}, "by", ["team", "model"], "provider") == "provider"
    assert Filters.from_query({"start": "yesterday", "end": ""}).start is None
    prev = filters.previous()
    assert (prev.start, prev.end) == (dt.date(2026, 8, 31), dt.date(2026, 9, 30))
    resolved = Filters().resolved(dt.date(2026, 11, 1))
    assert (resolved.start, resolved.end) == (dt.date(2026, 10, 3), dt.date(2026, 11, 1))


# ------------------------------------------------------------------ overview numbers


def expected_kpis(dash_daily: pd.DataFrame, start: dt.date, end: dt.date, providers=()) -> dict:
    rows = dash_daily[(dash_daily.activity_date >= start) & (dash_daily.activity_date <= end)]
    if providers:
        rows = rows[rows.provider.isin(providers)]
    by_day = rows.groupby("activity_date")[
        ["correct_calls_rolling_7d", "labeled_calls_rolling_7d"]
    ].sum()
    by_day = by_day[by_day.labeled_calls_rolling_7d > 0]
    last = by_day.iloc[-1] if len(by_day) else None
    return {
        "revenue_ai": rows.loc[rows.provider != "(none)", "revenue_usd"].sum(),
        "resolution_rate": rows.agent_resolved_tickets.sum() / rows.tickets.sum(),
        "accuracy_7d": None
        if last is None
        else last.correct_calls_rolling_7d / last.labeled_calls_rolling_7d,
        "latency_p95_max": rows.latency_p95_ms.max(),
        "spend": rows.cost_usd.sum(),
        "unpriced_calls": rows.unpriced_calls.sum(),
        "llm_calls": rows.llm_calls.sum(),
    }


@pytest.mark.parametrize("providers", [(), ("anthropic", "mistral")])
def test_overview_kpis_equal_an_independent_computation(reader, marts, providers):
    filters = Filters(**{**period(marts).__dict__, "provider": providers})
    daily = overview.overview_daily(reader, filters)
    for window in (filters, filters.previous()):
        got = overview.kpis(daily, window.start, window.end)
        want = expected_kpis(marts["fct_dashboard_daily"], window.start, window.end, providers)
        for name, value in want.items():
            assert getattr(got, name) == pytest.approx(value, rel=1e-12), name


def test_overview_callback_renders_the_mart_numbers(app, marts):
    from dash_app.pages import overview

    filters = period(marts)
    want = expected_kpis(marts["fct_dashboard_daily"], filters.start, filters.end, ("openai",))
    with app.server.test_request_context("/"):
        body = overview.update(
            filters.start.isoformat(), filters.end.isoformat(), ["openai"], "key"
        )
    assert texts(find(body, "ov-kpi-revenue-value")) == f"${want['revenue_ai']:,.2f}"
    assert texts(find(body, "ov-kpi-spend-value")) == f"${want['spend']:,.2f}"
    assert texts(find(body, "ov-kpi-resolution-value")) == f"{want['resolution_rate']:.1%}"
    assert texts(find(body, "ov-kpi-latency-value")) == f"{want['latency_p95_max']:,.0f} ms"
    active = marts["fct_alerts"]
    active = active[active.is_active & (active.provider.isna() | (active.provider == "openai"))]
    assert texts(find(body, "ov-active-alerts")) == str(len(active))


def test_an_empty_selection_says_so_instead_of_drawing_zeros(app, marts):
    from dash_app.pages import cost, operations, overview, quality

    filters = period(marts)
    s, e = filters.start.isoformat(), filters.end.isoformat()
    with app.server.test_request_context("/"):
        bodies = {
            "overview": overview.update(s, e, ["no-such-provider"], "k"),
            "operations": operations.update(s, e, ["no-such-provider"], [], [], "k", "p95", "days"),
            "cost": cost.update(s, e, [], ["no-such-model"], [], "k", "provider"),
            "quality": quality.update(s, e, ["no/such"], "k"),
        }
    for name, body in bodies.items():
        assert "for this selection" in texts(body), name
        assert find(body, f"{name}-chart") is None


# ------------------------------------------------------------------ operations and cost


def test_calls_and_pooled_error_rate_per_model(reader, marts):
    filters = Filters(**{**period(marts).__dict__, "team": ("support", "sales")})
    got = llm.calls_by_model(llm.llm_usage(reader, filters))
    usage = marts["fct_llm_usage_daily"]
    usage = usage[
        (usage.usage_date >= filters.start)
        & (usage.usage_date <= filters.end)
        & usage.team.isin(["support", "sales"])
    ]
    want = (
        usage.groupby(["usage_date", "provider", "model"])[["calls", "errors"]].sum().reset_index()
    )
    want["error_rate"] = want.errors / want.calls
    assert len(got) == len(want)
    assert got.calls.sum() == want.calls.sum()
    np.testing.assert_allclose(
        got.sort_values(["date", "series"]).error_rate.to_numpy(),
        want.sort_values(["usage_date", "provider", "model"]).error_rate.to_numpy(),
        rtol=1e-12,
    )


def test_cost_table_budget_and_cost_per_ticket(reader, marts):
    filters = period(marts, days=45)
    usage = marts["fct_llm_usage_daily"]
    in_range = usage[(usage.usage_date >= filters.start) & (usage.usage_date <= filters.end)]
    table = llm.cost_table(llm.llm_usage(reader, filters))
    unpriced = table[table.cost_usd.isna()]
    assert (
        set(unpriced.model)
        == set(in_range.loc[in_range.cost_usd.isna(), "model"])
        == {"mistral-large"}
    )
    assert (unpriced.unpriced_calls == unpriced.calls).all()  # unpriced, not $0
    assert table.cost_usd.sum() == pytest.approx(in_range.cost_usd.sum(), rel=1e-12)

    team_filters = Filters(**{**filters.__dict__, "team": ("support",)})
    status = llm.budget_status(reader, team_filters)
    month = filters.end.replace(day=1)
    mtd = in_range[(in_range.usage_date >= month) & (in_range.team == "support")]
    budgets = marts["budgets"]
    assert status.spend_mtd == pytest.approx(mtd.cost_usd.sum(), rel=1e-12)
    assert status.budget == pytest.approx(
        budgets[(budgets.budget_month == month) & (budgets.team == "support")].budget_usd.sum()
    )
    elapsed = (mtd.usage_date.max() - month).days + 1
    assert status.forecast == pytest.approx(mtd.cost_usd.sum() / elapsed * status.days_in_month)

    dash_daily = marts["fct_dashboard_daily"]
    rows = dash_daily[
        (dash_daily.activity_date >= filters.start)
        & (dash_daily.activity_date <= filters.end)
        & (dash_daily.provider != "(none)")
    ]
    priced = rows[rows.unpriced_calls == 0]
    per_ticket = llm.cost_per_resolved_ticket(reader, filters)
    assert per_ticket.value == pytest.approx(
        priced.cost_usd.sum() / priced.agent_resolved_tickets.sum(), rel=1e-12
    )
    # the demo's unpriced model (mistral) resolves tickets: they are left out, and counted
    excluded = rows.loc[rows.unpriced_calls > 0, "agent_resolved_tickets"].sum()
    assert per_ticket.excluded_tickets == excluded > 0
    assert status.unpriced_calls == mtd.unpriced_calls.sum() > 0


def test_cost_callback_shows_unpriced_as_unpriced_and_downloads_the_table(app, marts):
    from dash_app.pages import cost

    filters = period(marts)
    s, e = filters.start.isoformat(), filters.end.isoformat()
    with app.server.test_request_context("/"):
        body = cost.update(s, e, ["mistral"], [], [], "k", "model")
        sent = cost.download(1, s, e, ["mistral"], [], [], "model")
    table = find(body, "cost-table")
    # cost stays numeric (empty when unpriced); the table shows "unpriced" for it
    assert {row["cost_usd"] for row in table.data} == {None}
    cost_column = next(c for c in table.columns if c["id"] == "cost_usd")
    assert cost_column["format"].to_plotly_json()["nully"] == "unpriced"
    assert "No priced calls" in texts(body)
    csv = sent["content"]
    # the CSV is the table in view: grouped by the "spend by" choice, cost_usd numeric
    # (empty when unpriced) beside is_priced
    assert "unpriced" in csv and csv.splitlines()[0].startswith("model,calls")
    assert csv.splitlines()[0].endswith(",is_priced") and ",," in csv.splitlines()[1]
    assert len(csv.splitlines()) == len(table.data) + 1


# ------------------------------------------------------------------ quality and alerts


def test_segments_reconcile_with_the_version_totals(reader, marts):
    filters = period(marts)
    segments = quality.segment_quality(reader, filters)
    daily = quality.quality(reader, filters)
    per_version = daily.groupby("version")[["predictions", "labeled", "correct"]].sum()
    assert (
        (segments.groupby("version")[["predictions", "labeled", "correct"]].sum() == per_version)
        .all()
        .all()
    )
    assert set(segments.segment) >= {"web", "mobile"}
    np.testing.assert_allclose(segments.accuracy, segments.correct / segments.labeled, rtol=1e-12)


def test_alerts_respect_range_and_scope(reader, marts):
    filters = Filters(**{**period(marts, days=60).__dict__, "provider": ("anthropic",)})
    got = alerts.alerts(reader, filters)
    frame = marts["fct_alerts"]
    want = frame[
        (frame.first_seen_date <= filters.end)
        & (frame.last_seen_date >= filters.start)
        & (frame.provider.isna() | (frame.provider == "anthropic"))
    ]
    assert sorted(got.alert_id) == sorted(want.alert_id)
    assert len(got) > 0 and got.is_active.iloc[0] >= got.is_active.iloc[-1]  # active first
    critical = got[(got.rule_id == "llm_latency_p95_critical")]
    assert len(critical) >= 1 and (critical.worst_value > 1200).all()


def test_alerts_follow_the_version_filter_an_alert_of_a_whole_model_too(reader, marts):
    frame = marts["fct_alerts"]
    base = period(marts, days=400).__dict__
    in_range = frame[
        (frame.first_seen_date <= base["end"]) & (frame.last_seen_date >= base["start"])
    ]
    whole_model = in_range[in_range.model_name.notna() & in_range.model_version.isna()]
    assert len(whole_model) > 0  # the churn_model accuracy SLO's alerts: every version
    for chosen in (("churn_model/v2",), ("churn_model/v1", "other_model/v3"), ("other_model/v3",)):
        got = alerts.alerts(reader, Filters(**{**base, "version": chosen}))
        names = {v.split("/")[0] for v in chosen}
        want = in_range[
            in_range.model_name.isna()
            | (in_range.model_version.isna() & in_range.model_name.isin(names))
            | (in_range.model_name + "/" + in_range.model_version).isin(chosen)
        ]
        assert sorted(got.alert_id) == sorted(want.alert_id), chosen
    # another model's version does not show churn_model's whole-model alerts
    other = alerts.alerts(reader, Filters(**{**base, "version": ("other_model/v3",)}))
    assert not set(other.alert_id) & set(whole_model.alert_id)


def test_values_are_parameters_and_identifiers_allow_listed(reader, marts):
    hostile = Filters(
        **{
            **period(marts).__dict__,
            "provider": ("x') or 1=1 --",),
            "team": ("'; drop table marts.fct_alerts; --",),
        }
    )
    assert llm.llm_usage(reader, hostile).empty
    assert len(alerts.alerts(reader, Filters(**period(marts).__dict__))) > 0  # still there
    with pytest.raises(ValueError):
        llm.spend_over_time(llm.llm_usage(reader, period(marts)), "provider; drop table x")


# ------------------------------------------------------------------ figures


def test_figures_draw_thresholds_and_breaches():
    frame = pd.DataFrame(
        {
            "date": pd.date_range("2026-10-01", periods=4).date,
            "v": [800.0, 1300.0, np.nan, 900.0],
            "s": ["a"] * 4,
        }
    )
    rules = pd.DataFrame(
        {
            "threshold": [900.0, 1200.0],
            "severity": ["warning", "critical"],
            "comparator": [">", ">"],
        }
    )
    points = pd.DataFrame(
        {
            "metric_date": [frame.date[1]],
            "metric_value": [1300.0],
            "severity": ["critical"],
            "rule_id": ["r"],
            "series": ["a"],
        }
    )
    spec = charts.lines(frame, "date", "v", "s", "t", "ms")
    charts.add_thresholds(spec, rules)
    charts.add_breaches(spec, points)
    fig = go.Figure(spec)  # the dict is a valid plotly figure
    assert [shape.y0 for shape in fig.layout.shapes] == [900.0, 1200.0]
    # labelled in the axis' unit (ms)
    assert [a.text for a in fig.layout.annotations] == ["warning > 900 ms", "critical > 1,200 ms"]
    assert spec["data"][0]["y"] == [800.0, 1300.0, None, 900.0]  # a gap, not a zero
    assert spec["data"][0]["x"][0] == "2026-10-01" and fig.data[0].connectgaps is False
    assert fig.data[1].name == "breach (critical)" and list(fig.data[1].y) == [1300.0]
    assert fig.layout.paper_bgcolor == "white"
    json.dumps(spec)  # plain JSON, no encoder needed


def test_quality_chart_puts_coverage_beside_accuracy():
    frame = pd.DataFrame(
        {
            "date": pd.date_range("2026-10-01", periods=3).date,
            "version": ["m/v1"] * 3,
            "accuracy": [0.8, None, 0.7],
            "accuracy_rolling_7d": [0.8, 0.8, 0.75],
            "label_coverage": [0.9, 0.0, 0.1],
        }
    )
    spec = charts.quality_chart(
        frame, pd.DataFrame(columns=["threshold", "severity", "comparator"]), pd.DataFrame()
    )
    fig = go.Figure(spec)
    assert [(t.type, t.yaxis) for t in fig.data] == [
        ("bar", "y2"),
        ("scatter", "y"),
        ("scatter", "y"),
    ]
    assert fig.layout.yaxis2.overlaying == "y" and list(fig.layout.yaxis.range) == [0, 1]
    assert spec["data"][1]["y"] == [0.8, None, 0.7]
    coverage_rule = pd.DataFrame({"threshold": [0.5], "severity": ["info"], "comparator": ["<"]})
    with_rule = charts.quality_chart(
        frame,
        pd.DataFrame(columns=["threshold", "severity", "comparator"]),
        pd.DataFrame(),
        coverage_rule,
    )
    (line,) = with_rule["layout"]["shapes"]
    assert (line["yref"], line["y0"]) == ("y2", 0.5)  # on the coverage axis
    # in the coverage axis' unit (percent)
    assert with_rule["layout"]["annotations"][0]["text"] == "coverage info < 50 %"
    go.Figure(with_rule)
    for build in (
        lambda: charts.kpi_trend(frame, "date", "accuracy", percent=True),
        lambda: charts.stacked_bars(frame, "date", "accuracy", "version", "t", "y"),
        lambda: charts.segment_chart(
            frame.assign(segment="web", labeled=1, predictions=2).rename(columns={})
        ),
    ):
        go.Figure(build())


# ------------------------------------------------------------------ snapshots


def _db(path: Path, value: int) -> None:
    con = duckdb.connect(str(path))
    con.execute(f"create schema marts; create table marts.t as select {value} as v")
    con.close()


def test_reader_switches_to_a_new_snapshot_while_old_cursors_are_open(tmp_path):
    published = tmp_path / "warehouse.duckdb"
    reader = SnapshotReader(published)
    with pytest.raises(NoWarehouse, match="modelmart build"):
        reader.query("select 1")
    _db(published, 1)
    assert reader.query("select v from marts.t").v.tolist() == [1]  # now cached
    with reader.cursor() as held:  # a long request on the old snapshot
        assert held.execute("select v from marts.t").fetchone() == (1,)
        _db(tmp_path / "next.duckdb", 2)
        os.replace(tmp_path / "next.duckdb", published)
        assert reader.query("select v from marts.t").v.tolist() == [2]
        assert held.execute("select v from marts.t").fetchone() == (1,)  # undisturbed
    # links live only while a connection is being opened: nothing pins old snapshots
    assert list((tmp_path / ".serve").iterdir()) == []
    reader.close()


def test_reader_falls_back_to_the_file_when_links_are_impossible(tmp_path):
    published = tmp_path / "warehouse.duckdb"
    _db(published, 3)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    reader = SnapshotReader(published, link_dir=blocker / "links")
    assert reader.query("select v from marts.t").v.tolist() == [3]
    reader.close()


# ------------------------------------------------------------------ login and roles


def _basic(user: str, password: str) -> dict:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_users_are_validated():
    with pytest.raises(UserError, match="entry 1: expected user:role:password_hash"):
        parse_users("alice")
    with pytest.raises(UserError, match="role 'boss'"):
        parse_users("alice:boss:hash")
    users = parse_users(f"ann:finance:{generate_password_hash('pw')}, bob:viewer:x")
    assert {u.name: u.role for u in users.values()} == {"ann": "finance", "bob": "viewer"}


def test_login_guards_every_route_and_cost_needs_finance(demo_home: Path, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(demo_home / "warehouse.duckdb", home / "warehouse.duckdb")
    users = parse_users(
        f"ann:finance:{generate_password_hash('a-pw')},vic:viewer:{generate_password_hash('v-pw')}"
    )
    import flask

    from dash_app import auth

    server = flask.Flask("guarded")
    config = AppConfig(warehouse=home / "warehouse.duckdb", users=users)
    auth.install(server, config)

    @server.route("/", defaults={"path": ""})
    @server.route("/<path:path>", methods=["GET", "POST"])
    def anything(path):
        return "ok"

    client = server.test_client()
    assert client.get("/").status_code == 401
    assert client.get("/", headers=_basic("vic", "wrong")).status_code == 401
    assert client.get("/_dash-layout").status_code == 401
    assert client.get("/", headers=_basic("vic", "v-pw")).status_code == 200
    assert client.get("/cost", headers=_basic("vic", "v-pw")).status_code == 403
    cost_call = json.dumps({"output": "cost-body.children", "inputs": []})
    other_call = json.dumps({"output": "ov-body.children", "inputs": []})
    for headers, want in ((_basic("vic", "v-pw"), 403), (_basic("ann", "a-pw"), 200)):
        response = client.post(
            "/_dash-update-component",
            data=cost_call,
            headers={**headers, "Content-Type": "application/json"},
        )
        assert response.status_code == want
    response = client.post(
        "/_dash-update-component",
        data=other_call,
        headers={**_basic("vic", "v-pw"), "Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert client.get("/cost", headers=_basic("ann", "a-pw")).status_code == 200


def test_pages_say_when_nothing_is_published(app, tmp_path):
    from dash_app.pages import overview

    empty = AppConfig(warehouse=tmp_path / "warehouse.duckdb")
    app.server.config["MODELMART_READER"], saved = (
        SnapshotReader(empty.warehouse),
        app.server.config["MODELMART_READER"],
    )
    try:
        with app.server.test_request_context("/"):
            assert "run `modelmart build`" in texts(overview.layout())
            assert "run `modelmart build`" in texts(
                overview.update("2026-10-01", "2026-10-31", [], None)
            )
        client = app.server.test_client()
        assert client.get("/").status_code == 200
        assert b"No warehouse published yet" in client.get("/_dash-layout").data
    finally:
        app.server.config["MODELMART_READER"] = saved


def test_drift_and_calibration_views_equal_pandas_on_the_marts(app, reader, marts):
    from dash_app.pages import calibration, drift

    filters = Filters(**{**period(marts).__dict__, "version": ("churn_model/v2",)})

    def in_range(frame):
        return frame[
            (frame.prediction_date >= filters.start)
            & (frame.prediction_date <= filters.end)
            & (frame.model_version == "v2")
        ]

    bins = in_range(marts["fct_calibration_bins_daily"])
    want = bins.groupby("score_bin").apply(
        lambda g: pd.Series(
            {
                "labeled": g.labeled.sum(),
                "mean_score": np.average(g.mean_score, weights=g.labeled),
                "accuracy": np.average(g.accuracy, weights=g.labeled),
            }
        ),
        include_groups=False,
    )
    got = quality.reliability(reader, filters).set_index("score_bin")
    np.testing.assert_allclose(
        got[["labeled", "mean_score", "accuracy"]].to_numpy(float), want.to_numpy(float), rtol=1e-12
    )

    cells = in_range(marts["fct_confusion_matrix_daily"])
    cells = cells.assign(version=cells.model_name + "/" + cells.model_version)
    keys = ["version", "true_label", "predicted_label"]
    got = quality.confusion(reader, filters).set_index(keys).predictions
    assert got.to_dict() == cells.groupby(keys).predictions.sum().to_dict()

    statuses = in_range(marts["fct_feature_drift_daily"]).status.value_counts()
    with app.server.test_request_context("/"):
        body = drift.update(
            filters.start.isoformat(), filters.end.isoformat(), ["churn_model/v2"], "k"
        )
        empty = calibration.update(filters.start.isoformat(), filters.end.isoformat(), ["x/y"], "k")
    summary = texts(find(body, "drift-summary"))
    assert (
        f"{statuses.get('critical', 0)} critical, {statuses.get('warning', 0)} warning" in summary
    )
    assert statuses.get("critical", 0) > 0
    assert "No labeled predictions for this selection." in texts(empty)


def test_drift_figures_are_valid_plotly():
    frame = pd.DataFrame(
        {
            "date": list(pd.date_range("2026-10-01", periods=3).date) * 2,
            "series": ["f1"] * 3 + ["f2"] * 3,
            "psi": [0.01, 0.3, None, 0.02, 0.05, 0.4],
            "p": [0.5, 0.0, 1e-20, 0.2, 0.3, 0.001],
            "label": ["ok"] * 6,
        }
    )
    heat = charts.heatmap(frame, "date", "series", "psi", "t", "PSI", "label")
    assert heat["data"][0]["z"] == [[0.01, 0.3, None], [0.02, 0.05, 0.4]]
    logs = charts.log_lines(frame, "date", "p", "series", "t", "p")
    assert min(v for trace in logs["data"] for v in trace["y"]) == 1e-16  # zero at the floor
    matrix = pd.DataFrame(
        {
            "true_label": ["a", "a", "b"],
            "predicted_label": ["a", "b", "b"],
            "predictions": [3, 1, 4],
        }
    )
    confusion = charts.confusion_heatmap(matrix)
    assert confusion["data"][0]["z"] == [[3.0, 1.0], [None, 4.0]]
    assert confusion["data"][0]["text"][0] == ["75.0% of the true class", "25.0% of the true class"]
    reliability = charts.reliability_diagram(
        pd.DataFrame(
            {
                "version": ["m/v1"] * 2,
                "mean_score": [0.55, 0.9],
                "accuracy": [0.5, 0.92],
                "labeled": [10, 40],
            }
        )
    )
    for spec in (heat, logs, confusion, reliability):
        go.Figure(spec)
        json.dumps(spec)


def test_threshold_lines_are_the_rules_of_the_chart_mart_and_scope(tmp_path):
    """A rule scoped to one provider is drawn only when the view is narrowed to that
    provider; a rule of another mart on the same metric is never drawn."""
    published = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(published))
    con.execute(
        """
        create schema marts;
        create table marts.dim_alert_rules as
        select *, 'ms' as unit from (values
            ('all_p95', 'fct_dashboard_daily', 'latency_p95_ms', '>', 1200.0, 'critical', 1,
             null, null, null, null, null),
            ('openai_p95', 'fct_dashboard_daily', 'latency_p95_ms', '>', 1500.0, 'critical', 2,
             'openai', null, null, null, null),
            ('model_p95', 'fct_model_quality_daily', 'latency_p95_ms', '>', 300.0, 'warning', 1,
             null, null, null, 'churn', 'v2')
        ) as t(rule_id, mart, metric, comparator, threshold, severity, consecutive_periods,
               scope_provider, scope_model, scope_team, scope_model_name, scope_model_version)
        """
    )
    con.close()
    source = SnapshotReader(published, link_dir=tmp_path / "links")

    def drawn(mart: str, **chosen: tuple[str, ...]) -> list[str]:
        return list(alerts.thresholds(source, "latency_p95_ms", mart, Filters(**chosen)).rule_id)

    assert drawn("fct_dashboard_daily") == ["all_p95"]
    assert drawn("fct_dashboard_daily", provider=("openai", "anthropic")) == ["all_p95"]
    assert drawn("fct_dashboard_daily", provider=("openai",)) == ["all_p95", "openai_p95"]
    assert drawn("fct_model_quality_daily") == []
    assert drawn("fct_model_quality_daily", version=("churn/v2",)) == ["model_p95"]
    assert drawn("fct_model_quality_daily", version=("churn/v1",)) == []
    source.close()


def test_filters_a_page_cannot_honour_are_named_and_links_keep_the_selection(app):
    from dash_app.pages import overview, quality

    with app.server.test_request_context("/"):
        page = overview.layout(team="support", provider="openai")
        note = find(page, "filter-ignored")
        assert note is not None and "team = support" in texts(note)
        assert "provider" not in texts(note)  # the overview honours provider
        assert find(quality.layout(), "filter-ignored") is None  # nothing to say
    active = pd.DataFrame({"severity": ["critical"]})
    chosen = Filters(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31), provider=("openai",))
    strip = overview._alert_strip(active, chosen)
    link = next(c for c in strip.children if getattr(c, "href", None))
    assert link.href == "/alerts?start=2026-10-01&end=2026-10-31&provider=openai"
