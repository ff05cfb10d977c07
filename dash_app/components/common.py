"""Building blocks shared by the pages: filter bar, KPI cards, charts or messages, tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
from dash import dash_table, dcc, html

from dash_app.data.filters import LIST_FIELDS, Filters
from dash_app.data.options import Options

FIELD_LABELS = {
    "provider": "Provider",
    "model": "LLM model",
    "team": "Team",
    "version": "Model version",
}
GRAPH_CONFIG = {"displaylogo": False, "responsive": True}


def filter_bar(filters: Filters, opts: Options, fields: tuple[str, ...]) -> html.Div:
    """Date range plus one multi-select per field this page honours. Values of other
    fields ride along in `f-carry`, so the URL keeps them for the other pages."""
    controls = [
        html.Div(
            [
                html.Label("Dates (UTC)", htmlFor="f-dates"),
                dcc.DatePickerRange(
                    id="f-dates",
                    start_date=filters.start,
                    end_date=filters.end,
                    min_date_allowed=opts.first_date,
                    max_date_allowed=opts.last_date,
                    display_format="YYYY-MM-DD",
                    minimum_nights=0,
                ),
            ],
            className="filter",
        )
    ]
    for field in fields:
        choices = getattr(opts, field)
        if field == "model" and "provider" in fields:
            choices = models_of(opts.models_by_provider, filters.provider) or choices
        chosen = list(getattr(filters, field))
        # a shared link may name a value with no data (yet): keep it selectable, so
        # the page says "no data" instead of silently widening to everything
        missing = [v for v in chosen if v not in choices]
        controls.append(
            html.Div(
                [
                    html.Label(FIELD_LABELS[field]),
                    dcc.Dropdown(
                        id={"type": "filter", "field": field},
                        options=[{"label": v, "value": v} for v in choices]
                        + [{"label": f"{v} (no data)", "value": v} for v in missing],
                        value=chosen,
                        multi=True,
                        placeholder=f"All ({len(choices)})",
                        className="filter-dropdown",
                    ),
                ],
                className="filter",
            )
        )
    if "provider" in fields and "model" in fields:
        # the model list follows the chosen providers (dash_app.components.page)
        controls.append(dcc.Store(id="f-model-map", data=opts.models_by_provider))
    carry = {f: list(getattr(filters, f)) for f in LIST_FIELDS if f not in fields}
    # say so when the URL holds filters this page's data cannot honour, rather than
    # showing the unfiltered numbers as if they were filtered
    ignored = [f"{f} = {', '.join(values)}" for f, values in carry.items() if values]
    note = (
        [
            html.Div(
                f"Not applied on this page (kept for the other pages): {'; '.join(ignored)}.",
                className="filter-note",
                id="filter-ignored",
            )
        ]
        if ignored
        else []
    )
    return html.Div(
        [
            *controls,
            dcc.Store(id="f-carry", data=carry),
            # the default range: the shell leaves these dates out of the URL
            dcc.Store(id="f-default-dates", data=Filters.default_range(opts.newest_date)),
            *note,
        ],
        className="filter-bar",
        id="filter-bar",
    )


def models_of(models_by_provider: dict[str, list[str]], providers: object) -> list[str]:
    """The LLM models of the chosen providers (every model when none is chosen)."""
    chosen = list(providers or []) or list(models_by_provider)
    return sorted({m for p in chosen for m in models_by_provider.get(p, [])})


def model_options(
    models_by_provider: dict[str, list[str]], providers: object, chosen: object
) -> list[dict]:
    """Options of the model filter for the chosen providers; a chosen model of
    another provider stays selectable, labelled so."""
    models = models_of(models_by_provider, providers)
    others = [m for m in (chosen or []) if m not in models]
    return [{"label": m, "value": m} for m in models] + [
        {"label": f"{m} (not of the chosen providers)", "value": m} for m in others
    ]


def message(text: str, kind: str = "empty") -> html.Div:
    """A clear sentence in place of a chart or number (never an axis of zeros)."""
    return html.Div(text, className=f"message message-{kind}", role="status")


def graph_or_message(
    frame: pd.DataFrame, build: Callable[[], dict], empty_text: str, graph_id: str
) -> html.Div | dcc.Graph:
    if frame.empty:
        return message(empty_text)
    return dcc.Graph(id=graph_id, figure=build(), config=GRAPH_CONFIG)


def fmt_money(value: float | None) -> str:
    return "—" if value is None else f"${value:,.2f}"


def fmt_pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def fmt_ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


def fmt_int(value: float | None) -> str:
    return "—" if value is None else f"{int(value):,}"


def fmt_value(value: float | None, unit: str) -> str:
    """A metric value in its unit (dim_alert_rules.unit): ms, share (as %), usd,
    multiple (a burn rate) or count."""
    if value is None or pd.isna(value):
        return "—"
    value = float(value)
    if unit == "ms":
        return fmt_ms(value)
    if unit == "share":
        text = fmt_pct(value)
        # a small non-zero share (a 0.4 % missing rate) keeps a significant digit
        return f"{value:.2%}" if value and text in ("0.0%", "-0.0%") else text
    if unit == "usd":
        return fmt_money(value)
    if unit == "multiple":
        return f"{value:,.1f}×"
    return f"{value:,.0f}" if value == round(value) else f"{value:,.2f}"


def delta(
    current: float | None, previous: float | None, higher_is_better: bool, points: bool = False
) -> html.Span:
    """Change against the previous period; coloured by whether it is good news."""
    if current is None or previous is None:
        return html.Span("no previous data", className="delta delta-none")
    if points:
        change = current - previous
        text = f"{change * 100:+.1f} pts"
    elif previous == 0:
        return html.Span("previous period 0", className="delta delta-none")
    else:
        change = (current - previous) / abs(previous)
        text = f"{change:+.1%}"
    good = (change >= 0) == higher_is_better
    kind = "flat" if abs(change) < 1e-12 else ("good" if good else "bad")
    return html.Span(f"{text} vs previous period", className=f"delta delta-{kind}")


def change(current: float | None, previous: float | None, points: bool = False) -> html.Span:
    """Change against the previous period, in a neutral colour: whether the value
    is healthy is the card's state (dash_app.components.health), not its direction."""
    if current is None or previous is None:
        return html.Span("no previous data", className="delta delta-none")
    if points:
        text = f"{(current - previous) * 100:+.1f} pts"
    elif previous == 0:
        return html.Span("previous period 0", className="delta delta-none")
    else:
        text = f"{(current - previous) / abs(previous):+.1%}"
    return html.Span(f"{text} vs previous period", className="delta delta-neutral")


