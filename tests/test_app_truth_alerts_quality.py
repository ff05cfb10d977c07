"""Truth at a glance on the Alerts, Quality, Drift and Calibration pages, the
freshness banner, the URL and the 404 (issue 12): each test asserts a defect of
the start commit away, in headless Chromium, with the numbers read independently
from the published marts (pandas / DuckDB SQL written here, not the app's)."""

from __future__ import annotations

import datetime as dt
import math
import re
import tokenize
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import duckdb
import pandas as pd
import pytest

from tests.conftest import PROJECT

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
SHOTS = PROJECT / "artifacts" / "screenshots"
NOT_FOUND = "Failed to load resource: the server responded with a status of 404"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "chromium missing: run scripts/browser.sh"
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser) -> Iterator:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    errors: list[str] = []

    def on_console(message) -> None:
        # the one error a 404 must cause: Chromium logs the document's own status
        if message.type == "error" and not (
            message.text.startswith(NOT_FOUND) and "/no-such-page" in message.location["url"]
        ):
            errors.append(message.text)

    tab.on("console", on_console)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    yield tab
    context.close()
    assert errors == [], f"browser console errors: {errors}"


def mart(home: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql, params or []).df()
    finally:
        con.close()


def default_range(home: Path) -> tuple[dt.date, dt.date]:
    newest = mart(
        home,
        "select greatest((select max(usage_date) from marts.fct_llm_usage_daily),"
        " (select max(prediction_date) from marts.fct_model_quality_daily)) as d",
    ).d.iloc[0]
    newest = pd.Timestamp(newest).date()
    return newest - dt.timedelta(days=29), newest


def settle(page) -> None:
    page.wait_for_load_state("networkidle")


def query_of(url: str) -> dict:
    return parse_qs(urlparse(url).query)


def choose(page, field: str, value: str) -> None:
    page.locator(f'button[id*=\'"field":"{field}"\']').click()
    page.get_by_role("option", name=value, exact=True).click()
    page.keyboard.press("Escape")


# ------------------------------------------------------------------ 404


def test_a_path_that_is_no_page_answers_404_and_shows_the_not_found_page(served, page):
    for path, status in (("/no-such-page", 404), ("/404", 404), ("/alerts", 200), ("/", 200)):
        try:
            with urllib.request.urlopen(served + path, timeout=30) as response:
                got = response.status
        except urllib.error.HTTPError as exc:
            got = exc.code
        assert got == status, path
    response = page.goto(served + "/no-such-page")
    assert response.status == 404
    page.wait_for_selector("text=Page not found")
    settle(page)


# ------------------------------------------------------------------ freshness, URL


def test_the_banner_warns_when_the_newest_events_are_old(served, demo_home, page):
    newest = mart(
        demo_home,
        "select (select max(usage_date) from marts.fct_llm_usage_daily) as llm,"
        " (select max(prediction_date) from marts.fct_model_quality_daily) as pred",
    ).iloc[0]
    today = dt.datetime.now(dt.UTC).date()
    llm_age = (today - pd.Timestamp(newest.llm).date()).days
    pred_age = (today - pd.Timestamp(newest.pred).date()).days
    assert llm_age > 2  # the demo ends a month before today; it was just published
    page.goto(served + "/")
    page.wait_for_selector("#ov-kpi-revenue-value")
    banner = page.locator("#banner")
    assert "banner-stale" in banner.get_attribute("class")
    text = banner.inner_text()
    assert text.startswith("Stale")
    assert f"llm calls {llm_age} days" in text and f"predictions {pred_age} days" in text
    settle(page)


def test_the_banner_by_data_age_and_publish_age():
    from dash_app.app import banner

    day = dt.date(2026, 11, 1)
    published = dt.datetime(2026, 11, 2, 6, tzinfo=dt.UTC).timestamp()
    info = {"key": "k", "published_at": published, "newest": {"llm_calls": day}}
    # one day after the newest events, published an hour ago: fresh
    _, fresh = banner(info, 26, now=published + 3600, stale_data_days=2)
    assert fresh == "banner banner-fresh"
    # published an hour ago, but the newest events are 3 days old: stale
    texts, stale = banner(info, 26, now=published + 2 * 86400, stale_data_days=2)
    assert stale == "banner banner-stale" and "llm calls 3 days" in texts[0]
    # a larger threshold accepts them
    _, ok = banner(info, 72, now=published + 2 * 86400, stale_data_days=5)
    assert ok == "banner banner-fresh"


