"""Experiment scorecard figure: relative lift per metric with its CI as an error
bar, coloured by the sequential result (plain plotly dict, no Dash, no database)."""

from __future__ import annotations

import copy

import pandas as pd

from dash_app.figures.charts import THEME

OUTCOME_COLORS = {"win": "#2e8b57", "neutral": "#d4a017", "loss": "#c0392b"}
OUTCOME_LABELS = {"win": "win", "neutral": "inconclusive", "loss": "loss"}


def scorecard_figure(rows: pd.DataFrame, title: str) -> dict:
    """rows: one variant's metrics (fct_experiment_results), in display order."""
    layout = copy.deepcopy(THEME)
    frame = rows[rows.lift_relative.notna()].iloc[::-1]  # first metric on top
    labels = [f"{r.metric_label} ({r.metric_role})" for r in frame.itertuples()]
    data = []
    for outcome, color in OUTCOME_COLORS.items():
        part = frame[frame.seq_outcome == outcome]
        if part.empty:
            continue
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": OUTCOME_LABELS[outcome],
                "x": part.lift_relative.tolist(),
                "y": [f"{r.metric_label} ({r.metric_role})" for r in part.itertuples()],
                "marker": {"color": color, "size": 11},
                "error_x": {
                    "type": "data",
                    "symmetric": False,
                    "array": (part.ci_high - part.lift_relative).tolist(),
                    "arrayminus": (part.lift_relative - part.ci_low).tolist(),
                    "color": color,
                    "thickness": 2,
                },
                "hovertemplate": "%{y}: lift %{x:.1%}<extra></extra>",
            }
        )
    layout.update(
        {
            "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 14}},
            "height": 90 + 42 * max(len(labels), 1),
            "hovermode": "closest",
            "xaxis": {
                "tickformat": ".0%",
                "zeroline": True,
                "zerolinecolor": "#7b8794",
                "title": {"text": "relative lift vs control (95 % CI)"},
                "automargin": True,
            },
            "yaxis": {"categoryorder": "array", "categoryarray": labels, "automargin": True},
            "margin": {"l": 200, "r": 16, "t": 40, "b": 70},
        }
    )
    return {"data": data, "layout": layout}
