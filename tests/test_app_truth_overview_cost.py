"""Truth at a glance on the Overview, Cost and Operations pages (issue 12), in a real
headless Chromium: cards coloured by their state against the alert rules, names
that mean one thing, budgets per team from fct_llm_budget_monthly, readable
charts with one colour per provider, filters and page choices in the URL, a
formatted cost table with a numeric CSV, and the hourly view. Every number is
checked against pandas on the marts' inputs; the page fixture fails a test on
any browser console error."""

from __future__ import annotations

import calendar
import datetime as dt
import io
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import duckdb
import pandas as pd
import pytest

from dash_app.figures import colors
from tests.test_dash_browser import browser, choose, page  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow

CHECKS = {">": lambda v, t: v > t, ">=": lambda v, t: v >= t, "<": lambda v, t: v < t}
RANK = {"critical": 0, "warning": 1, "info": 2}


def frame(home: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql, params or []).df()
    finally:
        con.close()


@pytest.fixture(scope="module")
def data(demo_home: Path) -> dict:
    """The marts' inputs as DataFrames, and the default range (30 days to the newest
    LLM or prediction date), read without the app's code."""
    out = {
        name: frame(demo_home, f"select * from {name}")
        for name in (
            "marts.fct_llm_usage_daily",
            "marts.fct_dashboard_daily",
            "marts.fct_llm_budget_monthly",
            "reference.budgets",
            "reference.alert_rules",
        )
    }
    for table in out.values():
        for column in table.columns:
            if column.endswith("_date") or column == "budget_month":
                table[column] = pd.to_datetime(table[column]).dt.date
    newest = frame(
        demo_home,
        "select greatest((select max(usage_date) from marts.fct_llm_usage_daily),"
        " (select max(prediction_date) from marts.fct_model_quality_daily)) as d",
    ).d[0]
    out["end"] = pd.Timestamp(newest).date()
    out["start"] = out["end"] - dt.timedelta(days=29)
    return out


