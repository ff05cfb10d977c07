"""The daily / weekly written summary, from the marts only, deterministic (templates).

Period: the day (daily) or the 7 days (weekly) ending on the newest date of
``fct_dashboard_daily``, against the period of equal length just before it.
Definitions (each the marts' own, pooled, never averages of daily ratios):

- revenue from AI: Σ revenue_usd of fct_dashboard_daily over providers ≠ (none);
- agent resolution rate: Σ agent_resolved_tickets / Σ tickets of fct_business_daily;
- model accuracy (7 days): Σ correct / Σ labeled of fct_model_quality_daily over
  the 7 days ending on the period's last day (all versions);
- LLM answer accuracy (7 days): Σ correct_calls_rolling_7d / Σ labeled_calls_rolling_7d
  of fct_dashboard_daily on the period's last day (all providers);
- p95 latency: the highest daily latency_p95_ms of any provider in the period (the
  overview card's figure), with the days on which it was above the lowest critical
  `>` rule on that metric (the validated rules, dim_alert_rules);
- spend: Σ cost_usd of fct_llm_usage_daily in the period; month to date against the
  month's budgets with the month-end forecast MTD ÷ days elapsed × days in month;
- alerts (fct_alerts): opened = first_seen_date in the period; resolved =
  resolved_date in the period; flapping = opened in the period and is_flapping;
  active and no_data = their status now;
- unpriced calls: Σ unpriced_calls of fct_llm_usage_daily in the period;
- freshness: the newest date of each stream's mart.
"""

from __future__ import annotations

import calendar
import datetime as dt
import html
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from modelmart.config import UserError, get_paths
from modelmart.notify.base import format_unit as fmt


@dataclass
class Figure:
    key: str
    label: str
    unit: str  # usd, ratio, ms, count
    current: float | None
    previous: float | None
    note: str = ""

    def sentence(self) -> str:
        """'p95 latency rose 18 % to 1,210 ms' in plain words."""
        now = fmt(self.current, self.unit)
        if self.current is None:
            text = f"{self.label}: no data in this period"
        elif self.previous is None:
            text = f"{self.label} was {now} (no data in the previous period)"
        elif self.unit == "ratio":
            points = 100 * (self.current - self.previous)
            if round(points, 1) == 0:
                text = f"{self.label} was unchanged at {now}"
            else:
                verb = "rose" if points > 0 else "fell"
                text = f"{self.label} {verb} {abs(points):.1f} points to {now}"
        elif self.current == self.previous:
            text = f"{self.label} was unchanged at {now}"
        elif self.previous == 0:
            text = f"{self.label} was {now}, up from {fmt(0, self.unit)}"
        else:
            change = 100 * (self.current - self.previous) / abs(self.previous)
            verb = "rose" if change > 0 else "fell"
            if round(abs(change)) == 0:
                text = f"{self.label} was little changed at {now} ({change:+.1f} %)"
            else:
                text = f"{self.label} {verb} {abs(change):.0f} % to {now}"
        return text + (f", {self.note}" if self.note else "")


@dataclass
class Digest:
    period: str
    start: dt.date
    end: dt.date
    previous_start: dt.date
    previous_end: dt.date
    figures: list[Figure] = field(default_factory=list)
    budget: dict = field(default_factory=dict)
    alerts: dict[str, int] = field(default_factory=dict)
    flapping: list[str] = field(default_factory=list)
    unpriced_calls: int = 0
    freshness: dict[str, dt.date | None] = field(default_factory=dict)

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> tuple:
    return con.execute(sql, params).fetchone()


def _ratio(num: float | None, den: float | None) -> float | None:
    return None if num is None or not den else float(num) / float(den)


def build_digest(warehouse: Path, period: str) -> Digest:
    if not warehouse.exists():
        raise UserError(f"nothing published yet at {warehouse} (run `modelmart build`)")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return _digest(con, period)
    finally:
        con.close()


