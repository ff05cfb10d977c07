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
    trend = daily.melt(
        id_vars=["date", "version"],
        value_vars=["ece", "brier_score", "macro_f1"],
        var_name="metric",
        value_name="value",
    )
    trend["series"] = (
        trend.version
        + " · "
        + trend.metric.map({"ece": "ECE", "brier_score": "Brier", "macro_f1": "macro F1"})
    )
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
                    trend,
                    lambda: charts.lines(
                        trend, "date", "value", "series", "ECE, Brier and macro F1 per day", "value"
                    ),
                    "No data.",
                    "calibration-trend-chart",
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
