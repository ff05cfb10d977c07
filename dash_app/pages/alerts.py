"""Alerts: every threshold breach run, its rule, scope, values and whether it is active."""

from __future__ import annotations

import dash
from dash import Input, Output, callback, dcc, html

from dash_app.components.common import alert_table, message
from dash_app.components.page import filters_from_inputs, page_inputs, page_layout
from dash_app.context import reader
from dash_app.data.filters import Filters
from dash_app.data.queries import alerts, options
from dash_app.data.warehouse import NoWarehouse, SnapshotReader

PAGE = "alerts"
SEVERITIES = ("critical", "warning", "info")


def _controls(_filters: Filters, _opts: object) -> list:
    return [
        html.Div(
            [
                html.Label("Severity"),
                dcc.Checklist(
                    id="alerts-severity",
                    options=list(SEVERITIES),
                    value=list(SEVERITIES),
                    inline=True,
                    className="radio",
                ),
                dcc.Checklist(
                    id="alerts-active-only",
                    options=[{"label": "active only", "value": "active"}],
                    value=[],
                    inline=True,
                    className="radio",
                ),
            ],
            className="filter-inline",
        )
    ]


def layout(**query: str) -> html.Div:
    return page_layout(
        PAGE,
        query,
        "Alerts",
        "Runs of consecutive days on which a rule of the alert_rules seed was breached "
        "for at least its required periods. Active: the run reaches the newest day "
        "with data for that metric. Rules are data: edit seeds/alert_rules.csv and build.",
        "alerts-body",
        _controls,
    )


def alerts_body(
    source: SnapshotReader, filters: Filters, severities: list[str], active_only: bool
) -> list:
    frame = alerts(source, filters, active_only=active_only)
    frame = frame[frame.severity.isin(severities)]
    if frame.empty:
        return [message("No alerts for this selection.")]
    active = int(frame.is_active.sum())
    summary = html.P(
        f"{len(frame):,} alerts, {active:,} active "
        + "("
        + ", ".join(
            f"{(frame.severity == s).sum()} {s}" for s in SEVERITIES if (frame.severity == s).any()
        )
        + ")",
        id="alerts-summary",
        className="summary",
    )
    return [summary, alert_table(frame, "alerts-table", page_size=25)]


def update(start, end, *values) -> list:
    *filter_values, _snapshot, severities, active_only = values
    try:
        source = reader()
        filters = filters_from_inputs(PAGE, start, end, tuple(filter_values))
        if filters.start is None or filters.end is None:
            filters = filters.resolved(options(source).newest_date)
        return alerts_body(source, filters, list(severities or []), bool(active_only))
    except NoWarehouse as exc:
        return [message(str(exc), "error")]


callback(
    Output("alerts-body", "children"),
    *page_inputs(PAGE),
    Input("alerts-severity", "value"),
    Input("alerts-active-only", "value"),
)(update)
dash.register_page(
    __name__, path="/alerts", name="Alerts", title="modelmart · Alerts", order=4, layout=layout
)