def test_the_default_range_follows_the_newest_data_and_stays_out_of_the_url(
    served, demo_home, page
):
    start, end = default_range(demo_home)
    page.goto(served + "/quality")
    page.wait_for_selector("#quality-chart .main-svg")
    settle(page)
    assert "start" not in query_of(page.url) and "end" not in query_of(page.url)
    assert page.locator("#f-dates").input_value() == start.isoformat()
    # another filter goes into the URL, the default dates still do not
    choose(page, "version", "churn_model/v2")
    page.wait_for_url(re.compile(r"version=churn_model%2Fv2"))
    settle(page)
    assert "start" not in query_of(page.url)
    # dates the reader picks go into the URL
    picked = end - dt.timedelta(days=6)
    page.locator("#f-dates").fill(picked.isoformat())
    page.locator("#f-dates").press("Enter")
    page.wait_for_url(re.compile(rf"start={picked}"))
    assert query_of(page.url)["end"] == [end.isoformat()]
    # a link with explicit dates keeps them when another filter changes
    pinned = end - dt.timedelta(days=9)
    page.goto(f"{served}/quality?start={pinned}&end={end}")
    page.wait_for_selector("#quality-chart .main-svg")
    choose(page, "version", "churn_model/v1")
    page.wait_for_url(re.compile(r"version=churn_model%2Fv1"))
    assert query_of(page.url)["start"] == [pinned.isoformat()]
    settle(page)


# ------------------------------------------------------------------ alerts


def test_alerts_summary_days_and_units_equal_the_marts(served, demo_home, page):
    start, end = default_range(demo_home)
    frame = mart(
        demo_home,
        "select * from marts.fct_alerts where first_seen_date <= ? and last_seen_date >= ?",
        [end, start],
    )
    active = frame[frame.is_active]

    def by_severity(rows: pd.DataFrame) -> str:
        counts = rows.severity.value_counts()
        return ", ".join(
            f"{counts[s]:,} {s}" for s in ("critical", "warning", "info") if s in counts
        )

    want = (
        f"{len(frame):,} alerts, {len(active):,} active ({by_severity(active)}); "
        f"all {len(frame):,}: {by_severity(frame)}"
    )
    page.goto(served + "/alerts")
    page.wait_for_selector("#alerts-table")
    assert page.inner_text("#alerts-summary") == want
    assert len(active) < len(frame)  # the breakdowns differ on the demo

    headers = page.locator("#alerts-table th").all_inner_texts()
    assert "Days alerting (first → last seen)" in [h.strip() for h in headers]
    rows = page.evaluate(
        """() => Array.from(document.querySelectorAll('#alerts-table tbody tr'))
              .map(tr => Array.from(tr.querySelectorAll('td')).map(td => td.innerText.trim()))
              .filter(cells => cells.length > 0)"""
    )
    names = [h.strip() for h in headers]
    col = {name: names.index(name) for name in names}
    assert rows
    for cells in rows:
        first = dt.date.fromisoformat(cells[col["First seen"]])
        last = dt.date.fromisoformat(cells[col["Last seen"]])
        assert int(cells[col["Days alerting (first → last seen)"]]) == (last - first).days + 1
        metric, value = cells[col["Metric"]], cells[col["Value"]]
        threshold = cells[col["Threshold"]]
        if metric.endswith("_ms"):
            assert value.endswith(" ms") and threshold.endswith(" ms")
        elif metric.endswith("_rate") or metric.startswith("accuracy") or "coverage" in metric:
            assert value.endswith("%") and threshold.endswith("%")
        elif metric.startswith("burn_rate"):
            assert value.endswith("×")
    # a latency value equals the mart's, in ms with no decimals
    latency = frame[frame.metric == "latency_p95_ms"].sort_values(
        ["is_active", "last_seen_date"], ascending=[False, False]
    )
    shown = {cells[col["Value"]] for cells in rows if cells[col["Metric"]] == "latency_p95_ms"}
    assert f"{latency.last_value.iloc[0]:,.0f} ms" in shown

    # "active only" lives in the URL and survives a reload
    page.locator("label", has_text="active only").click()
    page.wait_for_url(re.compile(r"only=active"))
    page.wait_for_function(
        "want => document.querySelector('#alerts-summary').innerText.startsWith(want)",
        arg=f"{len(active):,} alerts, {len(active):,} active",
    )
    page.reload()
    page.wait_for_selector("#alerts-summary")
    assert page.inner_text("#alerts-summary").startswith(
        f"{len(active):,} alerts, {len(active):,} active"
    )
    assert page.locator("label", has_text="active only").locator("input").is_checked()
    settle(page)


# ------------------------------------------------------------------ quality, drift, calibration