def _digest(con: duckdb.DuckDBPyConnection, period: str) -> Digest:
    (end,) = _one(con, "select max(activity_date) from marts.fct_dashboard_daily", [])
    if end is None:
        raise UserError("the marts hold no dates yet: nothing to report")
    days = 1 if period == "daily" else 7
    start = end - dt.timedelta(days=days - 1)
    prev_end = start - dt.timedelta(days=1)
    prev_start = prev_end - dt.timedelta(days=days - 1)
    digest = Digest(period, start, end, prev_start, prev_end)
    windows = [(start, end), (prev_start, prev_end)]

    def both(sql: str) -> list:
        return [_one(con, sql, [a, b]) for a, b in windows]

    revenue = both(
        "select sum(revenue_usd) from marts.fct_dashboard_daily "
        "where provider <> '(none)' and activity_date between ? and ?"
    )
    digest.figures.append(
        Figure("revenue_ai", "Revenue from AI", "usd", revenue[0][0], revenue[1][0])
    )
    tickets = both(
        "select sum(agent_resolved_tickets), sum(tickets) from marts.fct_business_daily "
        "where business_date between ? and ?"
    )
    digest.figures.append(
        Figure(
            "resolution_rate",
            "Agent resolution rate",
            "ratio",
            _ratio(*tickets[0]),
            _ratio(*tickets[1]),
        )
    )
    accuracy = [
        _one(
            con,
            "select sum(correct), sum(labeled) from marts.fct_model_quality_daily "
            "where prediction_date between ? and ?",
            [last - dt.timedelta(days=6), last],
        )
        for last in (end, prev_end)
    ]
    digest.figures.append(
        Figure(
            "model_accuracy_7d",
            "Model accuracy (7 days)",
            "ratio",
            _ratio(*accuracy[0]),
            _ratio(*accuracy[1]),
        )
    )
    answers = [
        _one(
            con,
            "select sum(correct_calls_rolling_7d), sum(labeled_calls_rolling_7d) "
            "from marts.fct_dashboard_daily where activity_date = ?",
            [last],
        )
        for last in (end, prev_end)
    ]
    digest.figures.append(
        Figure(
            "llm_answer_accuracy_7d",
            "LLM answer accuracy (7 days)",
            "ratio",
            _ratio(*answers[0]),
            _ratio(*answers[1]),
        )
    )
    p95 = both(
        "select max(latency_p95_ms) from marts.fct_dashboard_daily where activity_date between ? and ?"
    )
    (line,) = _one(
        con,
        "select min(threshold) from marts.dim_alert_rules where mart = 'fct_dashboard_daily' "
        "and metric = 'latency_p95_ms' and severity = 'critical' and comparator = '>'",
        [],
    )
    note = ""
    if line is not None:
        (above,) = _one(
            con,
            "select count(distinct activity_date) from marts.fct_dashboard_daily "
            "where activity_date between ? and ? and latency_p95_ms > ?",
            [start, end, line],
        )
        if above:
            note = f"above the {fmt(line, 'ms')} critical line on {above} day{'s' if above > 1 else ''}"
        else:
            note = f"never above the {fmt(line, 'ms')} critical line"
    digest.figures.append(
        Figure("latency_p95_max", "p95 latency", "ms", p95[0][0], p95[1][0], note)
    )
    spend = both(
        "select sum(cost_usd) from marts.fct_llm_usage_daily where usage_date between ? and ?"
    )
    month_start = end.replace(day=1)
    (mtd,) = _one(
        con,
        "select sum(cost_usd) from marts.fct_llm_usage_daily where usage_date between ? and ?",
        [month_start, end],
    )
    (budget,) = _one(
        con, "select sum(budget_usd) from reference.budgets where budget_month = ?", [month_start]
    )
    days_in_month = calendar.monthrange(end.year, end.month)[1]
    forecast = None if mtd is None else float(mtd) / end.day * days_in_month
    # the days a verdict needs, as fct_llm_budget_monthly states it (dbt var budget_verdict_min_days)
    (min_days,) = _one(con, "select max(verdict_min_days) from marts.fct_llm_budget_monthly", [])
    min_days = int(min_days) if min_days is not None else days_in_month + 1
    digest.budget = {
        "month": month_start,
        "spend_mtd": None if mtd is None else float(mtd),
        "budget": None if budget is None else float(budget),
        "forecast": forecast,
        "days_elapsed": end.day,
        "days_in_month": days_in_month,
    }
    budget_note = ""
    if budget:
        budget_note = (
            f"month to date {fmt(mtd, 'usd')} of the {fmt(budget, 'usd')} budget "
            f"({100 * (mtd or 0) / budget:.0f} %), forecast {fmt(forecast, 'usd')} at month end"
            + (
                " — over budget"
                if forecast is not None and forecast > budget and end.day >= min_days
                else ""
            )
            + (f" (no verdict before day {min_days} of the month)" if end.day < min_days else "")
        )
    digest.figures.append(
        Figure("spend", "LLM spend", "usd", spend[0][0], spend[1][0], budget_note)
    )
    opened, resolved, flapping = _one(
        con,
        "select count(*) filter (where first_seen_date between ? and ?), "
        "count(*) filter (where resolved_date between ? and ?), "
        "count(*) filter (where is_flapping and first_seen_date between ? and ?) from marts.fct_alerts",
        [start, end] * 3,
    )
    active, no_data = _one(
        con,
        "select count(*) filter (where status = 'active'), count(*) filter (where status = 'no_data') "
        "from marts.fct_alerts",
        [],
    )
    digest.alerts = {
        "opened": opened,
        "active": active,
        "resolved": resolved,
        "flapping": flapping,
        "no_data": no_data,
    }
    digest.flapping = [
        r[0]
        for r in con.execute(
            "select alert_id from marts.fct_alerts where is_flapping and first_seen_date between ? and ? "
            "order by alert_id",
            [start, end],
        ).fetchall()
    ]
    (unpriced,) = _one(
        con,
        "select sum(unpriced_calls) from marts.fct_llm_usage_daily where usage_date between ? and ?",
        [start, end],
    )
    digest.unpriced_calls = int(unpriced or 0)
    for label, mart, column in (
        ("LLM calls", "fct_llm_usage_daily", "usage_date"),
        ("predictions", "fct_model_quality_daily", "prediction_date"),
        ("business events", "fct_business_daily", "business_date"),
    ):
        digest.freshness[label] = _one(con, f"select max({column}) from marts.{mart}", [])[0]
    return digest


