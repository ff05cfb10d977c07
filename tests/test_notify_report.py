"""The daily / weekly digest: every number equals an independent pandas computation
on the demo marts; rendered as Markdown, HTML e-mail and Slack blocks; sent by
notify once per day / ISO week to the digest routes."""

from __future__ import annotations

import calendar
import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from modelmart.notify import engine
from modelmart.notify.report import build_digest, fmt, render_html, render_markdown, render_slack
from tests.receivers import HttpReceiver, SmtpReceiver

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def marts(demo_home: Path) -> dict[str, pd.DataFrame]:
    con = duckdb.connect(str(demo_home / "warehouse.duckdb"), read_only=True)
    try:
        out = {
            name: con.execute(f"select * from marts.{name}").df()
            for name in (
                "fct_dashboard_daily",
                "fct_business_daily",
                "fct_model_quality_daily",
                "fct_llm_usage_daily",
                "fct_alerts",
            )
        }
        out["alert_rules"] = con.execute("select * from reference.alert_rules").df()
        out["budgets"] = con.execute("select * from reference.budgets").df()
    finally:
        con.close()
    for frame in out.values():
        for column in frame.columns:
            if column.endswith("_date") or column == "budget_month":
                frame[column] = pd.to_datetime(frame[column]).dt.date
    return out


