"""Cost for finance: spend by provider, model and team, budget and forecast.

Every component id here starts with ``cost-``: with login on, the server refuses
callbacks that output ``cost-*`` components to roles other than finance/engineer.
"""

from __future__ import annotations

import dash
import pandas as pd
from dash import Input, Output, State, callback, dash_table, dcc, html

from dash_app.components.common import (
    fmt_int,
    fmt_money,
    graph_or_message,
    kpi_card,
    message,
)
from dash_app.components.page import (
    choice,
    control_row,
    filters_from_inputs,
    page_inputs,
    page_layout,
    render,
)
from dash_app.context import can_see_cost, reader
from dash_app.data.catalog import PAGE_FIELDS
from dash_app.data.filters import Filters
from dash_app.data.llm import (
    budget_status,
    cost_per_resolved_ticket,
    cost_table,
    llm_usage,
    spend_over_time,
)
from dash_app.data.options import options
from dash_app.data.warehouse import SnapshotReader
from dash_app.figures import charts

PAGE = "cost"
GROUPS = {"provider": "Provider", "model": "Model", "team": "Team"}


def _group_control(_filters: Filters, _opts: object) -> list:
    return control_row(
        "Spend by",
        choice("cost-by", [{"label": v, "value": k} for k, v in GROUPS.items()], "provider"),
        html.Button("Download table (CSV)", id="cost-download-button", className="button"),
        dcc.Download(id="cost-download"),
    )


def layout(**query: str) -> html.Div:
    if not can_see_cost():
        return message("The cost page is for the finance and engineer roles.", "error")
    return page_layout(
        PAGE,
        query,
        "Cost",
        "LLM token spend by provider, model and team. Calls to a model without a "
        "price row are shown as unpriced, never as $0.",
        "cost-body",
        _group_control,
    )


def table_frame(usage: pd.DataFrame) -> pd.DataFrame:
    """The table in view: cost as text so an unpriced group reads 'unpriced'."""
    table = cost_table(usage)
    table["cost_usd"] = table.cost_usd.map(
        lambda v: "unpriced" if pd.isna(v) else round(float(v), 6)
    )
    return table


def cost_body(source: SnapshotReader, filters: Filters, by: str = "provider") -> list:
    usage = llm_usage(source, filters)
    if usage.empty:
        return [message("No LLM calls for this selection.")]
    spend = usage.cost_usd.sum(min_count=1)
    spend = None if pd.isna(spend) else float(spend)
    budget = budget_status(source, filters)
    if filters.model or filters.team:
        per_ticket_value = "—"
        per_ticket_note = (
            "Not defined for a model or team selection: tickets are attributed to providers."
        )
    else:
        per_ticket = cost_per_resolved_ticket(source, filters)
        per_ticket_value = fmt_money(per_ticket.value)
        per_ticket_note = (
            "Spend of the selected providers ÷ tickets their sessions' AI agent resolved, "
            "over provider-days whose calls are all priced"
            + (
                f" ({fmt_int(per_ticket.excluded_tickets)} resolved tickets of provider-days "
                "with unpriced calls left out: their cost is unknown)."
                if per_ticket.excluded_tickets
                else "."
            )
        )
    # budgets are set per team: a provider or model selection spends part of them
    budget_comparable = not (filters.provider or filters.model)
    over = (
        budget_comparable
        and budget.budget is not None
        and budget.forecast is not None
        and budget.forecast > budget.budget
    )
    if not budget_comparable:
        verdict = "not compared: the budget covers every provider and model"
    elif budget.budget is not None and budget.forecast is not None:
        verdict = "over budget" if over else "within budget"
    else:
        verdict = ""
    unpriced_mtd = (
        f" Leaves out {fmt_int(budget.unpriced_calls)} unpriced calls (cost unknown)."
        if budget.unpriced_calls
        else ""
    )
    cards = [
        kpi_card(
            "cost-kpi-spend", "Spend (range)", fmt_money(spend), html.Span(), "Priced calls only."
        ),
        kpi_card(
            "cost-kpi-unpriced",
            "Unpriced",
            f"{fmt_int(usage.unpriced_calls.sum())} calls",
            html.Span(
                f"{fmt_int(usage.unpriced_tokens.sum())} tokens", className="delta delta-none"
            ),
            "Calls to models without a price row: cost unknown, not $0.",
        ),
        kpi_card(
            "cost-kpi-mtd",
            f"Month to date ({budget.month:%b %Y})",
            fmt_money(budget.spend_mtd),
            html.Span(
                f"budget {fmt_money(budget.budget)}"
                if budget.budget is not None
                else "no budget set",
                className="delta delta-none",
            ),
            f"Budget of {', '.join(filters.team) if filters.team else 'all teams'} "
            f"(budgets seed), priced calls only.{unpriced_mtd}",
        ),
        kpi_card(
            "cost-kpi-forecast",
            "Month-end forecast",
            fmt_money(budget.forecast),
            html.Span(
                verdict,
                className=f"delta delta-{'bad' if over else ('good' if budget_comparable else 'none')}",
            ),
            budget.method + unpriced_mtd,
        ),
        kpi_card(
            "cost-kpi-per-ticket",
            "Cost per resolved ticket",
            per_ticket_value,
            html.Span(),
            per_ticket_note,
        ),
    ]
    over_time = spend_over_time(usage, by if by in GROUPS else "provider")
    table = table_frame(usage)
    return [
        html.Div(cards, className="kpi-row"),
        graph_or_message(
            over_time,
            lambda: charts.stacked_bars(
                over_time, "date", "cost_usd", by, f"Spend per day by {by}", "USD"
            ),
            "No priced calls in this selection: every call is unpriced.",
            "cost-chart",
        ),
        html.H2("Spend by provider, model and team"),
        dash_table.DataTable(
            id="cost-table",
            columns=[{"name": c.replace("_", " "), "id": c} for c in table.columns],
            data=table.to_dict("records"),
            sort_action="native",
            page_size=20,
            style_as_list_view=True,
            style_header={"fontWeight": "600", "backgroundColor": "#f4f6f8"},
            style_cell={"fontFamily": "inherit", "fontSize": "13px", "padding": "6px 10px"},
        ),
    ]


def update(start, end, *values) -> list:
    *filter_values, _snapshot, by = values
    return render(
        PAGE,
        start,
        end,
        tuple(filter_values),
        lambda source, filters: cost_body(source, filters, by or "provider"),
    )


def download(_clicks, start, end, *values) -> dict:
    filters = filters_from_inputs(PAGE, start, end, values)
    source = reader()
    if filters.start is None or filters.end is None:
        filters = filters.resolved(options(source).newest_date)
    table = table_frame(llm_usage(source, filters))
    name = f"modelmart-cost-{filters.start}-{filters.end}.csv"
    return dcc.send_data_frame(table.to_csv, name, index=False)


callback(Output("cost-body", "children"), *page_inputs(PAGE), Input("cost-by", "value"))(update)
callback(
    Output("cost-download", "data"),
    Input("cost-download-button", "n_clicks"),
    State("f-dates", "start_date"),
    State("f-dates", "end_date"),
    *[State({"type": "filter", "field": f}, "value") for f in PAGE_FIELDS[PAGE]],
    prevent_initial_call=True,
)(download)
dash.register_page(
    __name__, path="/cost", name="Cost", title="modelmart · Cost", order=5, layout=layout
)
