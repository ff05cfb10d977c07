"""Drift: are the inputs and the predicted class mix still what the model saw?"""

from __future__ import annotations

import dash
import pandas as pd
from dash import Output, callback, html

from dash_app.components.common import graph_or_message, message
from dash_app.components.page import page_inputs, page_layout, render
from dash_app.context import reader
from dash_app.data.alerts import drift_gates, thresholds
from dash_app.data.filters import Filters
from dash_app.data.quality import feature_drift, label_shift
from dash_app.data.warehouse import NoWarehouse, SnapshotReader
from dash_app.figures import charts

PAGE = "drift"


def gate_lines(gates: dict[str, float], *rows: tuple[str, str, str]) -> pd.DataFrame:
    """Threshold lines from the drift gates (marts.dim_drift_gates, the values the
    drift marts classify with): rows of (gate, severity, comparator)."""
    return pd.DataFrame(
        {
            "threshold": [gates[gate] for gate, _, _ in rows],
            "severity": [severity for _, severity, _ in rows],
            "comparator": [comparator for _, _, comparator in rows],
        }
    )


def layout(**query: str) -> html.Div:
    try:
        gates = drift_gates(reader())
        rule = (
            f"Critical = PSI ≥ {gates['psi_critical']:g} and KS p < {gates['ks_pvalue']:g} "
            f"(both agree); warning = one signal (PSI ≥ {gates['psi_warning']:g} or KS p < "
            f"{gates['ks_pvalue']:g}). Gates: seeds/drift_gates.csv."
        )
    except NoWarehouse:
        rule = ""
    return page_layout(
        PAGE,
        query,
        "Drift",
        "Each day's feature values and predicted classes against the version's reference "
        "window. " + rule,
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

    gates = drift_gates(source)
    psi_lines = gate_lines(
        gates, ("psi_warning", "warning", "≥"), ("psi_critical", "critical", "≥")
    )
    p_line = gate_lines(gates, ("ks_pvalue", "warning", "<"))

    def psi_figure():
        # a log axis: a drift incident's PSI (several units) would squash the gate
        # lines at the bottom of a linear one
        fig = charts.log_lines(
            drift, "date", "psi", "series", "PSI per feature (log scale)", "PSI", floor=1e-4
        )
        fig["layout"]["yaxis"].pop("rangemode", None)
        fig["layout"]["height"] = 420
        charts.add_thresholds(fig, psi_lines)
        # the two gates sit close on a log axis: critical's label at the right end
        notes = fig["layout"]["annotations"]
        notes[-1].update({"x": 1, "xanchor": "right"})
        return fig

    def ks_figure():
        fig = charts.log_lines(
            drift, "date", "ks_pvalue", "series", "KS p-value per feature", "p-value"
        )
        fig["layout"]["yaxis"].pop("rangemode", None)
        charts.add_thresholds(fig, p_line)
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
        charts.add_thresholds(
            fig,
            thresholds(source, "max_missing_rate", "fct_feature_quality_status_daily", filters),
        )
        return fig

    shift = label_shift(source, filters)
    heat = drift.assign(
        label=drift.status
        + ", KS p "
        + drift.ks_pvalue.map(lambda p: f"{p:.2g}")
        + ", missing "
        + drift.missing_rate.map(lambda m: "-" if pd.isna(m) else f"{m:.1%}")
    )

    def heat_figure():
        fig = charts.heatmap(heat, "date", "series", "psi", "PSI: features × days", "PSI", "label")
        # colours by the gates: grey below warning, amber to critical, red beyond
        # (saturating at twice critical, so the incident does not wash the rest out)
        top = 2 * gates["psi_critical"]
        fig["data"][0].update(
            {
                "zmin": 0,
                "zmax": top,
                "colorscale": [
                    [0, "#f4f6f8"],
                    [gates["psi_warning"] / top, "#f4f6f8"],
                    [gates["psi_warning"] / top, "#f5c26b"],
                    [gates["psi_critical"] / top, "#f5c26b"],
                    [gates["psi_critical"] / top, "#e07b39"],
                    [1, "#c0392b"],
                ],
            }
        )
        return fig

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
        graph_or_message(heat, heat_figure, "No data.", "drift-heatmap"),
        graph_or_message(
            shift.dropna(subset=["p_value"]),
            lambda: _shift_figure(
                shift.dropna(subset=["p_value"]),
                gate_lines(gates, ("label_shift_pvalue", "warning", "<")),
            ),
            "No label-shift test for this selection (needs at least two classes in the reference).",
            "drift-label-shift-chart",
        ),
    ]


def _shift_figure(shift: pd.DataFrame, p_line: pd.DataFrame) -> dict:
    fig = charts.log_lines(
        shift,
        "date",
        "p_value",
        "version",
        "Label shift: chi-square p-value of the predicted class mix",
        "p-value",
    )
    fig["layout"]["yaxis"].pop("rangemode", None)
    charts.add_thresholds(fig, p_line)
    return fig


def update(start, end, *values) -> list:
    return render(PAGE, start, end, values, drift_body)


callback(Output("drift-body", "children"), *page_inputs(PAGE))(update)
dash.register_page(
    __name__, path="/drift", name="Drift", title="modelmart · Drift", order=3, layout=layout
)
