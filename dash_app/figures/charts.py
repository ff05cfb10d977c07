"""Pure DataFrame → go.Figure builders, one theme; no database, no Dash.

Callers check for empty frames first and show a message instead of a chart, so
these builders never draw an axis of zeros.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

COLORWAY = ["#3b6fb6", "#e07b39", "#3a9d74", "#b5485d", "#7a5cb8", "#8c7a3e", "#4aa3b5", "#6b6b6b"]
SEVERITY_COLORS = {"critical": "#c0392b", "warning": "#d68910", "info": "#5d6d7e"}
FONT = "Inter, system-ui, -apple-system, Segoe UI, Roboto, sans-serif"

# a small theme of our own: plotly's named templates are deep-copied into every
# figure and cost ~60 ms each, a third of the callback budget
_AXIS = {"gridcolor": "#eef0f3", "linecolor": "#d5d9de", "zeroline": False, "automargin": True}
TEMPLATE = go.layout.Template(
    layout={
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "colorway": COLORWAY,
        "font": {"family": FONT, "size": 12, "color": "#1f2933"},
        "xaxis": _AXIS,
        "yaxis": _AXIS,
        "hoverlabel": {"font": {"family": FONT}},
    }
)


def _layout(fig: go.Figure, title: str, y_title: str, percent: bool = False) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        template=TEMPLATE,
        margin={"l": 56, "r": 16, "t": 48, "b": 40},
        legend={"orientation": "h", "y": -0.18, "x": 0, "font": {"size": 11}},
        hovermode="x unified",
        height=340,
    )
    fig.update_yaxes(title_text=y_title, rangemode="tozero", tickformat=".0%" if percent else None)
    fig.update_xaxes(title_text=None)
    return fig


def add_thresholds(fig: go.Figure, rules: pd.DataFrame, secondary_y: bool | None = None) -> None:
    """A dashed line per alert rule, coloured by severity and labelled with the rule."""
    for rule in rules.itertuples():
        kwargs = {"secondary_y": secondary_y} if secondary_y is not None else {}
        fig.add_hline(
            y=rule.threshold,
            line={
                "dash": "dash",
                "width": 1.5,
                "color": SEVERITY_COLORS.get(rule.severity, "#555"),
            },
            annotation_text=f"{rule.severity} {rule.comparator} {rule.threshold:g}",
            annotation_position="top left",
            annotation_font={"size": 10, "color": SEVERITY_COLORS.get(rule.severity, "#555")},
            **kwargs,
        )


def add_breaches(fig: go.Figure, points: pd.DataFrame, x: str = "metric_date") -> None:
    """Mark breach days (rows of fct_alert_breaches) with an × per severity."""
    if points.empty:
        return
    for severity, group in points.groupby("severity", sort=False):
        fig.add_trace(
            go.Scatter(
                x=group[x],
                y=group["metric_value"],
                mode="markers",
                name=f"breach ({severity})",
                marker={"symbol": "x", "size": 9, "color": SEVERITY_COLORS.get(severity, "#555")},
                text=group["rule_id"] + " · " + group["series"],
                hovertemplate="%{text}<br>%{y:,.4g}<extra></extra>",
            )
        )


def lines(
    frame: pd.DataFrame,
    x: str,
    y: str,
    color: str | None,
    title: str,
    y_title: str,
    percent: bool = False,
) -> go.Figure:
    """One line per value of `color` (gaps where a value is missing)."""
    fig = go.Figure()
    groups = frame.groupby(color, sort=True) if color else [(y_title, frame)]
    for name, group in groups:
        fig.add_trace(
            go.Scatter(
                x=group[x],
                y=group[y],
                mode="lines+markers",
                name=str(name),
                marker={"size": 4},
                connectgaps=False,
                hovertemplate="%{y:,.4g}" if not percent else "%{y:.1%}",
            )
        )
    return _layout(fig, title, y_title, percent)


def stacked_bars(
    frame: pd.DataFrame, x: str, y: str, color: str, title: str, y_title: str
) -> go.Figure:
    fig = go.Figure()
    for name, group in frame.groupby(color, sort=True):
        fig.add_trace(go.Bar(x=group[x], y=group[y], name=str(name)))
    fig.update_layout(barmode="stack")
    return _layout(fig, title, y_title)


def kpi_trend(frame: pd.DataFrame, x: str, y: str, percent: bool = False) -> go.Figure:
    """A small sparkline for a KPI card."""
    fig = go.Figure(
        go.Scatter(
            x=frame[x],
            y=frame[y],
            mode="lines",
            line={"width": 2, "color": COLORWAY[0]},
            fill="tozeroy",
            fillcolor="rgba(59,111,182,0.12)",
            hovertemplate="%{x|%b %d}: "
            + ("%{y:.1%}" if percent else "%{y:,.4g}")
            + "<extra></extra>",
        )
    )
    fig.update_layout(
        template=TEMPLATE,
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        height=60,
        showlegend=False,
        xaxis={"visible": False},
        yaxis={"visible": False, "rangemode": "tozero"},
    )
    return fig


def quality_chart(frame: pd.DataFrame, rules: pd.DataFrame, points: pd.DataFrame) -> go.Figure:
    """Daily accuracy (dots) and 7-day accuracy (lines) per version, label coverage
    as bars on a second axis, so a day with few labels does not mislead."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for i, (version, group) in enumerate(frame.groupby("version", sort=True)):
        color = COLORWAY[i % len(COLORWAY)]
        fig.add_trace(
            go.Bar(
                x=group.date,
                y=group.label_coverage,
                name=f"{version} label coverage",
                marker={"color": color, "opacity": 0.18},
                hovertemplate="coverage %{y:.0%}<extra></extra>",
            ),
            secondary_y=True,
        )
        fig.add_trace(
            go.Scatter(
                x=group.date,
                y=group.accuracy,
                mode="markers",
                name=f"{version} daily accuracy",
                marker={"color": color, "size": 5, "opacity": 0.6},
                hovertemplate="daily %{y:.1%}<extra></extra>",
            ),
            secondary_y=False,
        )
        fig.add_trace(
            go.Scatter(
                x=group.date,
                y=group.accuracy_rolling_7d,
                mode="lines",
                name=f"{version} accuracy (7 days)",
                line={"color": color, "width": 2.5},
                hovertemplate="7 days %{y:.1%}<extra></extra>",
            ),
            secondary_y=False,
        )
    add_thresholds(fig, rules, secondary_y=False)
    add_breaches(fig, points)
    _layout(fig, "Accuracy and label coverage", "accuracy", percent=True)
    fig.update_yaxes(title_text="label coverage", tickformat=".0%", range=[0, 1], secondary_y=True)
    fig.update_yaxes(range=[0, 1], secondary_y=False)
    fig.update_layout(height=400, barmode="overlay")
    return fig


def segment_chart(frame: pd.DataFrame) -> go.Figure:
    """Pooled accuracy per segment, one bar group per version; coverage in the hover."""
    fig = go.Figure()
    for version, group in frame.groupby("version", sort=True):
        fig.add_trace(
            go.Bar(
                x=group.segment,
                y=group.accuracy,
                name=version,
                customdata=group[["labeled", "predictions", "label_coverage"]].to_numpy(),
                hovertemplate="%{x}: %{y:.1%}<br>%{customdata[0]:,} labeled of "
                "%{customdata[1]:,} (%{customdata[2]:.0%})<extra>" + version + "</extra>",
            )
        )
    fig.update_layout(barmode="group")
    _layout(fig, "Accuracy by segment (whole range, pooled)", "accuracy", percent=True)
    fig.update_layout(hovermode="closest")
    return fig
