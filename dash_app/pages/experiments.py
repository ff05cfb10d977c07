"""Experiments: a scorecard per experiment × variant from fct_experiment_results.

URL parameters: ``experiment`` (repeatable; none = all) and ``status`` (repeatable),
so a readout can be shared; the other pages' filters ride along untouched.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import dash
import pandas as pd
from dash import Input, Output, State, callback, dash_table, dcc, html

from dash_app.components.common import GRAPH_CONFIG, message, page_header
from dash_app.components.page import choice, control_row
from dash_app.context import reader
from dash_app.data.experiments import experiment_names, experiment_results
from dash_app.data.warehouse import NoWarehouse
from dash_app.figures.experiments import OUTCOME_LABELS, scorecard_figure

STATUSES = ("running", "ship", "dont_ship", "inconclusive", "invalid")
STATUS_LABELS = {
    "running": "running",
    "ship": "ship",
    "dont_ship": "don't ship",
    "inconclusive": "inconclusive",
    "invalid": "invalid (SRM)",
}
URL_FIELDS = ("experiment", "status")


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in (value if isinstance(value, list | tuple) else [value]) if str(v)]


def layout(**query: str) -> html.Div:
    header = page_header(
        "Experiments",
        "A/B readouts against control: relative lift with its confidence interval "
        "(GrowthBook's delta method, Welch t), the always-valid sequential interval that "
        "allows looking every day, sample ratio mismatch, guardrails, and the decision "
        "the rules in seeds/experiment_decision_rules.csv give.",
    )
    try:
        names = experiment_names(reader())
    except NoWarehouse as exc:
        return html.Div([header, message(str(exc), "error")])
    chosen = [n for n in _as_list(query.get("experiment")) if n in names]
    statuses = [s for s in _as_list(query.get("status")) if s in STATUSES] or list(STATUSES)
    return html.Div(
        [
            header,
            html.Div(
                [
                    html.Div(
                        [
                            html.Label("Experiment"),
                            dcc.Dropdown(
                                id="exp-experiment",
                                options=[{"label": n, "value": n} for n in names],
                                value=chosen,
                                multi=True,
                                placeholder=f"All ({len(names)})",
                                className="filter-dropdown",
                            ),
                        ],
                        className="filter",
                    )
                ],
                className="filter-bar",
            ),
            *control_row(
                "Status",
                choice(
                    "exp-status",
                    [{"label": STATUS_LABELS[s], "value": s} for s in STATUSES],
                    statuses,
                    many=True,
                ),
            ),
            dcc.Loading(html.Div(id="exp-body", className="page-body"), type="dot", delay_show=300),
        ]
    )


def _pct(value: float | None, signed: bool = True) -> str:
    if value is None or pd.isna(value):
        return "—"
    return f"{value * 100:+.1f} %" if signed else f"{value * 100:.1f} %"


def _value(value: float | None, unit: str) -> str:
    if value is None or pd.isna(value):
        return "—"
    if unit == "rate":
        return f"{value:.2%}"
    if unit == "usd":
        return f"${value:,.4f}" if abs(value) < 1 else f"${value:,.2f}"
    return f"{value:,.0f} ms"


def _day(value: object) -> str:
    return "—" if value is None or pd.isna(value) else str(pd.Timestamp(value).date())


def _p(value: float | None) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.4f}"


def _range(low: float | None, high: float | None) -> str:
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return "—"
    return f"{_pct(low)} to {_pct(high)}"


def _money_range(low: float, high: float, unit: str) -> str:
    def one(v: float) -> str:
        sign = "−" if v < 0 else "+"
        if unit == "usd":
            v = abs(v)
            return f"{sign}${v / 1000:,.1f}k" if v >= 1000 else f"{sign}${v:,.0f}"
        return f"{sign}{abs(v):,.0f}"

    return f"{one(low)} to {one(high)}"


def scorecard_table(rows: pd.DataFrame, table_id: str) -> dash_table.DataTable:
    records = [
        {
            "metric": r.metric_label,
            "role": r.metric_role,
            "control": _value(r.control_mean, r.metric_unit),
            "variant": _value(r.mean, r.metric_unit),
            "lift": _pct(r.lift_relative),
            "ci": _range(r.ci_low, r.ci_high),
            "seq_ci": _range(r.seq_ci_low, r.seq_ci_high),
            "p": _p(r.p_value),
            "p_adj": _p(r.p_value_adjusted),
            "result": OUTCOME_LABELS.get(r.seq_outcome, r.seq_outcome),
            "users": f"{r.control_users:,} / {r.users:,}",
        }
        for r in rows.itertuples()
    ]
    columns = [
        ("metric", "Metric"),
        ("role", "Role"),
        ("control", "Control"),
        ("variant", "Variant"),
        ("lift", "Lift"),
        ("ci", "CI"),
        ("seq_ci", "Sequential CI"),
        ("p", "p"),
        ("p_adj", "p (Holm)"),
        ("result", "Result"),
        ("users", "Users (control / variant)"),
    ]
    colours = {"win": "#e3f3ea", "inconclusive": "#fdf6dc", "loss": "#fbe5e2"}
    return dash_table.DataTable(
        id=table_id,
        data=records,
        columns=[{"id": c, "name": n} for c, n in columns],
        style_as_list_view=True,
        style_cell={"fontFamily": "inherit", "fontSize": 13, "padding": "4px 8px"},
        style_header={"fontWeight": 600},
        style_data_conditional=[
            {"if": {"filter_query": f'{{result}} = "{label}"'}, "backgroundColor": colour}
            for label, colour in colours.items()
        ],
    )


def variant_card(rows: pd.DataFrame) -> html.Div:
    first = rows.iloc[0]
    key = f"{first.experiment}-{first.variant}"
    children: list = [
        html.H2(
            [
                f"{first.experiment}: {first.variant} vs {first.control_variant} ",
                html.Span(
                    STATUS_LABELS[first.status],
                    className=f"status-badge status-{first.status}",
                    id=f"exp-status-{key}",
                ),
            ]
        )
    ]
    if first.is_srm:
        children.append(
            html.Div(
                f"Sample ratio mismatch: χ² p = {first.srm_p_value:.2g} < 0.001 against the "
                "configured split. The assignment is broken, so the result is invalid.",
                className="alert-strip alert-strip-critical",
                id=f"exp-srm-{key}",
                role="alert",
            )
        )
    children.append(html.P(first.conclusion, className="conclusion", id=f"exp-conclusion-{key}"))
    progress = (
        f"{first.control_users + first.users:,} of {first.required_users:,} required users"
        f" ({first.sample_progress:.0%})"
        if pd.notna(first.required_users)
        else "required sample unknown (control mean is 0)"
    )
    if pd.notna(first.projected_date):
        progress += f"; projected to reach it on {pd.Timestamp(first.projected_date).date()}"
    progress += (
        f" · {first.multiple_exposure_users:,} users exposed to several variants excluded"
        f" · {_day(first.start_date)} – {_day(first.end_date)}, data to {_day(first.as_of_date)}"
    )
    share = min(float(first.sample_progress), 1.0) if pd.notna(first.sample_progress) else 0.0
    children.append(
        html.Div(
            [
                html.Div(
                    html.Div(className="progress-fill", style={"width": f"{share:.0%}"}),
                    className="progress",
                ),
                html.Span(progress, id=f"exp-progress-{key}", className="summary"),
            ],
            className="progress-row",
        )
    )
    children.append(
        dcc.Graph(
            id=f"exp-chart-{key}",
            figure=scorecard_figure(rows, "Lift against control"),
            config=GRAPH_CONFIG,
        )
    )
    children.append(scorecard_table(rows, f"exp-table-{key}"))
    impacts = rows[rows.impact_per_month_low.notna()]
    if not impacts.empty:
        items = [
            html.Li(
                f"{r.metric_label}: {_money_range(r.impact_per_month_low, r.impact_per_month_high, r.metric_unit)}"
                + (" USD/month" if r.metric_unit == "usd" else " converting users/month")
                + f" if shipped ({r.monthly_users:,.0f} users/month)"
            )
            for r in impacts.itertuples()
        ]
        children.append(
            html.Div(
                [html.Strong("Business impact per month (CI range)"), html.Ul(items)],
                id=f"exp-impact-{key}",
                className="panel",
            )
        )
    return html.Div(children, className="panel experiment-card", id=f"exp-card-{key}")


def experiments_body(experiments: list[str], statuses: list[str]) -> list:
    frame = experiment_results(reader(), experiments)
    frame = frame[frame.status.isin(statuses)]
    if frame.empty:
        return [message("No experiment readout for this selection.")]
    cards = [
        variant_card(group.reset_index(drop=True))
        for _, group in frame.groupby(["experiment", "variant"], sort=True)
    ]
    return [html.P(f"{len(cards)} variant readouts", className="summary", id="exp-summary"), *cards]


@callback(
    Output("exp-body", "children"), Input("exp-experiment", "value"), Input("exp-status", "value")
)
def update(experiments, statuses) -> list:
    try:
        return experiments_body(_as_list(experiments), _as_list(statuses))
    except NoWarehouse as exc:
        return [message(str(exc), "error")]


@callback(
    Output("url", "search", allow_duplicate=True),
    Input("exp-experiment", "value"),
    Input("exp-status", "value"),
    State("url", "search"),
    prevent_initial_call=True,
)
def keep_in_url(experiments, statuses, search) -> str:
    kept = [(k, v) for k, v in parse_qsl((search or "").lstrip("?")) if k not in URL_FIELDS]
    kept += [("experiment", e) for e in _as_list(experiments)]
    chosen = _as_list(statuses)
    if set(chosen) != set(STATUSES):
        kept += [("status", s) for s in chosen]
    return "?" + urlencode(kept) if kept else ""


dash.register_page(
    __name__,
    path="/experiments",
    name="Experiments",
    title="modelmart · Experiments",
    order=7,
    layout=layout,
)
