"""The frame every data page shares: header, filter bar from the URL, a body that
its callback fills, and the callback inputs that go with it."""

from __future__ import annotations

from collections.abc import Callable

from dash import Input, dcc, html

from dash_app.components.common import filter_bar, message, page_header
from dash_app.context import reader
from dash_app.data.filters import Filters
from dash_app.data.queries import PAGE_FIELDS, Options, options
from dash_app.data.warehouse import NoWarehouse


def page_layout(
    page: str,
    query: dict,
    title: str,
    subtitle: str,
    body_id: str,
    extra_controls: Callable[[Filters, Options], list] | None = None,
) -> html.Div:
    header = page_header(title, subtitle)
    try:
        opts = options(reader())
    except NoWarehouse as exc:
        return html.Div([header, message(str(exc), "error")])
    filters = Filters.from_query(query).resolved(opts.newest_date)
    controls = extra_controls(filters, opts) if extra_controls else []
    return html.Div(
        [
            header,
            filter_bar(filters, opts, PAGE_FIELDS[page]),
            *controls,
            dcc.Loading(html.Div(id=body_id, className="page-body"), type="dot", delay_show=300),
        ]
    )


def page_inputs(page: str) -> list[Input]:
    """Dates, the page's filter fields and the snapshot key (a publish refreshes)."""
    return [
        Input("f-dates", "start_date"),
        Input("f-dates", "end_date"),
        *[Input({"type": "filter", "field": f}, "value") for f in PAGE_FIELDS[page]],
        Input("snapshot", "data"),
    ]


def filters_from_inputs(page: str, start: object, end: object, values: tuple) -> Filters:
    fields = PAGE_FIELDS[page]
    return Filters.from_controls(start, end, dict(zip(fields, values[: len(fields)], strict=True)))
