"""Alerts: every threshold breach run, its rule, scope, values and whether it is active."""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, html

from dash_app.components.common import alert_table, message
from dash_app.components.page import (
    choice,
    control_row,
    page_inputs,
    page_layout,
    render,
    with_params,
)
from dash_app.data.alerts import alerts, deliveries, failing_channels
from dash_app.data.filters import Filters
from dash_app.data.warehouse import SnapshotReader

PAGE = "alerts"
SEVERITIES = ("critical", "warning", "info")
# the "active only" switch: a page-own URL parameter (?only=active) the shell keeps
ACTIVE_ONLY = {"type": "page-param", "name": "only"}
NO_SEVERITY = "none"  # ?severity=none: every severity unticked


def _controls(active_only: bool, severities: list[str]):
    def controls(_filters: Filters, _opts: object) -> list:
        return control_row(
            "Severity",
            choice("alerts-severity", list(SEVERITIES), severities, many=True),
            choice(
                ACTIVE_ONLY,
                [{"label": "active only", "value": "active"}],
                ["active"] if active_only else [],
                many=True,
            ),
        )

    return controls


def _active_only(query: dict) -> bool:
    value = query.get("only")
    values = value if isinstance(value, list | tuple) else [value]
    return "active" in values


def _severities(query: dict) -> list[str]:
    """The severities of ?severity=… (repeated), all of them without it."""
    value = query.get("severity")
    if value is None:
        return list(SEVERITIES)
    values = value if isinstance(value, list | tuple) else [value]
    return [s for s in SEVERITIES if s in values]


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
        "sent it (routes: seeds/alert_routes.csv). First seen: the day the run reached the "
        "rule's required consecutive days; last seen: its last breach day; days alerting: "
        "calendar days from first to last seen, both included.",
        "alerts-body",
        _controls(_active_only(query), _severities(query)),
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
    active = frame[frame.is_active.astype(bool)]
    summary = html.P(
        f"{len(frame):,} alerts, {len(active):,} active"
        + (f" ({_by_severity(active)})" if len(active) else "")
        + f"; all {len(frame):,}: {_by_severity(frame)}",
        id="alerts-summary",
        className="summary",
    )
    return [*banner, summary, alert_table(frame, "alerts-table", page_size=25, delivery=True)]


def _by_severity(frame) -> str:
    """'2 critical, 15 warning' — the severities present in frame, in order."""
    counts = frame.severity.value_counts()
    return ", ".join(f"{counts[s]:,} {s}" for s in SEVERITIES if s in counts)


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


@callback(
    Output("url", "search", allow_duplicate=True),
    Input("alerts-severity", "value"),
    State("url", "search"),
    prevent_initial_call=True,
)
def keep_severities_in_url(chosen: list[str] | None, search: str | None) -> str:
    """The severity choice lives in the URL (left out when all are ticked)."""
    chosen = [s for s in SEVERITIES if s in (chosen or [])]
    if chosen == list(SEVERITIES):
        return with_params(search, severity=None)
    return with_params(search, severity=chosen or [NO_SEVERITY])


callback(
    Output("alerts-body", "children"),
    *page_inputs(PAGE),
    Input("alerts-severity", "value"),
    Input(ACTIVE_ONLY, "value"),
)(update)
dash.register_page(
    __name__, path="/alerts", name="Alerts", title="modelmart · Alerts", order=6, layout=layout
)
