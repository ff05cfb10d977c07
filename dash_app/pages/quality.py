"""Model quality: accuracy beside label coverage, by version and segment."""

from __future__ import annotations

import dash
from dash import Output, callback, dcc, html

from dash_app.components.common import GRAPH_CONFIG, fmt_int, fmt_pct, kpi_card, message
from dash_app.components.page import (
    page_inputs,
    page_layout,
    render,
)
from dash_app.data.alerts import breaches, thresholds
from dash_app.data.filters import Filters
from dash_app.data.quality import quality, segment_quality
from dash_app.data.warehouse import SnapshotReader
from dash_app.figures import charts

PAGE = "quality"


def layout(**query: str) -> html.Div:
    return page_layout(
        PAGE,
        query,
        "Model quality",
        "Accuracy of ML predictions against their latest label, on the prediction's "
        "date. Bars show label coverage: a day with few labels has a shaky accuracy.",
        "quality-body",
    )


def quality_body(source: SnapshotReader, filters: Filters) -> list:
    daily = quality(source, filters)
    if daily.empty:
        return [message("No predictions for this selection.")]
    predictions = int(daily.predictions.sum())
    labeled = int(daily.labeled.sum())
    correct = int(daily.correct.sum())
    last_day = daily[daily.date == daily.date.max()]
    rolling_labeled = int(last_day.labeled_rolling_7d.sum())
    cards = [
        kpi_card(
            "q-kpi-predictions",
            "Predictions",
            fmt_int(predictions),
            html.Span(),
            "In the selected range.",
        ),
        kpi_card(
            "q-kpi-coverage",
            "Label coverage",
            fmt_pct(labeled / predictions if predictions else None),
            html.Span(),
            f"{labeled:,} labeled; labels arrive days late, so recent days are low.",
        ),
        kpi_card(
            "q-kpi-accuracy",
            "Model accuracy (range)",
            fmt_pct(correct / labeled if labeled else None),
            html.Span(),
            "Correct ÷ labeled, pooled over the range.",
        ),
        kpi_card(
            "q-kpi-accuracy-7d",
            "Model accuracy (7 days)",
            fmt_pct(
                int(last_day.correct_rolling_7d.sum()) / rolling_labeled
                if rolling_labeled
                else None
            ),
            html.Span(),
            f"The 7 days to {daily.date.max():%Y-%m-%d}, all selected versions.",
        ),
    ]
    rules = thresholds(source, "accuracy_rolling_7d", "fct_model_quality_daily", filters)
    points = breaches(source, filters, "fct_model_quality_daily", "accuracy_rolling_7d")
    segments = segment_quality(source, filters)
    return [
        html.Div(cards, className="kpi-row"),
        dcc.Graph(
            id="quality-chart",
            figure=charts.quality_chart(
                daily,
                rules,
                points[points.is_alerting],
                thresholds(source, "label_coverage", "fct_model_quality_daily", filters),
            ),
            config=GRAPH_CONFIG,
        ),
        dcc.Graph(
            id="quality-segments-chart", figure=charts.segment_chart(segments), config=GRAPH_CONFIG
        )
        if segments.labeled.sum() > 0
        else message("No labeled predictions per segment in this selection."),
    ]


def update(start, end, *values) -> list:
    return render(PAGE, start, end, values, quality_body)


callback(Output("quality-body", "children"), *page_inputs(PAGE))(update)
dash.register_page(
    __name__,
    path="/quality",
    name="Model quality",
    title="modelmart · Model quality",
    order=2,
    layout=layout,
)
