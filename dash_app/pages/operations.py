"""Operations for on-call: calls, errors and latency per provider and model."""

from __future__ import annotations

import dash
from dash import Input, Output, callback, dcc, html

from dash_app.components.common import GRAPH_CONFIG, alert_table, graph_or_message, message
from dash_app.components.page import (
    choice,
    control_row,
    page_inputs,
    page_layout,
    render,
)
from dash_app.data.alerts import alerts, breaches, thresholds
from dash_app.data.filters import Filters
from dash_app.data.llm import (
    HOURLY_VIEWS,
    calls_by_model,
    hourly_breaches,
    llm_usage,
    llm_usage_hourly,
    provider_latency,
)
from dash_app.data.warehouse import SnapshotReader
from dash_app.figures import charts

PAGE = "operations"
PERCENTILES = {"p50": "latency_p50_ms", "p95": "latency_p95_ms", "p99": "latency_p99_ms"}


VIEWS = [
    {"label": "days (date range)", "value": "days"},
    {"label": "last 24 hours", "value": "24h"},
    {"label": "last 7 days, hourly", "value": "7d"},
]


def _percentile_control(_filters: Filters, _opts: object) -> list:
    return [
        *control_row("View", choice("ops-view", VIEWS, "days")),
        *control_row("Latency percentile", choice("ops-percentile", list(PERCENTILES), "p95")),
    ]


def layout(**query: str) -> html.Div:
    return page_layout(
        PAGE,
        query,
        "Operations",
        "Calls, errors and latency per provider and model; dashed lines are alert "
        "thresholds, × marks a day that breached one.",
        "ops-body",
        _percentile_control,
    )


def operations_body(
    source: SnapshotReader, filters: Filters, percentile: str = "p95", view: str = "days"
) -> list:
    active = alerts(source, filters, active_only=True)
    top = (
        html.Div(
            [html.H2("Active alerts"), alert_table(active, "ops-alerts", page_size=5)],
            className="panel",
        )
        if not active.empty
        else html.Div(
            "No active alerts for this selection.", className="alert-strip alert-strip-ok"
        )
    )
    if view in HOURLY_VIEWS:
        return [top, *hourly_body(source, filters, percentile, HOURLY_VIEWS[view])]
    usage = llm_usage(source, filters)
    if usage.empty:
        return [top, message("No LLM calls for this selection.")]
    per_model = calls_by_model(usage)

    def error_figure():
        fig = charts.lines(
            per_model,
            "date",
            "error_rate",
            "series",
            "Error rate per provider · model",
            "error rate",
            percent=True,
        )
        charts.add_thresholds(fig, thresholds(source, "error_rate", "fct_llm_usage_daily", filters))
        points = breaches(source, filters, "fct_llm_usage_daily", "error_rate")
        charts.add_breaches(fig, points[points.is_alerting])
        return fig

    column = PERCENTILES.get(percentile, "latency_p95_ms")
    series = usage.assign(series=usage.provider + " · " + usage.model + " · " + usage.team)

    def latency_figure():
        fig = charts.lines(
            series,
            "date",
            column,
            "series",
            f"{percentile} latency per provider · model · team",
            "ms",
        )
        # one line per provider · model · team: percentiles cannot be pooled across teams
        fig["layout"]["legend"] = {"orientation": "v", "x": 1.02, "y": 1, "font": {"size": 10}}
        fig["layout"]["height"] = 420
        # no threshold lines here: the latency rules watch a provider's pooled p95,
        # drawn with its breaches on the provider chart below
        return fig

    charts_row = [
        dcc.Graph(
            id="ops-calls-chart",
            figure=charts.stacked_bars(
                per_model, "date", "calls", "series", "Calls per provider · model", "calls"
            ),
            config=GRAPH_CONFIG,
        ),
        graph_or_message(per_model, error_figure, "No calls.", "ops-errors-chart"),
        graph_or_message(series, latency_figure, "No calls.", "ops-latency-chart"),
    ]
    # the latency alerts watch the provider-level p95 (fct_dashboard_daily), which a
    # model or team selection cannot restrict: say so instead of showing other data
    if filters.model or filters.team:
        charts_row.append(
            message(
                "Provider-level p95 (the metric the latency alerts watch) is not defined for a "
                "model or team selection; clear those filters to see it."
            )
        )
    else:
        provider = provider_latency(source, filters)

        def provider_figure():
            fig = charts.lines(
                provider,
                "date",
                "latency_p95_ms",
                "provider",
                "p95 latency per provider (alerting metric)",
                "ms",
            )
            charts.add_thresholds(
                fig, thresholds(source, "latency_p95_ms", "fct_dashboard_daily", filters)
            )
            points = breaches(source, filters, "fct_dashboard_daily", "latency_p95_ms")
            charts.add_breaches(fig, points[points.is_alerting])
            return fig

        charts_row.append(
            graph_or_message(provider, provider_figure, "No calls.", "ops-provider-latency-chart")
        )
    return [top, html.Div(charts_row, className="chart-grid")]