# ------------------------------------------------------------------ rendering


def title(d: Digest) -> str:
    span = d.end.isoformat() if d.period == "daily" else f"{d.start} – {d.end}"
    return f"modelmart {d.period} report: {span}"


def lines(d: Digest) -> list[str]:
    """The report's sentences, in order (shared by every rendering)."""
    compared = (
        "the day before"
        if d.period == "daily"
        else f"the 7 days {d.previous_start} – {d.previous_end}"
    )
    out = [f"Compared with {compared}:"]
    out += [f.sentence() + "." for f in d.figures]
    a = d.alerts
    out.append(
        f"Alerts: {a['opened']} opened, {a['active']} still active, {a['resolved']} resolved, "
        f"{a['flapping']} flapping, {a['no_data']} without data."
    )
    if d.flapping:
        out.append("Flapping: " + ", ".join(d.flapping) + ".")
    out.append(
        f"Unpriced LLM calls: {d.unpriced_calls:,}"
        + (" (their cost is unknown)." if d.unpriced_calls else ".")
    )
    out.append(
        "Data through: "
        + ", ".join(f"{k} {v.isoformat() if v else 'none'}" for k, v in d.freshness.items())
        + "."
    )
    return out


def render_markdown(d: Digest) -> str:
    body = lines(d)
    return "\n".join([f"# {title(d)}", "", body[0], "", *[f"- {x}" for x in body[1:]], ""])


def render_html(d: Digest) -> str:
    body = lines(d)
    items = "".join(f"<li>{html.escape(x)}</li>" for x in body[1:])
    return (
        f"<html><body><h2>{html.escape(title(d))}</h2><p>{html.escape(body[0])}</p>"
        f"<ul>{items}</ul></body></html>"
    )


def render_slack(d: Digest) -> dict:
    from modelmart.notify.slack import blocks_for, escape

    body = lines(d)
    sections = [escape(body[0]) + "\n" + "\n".join("• " + escape(x) for x in body[1:])]
    return {"text": escape(title(d)), "blocks": blocks_for(title(d), sections)}


def send_report(
    home: str | os.PathLike[str] | None,
    period: str,
    *,
    send: bool = False,
    output: str = "markdown",
    now_text: str | None = None,
) -> str:
    """Print the digest; with ``send``, deliver it to the digest routes of that period
    (through notify, so it is logged and sent once per day / week)."""
    paths = get_paths(home)
    digest = build_digest(paths.warehouse, period)
    text = {"markdown": render_markdown, "html": render_html}.get(output)
    shown = text(digest) if text else json.dumps(render_slack(digest), indent=1, ensure_ascii=False)
    if not send:
        return shown
    from modelmart.notify.engine import parse_now, run

    con = duckdb.connect(str(paths.warehouse), read_only=True)
    try:
        routes = {
            r[0]
            for r in con.execute(
                "select route_id from intermediate.int_alert_routes_validated where sends = ?",
                [f"{period}_digest"],
            ).fetchall()
        }
    finally:
        con.close()
    if not routes:
        return shown + f"\n(no route sends the {period} digest: add one to seeds/alert_routes.csv)"
    now = parse_now(now_text or os.environ.get("MODELMART_NOW"))
    return shown + "\n" + run(paths.home, send=True, now=now, routes_only=routes).summary()