def in_range(table: pd.DataFrame, column: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    return table[(table[column] >= start) & (table[column] <= end)]


def expected_state(value: float, rules: pd.DataFrame) -> str:
    if rules.empty:
        return "none"
    broken = [r for r in rules.itertuples() if CHECKS[r.comparator](value, r.threshold)]
    return min(broken, key=lambda r: RANK[r.severity]).severity if broken else "ok"


def plot_data(tab, selector: str) -> list[dict]:
    """Name, points and colour of each trace of a drawn chart."""
    tab.wait_for_selector(f"{selector} .main-svg")
    return tab.evaluate(
        "s => document.querySelector(s + ' .js-plotly-plot').data.map(t => ({name: t.name,"
        " x: t.x, y: t.y, color: (t.line && t.line.color) || (t.marker && t.marker.color)}))",
        selector,
    )


def plot_annotations(tab, selector: str) -> list[str]:
    tab.wait_for_selector(f"{selector} .main-svg")
    return tab.evaluate(
        "s => (document.querySelector(s + ' .js-plotly-plot').layout.annotations || [])"
        ".map(a => a.text)",
        selector,
    )


def dropdown_options(tab, field: str) -> list[str]:
    """The options a filter dropdown offers (opened, read, closed)."""
    tab.locator(f'button[id*=\'"field":"{field}"\']').click()
    tab.wait_for_selector(".dash-dropdown-options [role=option]")
    offered = tab.locator(".dash-dropdown-options [role=option]").all_inner_texts()
    tab.keyboard.press("Escape")
    return offered


def budget_by_pandas(data: dict) -> pd.DataFrame:
    """fct_llm_budget_monthly recomputed: team × month spend as of the newest date
    with any call, linear forecast, verdict only from 7 days."""
    usage = data["marts.fct_llm_usage_daily"].copy()
    usage["month"] = usage.usage_date.map(lambda d: d.replace(day=1))
    through = usage.usage_date.max()
    spend = usage.groupby(["month", "team"]).agg(
        spend=("cost_usd", lambda s: s.sum(min_count=1)),
        calls=("calls", "sum"),
        unpriced=("unpriced_calls", "sum"),
        days=("usage_date", "nunique"),
    )
    budgets = data["reference.budgets"].set_index(["budget_month", "team"]).budget_usd
    keys = sorted(set(spend.index) | set(budgets.index))
    rows = []
    for month, team in keys:
        length = calendar.monthrange(month.year, month.month)[1]
        last = month.replace(day=length)
        elapsed = 0 if through < month else (min(through, last) - month).days + 1
        got = spend.loc[(month, team)] if (month, team) in spend.index else None
        amount = None if got is None or pd.isna(got.spend) else float(got.spend)
        days = 0 if got is None else int(got.days)
        forecast = amount / elapsed * length if amount is not None and elapsed else None
        budget = budgets.get((month, team))
        if budget is None or pd.isna(budget):
            verdict = "no budget"
        elif elapsed < 7 or days < 7 or forecast is None:
            verdict = "not enough data"
        else:
            verdict = "over budget" if forecast > budget else "within budget"
        rows.append(
            {"budget_month": month, "team": team, "budget_usd": budget, "spend_mtd_usd": amount,
             "forecast_usd": forecast, "days_with_data": days, "days_elapsed": elapsed,
             "unpriced_calls": 0 if got is None else int(got.unpriced),
             "budget_verdict": verdict}
        )  # fmt: skip
    return pd.DataFrame(rows)


def test_budget_mart_equals_pandas(data):
    want = budget_by_pandas(data).sort_values(["budget_month", "team"]).reset_index(drop=True)
    got = (
        data["marts.fct_llm_budget_monthly"]
        .sort_values(["budget_month", "team"])
        .reset_index(drop=True)
    )
    assert list(got.budget_month) == list(want.budget_month)
    assert list(got.team) == list(want.team)
    for column in ("budget_usd", "spend_mtd_usd", "forecast_usd"):
        assert got[column].to_numpy(dtype=float, na_value=float("nan")) == pytest.approx(
            want[column].to_numpy(dtype=float, na_value=float("nan")), rel=1e-9, nan_ok=True
        )
    for column in ("days_with_data", "days_elapsed", "unpriced_calls", "budget_verdict"):
        assert list(got[column]) == list(want[column]), column
    # the demo's last month has one day of data: no verdict from it
    last = got[got.budget_month == got.budget_month.max()]
    assert (last.days_elapsed == 1).all() and (last.budget_verdict == "not enough data").all()


def test_overview_cards_show_health_against_the_alert_rules(served, data, page):  # noqa: F811
    rules = data["reference.alert_rules"]
    rows = in_range(data["marts.fct_dashboard_daily"], "activity_date", data["start"], data["end"])
    worst = float(rows.latency_p95_ms.max())
    latency_rules = rules[
        (rules.metric == "latency_p95_ms") & (rules.mart == "fct_dashboard_daily")
    ]
    state = expected_state(worst, latency_rules)
    assert state in ("warning", "critical")  # the demo's worst day is past the 900 ms line
    resolution = rows.agent_resolved_tickets.sum() / rows.tickets.sum()
    resolution_state = expected_state(
        resolution,
        rules[(rules.metric == "resolution_rate") & (rules.mart == "fct_business_daily")],
    )

    page.goto(served + "/")
    page.wait_for_selector("#ov-kpi-latency-value")
    assert page.inner_text("#ov-kpi-latency-value") == f"{worst:,.0f} ms"
    latency_card = page.locator("#ov-kpi-latency")
    assert f"kpi-state-{state}" in latency_card.get_attribute("class")
    worst_line = latency_rules[latency_rules.severity == state].threshold.iloc[0]
    assert f"the {worst_line:,.0f} ms {state} line" in page.inner_text("#ov-kpi-latency-health")
    assert f"kpi-state-{resolution_state}" in page.locator("#ov-kpi-resolution").get_attribute(
        "class"
    )
    # the change is beside it, in a neutral colour, whichever way it moved
    changes = page.locator(".kpi-card .delta").evaluate_all("els => els.map(e => e.className)")
    assert changes and all("delta-good" not in c and "delta-bad" not in c for c in changes)
    # one name, one meaning
    assert page.locator("#ov-kpi-accuracy .kpi-title").inner_text().lower() == (
        "llm answer accuracy (7 days)"
    )
    # the latency chart's threshold labels are in its unit
    labels = plot_annotations(page, "#ov-latency-chart")
    assert labels and all(label.endswith(" ms") for label in labels)

    page.goto(served + "/quality")
    page.wait_for_selector("#q-kpi-accuracy-7d")
    assert page.locator("#q-kpi-accuracy-7d .kpi-title").inner_text().lower() == (
        "model accuracy (7 days)"
    )


def test_cost_page_budget_per_team_and_cost_per_ticket_from_the_marts(served, data, page):  # noqa: F811
    want = budget_by_pandas(data)
    month = data["end"].replace(day=1)
    page.goto(served + "/cost")
    page.wait_for_selector("#cost-budget-table")
    # one day into the month: a forecast, but no over/within verdict
    assert page.inner_text("#cost-kpi-forecast-verdict").startswith("not enough data")
    this = want[want.budget_month == month].sort_values("team")
    cells = page.locator("#cost-budget-table td[data-dash-column='team']").all_inner_texts()
    assert cells == list(this.team)
    verdicts = page.locator(
        "#cost-budget-table td[data-dash-column='budget_verdict']"
    ).all_inner_texts()
    assert verdicts == list(this.budget_verdict)
    spends = page.locator(
        "#cost-budget-table td[data-dash-column='spend_mtd_usd']"
    ).all_inner_texts()
    assert spends == [f"${v:,.2f}" for v in this.spend_mtd_usd]
    assert page.inner_text("#cost-kpi-forecast-value") == f"${this.forecast_usd.sum():,.2f}"
    assert "7" in page.inner_text("#cost-budget-summary")  # the minimum is stated
    bars = plot_data(page, "#cost-budget-chart")
    assert {t["name"] for t in bars} == {"budget", "spend month to date", "forecast"}

    # a whole month: a verdict per team, and the budget against actual per team
    october = month.replace(month=month.month - 1) if month.month > 1 else month
    end = october.replace(day=calendar.monthrange(october.year, october.month)[1])
    page.goto(f"{served}/cost?start={october}&end={end}")
    page.wait_for_function(
        "() => document.querySelector('#cost-budget-summary')?.innerText.includes('"
        + f"{october:%b} 1 to {end}"
        + "')"
    )
    full = want[want.budget_month == october].sort_values("team")
    page.wait_for_function(
        "n => document.querySelectorAll("
        "'#cost-budget-table td[data-dash-column=budget_verdict]').length === n",
        arg=len(full),
    )
    verdicts = page.locator(
        "#cost-budget-table td[data-dash-column='budget_verdict']"
    ).all_inner_texts()
    assert verdicts == list(full.budget_verdict)
    assert set(verdicts) <= {"over budget", "within budget"}
    budgets = page.locator("#cost-budget-table td[data-dash-column='budget_usd']").all_inner_texts()
    assert budgets == [f"${v:,.2f}" for v in full.budget_usd]
    # the verdict card counts the teams' verdicts
    over = int((full.budget_verdict == "over budget").sum())
    assert (
        page.inner_text("#cost-kpi-forecast-verdict") == f"{over} of {len(full)} teams over budget"
    )

    # cost per resolved ticket: the fully priced cost and its tickets, from the mart
    rows = in_range(data["marts.fct_dashboard_daily"], "activity_date", october, end)
    ai = rows[rows.provider != "(none)"]
    priced = ai[ai.unpriced_calls == 0]
    cost, tickets = priced.cost_usd.sum(), int(priced.agent_resolved_tickets.sum())
    assert page.inner_text("#cost-kpi-per-ticket-value") == f"${cost / tickets:,.2f}"
    note = page.inner_text("#cost-kpi-per-ticket")
    assert f"${cost:,.2f} ÷ {tickets:,} tickets" in note
    left_out = int(ai.loc[ai.unpriced_calls > 0, "agent_resolved_tickets"].sum())
    assert f"{left_out:,} resolved tickets" in note
    # and the mart carries them row by row
    assert rows.fully_priced_cost_usd.sum() == pytest.approx(cost, rel=1e-12)
    assert int(rows.fully_priced_resolved_tickets.sum()) == tickets
    assert int(rows.unpriced_resolved_tickets.sum()) == left_out


def test_cost_table_is_formatted_and_the_csv_numeric_by_the_spend_by_choice(
    served,
    data,
    page,  # noqa: F811
    tmp_path,
):
    usage = in_range(data["marts.fct_llm_usage_daily"], "usage_date", data["start"], data["end"])
    by_team = usage.groupby("team").agg(
        calls=("calls", "sum"),
        cost_usd=("cost_usd", lambda s: s.sum(min_count=1)),
        unpriced_calls=("unpriced_calls", "sum"),
    )
    page.goto(served + "/cost")
    page.wait_for_selector("#cost-table")
    page.locator("#cost-by").get_by_text("Team").click()
    page.wait_for_function(
        "() => document.querySelector('#cost-table-title')?.innerText === 'Spend by team'"
    )
    # the choice lives in the URL and survives a reload (a shared link)
    page.wait_for_url(re.compile(r"by=team"))
    page.reload()
    page.wait_for_function(
        "() => document.querySelector('#cost-table-title')?.innerText === 'Spend by team'"
    )
    assert page.locator("#cost-by input[value=team]").is_checked()
    teams = page.locator("#cost-table td[data-dash-column='team']").all_inner_texts()
    assert sorted(teams) == sorted(by_team.index)
    shown = dict(
        zip(
            teams,
            page.locator("#cost-table td[data-dash-column='cost_usd']").all_inner_texts(),
            strict=True,
        )
    )
    assert shown == {t: f"${v:,.2f}" for t, v in by_team.cost_usd.items()}
    calls = page.locator("#cost-table td[data-dash-column='calls']").all_inner_texts()
    assert calls == [f"{int(by_team.calls[t]):,}" for t in teams]  # thousands separators

    with page.expect_download() as download:
        page.click("#cost-download-button")
    saved = tmp_path / "cost.csv"
    download.value.save_as(saved)
    csv = pd.read_csv(saved)
    assert list(csv.columns) == [
        "team", "calls", "tokens_total", "cost_usd", "unpriced_calls", "unpriced_tokens", "is_priced",
    ]  # fmt: skip
    assert pd.api.types.is_float_dtype(csv.cost_usd)
    got = csv.set_index("team")
    assert got.cost_usd.to_dict() == pytest.approx(by_team.cost_usd.to_dict(), rel=1e-9)
    assert got.is_priced.to_dict() == (by_team.unpriced_calls == 0).to_dict()

    # an unpriced selection: cost empty in the CSV (not "unpriced", not 0), is_priced false
    page.goto(served + "/cost?provider=mistral")
    page.wait_for_selector("#cost-table")
    assert "unpriced" in page.inner_text("#cost-table")
    with page.expect_download() as download:
        page.click("#cost-download-button")
    download.value.save_as(saved)
    text = saved.read_text()
    mistral = pd.read_csv(io.StringIO(text))
    assert list(mistral.provider) == ["mistral"] and mistral.cost_usd.isna().all()
    assert (~mistral.is_priced).all() and ",unpriced," not in text


def test_operations_charts_are_readable_with_one_colour_per_provider(served, data, page):  # noqa: F811
    usage = in_range(data["marts.fct_llm_usage_daily"], "usage_date", data["start"], data["end"])
    series = usage.provider + " · " + usage.model + " · " + usage.team
    calls = usage.groupby(series).calls.sum().sort_values(ascending=False, kind="stable")
    assert len(calls) > 20  # the chart this fixes: about 24 lines
    page.goto(served + "/operations")
    page.wait_for_selector("#ops-latency-chart .main-svg")
    lines = [t for t in plot_data(page, "#ops-latency-chart") if not t["name"].startswith("breach")]
    assert sorted(t["name"] for t in lines) == sorted(calls.index[:6])
    hidden = page.inner_text("#ops-latency-hidden")
    assert f"{len(calls) - 6} more are not drawn" in hidden and calls.index[-1] in hidden

    # breach marks sit on drawn lines only
    errors = plot_data(page, "#ops-errors-chart")
    drawn = {
        t["name"]: dict(zip(t["x"], t["y"], strict=True))
        for t in errors
        if not t["name"].startswith("breach")
    }
    marks = [t for t in errors if t["name"].startswith("breach")]
    assert marks, "the demo has error-rate breaches in the default range"
    on_lines = {(x, y) for line in drawn.values() for x, y in line.items() if y is not None}
    for mark in marks:
        for x, y in zip(mark["x"], mark["y"], strict=True):
            assert (x, y) in on_lines
    # threshold labels in the axis' unit
    assert all(a.endswith(" %") for a in plot_annotations(page, "#ops-errors-chart"))
    assert all(a.endswith(" ms") for a in plot_annotations(page, "#ops-provider-latency-chart"))
    # one colour per provider (and a shade of it per model) on every page
    provider_lines = {t["name"]: t["color"] for t in plot_data(page, "#ops-provider-latency-chart")}
    for provider in ("openai", "anthropic", "google", "mistral"):
        assert provider_lines[provider] == colors.provider_color(provider)
    bars = {t["name"]: t["color"] for t in plot_data(page, "#ops-calls-chart")}
    assert bars["openai · gpt-4o"] == colors.provider_color("openai")
    page.goto(served + "/cost")
    page.wait_for_selector("#cost-chart .main-svg")
    spend = {t["name"]: t["color"] for t in plot_data(page, "#cost-chart")}
    assert spend == {p: provider_lines[p] for p in spend}
    page.goto(served + "/quality")
    page.wait_for_selector("#quality-chart .main-svg")
    versions = {t["name"]: t["color"] for t in plot_data(page, "#quality-chart")}
    assert versions["churn_model/v2 accuracy (7 days)"] == colors.version_color("churn_model/v2")


def test_filters_follow_the_provider_and_page_choices_live_in_the_url(served, data, page):  # noqa: F811
    usage = data["marts.fct_llm_usage_daily"]
    page.goto(served + "/operations")
    page.wait_for_selector("#ops-calls-chart .main-svg")
    offered = dropdown_options(page, "provider")
    assert "(none)" not in offered and sorted(offered) == sorted(set(usage.provider))

    choose(page, "provider", "anthropic")
    page.wait_for_url(re.compile(r"provider=anthropic"))
    models = dropdown_options(page, "model")
    assert sorted(models) == sorted(set(usage.loc[usage.provider == "anthropic", "model"]))

    page.locator("#ops-percentile").get_by_text("p99").click()
    page.wait_for_url(re.compile(r"percentile=p99"))
    page.wait_for_function(
        "() => document.querySelector('#ops-latency-chart .gtitle')?.textContent.startsWith('p99')"
    )
    assert parse_qs(urlparse(page.url).query)["provider"] == ["anthropic"]
    # a reload (or a shared link) keeps the choice
    page.reload()
    page.wait_for_selector("#ops-latency-chart .main-svg")
    assert page.locator("#ops-percentile input[value=p99]").is_checked()
    assert page.locator("#ops-latency-chart .gtitle").text_content().startswith("p99")
    # changing a shared filter keeps the page's choice
    choose(page, "provider", "openai")
    page.wait_for_url(re.compile(r"provider=openai"))
    assert "percentile=p99" in page.url

    page.goto(served + "/cost")
    page.wait_for_selector("#cost-table")
    assert "(none)" not in dropdown_options(page, "provider")


def test_hourly_view_in_a_browser(served, demo_home, page):  # noqa: F811
    """The /operations part test_slo_and_hourly_pages_in_a_browser lost, by URL."""
    newest, calls = frame(
        demo_home,
        "select max(usage_hour) as newest, sum(calls) filter (where usage_hour > "
        "(select max(usage_hour) from marts.fct_llm_usage_hourly) - interval 24 hours) as calls "
        "from marts.fct_llm_usage_hourly",
    ).iloc[0]
    page.goto(served + "/operations?view=24h")
    page.wait_for_selector("#ops-hourly-calls-chart .main-svg", timeout=60_000)
    summary = page.inner_text("#ops-hourly-summary")
    assert f"24 hours up to the newest hour with calls ({newest:%Y-%m-%d %H}:00 UTC)" in summary
    shown = page.evaluate(
        "() => document.querySelector('#ops-hourly-calls-chart .js-plotly-plot').data"
        ".reduce((sum, trace) => sum + trace.y.reduce((a, b) => a + (b || 0), 0), 0)"
    )
    assert shown == calls
    page.locator("#ops-view").get_by_text("last 7 days, hourly").click()
    page.wait_for_url(re.compile(r"view=7d"))
    page.wait_for_function(
        "() => document.querySelector('#ops-hourly-summary')?.innerText.startsWith('168 hours')"
    )
