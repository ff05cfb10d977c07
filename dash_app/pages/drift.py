"""Drift: are the inputs and the predicted class mix still what the model saw?"""

from __future__ import annotations

import dash
import pandas as pd
from dash import Output, callback, html

from dash_app.components.common import graph_or_message, message
from dash_app.components.page import page_inputs, page_layout, render
from dash_app.data.filters import Filters
from dash_app.data.quality import feature_drift, label_shift
from dash_app.data.warehouse import SnapshotReader
from dash_app.figures import charts

PAGE = "drift"
# the spec's gates, drawn on the charts (the alert rules read fct_drift_status_daily)
PSI_LINES = pd.DataFrame(
    {"threshold": [0.10, 0.20], "severity": ["warning", "critical"], "comparator": ["≥", "≥"]}
)
P_LINE = pd.DataFrame({"threshold": [0.01], "severity": ["warning"], "comparator": ["<"]})
# the default rule feature_missing_rate_warning (seeds/alert_rules.csv)
MISSING_LINE = pd.DataFrame({"threshold": [0.01], "severity": ["warning"], "comparator": [">"]})


def layout(**query: str) -> html.Div:
    return page_layout(
        PAGE,
        query,
        "Drift",
        "Each day's feature values and predicted classes against the version's reference "
        "window. Critical = PSI ≥ 0.20 and KS p < 0.01 (both agree); warning = one signal.",
        "drift-body",
    )


def drift_body(source: SnapshotReader, filters: Filters) -> list:
    drift = feature_drift(source, filters)
    if drift.empty:
        return [message("No drift statistics for this selection (no predictions with features).")]
    versions = drift.version.unique()
    drift["series"] = drift.feature if len(versions) == 1 else drift.version + " · " + drift.feature
    worst = drift.groupby("status").size()
    summary = html.P(
        f"{len(versions)} version(s), {drift.feature.nunique()} features, {drift.date.nunique()} days: "
        + ", ".join(f"{worst.get(s, 0)} {s}" for s in ("critical", "warning", "ok"))
        + " feature-days.",
        id="drift-summary",
        className="summary",
    )

    def psi_figure():
        fig = charts.lines(drift, "date", "psi", "series", "PSI per feature", "PSI")
        charts.add_thresholds(fig, PSI_LINES)
        return fig

    def ks_figure():
        fig = charts.log_lines(
            drift, "date", "ks_pvalue", "series", "KS p-value per feature", "p-value"
        )
        fig["layout"]["yaxis"].pop("rangemode", None)
        charts.add_thresholds(fig, P_LINE)
        fig["layout"]["shapes"][0]["yref"] = "y"
        return fig

    def missing_figure():
        fig = charts.lines(
            drift,
            "date",
            "missing_rate",
            "series",
            "Missing rate per feature (absent or null)",
            "missing",
        )
        fig["layout"]["yaxis"]["tickformat"] = ".1%"
        charts.add_thresholds(fig, MISSING_LINE)
        return fig

    shift = label_shift(source, filters)
    heat = drift.assign(
        label=drift.status
        + ", KS p "
        + drift.ks_pvalue.map(lambda p: f"{p:.2g}")
        + ", missing "
        + drift.missing_rate.map(lambda m: "-" if pd.isna(m) else f"{m:.1%}")
    )
    return [
        summary,
        html.Div(
            [
                graph_or_message(drift, psi_figure, "No data.", "drift-psi-chart"),
                graph_or_message(drift, ks_figure, "No data.", "drift-ks-chart"),
                graph_or_message(
                    drift.dropna(subset=["missing_rate"]),
                    missing_figure,
                    "No feature-quality rows for this selection.",
                    "drift-missing-chart",
                ),
            ],
            className="chart-grid",
        ),
        graph_or_message(
            heat,
            lambda: charts.heatmap(
                heat, "date", "series", "psi", "PSI: features × days", "PSI", "label"
            ),
            "No data.",
            "drift-heatmap",
        ),
        graph_or_message(
            shift.dropna(subset=["p_value"]),
            lambda: _shift_figure(shift.dropna(subset=["p_value"])),
            "No label-shift test for this selection (needs at least two classes in the reference).",
            "drift-label-shift-chart",
        ),
    ]


def _shift_figure(shift: pd.DataFrame) -> dict:
    fig = charts.log_lines(
        shift,
        "date",
        "p_value",
        "version",
        "Label shift: chi-square p-value of the predicted class mix",
        "p-value",
    )
    fig["layout"]["yaxis"].pop("rangemode", None)
    charts.add_thresholds(fig, P_LINE)
    return fig


def update(start, end, *values) -> list:
    return render(PAGE, start, end, values, drift_body)


callback(Output("drift-body", "children"), *page_inputs(PAGE))(update)
dash.register_page(
    __name__, path="/drift", name="Drift", title="modelmart · Drift", order=3, layout=layout
)