def kpi_card(
    card_id: str,
    title: str,
    value: str,
    change: html.Span,
    note: str,
    trend: dict | None = None,
    state: object | None = None,
) -> html.Div:
    """state: a dash_app.components.health.Health; the card takes its colour."""
    children = [
        html.Div(title, className="kpi-title"),
        html.Div(value, className="kpi-value", id=f"{card_id}-value"),
        change,
        html.Div(note, className="kpi-note"),
    ]
    class_name = "kpi-card"
    if state is not None:
        from dash_app.components.health import health_badge

        children.insert(2, health_badge(card_id, state))
        class_name += f" kpi-state-{state.state}"
    if trend is not None:
        children.append(
            dcc.Graph(figure=trend, config={"displayModeBar": False}, className="kpi-trend")
        )
    return html.Div(children, className=class_name, id=card_id)


ALERT_COLUMNS = [
    ("severity", "Severity"),
    ("rule_id", "Rule"),
    ("series", "Scope"),
    ("metric", "Metric"),
    ("last_value", "Value"),
    ("threshold_text", "Threshold"),
    ("first_seen_date", "First seen"),
    ("last_seen_date", "Last seen"),
    ("days_alerting", "Days alerting (first → last seen)"),
    ("status", "Status"),
]


def _alert_status(row) -> str:
    """fct_alerts.status in words; no_data is never shown as resolved."""
    if row.status == "resolved":
        text = f"resolved {_iso(row.resolved_date)}"
    elif row.status == "no_data":
        text = f"no data since {_iso(row.last_seen_date)}"
    else:
        text = "active"
    return text + (" · flapping" if row.is_flapping else "")


DELIVERY_COLUMNS = [
    ("delivered", "Delivered (channel, event, UTC)"),
    ("failures_text", "Delivery failures"),
]


def alert_table(
    frame: pd.DataFrame, table_id: str, page_size: int = 15, delivery: bool = False
) -> dash_table.DataTable:
    """One row per alert; with ``delivery`` the frame also has the notification
    log's delivered / failures / last_failure columns (dash_app.data.alerts.deliveries)."""
    columns = ALERT_COLUMNS + (DELIVERY_COLUMNS if delivery else [])
    if delivery:
        frame = frame.assign(
            delivered=frame.delivered.fillna("not sent"),
            failures_text=[
                f"{int(n)}: {last}" if n and isinstance(last, str) else ""
                for n, last in zip(frame.failures.fillna(0), frame.last_failure, strict=True)
            ],
        )
    rows = frame.assign(
        threshold_text=[
            f"{comparator} {fmt_value(v, unit)}"
            for comparator, v, unit in zip(
                frame.comparator, frame.threshold, frame.unit, strict=True
            )
        ],
        last_value=[
            fmt_value(v, unit) for v, unit in zip(frame.last_value, frame.unit, strict=True)
        ],
        first_seen_date=frame.first_seen_date.map(_iso),
        last_seen_date=frame.last_seen_date.map(_iso),
        status=[_alert_status(row) for row in frame.itertuples()],
    )
    return dash_table.DataTable(
        id=table_id,
        columns=[{"name": label, "id": key} for key, label in columns],
        data=rows[[key for key, _ in columns]].to_dict("records"),
        sort_action="native",
        page_size=page_size,
        style_as_list_view=True,
        style_header={"fontWeight": "600", "backgroundColor": "#f4f6f8"},
        style_cell={
            "fontFamily": "inherit",
            "fontSize": "13px",
            "padding": "6px 10px",
            "textAlign": "left",
        },
        style_data_conditional=[
            {
                "if": {"filter_query": '{severity} = "critical"', "column_id": "severity"},
                "color": "#c0392b",
                "fontWeight": "600",
            },
            {
                "if": {"filter_query": '{severity} = "warning"', "column_id": "severity"},
                "color": "#b9770e",
                "fontWeight": "600",
            },
            {
                "if": {"filter_query": '{status} = "active"', "column_id": "status"},
                "fontWeight": "600",
            },
        ],
    )


def _iso(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, dt.date | pd.Timestamp):
        return pd.Timestamp(value).date().isoformat()
    return str(value)[:10]


def page_header(title: str, subtitle: str) -> html.Div:
    return html.Div(
        [html.H1(title), html.P(subtitle, className="subtitle")], className="page-header"
    )
