"""Cost for finance: spend by provider, model and team, budget and forecast.

Every component id here starts with ``cost-``: with login on, the server refuses
callbacks that output ``cost-*`` components to roles other than finance/engineer.
"""

from __future__ import annotations

import dash
import pandas as pd
from dash import Input, Output, State, callback, dash_table, dcc, html
from dash.dash_table import FormatTemplate
from dash.dash_table.Format import Format, Group, Scheme

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
    own_param,
    page_inputs,
    page_layout,
    render,
    with_params,
)
from dash_app.context import can_see_cost, reader
from dash_app.data.catalog import PAGE_FIELDS
from dash_app.data.filters import Filters
from dash_app.data.llm import (
    BudgetStatus,
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


def _group_control(by: str):
    def controls(_filters: Filters, _opts: object) -> list:
        return control_row(
            "Spend by",
            choice("cost-by", [{"label": v, "value": k} for k, v in GROUPS.items()], by),
            html.Button("Download table (CSV)", id="cost-download-button", className="button"),
            dcc.Download(id="cost-download"),
        )

    return controls


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
        _group_control(own_param(query, "by", list(GROUPS), "provider")),
    )


def table_frame(usage: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """The table in view and in the CSV, grouped by the "spend by" choice (provider ×
    model × team without one): cost_usd numeric, empty (NaN) for an unpriced group,
    with is_priced beside it."""
    return cost_table(usage, by if by in GROUPS else None)


def money(nully: str) -> Format:
    """USD with 2 decimals; `nully` shown for an empty cell (Format.nully mutates,
    so a new Format each time)."""
    return FormatTemplate.money(2).nully(nully)


COUNT = Format(group=Group.yes, precision=0, scheme=Scheme.fixed)
TABLE_FORMATS = {
    "cost_usd": money("unpriced"),
    "calls": COUNT,
    "tokens_total": COUNT,
    "unpriced_calls": COUNT,
    "unpriced_tokens": COUNT,
}
TABLE_STYLE = {
    "style_as_list_view": True,
    "style_header": {"fontWeight": "600", "backgroundColor": "#f4f6f8"},
    "style_cell": {"fontFamily": "inherit", "fontSize": "13px", "padding": "6px 10px"},
}


def _columns(table: pd.DataFrame) -> list[dict]:
    out = []
    for c in table.columns:
        column = {"name": c.replace("_", " "), "id": c}
        if c in TABLE_FORMATS:
            column.update(type="numeric", format=TABLE_FORMATS[c])
        out.append(column)
    return out


def budget_section(budget: BudgetStatus, filters: Filters) -> list:
    """Budget against actual per team (fct_llm_budget_monthly): budgets are set per
    team, so this section follows the team filter only."""
    teams = budget.teams
    if teams is None or teams.empty:
        return [message(f"No budget or LLM calls for {budget.month:%B %Y}.")]
    rows = teams.assign(
        as_of_date=teams.as_of_date.map(lambda v: "" if pd.isna(v) else f"{pd.Timestamp(v):%Y-%m-%d}")
    )[
        ["team", "budget_usd", "spend_mtd_usd", "forecast_usd", "days_with_data",
         "days_elapsed", "unpriced_calls", "budget_verdict"]
    ]  # fmt: skip
    formats = {"budget_usd": money("no budget"), "spend_mtd_usd": money("—"),
               "forecast_usd": money("—"), "days_with_data": COUNT,
               "days_elapsed": COUNT, "unpriced_calls": COUNT}  # fmt: skip
    names = {
        "budget_usd": "budget",
        "spend_mtd_usd": "spend month to date",
        "forecast_usd": "month-end forecast",
        "days_with_data": "days with calls",
        "days_elapsed": "days elapsed",
        "unpriced_calls": "unpriced calls",
        "budget_verdict": "verdict",
    }
    columns = [
        {"name": names.get(c, c), "id": c, **({"type": "numeric", "format": formats[c]} if c in formats else {})}
        for c in rows.columns
    ]  # fmt: skip
    ignored = (
        " The provider and model filters do not apply here: a budget covers all of them."
        if filters.provider or filters.model
        else ""
    )
    chart_rows = teams.melt(
        id_vars="team",
        value_vars=["budget_usd", "spend_mtd_usd", "forecast_usd"],
        var_name="measure",
        value_name="usd",
    ).dropna(subset=["usd"])
    chart_rows["measure"] = chart_rows.measure.map(
        {"budget_usd": "budget", "spend_mtd_usd": "spend month to date", "forecast_usd": "forecast"}
    )
    return [
        html.H2(f"Budget against actual per team, {budget.month:%B %Y}"),
        html.P(
            f"Spend of priced calls from {budget.month:%b} 1 to {budget.as_of or '—'} (the newest "
            f"data) against each team's budget. A verdict needs at least {budget.min_days} "
            "elapsed days and as many days with the team's calls; before that the forecast is "
            f"shown without one.{ignored}",
            className="summary",
            id="cost-budget-summary",
        ),
        graph_or_message(
            chart_rows,
            lambda: charts.grouped_bars(
                chart_rows, "team", "usd", "measure", "Budget, spend and forecast per team", "USD"
            ),
            "No budget or priced spend this month.",
            "cost-budget-chart",
        ),
        dash_table.DataTable(
            id="cost-budget-table",
            columns=columns,
            data=rows.astype(object).where(rows.notna(), None).to_dict("records"),
            **TABLE_STYLE,
        ),
    ]


def cost_body(source: SnapshotReader, filters: Filters, by: str = "provider") -> list:
    by = by if by in GROUPS else "provider"
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
            f"{fmt_money(per_ticket.cost)} ÷ {fmt_int(per_ticket.tickets)} tickets the AI "
            "agent resolved, over provider-days whose calls are all priced"
            + (
                f" ({fmt_int(per_ticket.excluded_tickets)} resolved tickets of provider-days "
                "with unpriced calls left out: their cost is unknown)."
                if per_ticket.excluded_tickets
                else "."
            )
        )
    verdict = budget.verdict
    over = "over budget" in verdict and not verdict.startswith("0 of")
    unpriced_mtd = (
        f" Leaves out {fmt_int(budget.unpriced_calls)} unpriced calls (cost unknown)."
        if budget.unpriced_calls
        else ""
    )
    teams = ", ".join(filters.team) if filters.team else "all teams"
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
            f"Spend and budget of {teams} (budgets seed), priced calls only.{unpriced_mtd}",
        ),
        kpi_card(
            "cost-kpi-forecast",
            "Month-end forecast",
            fmt_money(budget.forecast),
            html.Span(
                verdict,
                className=f"delta delta-{'bad' if over else 'none'}",
                id="cost-kpi-forecast-verdict",
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
    over_time = spend_over_time(usage, by)
    table = table_frame(usage, by)
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
        html.H2(f"Spend by {by}", id="cost-table-title"),
        dash_table.DataTable(
            id="cost-table",
            columns=_columns(table),
            data=table.astype(object).where(table.notna(), None).to_dict("records"),
            sort_action="native",
            page_size=20,
            **TABLE_STYLE,
        ),
        *budget_section(budget, filters),
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
    """The table in view as CSV: the same "spend by" grouping (the value after the
    filter fields; provider × model × team without one), cost_usd numeric."""
    fields = PAGE_FIELDS[PAGE]
    by = values[len(fields)] if len(values) > len(fields) else None
    filters = filters_from_inputs(PAGE, start, end, values[: len(fields)])
    source = reader()
    if filters.start is None or filters.end is None:
        filters = filters.resolved(options(source).newest_date)
    table = table_frame(llm_usage(source, filters), by)
    name = f"modelmart-cost-{filters.start}-{filters.end}.csv"
    return dcc.send_data_frame(table.to_csv, name, index=False)


@callback(
    Output("url", "search", allow_duplicate=True),
    Input("cost-by", "value"),
    State("url", "search"),
    prevent_initial_call=True,
)
def keep_group_in_url(by: str, search: str | None) -> str:
    """The "spend by" choice lives in the URL like the filters (the default left out)."""
    return with_params(search, by=None if by == "provider" else by)


callback(Output("cost-body", "children"), *page_inputs(PAGE), Input("cost-by", "value"))(update)
callback(
    Output("cost-download", "data"),
    Input("cost-download-button", "n_clicks"),
    State("f-dates", "start_date"),
    State("f-dates", "end_date"),
    *[State({"type": "filter", "field": f}, "value") for f in PAGE_FIELDS[PAGE]],
    State("cost-by", "value"),
    prevent_initial_call=True,
)(download)
dash.register_page(
    __name__, path="/cost", name="Cost", title="modelmart · Cost", order=5, layout=layout
)