def between(frame: pd.DataFrame, column: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    return frame[(frame[column] >= start) & (frame[column] <= end)]


def ratio(num: float, den: float) -> float | None:
    return None if not den else num / den


def expected(m: dict[str, pd.DataFrame], period: str) -> dict:
    dash = m["fct_dashboard_daily"]
    end = dash.activity_date.max()
    days = 1 if period == "daily" else 7
    start = end - dt.timedelta(days=days - 1)
    prev_end = start - dt.timedelta(days=1)
    prev_start = prev_end - dt.timedelta(days=days - 1)
    out: dict = {"end": end, "start": start}
    for tag, (a, b) in {"cur": (start, end), "prev": (prev_start, prev_end)}.items():
        d = between(dash, "activity_date", a, b)
        biz = between(m["fct_business_daily"], "business_date", a, b)
        q = between(m["fct_model_quality_daily"], "prediction_date", b - dt.timedelta(days=6), b)
        last = dash[dash.activity_date == b]
        usage = between(m["fct_llm_usage_daily"], "usage_date", a, b)
        out[tag] = {
            "revenue_ai": d[d.provider != "(none)"].revenue_usd.sum() if len(d) else None,
            "resolution_rate": ratio(biz.agent_resolved_tickets.sum(), biz.tickets.sum()),
            "model_accuracy_7d": ratio(q.correct.sum(), q.labeled.sum()),
            "llm_answer_accuracy_7d": ratio(
                last.correct_calls_rolling_7d.sum(), last.labeled_calls_rolling_7d.sum()
            ),
            "latency_p95_max": d.latency_p95_ms.max(),
            "spend": usage.cost_usd.sum(min_count=1),
        }
    rules = m["alert_rules"]
    line = rules[
        (rules.mart == "fct_dashboard_daily")
        & (rules.metric == "latency_p95_ms")
        & (rules.severity == "critical")
        & (rules.comparator == ">")
    ].threshold.min()
    cur = between(dash, "activity_date", start, end)
    out["days_above"] = cur[cur.latency_p95_ms > line].activity_date.nunique()
    out["line"] = line
    usage = m["fct_llm_usage_daily"]
    month = end.replace(day=1)
    mtd = between(usage, "usage_date", month, end).cost_usd.sum()
    out["mtd"] = mtd
    out["budget"] = m["budgets"][m["budgets"].budget_month == month].budget_usd.sum()
    out["forecast"] = mtd / end.day * calendar.monthrange(end.year, end.month)[1]
    alerts = m["fct_alerts"]
    opened = between(alerts, "first_seen_date", start, end)
    out["alerts"] = {
        "opened": len(opened),
        "active": int((alerts.status == "active").sum()),
        "resolved": len(
            alerts[alerts.resolved_date.notna()].pipe(between, "resolved_date", start, end)
        ),
        "flapping": int(opened.is_flapping.sum()),
        "no_data": int((alerts.status == "no_data").sum()),
    }
    out["unpriced"] = int(between(usage, "usage_date", start, end).unpriced_calls.sum())
    return out


@pytest.mark.parametrize("period", ["daily", "weekly"])
def test_every_number_of_the_digest_equals_the_marts(demo_home, marts, period):
    digest = build_digest(demo_home / "warehouse.duckdb", period)
    want = expected(marts, period)
    assert (digest.start, digest.end) == (want["start"], want["end"])
    for key in (
        "revenue_ai",
        "resolution_rate",
        "model_accuracy_7d",
        "llm_answer_accuracy_7d",
        "latency_p95_max",
        "spend",
    ):
        figure = digest.figure(key)
        assert figure.current == pytest.approx(want["cur"][key]), key
        assert figure.previous == pytest.approx(want["prev"][key]), key
    assert digest.budget["spend_mtd"] == pytest.approx(want["mtd"])
    assert digest.budget["budget"] == pytest.approx(want["budget"])
    assert digest.budget["forecast"] == pytest.approx(want["forecast"])
    assert digest.alerts == want["alerts"]
    assert digest.unpriced_calls == want["unpriced"]
    assert digest.freshness["LLM calls"] == marts["fct_llm_usage_daily"].usage_date.max()

    text = render_markdown(digest)
    p95 = digest.figure("latency_p95_max")
    assert fmt(want["cur"]["latency_p95_max"], "ms") in text
    days = want["days_above"]
    line_text = f"the {fmt(want['line'], 'ms')} critical line"
    assert (f"above {line_text} on {days} day" if days else f"never above {line_text}") in text
    change = 100 * (p95.current - p95.previous) / p95.previous
    verb = "rose" if change > 0 else "fell"
    if round(abs(change)):
        assert f"p95 latency {verb} {abs(change):.0f} % to {fmt(p95.current, 'ms')}" in text
    else:
        assert (
            f"p95 latency was little changed at {fmt(p95.current, 'ms')} ({change:+.1f} %)" in text
        )
    rate = digest.figure("resolution_rate")
    points = 100 * (want["cur"]["resolution_rate"] - want["prev"]["resolution_rate"])
    if round(points, 1):
        assert (
            f"{'rose' if points > 0 else 'fell'} {abs(points):.1f} points to {100 * want['cur']['resolution_rate']:.1f} %"
            in text
        )
    assert rate.sentence() in text
    assert f"forecast {fmt(want['forecast'], 'usd')} at month end" in text
    a = want["alerts"]
    assert (
        f"Alerts: {a['opened']} opened, {a['active']} still active, {a['resolved']} resolved, {a['flapping']} flapping"
        in text
    )
    assert f"Unpriced LLM calls: {want['unpriced']:,}" in text
    # deterministic: the same marts give the same report
    assert render_markdown(build_digest(demo_home / "warehouse.duckdb", period)) == text


def test_digest_renders_html_and_slack_blocks(demo_home):
    digest = build_digest(demo_home / "warehouse.duckdb", "weekly")
    html = render_html(digest)
    assert html.count("<li>") == len(render_markdown(digest).splitlines()) - 4
    slack = render_slack(digest)
    assert slack["blocks"][0]["type"] == "header" and len(slack["blocks"]) == 2
    assert all(len(b["text"]["text"]) <= 3000 for b in slack["blocks"][1:])
    assert (
        digest.figure("spend").sentence().replace("&", "&amp;")
        in slack["blocks"][1]["text"]["text"]
    )


def test_notify_sends_each_digest_once_per_day_and_week(demo_home, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(demo_home / "warehouse.duckdb", home / "warehouse.duckdb")
    http = HttpReceiver()
    smtp = SmtpReceiver(tmp_path)
    try:
        env = {
            "MODELMART_SLACK_WEBHOOK_URL": http.url + "/slack",
            "MODELMART_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
            "MODELMART_ALERT_EMAIL_FROM": "modelmart@example.com",
            "MODELMART_ALERT_EMAIL_TO": "exec@example.com",
        }
        digests = {"daily_digest_slack", "daily_digest_email", "weekly_digest_email"}
        monday = dt.datetime(2026, 11, 30, 7, tzinfo=dt.UTC)
        for hours in (0, 3, 24, 48):  # Monday twice, Tuesday, Wednesday
            engine.run(
                home,
                send=True,
                now=monday + dt.timedelta(hours=hours),
                env=env,
                routes_only=digests,
            )
        assert len(http.on("/slack")) == 3  # one daily digest per day
        subjects = [m["Subject"] for m in smtp.messages]
        assert subjects.count(next(s for s in subjects if "weekly" in s)) == 1
        assert sum("daily" in s for s in subjects) == 3
        digest = build_digest(home / "warehouse.duckdb", "daily")
        mail = next(m for m in smtp.messages if "daily" in m["Subject"])
        plain = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
        assert plain.strip() == render_markdown(digest).strip()
        assert http.on("/slack")[0].body == render_slack(digest)
    finally:
        http.stop()
        smtp.stop()


def test_every_delivered_alert_carries_its_rules_or_its_slos_description(demo_home):
    """Threshold alerts: the alert_rules seed's description; SLO burn-rate alerts
    (rule_id slo:<id>:page|ticket): their SLO's, with the action."""
    seeds = Path(__file__).resolve().parent.parent / "seeds"
    rules = pd.read_csv(seeds / "alert_rules.csv").set_index("rule_id")["description"]
    slos = pd.read_csv(seeds / "slos.csv").set_index("slo_id")["description"]
    alerts, _ = engine.load(demo_home / "warehouse.duckdb")
    kinds = set()
    for a in alerts:
        if a.rule_id.startswith("slo:"):
            _, slo_id, action = a.rule_id.split(":")
            want = f"SLO {slo_id}: {slos[slo_id]} (error budget burning at its {action} rate)"
            kinds.add(action)
        else:
            want = rules[a.rule_id]
            kinds.add("rule")
        assert a.description == want, a.alert_id
    assert kinds == {"rule", "page", "ticket"}  # the demo has all three kinds
