"""Calibration and errors: can the scores be trusted, and which classes get confused?"""

from __future__ import annotations

import dash
from dash import Output, callback, html

from dash_app.components.common import graph_or_message, message
from dash_app.components.page import page_inputs, page_layout, render
from dash_app.data.filters import Filters
from dash_app.data.quality import calibration, confusion, reliability
from dash_app.data.warehouse import SnapshotReader
from dash_app.figures import charts

PAGE = "calibration"


def layout(**query: str) -> html.Div:
    return page_layout(
        PAGE,
        query,
        "Calibration",
        "Labeled predictions only. ECE: score-weighted gap between confidence and accuracy "
        "over 10 score bins; Brier: mean (score − correct)². Per-segment accuracy is on "
        "the Model quality page.",
        "calibration-body",
    )


def calibration_body(source: SnapshotReader, filters: Filters) -> list:
    daily = calibration(source, filters)
    if daily.empty:
        return [message("No labeled predictions for this selection.")]
    bins = reliability(source, filters)
    matrix = confusion(source, filters)
    # errors (ECE, Brier: lower is better) and macro F1 (higher is better) on
    # separate charts, so neither direction reads as the other's
    errors = daily.melt(
        id_vars=["date", "version"],
        value_vars=["ece", "brier_score"],
        var_name="metric",
        value_name="value",
    )
    errors["series"] = (
        errors.version + " · " + errors.metric.map({"ece": "ECE", "brier_score": "Brier"})
    )
    f1 = daily.assign(series=daily.version + " · macro F1")
    return [
        html.Div(
            [
                graph_or_message(
                    bins,
                    lambda: charts.reliability_diagram(bins),
                    "No data.",
                    "calibration-reliability-chart",
                ),
                graph_or_message(
                    errors,
                    lambda: charts.lines(
                        errors,
                        "date",
                        "value",
                        "series",
                        "ECE and Brier per day (lower is better)",
                        "ECE / Brier",
                    ),
                    "No data.",
                    "calibration-trend-chart",
                ),
                graph_or_message(
                    f1.dropna(subset=["macro_f1"]),
                    lambda: _f1_figure(f1.dropna(subset=["macro_f1"])),
                    "No macro F1 for this selection.",
                    "calibration-f1-chart",
                ),
            ],
            className="chart-grid",
        ),
        html.Div(
            [
                graph_or_message(
                    cells,
                    lambda cells=cells, version=version: charts.confusion_heatmap(
                        cells, f"Confusion matrix · {version} (range)"
                    ),
                    "No data.",
                    f"calibration-confusion-chart-{number}",
                )
                for number, (version, cells) in enumerate(matrix.groupby("version", sort=True))
            ],
            id="calibration-confusion-chart",
            className="chart-grid",
        ),
    ]


def _f1_figure(f1) -> dict:
    fig = charts.lines(
        f1, "date", "macro_f1", "series", "Macro F1 per day (higher is better)", "macro F1"
    )
    fig["layout"]["yaxis"]["range"] = [0, 1]
    return fig


def update(start, end, *values) -> list:
    return render(PAGE, start, end, values, calibration_body)


callback(Output("calibration-body", "children"), *page_inputs(PAGE))(update)
dash.register_page(
    __name__,
    path="/calibration",
    name="Calibration",
    title="modelmart · Calibration",
    order=4,
    layout=layout,
)
