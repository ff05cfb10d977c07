"""The frame every data page shares: header, filter bar from the URL, a body that
its callback fills, and the callback inputs that go with it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from urllib.parse import parse_qsl, urlencode

from dash import Input, Output, State, callback, dcc, html

from dash_app.components.common import filter_bar, message, model_options, page_header
from dash_app.context import reader
from dash_app.data.catalog import PAGE_FIELDS
from dash_app.data.filters import Filters
from dash_app.data.options import Options, options
from dash_app.data.warehouse import NoWarehouse, SnapshotReader

# pages that show only LLM calls: provider `(none)` (business events without a
# call) has nothing there, so it is not offered
LLM_ONLY_PAGES = ("operations", "cost")
NO_PROVIDER = "(none)"


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
    if page in LLM_ONLY_PAGES:
        opts = replace(opts, provider=[p for p in opts.provider if p != NO_PROVIDER])
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


def control_row(label: str, *controls: object) -> list[html.Div]:
    """A labelled row of page-specific controls under the filter bar."""
    return [html.Div([html.Label(label), *controls], className="filter-inline")]


def choice(component_id: str, options: list, value: object, many: bool = False) -> object:
    """Inline radio buttons (one value) or check boxes (many)."""
    kind = dcc.Checklist if many else dcc.RadioItems
    return kind(id=component_id, options=options, value=value, inline=True, className="radio")


def render(
    page: str,
    start: object,
    end: object,
    filter_values: tuple,
    body: Callable[[SnapshotReader, Filters], list],
) -> list:
    """What every page callback does: filters from the controls (default range
    when a date is cleared), then the page body, or a message when nothing is
    published."""
    try:
        source = reader()
        filters = filters_from_inputs(page, start, end, filter_values)
        if filters.start is None or filters.end is None:
            filters = filters.resolved(options(source).newest_date)
        return body(source, filters)
    except NoWarehouse as exc:
        return [message(str(exc), "error")]


def with_params(search: str | None, **params: str | list[str] | None) -> str:
    """`search` with the page-own parameters set (None removes one, a list repeats
    it), the others kept in their order: a page's choices live in the URL beside
    the shared filters."""
    pairs = [(k, v) for k, v in parse_qsl((search or "").lstrip("?")) if k not in params]
    for k, v in params.items():
        pairs += [(k, x) for x in v] if isinstance(v, list) else [] if v is None else [(k, v)]
    return "?" + urlencode(pairs) if pairs else ""


def own_param(query: dict, name: str, allowed: list, default: str) -> str:
    """A page-own URL parameter (the last value when repeated), or the default."""
    value = query.get(name)
    value = value[-1] if isinstance(value, list | tuple) and value else value
    return value if value in allowed else default


@callback(
    Output({"type": "filter", "field": "model"}, "options"),
    Input({"type": "filter", "field": "provider"}, "value"),
    State({"type": "filter", "field": "model"}, "value"),
    State("f-model-map", "data"),
    prevent_initial_call=True,
)
def models_follow_providers(providers, chosen, models_by_provider) -> list[dict]:
    return model_options(models_by_provider or {}, providers, chosen)
