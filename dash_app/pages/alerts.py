"""Alerts: every threshold breach run, its rule, scope, values and whether it is active."""

from __future__ import annotations

import dash
from dash import Input, Output, callback, html

from dash_app.components.common import alert_table, message
from dash_app.components.page import (
    choice,
    control_row,
    page_inputs,
    page_layout,
    render,
)
from dash_app.data.alerts import alerts, deliveries, failing_channels
from dash_app.data.filters import Filters
from dash_app.data.warehouse import SnapshotReader

PAGE = "alerts"
SEVERITIES = ("critical", "warning", "info")


def _controls(_filters: Filters, _opts: object) -> list:
    return control_row(
        "Severity",
        choice("alerts-severity", list(SEVERITIES), list(SEVERITIES), many=True),
        choice("alerts-active-only", [{"label": "active only", "value": "active"}], [], many=True),
    )


def layout(**query: str) -> html.Div:
    return page_layout(
        PAGE,
        query,
        "Alerts",
        "Runs of consecutive days on which a rule of the alert_rules seed was breached "
        "for at least its required periods. Active: the run reaches the newest day "
        "with data for that metric; resolved once its series reports a value within the "
        "threshold; no data when the series stopped reporting (not a recovery). Rules are "
        "data: edit seeds/alert_rules.csv and build. Delivered: where `modelmart notify` "
        "sent it (routes: seeds/alert_routes.csv).",
        "alerts-body",
        _controls,
    )


def alerts_body(
    source: SnapshotReader, filters: Filters, severities: list[str], active_only: bool
) -> list:
    frame = alerts(source, filters, active_only=active_only)
    frame = frame[frame.severity.isin(severities)]
    failing = [
        html.P(
            f"Alert delivery: {f['channel']}/{f['target']} failed its last {f['failed_runs']} "
            f"runs (last: {f['last']})",
            className="alert-failing",
        )
        for f in failing_channels(source)
    ]
    banner = [html.Div(failing, id="alerts-delivery-failing")] if failing else []
    if frame.empty:
        return [*banner, message("No alerts for this selection.")]
    frame = frame.merge(deliveries(source), on="alert_id", how="left")
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
    return [*banner, summary, alert_table(frame, "alerts-table", page_size=25, delivery=True)]


def update(start, end, *values) -> list:
    *filter_values, _snapshot, severities, active_only = values
    return render(
        PAGE,
        start,
        end,
        tuple(filter_values),
        lambda source, filters: alerts_body(
            source, filters, list(severities or []), bool(active_only)
        ),
    )


callback(
    Output("alerts-body", "children"),
    *page_inputs(PAGE),
    Input("alerts-severity", "value"),
    Input("alerts-active-only", "value"),
)(update)
dash.register_page(
    __name__, path="/alerts", name="Alerts", title="modelmart · Alerts", order=6, layout=layout
)