def test_coverage_bars_of_two_versions_do_not_overlap(served, demo_home, page):
    start, end = default_range(demo_home)
    quality = mart(
        demo_home,
        "select model_name || '/' || model_version as version, prediction_date, label_coverage "
        "from marts.fct_model_quality_daily where prediction_date between ? and ?",
        [start, end],
    )
    page.goto(served + "/quality")
    page.wait_for_selector("#quality-chart .main-svg")
    settle(page)
    bars = page.evaluate(
        """() => {
            const gd = document.querySelector('#quality-chart .js-plotly-plot');
            const traces = Array.from(gd.querySelectorAll('.barlayer .trace'));
            return traces.map(t => Array.from(t.querySelectorAll('.point path'))
                .map(p => { const b = p.getBoundingClientRect(); return [b.left, b.right]; }));
        }"""
    )
    assert len(bars) == quality.version.nunique() == 2
    overlaps = sum(1 for a in bars[0] for b in bars[1] if min(a[1], b[1]) - max(a[0], b[0]) > 0.5)
    assert overlaps == 0
    coverage = page.evaluate(
        """() => document.querySelector('#quality-chart .js-plotly-plot').data
              .filter(t => t.type === 'bar')
              .map(t => [t.name, t.y.reduce((a, b) => a + (b || 0), 0)])"""
    )
    for name, total in coverage:
        version = name.removesuffix(" label coverage")
        want = quality.loc[quality.version == version, "label_coverage"].sum()
        assert math.isclose(total, want, rel_tol=1e-9)


def shape_pixels(page, graph: str) -> list[tuple[float, str]]:
    """The y pixel of each threshold line of a graph and its label's y pixel."""
    return page.evaluate(
        """graph => {
            const gd = document.querySelector(graph + ' .js-plotly-plot');
            const lines = Array.from(gd.querySelectorAll('.shapelayer path'))
                .map(p => p.getBoundingClientRect().top);
            const notes = Array.from(gd.querySelectorAll('.annotation'))
                .map(a => [a.getBoundingClientRect().bottom, a.textContent]);
            const size = gd._fullLayout._size, box = gd.getBoundingClientRect();
            return {lines, notes, top: box.top + size.t, bottom: box.top + size.t + size.h};
        }""",
        graph,
    )


def test_psi_gate_lines_stay_apart_and_come_from_the_gates_mart(served, demo_home, page):
    page.goto(served + "/drift?version=churn_model%2Fv2")
    page.wait_for_selector("#drift-psi-chart .main-svg")
    settle(page)
    psi = shape_pixels(page, "#drift-psi-chart")
    warning, critical = sorted(psi["lines"], reverse=True)  # lower line: larger pixel
    assert psi["top"] <= critical < warning <= psi["bottom"]
    assert warning - critical >= 15  # the two gates are readable apart
    gates = mart(demo_home, "select gate, threshold from marts.dim_drift_gates")
    gates = dict(zip(gates.gate, gates.threshold, strict=True))
    assert [n[1] for n in psi["notes"]] == [
        f"warning ≥ {gates['psi_warning']:g}",
        f"critical ≥ {gates['psi_critical']:g}",
    ]
    # on the log-scaled KS chart the label sits on its line
    ks = shape_pixels(page, "#drift-ks-chart")
    assert [n[1] for n in ks["notes"]] == [f"warning < {gates['ks_pvalue']:g}"]
    assert abs(ks["notes"][0][0] - ks["lines"][0]) <= 3
    # the drawn PSI values equal the mart
    start, end = default_range(demo_home)
    want = mart(
        demo_home,
        "select max(psi) as top from marts.fct_feature_drift_daily "
        "where model_version = 'v2' and prediction_date between ? and ?",
        [start, end],
    ).top.iloc[0]
    drawn = page.evaluate(
        "() => Math.max(...document.querySelector('#drift-psi-chart .js-plotly-plot').data"
        ".flatMap(t => t.y.filter(v => v !== null)))"
    )
    assert math.isclose(drawn, want, rel_tol=1e-12)


