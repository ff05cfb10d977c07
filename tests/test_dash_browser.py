"""The Dash app in a real headless Chromium (Debian's, via Playwright): every page
renders, filters change the numbers and live in the URL, the numbers shown equal
the marts, and no page logs a console error. Screenshots: artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import duckdb
import pytest

from tests.conftest import PROJECT

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
SHOTS = PROJECT / "artifacts" / "screenshots"

PAGES = {
    "overview": ("/", "#ov-kpi-revenue-value"),
    "operations": ("/operations", "#ops-calls-chart .main-svg"),
    "quality": ("/quality", "#quality-chart .main-svg"),
    "drift": ("/drift", "#drift-heatmap .main-svg"),
    "calibration": ("/calibration", "#calibration-confusion-chart .main-svg"),
    "cost": ("/cost", "#cost-table"),
    "alerts": ("/alerts", "#alerts-table"),
    "experiments": ("/experiments", "#exp-summary"),
    "slo": ("/slo", "#slo-gauge .main-svg"),
    "not-found": ("/no-such-page", "text=Page not found"),
}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), (
        "chromium missing: run scripts/browser.sh (the test command does)"
    )
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


class Console:
    def __init__(self) -> None:
        self.errors: list[str] = []


@pytest.fixture
def page(browser) -> Iterator:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    tab = context.new_page()
    console = Console()
    tab.on(
        "console",
        lambda m: (
            console.errors.append(m.text) if m.type == "error" and not _expected_404(m) else None
        ),
    )
    tab.on("pageerror", lambda e: console.errors.append(str(e)))
    tab.console = console
    yield tab
    context.close()
    assert console.errors == [], f"browser console errors: {console.errors}"


def _expected_404(message) -> bool:
    """Chromium logs a document answered 404 as a console error: the one a path
    that is no page must cause (it answers 404, issue 12)."""
    return message.text.startswith(
        "Failed to load resource: the server responded with a status of 404"
    ) and message.location["url"].endswith(PAGES["not-found"][0])


def mart_kpis(home: Path, providers: tuple[str, ...] = ()) -> dict:
    """Independent SQL on the published marts for the default range (30 days to the
    newest LLM/prediction date)."""
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        newest = con.execute(
            "select greatest((select max(usage_date) from marts.fct_llm_usage_daily),"
            " (select max(prediction_date) from marts.fct_model_quality_daily))"
        ).fetchone()[0]
        start = newest - dt.timedelta(days=29)
        rows = con.execute(
            "select * from marts.fct_dashboard_daily where activity_date between ? and ?",
            [start, newest],
        ).df()
    finally:
        con.close()
    if providers:
        rows = rows[rows.provider.isin(providers)]
    return {
        "start": start,
        "end": newest,
        "revenue": f"${rows.loc[rows.provider != '(none)', 'revenue_usd'].sum():,.2f}",
        "spend": f"${rows.cost_usd.sum():,.2f}",
        "resolution": f"{rows.agent_resolved_tickets.sum() / rows.tickets.sum():.1%}",
    }


def mart_row(home: Path, sql: str, params: list) -> tuple:
    """One row of an independent SQL query on the published warehouse."""
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql, params).fetchone()
    finally:
        con.close()


def choose(page, field: str, value: str) -> None:
    """Pick one option in a Dash 4 multi-select dropdown."""
    page.locator(f'button[id*=\'"field":"{field}"\']').click()
    page.get_by_role("option", name=value, exact=True).click()
    page.keyboard.press("Escape")


def query_of(url: str) -> dict:
    return parse_qs(urlparse(url).query)


def test_every_page_renders_without_console_errors(served, page):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, (path, ready) in PAGES.items():
        page.goto(served + path)
        page.wait_for_selector(ready, timeout=30_000)
        page.wait_for_load_state("networkidle")
        assert page.locator("#banner").inner_text().startswith(("Data published", "Stale"))
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        if name == "quality":  # per-segment quality sits under the accuracy chart
            bars = page.locator("#quality-segments-chart .xtick text").evaluate_all(
                "els => els.map(e => e.textContent)"
            )
            assert {"web", "mobile"} <= set(bars)
    nav = page.locator(".nav-link").all_inner_texts()
    assert nav == [
        "Overview",
        "Operations",
        "Model quality",
        "Drift",
        "Calibration",
        "Cost",
        "Alerts",
        "Experiments",
        "SLOs",
    ]


def test_overview_numbers_equal_the_marts_and_the_filter_is_shareable(served, demo_home, page):
    want = mart_kpis(demo_home)
    page.goto(served + "/")
    page.wait_for_selector("#ov-kpi-revenue-value")
    assert page.inner_text("#ov-kpi-revenue-value") == want["revenue"]
    assert page.inner_text("#ov-kpi-spend-value") == want["spend"]
    assert page.inner_text("#ov-kpi-resolution-value") == want["resolution"]

    choose(page, "provider", "anthropic")
    page.wait_for_url(re.compile(r"provider=anthropic"))
    only = mart_kpis(demo_home, ("anthropic",))
    page.wait_for_function(
        "want => document.querySelector('#ov-kpi-revenue-value').innerText === want",
        arg=only["revenue"],
    )
    assert page.inner_text("#ov-kpi-spend-value") == only["spend"]
    shared = page.url
    # the default range stays out of the URL, so the shared link follows new days
    # (it held start= until issue 12)
    assert "start" not in query_of(shared) and "end" not in query_of(shared)

    # a fresh tab on the shared link shows the same view
    other = page.context.new_page()
    other.goto(shared)
    other.wait_for_selector("#ov-kpi-revenue-value")
    assert other.inner_text("#ov-kpi-revenue-value") == only["revenue"]
    assert "anthropic" in other.locator('button[id*=\'"field":"provider"\']').inner_text()

    # the navbar carries the filters to the next page
    page.get_by_role("link", name="Operations").click()
    page.wait_for_selector("#ops-calls-chart .main-svg")
    assert query_of(page.url)["provider"] == ["anthropic"]
    legend = page.locator("#ops-calls-chart .legendtext").evaluate_all(
        "els => els.map(e => e.textContent)"
    )
    assert legend and all(text.startswith("anthropic") for text in legend)
    # and the bars add up to the provider's calls in the marts
    (calls,) = mart_row(
        demo_home,
        "select sum(calls) from marts.fct_llm_usage_daily where usage_date between ? and ? "
        "and provider = 'anthropic'",
        [only["start"], only["end"]],
    )
    shown = page.evaluate(
        "() => document.querySelector('#ops-calls-chart .js-plotly-plot').data"
        ".reduce((sum, trace) => sum + trace.y.reduce((a, b) => a + (b || 0), 0), 0)"
    )
    assert shown == calls


def test_dates_from_the_url_drive_every_number(served, demo_home, page):
    want = mart_kpis(demo_home)
    start = want["end"] - dt.timedelta(days=6)
    page.goto(f"{served}/cost?start={start}&end={want['end']}&team=support")
    page.wait_for_selector("#cost-table")
    con = duckdb.connect(str(demo_home / "warehouse.duckdb"), read_only=True)
    spend = con.execute(
        "select sum(cost_usd) from marts.fct_llm_usage_daily where usage_date between ? and ? and team = 'support'",
        [start, want["end"]],
    ).fetchone()[0]
    con.close()
    assert page.inner_text("#cost-kpi-spend-value") == f"${spend:,.2f}"
    assert page.locator("#f-dates").input_value() == start.isoformat()
    assert "support" in page.locator('button[id*=\'"field":"team"\']').inner_text()


def test_cost_table_downloads_as_csv(served, page, tmp_path):
    page.goto(served + "/cost?provider=mistral")
    page.wait_for_selector("#cost-table")
    assert "unpriced" in page.inner_text("#cost-table")
    with page.expect_download() as download:
        page.click("#cost-download-button")
    saved = tmp_path / "cost.csv"
    download.value.save_as(saved)
    lines = saved.read_text().splitlines()
    # grouped by the "spend by" choice (provider); cost_usd empty when unpriced, with
    # is_priced (issue 12: the CSV stays numeric)
    assert lines[0].startswith("provider,calls") and lines[0].endswith(",is_priced")
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
    assert rows and all(r["provider"] == "mistral" for r in rows)
    assert all(r["cost_usd"] == "" and r["is_priced"] == "False" for r in rows)


def test_alerts_page_lists_the_marts_alerts(served, demo_home, page):
    want = mart_kpis(demo_home)
    total, active = mart_row(
        demo_home,
        "select count(*), count(*) filter (where is_active) from marts.fct_alerts "
        "where first_seen_date <= ? and last_seen_date >= ?",
        [want["end"], want["start"]],
    )
    page.goto(served + "/alerts")
    page.wait_for_selector("#alerts-summary")
    assert page.inner_text("#alerts-summary").startswith(f"{total:,} alerts, {active:,} active")
    page.locator("#alerts-severity").get_by_text("info").click()  # untick info
    page.wait_for_function(
        "() => !document.querySelector('#alerts-table').innerText.includes('info')"
    )
    # the choice lives in the URL and survives a reload (a shared link)
    page.wait_for_url(re.compile(r"severity=critical&severity=warning"))
    page.reload()
    page.wait_for_selector("#alerts-table")
    assert not page.locator("#alerts-severity input[value=info]").is_checked()
    assert page.locator("#alerts-severity input[value=warning]").is_checked()
    assert "info" not in page.inner_text("#alerts-table")
    shown = mart_row(
        demo_home,
        "select count(*) from marts.fct_alerts where first_seen_date <= ? and "
        "last_seen_date >= ? and severity <> 'info'",
        [want["end"], want["start"]],
    )[0]
    assert page.inner_text("#alerts-summary").startswith(f"{shown:,} alerts")
    # all unticked: a link that says so, not one that falls back to every severity
    for s in ("critical", "warning"):
        page.locator("#alerts-severity").get_by_text(s).click()
    page.wait_for_url(re.compile(r"severity=none"))
    page.reload()
    page.wait_for_selector("text=No alerts for this selection.")


def test_an_empty_selection_shows_a_message(served, page):
    page.goto(served + "/operations?provider=nobody")
    page.wait_for_selector("text=No LLM calls for this selection.")
    assert page.locator("#ops-calls-chart").count() == 0


def test_drift_and_calibration_pages_follow_the_version_filter(served, demo_home, page):
    con = duckdb.connect(str(demo_home / "warehouse.duckdb"), read_only=True)
    newest = con.execute(
        "select max(prediction_date) from marts.fct_feature_drift_daily"
    ).fetchone()[0]
    start = newest - dt.timedelta(days=29)
    counts = dict(
        con.execute(
            "select status, count(*) from marts.fct_feature_drift_daily where prediction_date "
            "between ? and ? and model_version = 'v2' group by status",
            [start, newest],
        ).fetchall()
    )
    cells = con.execute(
        "select sum(predictions) from marts.fct_confusion_matrix_daily where prediction_date "
        "between ? and ? and model_version = 'v2'",
        [start, newest],
    ).fetchone()[0]
    con.close()
    page.goto(served + "/drift")
    page.wait_for_selector("#drift-heatmap .main-svg")
    choose(page, "version", "churn_model/v2")
    page.wait_for_url(re.compile(r"version=churn_model%2Fv2"))
    want = ", ".join(f"{counts.get(s, 0)} {s}" for s in ("critical", "warning", "ok"))
    page.wait_for_function(
        "want => document.querySelector('#drift-summary').innerText.includes(want)", arg=want
    )
    notes = page.locator("#drift-psi-chart .annotation-text").evaluate_all(
        "els => els.map(e => e.textContent)"
    )
    assert notes == ["warning ≥ 0.1", "critical ≥ 0.2"]
    assert counts.get("critical", 0) > 0  # the demo's drift incident on v2

    page.get_by_role("link", name="Calibration").click()
    page.wait_for_selector("#calibration-confusion-chart .main-svg")
    assert query_of(page.url)["version"] == ["churn_model/v2"]
    shown = page.locator(
        "#calibration-confusion-chart .hm text, #calibration-confusion-chart text.textpoint"
    ).evaluate_all("els => els.map(e => e.textContent)")
    numbers = [int(t.replace(",", "")) for t in shown if t.replace(",", "").isdigit()]
    assert sum(numbers) == cells
    legend = page.locator("#calibration-reliability-chart .legendtext").evaluate_all(
        "els => els.map(e => e.textContent)"
    )
    assert legend == ["perfect calibration", "churn_model/v2"]


def test_quality_numbers_follow_the_version_filter_and_equal_the_marts(served, demo_home, page):
    window = mart_kpis(demo_home)
    predictions, labeled, correct = mart_row(
        demo_home,
        "select sum(predictions), sum(labeled), sum(correct) from marts.fct_model_quality_daily "
        "where prediction_date between ? and ? and model_name = 'churn_model' "
        "and model_version = 'v2'",
        [window["start"], window["end"]],
    )
    page.goto(served + "/quality")
    page.wait_for_selector("#quality-chart .main-svg")
    everything = page.inner_text("#q-kpi-predictions-value")
    choose(page, "version", "churn_model/v2")
    page.wait_for_url(re.compile(r"version=churn_model%2Fv2"))
    page.wait_for_function(
        "want => document.querySelector('#q-kpi-predictions-value').innerText === want",
        arg=f"{predictions:,}",
    )
    assert everything != f"{predictions:,}"  # the filter changed the number
    assert page.inner_text("#q-kpi-coverage-value") == f"{labeled / predictions:.1%}"
    assert page.inner_text("#q-kpi-accuracy-value") == f"{correct / labeled:.1%}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "quality-v2.png"), full_page=True)


def mart_frame(home: Path, sql: str, params: list | None = None):
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql, params or []).df()
    finally:
        con.close()


def signed_pct(value: float) -> str:
    return f"{value * 100:+.1f} %"


def test_experiments_scorecards_equal_the_marts_and_the_selection_is_shareable(
    served, demo_home, page
):
    results = mart_frame(demo_home, "select * from marts.fct_experiment_results")
    page.goto(served + "/experiments")
    page.wait_for_selector("#exp-summary")
    readouts = results.groupby(["experiment", "variant"]).ngroups
    assert page.inner_text("#exp-summary") == f"{readouts} variant readouts"
    # the demo shows every state: a winner, an A/A null, a broken split, one running
    status = dict(zip(results.experiment, results.status, strict=False))
    assert status["upsell_prompt"] == "ship"
    assert status["reply_length"] == "inconclusive"
    assert status["router_split"] == "invalid"
    assert status["summary_model"] == "running"
    for row in results.drop_duplicates(["experiment", "variant"]).itertuples():
        key = f"{row.experiment}-{row.variant}"
        page.wait_for_selector(f"#exp-chart-{key} .main-svg")
        assert page.inner_text(f"#exp-conclusion-{key}") == row.conclusion
        assert page.locator(f"#exp-srm-{key}").count() == int(row.is_srm)
        # the error bars: one point per metric with a lift, x = the mart's lift
        xs = page.evaluate(
            "id => document.getElementById(id).querySelector('.js-plotly-plot')"
            ".data.flatMap(t => t.x)",
            f"exp-chart-{key}",
        )
        want = results[(results.experiment == row.experiment) & (results.variant == row.variant)]
        assert sorted(xs) == pytest.approx(sorted(want.lift_relative.dropna()), abs=1e-12)
    # the winner's table shows the mart's lift, CIs and p-values, coloured as a win
    win = results[(results.experiment == "upsell_prompt") & (results.metric == "conversion")].iloc[
        0
    ]
    page.wait_for_selector("#exp-table-upsell_prompt-upsell td")
    cells = page.locator("#exp-table-upsell_prompt-upsell tbody tr").nth(1).locator("td")
    texts = cells.all_inner_texts()
    assert texts[0] == "Conversion" and texts[1] == "primary"
    assert texts[4] == signed_pct(win.lift_relative)
    assert texts[5] == f"{signed_pct(win.ci_low)} to {signed_pct(win.ci_high)}"
    assert texts[6] == f"{signed_pct(win.seq_ci_low)} to {signed_pct(win.seq_ci_high)}"
    assert texts[7] == f"{win.p_value:.4f}"
    assert texts[9] == "win"
    srm = results[results.experiment == "router_split"].iloc[0]
    assert f"χ² p = {srm.srm_p_value:.2g}" in page.inner_text("#exp-srm-router_split-router")
    running = results[results.experiment == "summary_model"].iloc[0]
    progress = page.inner_text("#exp-progress-summary_model-cheap")
    assert f"of {running.required_users:,} required users" in progress
    assert f"projected to reach it on {running.projected_date.date()}" in progress

    # choosing an experiment narrows the page and lands in the URL; the link reloads it
    page.locator("#exp-experiment").click()
    page.get_by_role("option", name="router_split", exact=True).click()
    page.keyboard.press("Escape")
    page.wait_for_url(re.compile(r"experiment=router_split"))
    page.wait_for_function(
        "() => document.querySelector('#exp-summary').innerText === '1 variant readouts'"
    )
    page.goto(page.url)
    page.wait_for_selector("#exp-card-router_split-router")
    assert page.locator(".experiment-card").count() == 1
    page.goto(served + "/experiments?status=ship")
    page.wait_for_selector("#exp-card-upsell_prompt-upsell")
    assert (
        page.locator(".experiment-card").count()
        == (results.drop_duplicates(["experiment", "variant"]).status == "ship").sum()
    )


def test_overview_shows_the_three_largest_impacts_as_ranges(served, demo_home, page):
    impacts = mart_frame(
        demo_home, "select * from marts.fct_metric_impacts where impact_rank <= 3 order by 1"
    )
    page.goto(served + "/")
    page.wait_for_selector("#ov-impacts li")
    for row in impacts.itertuples():
        text = page.inner_text(f"#ov-impact-{row.impact_rank}")
        assert " to " in text  # a range, never one number
        if row.is_money:
            for value in (row.impact_usd_per_month_low, row.impact_usd_per_month_high):
                sign = "−" if value < 0 else "+"
                v = abs(value)
                shown = f"{sign}${v / 1000:,.1f}k" if v >= 1000 else f"{sign}${v:,.0f}"
                assert shown in text, (shown, text)
            assert text.endswith("/month")