def hourly_body(source: SnapshotReader, filters: Filters, percentile: str, hours: int) -> list:
    """The last `hours` hours up to the newest hour with calls, per UTC hour; the
    daily rules' thresholds are drawn and hours past them marked with ×."""
    usage = llm_usage_hourly(source, filters, hours)
    if usage.empty:
        return [message("No LLM calls in the newest hours for this selection.")]
    per_model = calls_by_model(usage)
    column = PERCENTILES.get(percentile, "latency_p95_ms")
    series = usage.assign(series=usage.provider + " · " + usage.model + " · " + usage.team)
    first, last = usage.date.min(), usage.date.max()
    note = html.P(
        f"{hours} hours up to the newest hour with calls ({last:%Y-%m-%d %H:00} UTC); the date "
        "range does not apply. Thresholds are the daily alert rules'; × marks an hour past one.",
        id="ops-hourly-summary",
        className="summary",
    )

    def error_figure():
        fig = charts.lines(
            per_model, "date", "error_rate", "series", "Hourly error rate per provider · model",
            "error rate", percent=True,
        )  # fmt: skip
        rules = thresholds(source, "error_rate", "fct_llm_usage_daily", filters)
        charts.add_thresholds(fig, rules)
        charts.add_breaches(fig, hourly_breaches(per_model, "error_rate", rules))
        return fig

    def latency_figure():
        fig = charts.lines(
            series, "date", column, "series", f"Hourly {percentile} latency per provider · model · team", "ms"
        )  # fmt: skip
        rules = thresholds(source, "latency_p95_ms", "fct_llm_usage_daily", filters)
        if column == "latency_p95_ms":
            charts.add_thresholds(fig, rules)
            charts.add_breaches(fig, hourly_breaches(series, column, rules))
        fig["layout"]["legend"] = {"orientation": "v", "x": 1.02, "y": 1, "font": {"size": 10}}
        fig["layout"]["height"] = 420
        return fig

    return [
        note,
        html.Div(
            [
                dcc.Graph(
                    id="ops-hourly-calls-chart",
                    figure=charts.stacked_bars(
                        per_model,
                        "date",
                        "calls",
                        "series",
                        "Calls per hour · provider · model",
                        "calls",
                    ),
                    config=GRAPH_CONFIG,
                ),
                graph_or_message(per_model, error_figure, "No calls.", "ops-hourly-errors-chart"),
                graph_or_message(series, latency_figure, "No calls.", "ops-hourly-latency-chart"),
            ],
            className="chart-grid",
            **{"data-first-hour": str(first), "data-last-hour": str(last)},
        ),
    ]


def update(start, end, *values) -> list:
    *filter_values, _snapshot, percentile, view = values
    return render(
        PAGE,
        start,
        end,
        tuple(filter_values),
        lambda source, filters: operations_body(
            source, filters, percentile or "p95", view or "days"
        ),
    )


callback(
    Output("ops-body", "children"),
    *page_inputs(PAGE),
    Input("ops-percentile", "value"),
    Input("ops-view", "value"),
)(update)
dash.register_page(
    __name__,
    path="/operations",
    name="Operations",
    title="modelmart · Operations",
    order=1,
    layout=layout,
)