def test_calibration_axes_and_the_confusion_diagonal(served, demo_home, page):
    start, end = default_range(demo_home)
    f1 = mart(
        demo_home,
        "select sum(macro_f1) as total from marts.fct_classification_daily "
        "where model_version = 'v2' and prediction_date between ? and ?",
        [start, end],
    ).total.iloc[0]
    page.goto(served + "/calibration?version=churn_model%2Fv2")
    page.wait_for_selector("#calibration-confusion-chart .main-svg")
    page.wait_for_selector("#calibration-trend-chart .main-svg")
    settle(page)
    diagonal = page.evaluate(
        """() => {
            const gd = document.querySelector('#calibration-confusion-chart .js-plotly-plot');
            const x = gd._fullLayout.xaxis, y = gd._fullLayout.yaxis;
            const n = x._categories.length;
            return {xs: x._categories, ys: y._categories,
                    first: [x.l2p(0), y.l2p(0)], last: [x.l2p(n - 1), y.l2p(n - 1)]};
        }"""
    )
    assert diagonal["xs"] == diagonal["ys"] and len(diagonal["xs"]) >= 2
    # the first class is top-left, the last bottom-right (pixels grow right and down)
    assert diagonal["first"][0] < diagonal["last"][0]
    assert diagonal["first"][1] < diagonal["last"][1]
    names = page.evaluate(
        "() => document.querySelector('#calibration-trend-chart .js-plotly-plot').data"
        ".map(t => t.name)"
    )
    assert names and not any("F1" in name for name in names)  # errors only
    page.wait_for_selector("#calibration-f1-chart .main-svg")
    f1_names = page.evaluate(
        "() => document.querySelector('#calibration-f1-chart .js-plotly-plot').data"
        ".map(t => t.name)"
    )
    assert f1_names and all("F1" in name for name in f1_names)
    drawn = page.evaluate(
        "() => document.querySelector('#calibration-f1-chart .js-plotly-plot').data"
        ".reduce((s, t) => s + t.y.reduce((a, b) => a + (b || 0), 0), 0)"
    )
    assert math.isclose(drawn, f1, rel_tol=1e-9)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "calibration-v2.png"), full_page=True)


def test_no_drift_gate_literal_is_left_in_the_app_or_the_drift_models():
    """The gates live in seeds/drift_gates.csv only (marts.dim_drift_gates): no
    number 0.1, 0.2 or 0.01 in the app's code or the drift marts' Python models."""
    files = [
        *(PROJECT / "dash_app").rglob("*.py"),
        *(PROJECT / "models" / "marts" / "drift").glob("*.py"),
    ]
    found = []
    for path in files:
        with path.open("rb") as source:
            for token in tokenize.tokenize(source.readline):
                if token.type == tokenize.NUMBER and float(token.string) in (0.1, 0.2, 0.01):
                    found.append(
                        f"{path.relative_to(PROJECT)}:{token.start[0]}: {token.line.strip()}"
                    )
    assert found == [], found


def test_threshold_scope_matching_is_sql_on_the_validated_rules(tmp_path):
    """dash_app.data.alerts.thresholds reads marts.dim_alert_rules and matches the
    scope in SQL: a scoped rule applies only when the selection is exactly its scope
    (a model_name scope: every selected version of that model)."""
    from dash_app.data import alerts
    from dash_app.data.filters import Filters
    from dash_app.data.warehouse import SnapshotReader

    published = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(published))
    con.execute(
        """
        create schema marts;
        create table marts.dim_alert_rules as
        select *, 'share' as unit, '' as description from (values
            ('any', 'm', 'x', '<', 0.5, 'info', 1, null, null, null, null, null),
            ('team', 'm', 'x', '<', 0.6, 'warning', 1, null, null, 'support', null, null),
            ('model', 'm', 'x', '<', 0.7, 'warning', 1, 'openai', 'gpt', null, null, null),
            ('churn', 'm', 'x', '<', 0.8, 'critical', 1, null, null, null, 'churn', null),
            ('churn_v2', 'm', 'x', '<', 0.9, 'critical', 1, null, null, null, 'churn', 'v2')
        ) as t(rule_id, mart, metric, comparator, threshold, severity, consecutive_periods,
               scope_provider, scope_model, scope_team, scope_model_name, scope_model_version)
        """
    )
    con.close()
    source = SnapshotReader(published, link_dir=tmp_path / "links")

    def drawn(**chosen: tuple[str, ...]) -> list[str]:
        return list(alerts.thresholds(source, "x", "m", Filters(**chosen)).rule_id)

    try:
        assert drawn() == ["any"]
        assert drawn(team=("support",)) == ["any", "team"]
        assert drawn(team=("support", "sales")) == ["any"]
        assert drawn(provider=("openai",)) == ["any"]  # the model is not narrowed
        assert drawn(provider=("openai",), model=("gpt",)) == ["any", "model"]
        assert drawn(version=("churn/v1", "churn/v2")) == ["any", "churn"]
        assert drawn(version=("churn/v2",)) == ["any", "churn", "churn_v2"]
        assert drawn(version=("churn/v2", "other/v1")) == ["any"]
        frame = alerts.thresholds(source, "x", "m", Filters(version=("churn/v2",)))
        assert list(frame.threshold) == [0.5, 0.8, 0.9] and set(frame.unit) == {"share"}
    finally:
        source.close()
