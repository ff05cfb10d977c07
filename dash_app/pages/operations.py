"""Operations for on-call: calls, errors and latency per provider and model."""

from __future__ import annotations

import dash
import pandas as pd
from dash import Input, Output, State, callback, dcc, html

from dash_app.components.common import GRAPH_CONFIG, alert_table, graph_or_message, message
from dash_app.components.page import (
    choice,
    control_row,
    own_param,
    page_inputs,
    page_layout,
    render,
    with_params,
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


# the latency chart per provider · model · team draws this many series (most calls
# first): percentiles cannot be pooled, so the rest are named, not summed
TOP_SERIES = 6


def layout(**query: str) -> html.Div:
    view = own_param(query, "view", [v["value"] for v in VIEWS], "days")
    percentile = own_param(query, "percentile", list(PERCENTILES), "p95")

    def controls(_filters: Filters, _opts: object) -> list:
        return [
            *control_row("View", choice("ops-view", VIEWS, view)),
            *control_row(
                "Latency percentile", choice("ops-percentile", list(PERCENTILES), percentile)
            ),
        ]

    return page_layout(
        PAGE,
        query,
        "Operations",
        "Calls, errors and latency per provider and model; dashed lines are alert "
        "thresholds, × marks a day that breached one.",
        "ops-body",
        controls,
    )


def top_series(frame: pd.DataFrame, n: int = TOP_SERIES) -> tuple[pd.DataFrame, list[str]]:
    """The rows of the n series with the most calls, and the names of the others."""
    calls = frame.groupby("series").calls.sum().sort_values(ascending=False, kind="stable")
    keep = list(calls.index[:n])
    return frame[frame.series.isin(keep)], list(calls.index[n:])


def marks_on_drawn(points: pd.DataFrame, drawn: pd.DataFrame, y: str) -> pd.DataFrame:
    """Breach points of provider · model · team series, placed on the drawn provider ·
    model line of their date (the pooled value), so no × floats where no line is;
    the hover names the breaching series and its own value."""
    if points.empty:
        return points
    keyed = points.assign(
        line=points.provider + " · " + points.model,
        metric_date=pd.to_datetime(points.metric_date),
    )
    lines = drawn.assign(date=pd.to_datetime(drawn.date)).rename(columns={"series": "line"})
    merged = keyed.merge(
        lines[["date", "line", y]], left_on=["metric_date", "line"], right_on=["date", "line"]
    )
    own = merged.metric_value.map(lambda v: f"{v:.1%}" if y == "error_rate" else f"{v:,.0f}")
    return merged.assign(metric_value=merged[y], series=merged.series + " at " + own)[
        ["metric_date", "metric_value", "severity", "rule_id", "series"]
    ]


def _hidden_note(hidden: list[str], element_id: str) -> html.P | None:
    if not hidden:
        return None
    return html.P(
        f"The latency chart draws the {TOP_SERIES} series with the most calls; "
        f"{len(hidden)} more are not drawn (a percentile cannot be summed across series): "
        f"{', '.join(hidden)}. Narrow the provider, model or team filter to see them.",
        className="summary",
        id=element_id,
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
        charts.add_breaches(
            fig, marks_on_drawn(points[points.is_alerting], per_model, "error_rate")
        )
        return fig

    column = PERCENTILES.get(percentile, "latency_p95_ms")
    series, hidden = top_series(
        usage.assign(series=usage.provider + " · " + usage.model + " · " + usage.team)
    )

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
    note = _hidden_note(hidden, "ops-latency-hidden")
    if note is not None:
        charts_row.append(note)
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
            drawn = points.is_alerting & points.provider.isin(set(provider.provider))
            charts.add_breaches(fig, points[drawn])
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
    series, hidden = top_series(
        usage.assign(series=usage.provider + " · " + usage.model + " · " + usage.team)
    )
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

    hidden_note = _hidden_note(hidden, "ops-hourly-latency-hidden")
    return [
        note,
        *([hidden_note] if hidden_note is not None else []),
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


@callback(
    Output("url", "search", allow_duplicate=True),
    Input("ops-percentile", "value"),
    Input("ops-view", "value"),
    State("url", "search"),
    prevent_initial_call=True,
)
def keep_choices_in_url(percentile: str, view: str, search: str | None) -> str:
    """The percentile and view live in the URL like the filters (defaults left out)."""
    return with_params(
        search,
        percentile=None if percentile == "p95" else percentile,
        view=None if view == "days" else view,
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
