"""Overview for executives: is everything healthy, and what is AI worth?"""

from __future__ import annotations

import dash
import pandas as pd
from dash import Output, callback, dcc, html

from dash_app.components.common import (
    GRAPH_CONFIG,
    change,
    fmt_money,
    fmt_ms,
    fmt_pct,
    graph_or_message,
    kpi_card,
    message,
)
from dash_app.components.health import health
from dash_app.components.impacts import impact_panel
from dash_app.components.page import (
    page_inputs,
    page_layout,
    render,
)
from dash_app.data.alerts import alerts, breaches, thresholds
from dash_app.data.filters import Filters
from dash_app.data.overview import kpis, overview_daily
from dash_app.data.warehouse import SnapshotReader
from dash_app.figures import charts

PAGE = "overview"


def layout(**query: str) -> html.Div:
    return page_layout(
        PAGE,
        query,
        "Overview",
        "Health and value of the AI features at a glance. Changes compare with the "
        "period of equal length just before the selected one.",
        "ov-body",
    )


def _alert_strip(active: pd.DataFrame, filters: Filters) -> html.Div:
    if active.empty:
        return html.Div(
            [html.Span("0", className="alert-count", id="ov-active-alerts"), " active alerts"],
            className="alert-strip alert-strip-ok",
        )
    counts = active.severity.value_counts()
    parts = [f"{counts.get(s, 0)} {s}" for s in ("critical", "warning", "info") if counts.get(s, 0)]
    worst = (
        "critical" if counts.get("critical") else ("warning" if counts.get("warning") else "info")
    )
    return html.Div(
        [
            html.Span(str(len(active)), className="alert-count", id="ov-active-alerts"),
            f" active alerts ({', '.join(parts)}) · ",
            dcc.Link("see alerts", href="/alerts" + filters.to_search()),
        ],
        className=f"alert-strip alert-strip-{worst}",
    )


def overview_body(source: SnapshotReader, filters: Filters) -> list:
    """Everything below the filter bar, for a resolved filter set."""
    daily = overview_daily(source, filters)
    now = kpis(daily, filters.start, filters.end)
    before_range = filters.previous()
    before = kpis(daily, before_range.start, before_range.end)
    active = alerts(source, filters, active_only=True)
    strip = _alert_strip(active, filters)
    dates = pd.to_datetime(daily.date).dt.date
    current = daily[(dates >= filters.start) & (dates <= filters.end)].copy()
    if current.empty or (
        current.llm_calls.fillna(0).sum() == 0 and current.tickets.fillna(0).sum() == 0
    ):
        return [strip, message("No LLM calls or business events for this selection.")]
    current["resolution_rate"] = current.agent_resolved_tickets / current.tickets.where(
        current.tickets > 0
    )
    current["accuracy_7d"] = current.correct_rolling_7d / current.labeled_rolling_7d.where(
        current.labeled_rolling_7d > 0
    )
    unpriced = (
        f"; {now.unpriced_calls:,} calls unpriced (not in the total)" if now.unpriced_calls else ""
    )

    def rules(metric: str, mart: str = "fct_dashboard_daily") -> pd.DataFrame:
        return thresholds(source, metric, mart, filters)

    latency_rules = rules("latency_p95_ms")
    cards = [
        kpi_card(
            "ov-kpi-revenue",
            "Revenue from AI",
            fmt_money(now.revenue_ai),
            change(now.revenue_ai, before.revenue_ai),
            "Revenue of business events in sessions an AI provider served.",
            charts.kpi_trend(current, "date", "revenue_ai"),
            health(now.revenue_ai, rules("revenue_ai"), fmt_money),
        ),
        kpi_card(
            "ov-kpi-resolution",
            "Resolution rate",
            fmt_pct(now.resolution_rate),
            change(now.resolution_rate, before.resolution_rate, points=True),
            "Tickets resolved by the AI agent ÷ all tickets.",
            charts.kpi_trend(current, "date", "resolution_rate", percent=True),
            health(now.resolution_rate, rules("resolution_rate", "fct_business_daily"), fmt_pct),
        ),
        kpi_card(
            "ov-kpi-accuracy",
            "LLM answer accuracy (7 days)",
            fmt_pct(now.accuracy_7d),
            change(now.accuracy_7d, before.accuracy_7d, points=True),
            "Labeled LLM calls judged correct, 7 days to the period's last labeled day "
            "(not the ML model accuracy of the Model quality page).",
            charts.kpi_trend(current, "date", "accuracy_7d", percent=True),
            health(now.accuracy_7d, rules("accuracy_rolling_7d"), fmt_pct),
        ),
        kpi_card(
            "ov-kpi-latency",
            "p95 latency (worst day)",
            fmt_ms(now.latency_p95_max),
            change(now.latency_p95_max, before.latency_p95_max),
            "Highest daily p95 response time of any selected provider.",
            charts.kpi_trend(current, "date", "latency_p95_max"),
            health(now.latency_p95_max, latency_rules, fmt_ms),
        ),
        kpi_card(
            "ov-kpi-spend",
            "LLM spend",
            fmt_money(now.spend),
            change(now.spend, before.spend),
            f"Token cost of priced calls{unpriced}.",
            charts.kpi_trend(current, "date", "cost_usd"),
            # the rule on this card's data is the unpriced-calls one: spend is a lower bound
            health(
                now.unpriced_calls, rules("unpriced_calls"), lambda v: f"{v:,.0f} unpriced calls"
            ),
        ),
    ]
    latency = current[["date", "latency_p95_max"]].dropna()
    latency_fig = None
    if not latency.empty:
        latency_fig = charts.lines(
            latency.assign(series="worst provider p95"),
            "date",
            "latency_p95_max",
            "series",
            "p95 latency, worst provider per day",
            "ms",
        )
        charts.add_thresholds(latency_fig, latency_rules)
        points = breaches(source, filters, "fct_dashboard_daily", "latency_p95_ms")
        charts.add_breaches(latency_fig, points[points.is_alerting])
    revenue = current[["date", "revenue_ai"]].dropna()
    spend = current[["date", "cost_usd"]].dropna()
    return [
        strip,
        html.Div(cards, className="kpi-row"),
        impact_panel(source),
        html.Div(
            [
                graph_or_message(
                    revenue,
                    lambda: charts.lines(
                        revenue.assign(series="revenue from AI"),
                        "date",
                        "revenue_ai",
                        "series",
                        "Revenue from AI per day",
                        "USD",
                    ),
                    "No business events attributed to an AI provider in this selection.",
                    "ov-revenue-chart",
                ),
                graph_or_message(
                    spend,
                    lambda: charts.lines(
                        spend.assign(series="priced spend"),
                        "date",
                        "cost_usd",
                        "series",
                        "LLM spend per day",
                        "USD",
                    ),
                    "No priced LLM calls in this selection.",
                    "ov-spend-chart",
                ),
                dcc.Graph(id="ov-latency-chart", figure=latency_fig, config=GRAPH_CONFIG)
                if latency_fig
                else message("No LLM calls for this selection, so no latency."),
            ],
            className="chart-grid",
        ),
    ]


def update(start, end, *values) -> list:
    return render(PAGE, start, end, values, overview_body)


callback(Output("ov-body", "children"), *page_inputs(PAGE))(update)
dash.register_page(
    __name__, path="/", name="Overview", title="modelmart · Overview", order=0, layout=layout
)
