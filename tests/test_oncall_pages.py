"""The on-call pages: the Operations page's hourly view, the SLO page and the drift
page's missing rates, called directly and in a real headless Chromium; numbers
against independent SQL on the marts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from dash import html

from dash_app.config import AppConfig
from dash_app.data.filters import Filters
from tests.test_dash_browser import PROJECT, browser, page  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow


def sql(home: Path, query: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(query, params or []).fetchall()
    finally:
        con.close()


def find(node, component_id):
    if getattr(node, "id", None) == component_id:
        return node
    children = getattr(node, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            hit = find(child, component_id)
            if hit is not None:
                return hit
    return None


@pytest.fixture(scope="module")
def app(demo_home: Path):
    from dash_app.app import create_app

    return create_app(AppConfig(warehouse=demo_home / "warehouse.duckdb"))


def test_hourly_view_shows_the_newest_24_hours_of_the_mart(app, demo_home: Path) -> None:
    from dash_app.pages import operations

    with app.server.test_request_context("/"):
        body = operations.update(None, None, ["openai"], [], [], "k", "p95", "24h")
    chart = find(html.Div(body), "ops-hourly-calls-chart")
    assert chart is not None
    calls = sum(sum(v for v in trace["y"] if v) for trace in chart.figure["data"])
    (want,) = sql(
        demo_home,
        "select sum(calls) from marts.fct_llm_usage_hourly where provider = 'openai' and usage_hour > "
        "(select max(usage_hour) from marts.fct_llm_usage_hourly) - interval 24 hours",
    )
    assert calls == want[0]
    hours = {x for trace in chart.figure["data"] for x in trace["x"]}
    assert len(hours) <= 24


def test_slo_page_states_the_budget_in_words(app, demo_home: Path) -> None:
    from dash_app.pages import slo

    rows = sql(
        demo_home,
        "select slo_id, budget_state, budget_remaining, is_page, is_ticket from marts.fct_slo_status where is_latest",
    )
    with app.server.test_request_context("/"):
        for slo_id, state, remaining, is_page, is_ticket in rows:
            body = slo.update(None, None, "k", f"?slo={slo_id}")
            words = find(html.Div(body), "slo-state").children
            expected = {
                "ok": "OK",
                "warning": "warning: budget below 20 %",
                "exhausted": "budget exhausted — freeze changes",
                "no_data": "no data in the period",
            }[state]
            assert words.startswith(expected), (slo_id, words)
            assert ("paging" in words) == bool(is_page)
            assert ("ticket" in words) == bool(is_ticket and not is_page)
            gauge = find(html.Div(body), "slo-gauge").figure["data"][0]["value"]
            assert (
                gauge == pytest.approx(remaining * 100) if remaining is not None else gauge is None
            )
    assert {state for _, state, *_ in rows} & {"exhausted", "ok", "warning"}


def test_drift_page_shows_missing_rates_beside_psi(app, demo_home: Path) -> None:
    from dash_app.data.quality import feature_drift
    from dash_app.data.warehouse import SnapshotReader

    reader = SnapshotReader(demo_home / "warehouse.duckdb", link_dir=demo_home / ".serve-oncall")
    try:
        (newest,) = sql(
            demo_home, "select max(prediction_date) from marts.fct_feature_drift_daily"
        )[0]
        frame = feature_drift(reader, Filters(start=newest, end=newest))
    finally:
        reader.close()
    want = dict(
        ((version, feature), rate)
        for version, feature, rate in sql(
            demo_home,
            "select model_name || '/' || model_version, feature, missing_rate from marts.fct_feature_quality_daily "
            "where prediction_date = ?",
            [newest],
        )
    )
    got = {(r.version, r.feature): r.missing_rate for r in frame.itertuples()}
    assert got == pytest.approx(want)


def test_slo_and_hourly_pages_in_a_browser(page, served: str, demo_home: Path) -> None:  # noqa: F811
    (slo_id, state) = sql(
        demo_home,
        "select slo_id, budget_state from marts.fct_slo_status where is_latest and sli_kind = 'latency' order by slo_id limit 1",
    )[0]
    page.goto(f"{served}/slo?slo={slo_id}")
    page.wait_for_selector("#slo-gauge .main-svg")
    page.wait_for_selector("#slo-burn-chart .main-svg")
    text = page.locator("#slo-state").inner_text()
    assert text.startswith(
        {"ok": "OK", "warning": "warning", "exhausted": "budget exhausted", "no_data": "no data"}[
            state
        ]
    )
    assert f"{slo_id}:" in page.locator("h2").first.inner_text()
    # another SLO through its link keeps the URL as the state
    other = page.locator("#slo-table a").nth(0)
    target = other.inner_text()
    other.click()
    page.wait_for_url(f"**slo={target}**")
    page.wait_for_function(
        f"document.querySelector('#slo-body h2')?.innerText.startsWith('{target}:')"
    )
    # changing a shared filter (the dates) keeps the chosen SLO in the URL and on the page
    newest = sql(demo_home, "select max(status_date) from marts.fct_slo_status")[0][0]
    start = (newest - dt.timedelta(days=3)).isoformat()
    dates = page.locator("#f-dates")
    dates.fill(start)
    dates.press("Enter")
    page.wait_for_url(f"**start={start}**")
    assert f"slo={target}" in page.url
    page.wait_for_function(
        f"document.querySelector('#slo-body h2')?.innerText.startsWith('{target}:')"
    )
    page.screenshot(path=str(PROJECT / "artifacts" / "screenshots" / "slo.png"), full_page=True)
