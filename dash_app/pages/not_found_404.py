"""Shown for any path that is not a page."""

import dash
from dash import dcc, html


def layout(**_query: str) -> html.Div:
    return html.Div(
        [
            html.H1("Page not found"),
            html.P(["There is no such page. ", dcc.Link("Back to the overview", href="/"), "."]),
        ],
        className="page-header",
    )


dash.register_page(
    __name__, path="/404", name="Not found", title="modelmart · Not found", layout=layout
)
