"""SLOs: error budget remaining, burn rates and their alert thresholds, per SLO."""

from __future__ import annotations

import urllib.parse

import dash
import pandas as pd
from dash import Input, Output, callback, dcc, html

from dash_app.components.common import GRAPH_CONFIG, graph_or_message, message
from dash_app.components.page import page_inputs, page_layout, render
from dash_app.data.filters import Filters
from dash_app.data.slo import slo_history, slo_list
from dash_app.data.warehouse import SnapshotReader
from dash_app.figures import charts
from modelmart.build import project_dir
from modelmart.prometheus_export import load_definitions

PAGE = "slo"
WINDOW_NAMES = {1: "1h", 2: "2h", 6: "6h", 24: "1d", 72: "3d"}


def state_words(row: pd.Series) -> str:
    """The SLO's state in words, from its budget over the period and its alerts."""
    words = {
        "ok": "OK",
        "warning": "warning: budget below 20 %",
        "exhausted": "budget exhausted — freeze changes",
        "no_data": "no data in the period",
    }[row.budget_state]
    if row.is_page:
        words += " · paging: burning fast"
    elif row.is_ticket:
        words += " · ticket: burning slowly"
    return words


def burn_thresholds() -> pd.DataFrame:
    """The burn-rate factors of var slo_burn_alerts, one dashed line each."""
    entries = load_definitions(project_dir()).burn_alerts
    return pd.DataFrame(
        [
            {
                "threshold": e["factor"],
                "severity": e["severity"],
                "comparator": f"> over {WINDOW_NAMES[e['long_hours']]} &",
            }
            for e in entries
        ]
    )


def layout(**query: str) -> html.Div:
    return page_layout(
        PAGE,
        query,
        "SLOs",
        "Error budget = 1 − objective over each SLO's rolling period; burn rate = error "
        "ratio ÷ budget (1 spends it exactly over the period). Pages at 14.4 over 1 h or 6 "
        "over 6 h, tickets at 3 over 1 d or 1 over 3 d, each confirmed by a short window.",
        "slo-body",
    )


def _link(slo_id: str, filters: Filters) -> str:
    query = dict(urllib.parse.parse_qsl(filters.to_search().lstrip("?")))
    return "/slo?" + urllib.parse.urlencode({**query, "slo": slo_id})


def slo_body(source: SnapshotReader, filters: Filters, chosen: str | None) -> list:
    slos = slo_list(source)
    if slos.empty:
        return [message("No SLOs (seeds/slos.csv) or no events for them yet.")]
    slos["state"] = slos.apply(state_words, axis=1)
    if chosen not in set(slos.slo_id):
        chosen = slos.slo_id.iloc[0]
    rows = [
        html.Tr(
            [
                html.Td(
                    dcc.Link(
                        row.slo_id, href=_link(row.slo_id, filters), id=f"slo-link-{row.slo_id}"
                    )
                ),
                html.Td(row.sli_kind),
                html.Td(f"{row.objective:.4g}" if pd.notna(row.objective) else "-"),
                html.Td(f"{row.budget_remaining:.1%}" if pd.notna(row.budget_remaining) else "-"),
                html.Td(f"{row.burn_rate_1h:.2f}" if pd.notna(row.burn_rate_1h) else "no data"),
                html.Td(f"{row.burn_rate_1d:.2f}" if pd.notna(row.burn_rate_1d) else "no data"),
                html.Td(row.state, className=f"slo-state slo-state-{row.budget_state}"),
            ],
            className="slo-row-chosen" if row.slo_id == chosen else "",
        )
        for row in slos.itertuples()
    ]
    table = html.Table(
        [
            html.Thead(
                html.Tr(
                    [
                        html.Th(h)
                        for h in (
                            "SLO",
                            "SLI",
                            "objective",
                            "budget left",
                            "burn 1 h",
                            "burn 1 d",
                            "state",
                        )
                    ]
                )
            ),
            html.Tbody(rows),
        ],
        id="slo-table",
        className="table",
    )
    row = slos[slos.slo_id == chosen].iloc[0]
    history = slo_history(source, chosen, filters)
    long = history.melt(
        id_vars="hour",
        value_vars=["burn_rate_1h", "burn_rate_6h", "burn_rate_1d", "burn_rate_3d"],
        var_name="window",
        value_name="burn_rate",
    )
    long["window"] = long.window.str.replace("burn_rate_", "", regex=False)

    def burn_figure():
        fig = charts.lines(
            long, "hour", "burn_rate", "window", f"Burn rate of {chosen}", "× budget"
        )
        charts.add_thresholds(fig, burn_thresholds())
        return fig

    detail = html.Div(
        [
            html.H2(f"{chosen}: {row.description}"),
            html.P(row.state, id="slo-state", className=f"slo-state slo-state-{row.budget_state}"),
            html.P(
                f"Newest hour {row.status_hour:%Y-%m-%d %H:00} UTC · {int(row.total_period):,} events in "
                f"the last {int(row.period_days)} days, {int(row.total_period - row.good_period):,} bad · "
                f"objective {row.objective:.4g}",
                id="slo-summary",
                className="summary",
            ),
            html.Div(
                [
                    dcc.Graph(
                        id="slo-gauge",
                        figure=charts.budget_gauge(row.budget_remaining, "Error budget remaining"),
                        config=GRAPH_CONFIG,
                    ),
                    graph_or_message(
                        long.dropna(subset=["burn_rate"]),
                        burn_figure,
                        "No events in the range.",
                        "slo-burn-chart",
                    ),
                ],
                className="chart-grid",
            ),
        ],
        className="panel",
    )
    return [table, detail]


def update(start, end, _snapshot, search) -> list:
    chosen = dict(urllib.parse.parse_qsl((search or "").lstrip("?"))).get("slo")
    return render(PAGE, start, end, (), lambda source, filters: slo_body(source, filters, chosen))


callback(Output("slo-body", "children"), *page_inputs(PAGE), Input("url", "search"))(update)
dash.register_page(
    __name__, path="/slo", name="SLOs", title="modelmart · SLOs", order=7, layout=layout
)
