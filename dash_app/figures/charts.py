"""Pure DataFrame → figure builders, one theme; no database, no Dash.

Figures are plain plotly figure dicts (``{"data": [...], "layout": {...}}``), which
``dcc.Graph`` takes as they are. Building ``go.Figure`` objects validates every
property on assignment and cost 60–200 ms per callback, most of the 150 ms
budget; the tests wrap each dict in ``go.Figure`` once to prove it is valid.

Callers check for empty frames first and show a message instead of a chart, so
these builders never draw an axis of zeros.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from dash_app.figures.colors import series_color, series_dash, version_color

Figure = dict

COLORWAY = ["#3b6fb6", "#e07b39", "#3a9d74", "#b5485d", "#7a5cb8", "#8c7a3e", "#4aa3b5", "#6b6b6b"]
SEVERITY_COLORS = {"critical": "#c0392b", "warning": "#d68910", "info": "#5d6d7e"}
FONT = "Inter, system-ui, -apple-system, Segoe UI, Roboto, sans-serif"
_AXIS = {"gridcolor": "#eef0f3", "linecolor": "#d5d9de", "zeroline": False, "automargin": True}
THEME = {
    "paper_bgcolor": "white",
    "plot_bgcolor": "white",
    "colorway": COLORWAY,
    "font": {"family": FONT, "size": 12, "color": "#1f2933"},
    "hoverlabel": {"font": {"family": FONT}},
    "margin": {"l": 56, "r": 16, "t": 48, "b": 40},
    "legend": {"orientation": "h", "y": -0.18, "x": 0, "font": {"size": 11}},
    "hovermode": "x unified",
    "height": 340,
}


def values(series: pd.Series) -> list:
    """JSON-ready values: dates as ISO text, NaN/NA as None (a gap, never a zero)."""
    if pd.api.types.is_datetime64_any_dtype(series) or (
        len(series) and hasattr(series.iloc[0], "isoformat")
    ):
        return [None if pd.isna(v) else pd.Timestamp(v).date().isoformat() for v in series]
    if pd.api.types.is_numeric_dtype(series):
        array = series.to_numpy(dtype=float, na_value=np.nan)
        return [None if np.isnan(v) else v for v in array.tolist()]
    return [None if pd.isna(v) else v for v in series.tolist()]


def base(title: str, y_title: str, percent: bool = False) -> Figure:
    layout = copy.deepcopy(THEME)
    layout["title"] = {"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}}
    layout["xaxis"] = {**_AXIS}
    layout["yaxis"] = {**_AXIS, "title": {"text": y_title}, "rangemode": "tozero"}
    if percent:
        layout["yaxis"]["tickformat"] = ".0%"
    return {"data": [], "layout": layout}


def add_thresholds(fig: Figure, rules: pd.DataFrame, yref: str = "y", prefix: str = "") -> None:
    """A dashed line per alert rule, coloured by severity and labelled with the rule
    (prefix names the metric when a chart has two axes)."""
    shapes = fig["layout"].setdefault("shapes", [])
    notes = fig["layout"].setdefault("annotations", [])
    axis = fig["layout"].get("yaxis" + yref[1:], {})
    # plotly places annotations on a log axis by log10 of the value (shapes by the value)
    place = np.log10 if axis.get("type") == "log" else float
    for rule in rules.itertuples():
        color = SEVERITY_COLORS.get(rule.severity, "#555")
        shapes.append(
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "yref": yref,
                "y0": float(rule.threshold),
                "y1": float(rule.threshold),
                "line": {"dash": "dash", "width": 1.5, "color": color},
            }
        )
        notes.append(
            {
                "xref": "paper",
                "x": 0,
                "xanchor": "left",
                "yref": yref,
                "y": float(place(float(rule.threshold))),
                "yanchor": "bottom",
                "text": f"{prefix}{rule.severity} {rule.comparator} "
                + axis_value(fig, float(rule.threshold), yref),
                "showarrow": False,
                "font": {"size": 10, "color": color},
            }
        )


def axis_value(fig: Figure, value: float, yref: str = "y") -> str:
    """A value written in the unit of the axis it sits on: 5.0 % on a percent
    axis, 900 ms on a millisecond axis, $1.50 on a USD axis."""
    axis = fig["layout"].get("yaxis" + yref[1:], {})
    title = str(axis.get("title", {}).get("text", "")).lower()
    if "%" in str(axis.get("tickformat", "")):
        return f"{value * 100:.4g} %"
    if title == "ms" or title.endswith("(ms)"):
        return f"{value:,.4g} ms"
    if title in ("usd", "$") or title.endswith("(usd)"):
        return f"${value:,.2f}"
    return f"{value:g}"


def add_breaches(fig: Figure, points: pd.DataFrame, x: str = "metric_date") -> None:
    """Mark breach days (rows of fct_alert_breaches) with an × per severity."""
    if points.empty:
        return
    for severity, group in points.groupby("severity", sort=False):
        fig["data"].append(
            {
                "type": "scatter",
                "x": values(group[x]),
                "y": values(group["metric_value"]),
                "mode": "markers",
                "name": f"breach ({severity})",
                "marker": {
                    "symbol": "x",
                    "size": 9,
                    "color": SEVERITY_COLORS.get(severity, "#555"),
                },
                "text": (group["rule_id"] + " · " + group["series"]).tolist(),
                "hovertemplate": "%{text}<br>%{y:,.4g}<extra></extra>",
            }
        )


def _colored(name: str, part: str = "line") -> dict:
    """The series' colour from dash_app.figures.colors (line and markers, or the
    bar marker); nothing when the name is not a provider, model or version."""
    color = series_color(name)
    if color is None:
        return {}
    if part == "marker":
        return {"marker": {"color": color}}
    line = {"color": color}
    dash = series_dash(name)
    if dash:
        line["dash"] = dash
    return {"line": line, "marker": {"size": 4, "color": color}}


def lines(
    frame: pd.DataFrame,
    x: str,
    y: str,
    color: str,
    title: str,
    y_title: str,
    percent: bool = False,
) -> Figure:
    """One line per value of `color`; missing values are gaps."""
    fig = base(title, y_title, percent)
    for name, group in frame.groupby(color, sort=True):
        fig["data"].append(
            {
                "type": "scatter",
                "x": values(group[x]),
                "y": values(group[y]),
                "mode": "lines+markers",
                "name": str(name),
                "marker": {"size": 4},
                **_colored(str(name)),
                "connectgaps": False,
                "hovertemplate": "%{y:.1%}" if percent else "%{y:,.4g}",
            }
        )
    return fig


def stacked_bars(
    frame: pd.DataFrame, x: str, y: str, color: str, title: str, y_title: str
) -> Figure:
    fig = base(title, y_title)
    for name, group in frame.groupby(color, sort=True):
        fig["data"].append(
            {
                "type": "bar",
                "x": values(group[x]),
                "y": values(group[y]),
                "name": str(name),
                **_colored(str(name), "marker"),
            }
        )
    fig["layout"]["barmode"] = "stack"
    return fig


def grouped_bars(
    frame: pd.DataFrame, x: str, y: str, color: str, title: str, y_title: str
) -> Figure:
    """Bars side by side per x, one per value of `color` (say budget, spend and
    forecast per team)."""
    fig = stacked_bars(frame, x, y, color, title, y_title)
    fig["layout"]["barmode"] = "group"
    fig["layout"]["hovermode"] = "closest"
    return fig


def kpi_trend(frame: pd.DataFrame, x: str, y: str, percent: bool = False) -> Figure:
    """A small sparkline for a KPI card."""
    fmt = "%{y:.1%}" if percent else "%{y:,.4g}"
    return {
        "data": [
            {
                "type": "scatter",
                "x": values(frame[x]),
                "y": values(frame[y]),
                "mode": "lines",
                "line": {"width": 2, "color": COLORWAY[0]},
                "fill": "tozeroy",
                "fillcolor": "rgba(59,111,182,0.12)",
                "hovertemplate": "%{x|%b %d}: " + fmt + "<extra></extra>",
            }
        ],
        "layout": {
            "paper_bgcolor": "white",
            "plot_bgcolor": "white",
            "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
            "height": 60,
            "showlegend": False,
            "xaxis": {"visible": False},
            "yaxis": {"visible": False, "rangemode": "tozero"},
        },
    }


def quality_chart(
    frame: pd.DataFrame,
    rules: pd.DataFrame,
    points: pd.DataFrame,
    coverage_rules: pd.DataFrame | None = None,
) -> Figure:
    """Daily accuracy (dots) and 7-day accuracy (lines) per version, label coverage
    as bars on a second axis, so a day with few labels does not mislead. rules are
    drawn on the accuracy axis, coverage_rules on the coverage axis."""
    fig = base("Accuracy and label coverage", "accuracy", percent=True)
    layout = fig["layout"]
    layout["yaxis"]["range"] = [0, 1]
    layout["yaxis2"] = {
        **_AXIS,
        "title": {"text": "label coverage"},
        "overlaying": "y",
        "side": "right",
        "range": [0, 1],
        "tickformat": ".0%",
        "showgrid": False,
    }
    layout["height"] = 400
    # side by side per day: two versions' coverage bars never hide each other
    layout["barmode"] = "group"
    layout["bargap"] = 0.15
    for version, group in frame.groupby("version", sort=True):
        color = version_color(str(version))
        dates = values(group.date)
        fig["data"].extend(
            [
                {
                    "type": "bar",
                    "x": dates,
                    "y": values(group.label_coverage),
                    "yaxis": "y2",
                    "name": f"{version} label coverage",
                    "marker": {"color": color, "opacity": 0.18},
                    "hovertemplate": "coverage %{y:.0%}<extra></extra>",
                },
                {
                    "type": "scatter",
                    "x": dates,
                    "y": values(group.accuracy),
                    "yaxis": "y",
                    "mode": "markers",
                    "name": f"{version} daily accuracy",
                    "marker": {"color": color, "size": 5, "opacity": 0.6},
                    "hovertemplate": "daily %{y:.1%}<extra></extra>",
                },
                {
                    "type": "scatter",
                    "x": dates,
                    "y": values(group.accuracy_rolling_7d),
                    "yaxis": "y",
                    "mode": "lines",
                    "name": f"{version} accuracy (7 days)",
                    "line": {"color": color, "width": 2.5},
                    "hovertemplate": "7 days %{y:.1%}<extra></extra>",
                },
            ]
        )
    add_thresholds(fig, rules)
    if coverage_rules is not None:
        add_thresholds(fig, coverage_rules, yref="y2", prefix="coverage ")
    add_breaches(fig, points)
    return fig


def segment_chart(frame: pd.DataFrame) -> Figure:
    """Pooled accuracy per segment, one bar group per version; coverage in the hover."""
    fig = base("Accuracy by segment (whole range, pooled)", "accuracy", percent=True)
    for version, group in frame.groupby("version", sort=True):
        fig["data"].append(
            {
                "type": "bar",
                "x": values(group.segment),
                "y": values(group.accuracy),
                "name": version,
                "marker": {"color": version_color(str(version))},
                "customdata": group[["labeled", "predictions", "label_coverage"]]
                .to_numpy()
                .tolist(),
                "hovertemplate": "%{x}: %{y:.1%}<br>%{customdata[0]:,} labeled of "
                "%{customdata[1]:,} (%{customdata[2]:.0%})<extra>" + version + "</extra>",
            }
        )
    fig["layout"]["barmode"] = "group"
    fig["layout"]["hovermode"] = "closest"
    return fig


def log_lines(
    frame: pd.DataFrame,
    x: str,
    y: str,
    color: str,
    title: str,
    y_title: str,
    floor: float = 1e-16,
) -> Figure:
    """Lines on a log y axis (p-values, PSI); zeros are drawn at the axis floor."""
    floored = frame.assign(**{y: frame[y].clip(lower=floor)})
    fig = lines(floored, x, y, color, title, y_title)
    fig["layout"]["yaxis"].update({"type": "log", "rangemode": "normal", "exponentformat": "power"})
    return fig


def heatmap(
    frame: pd.DataFrame, x: str, y: str, z: str, title: str, z_title: str, text: str | None = None
) -> Figure:
    """A matrix of z over x × y (gaps where a cell has no value)."""
    grid = frame.pivot_table(index=y, columns=x, values=z, aggfunc="first", sort=True)
    hover = None
    if text:
        hover = frame.pivot_table(index=y, columns=x, values=text, aggfunc="first", sort=True)
        hover = hover.reindex(index=grid.index, columns=grid.columns)
    fig = base(title, "")
    fig["data"].append(
        {
            "type": "heatmap",
            "x": values(pd.Series(grid.columns)),
            "y": [str(v) for v in grid.index],
            "z": [values(grid.loc[row]) for row in grid.index],
            "colorscale": [[0, "#f4f6f8"], [0.5, "#f5c26b"], [1, "#c0392b"]],
            "colorbar": {"title": {"text": z_title}},
            "hoverongaps": False,
            **(
                {
                    "text": hover.fillna("").to_numpy().tolist(),
                    "hovertemplate": "%{y} · %{x}<br>"
                    + z_title
                    + " %{z:.3f} (%{text})<extra></extra>",
                }
                if text
                else {}
            ),
        }
    )
    fig["layout"]["hovermode"] = "closest"
    fig["layout"]["yaxis"].pop("rangemode", None)
    fig["layout"]["height"] = max(260, 60 + 26 * len(grid.index))
    return fig


def reliability_diagram(frame: pd.DataFrame) -> Figure:
    """Accuracy against mean score per bin and version, with the diagonal of a
    perfectly calibrated model; marker area grows with the bin's labeled count."""
    fig = base("Reliability diagram (range pooled)", "accuracy")
    fig["data"].append(
        {
            "type": "scatter",
            "x": [0, 1],
            "y": [0, 1],
            "mode": "lines",
            "name": "perfect calibration",
            "line": {"dash": "dot", "color": "#8a949e"},
            "hoverinfo": "skip",
        }
    )
    biggest = max(float(frame.labeled.max()), 1.0)
    for version, group in frame.groupby("version", sort=True):
        fig["data"].append(
            {
                "type": "scatter",
                "x": values(group.mean_score),
                "y": values(group.accuracy),
                "mode": "lines+markers",
                "name": version,
                "line": {"color": version_color(str(version))},
                "marker": {
                    "size": (6 + 18 * (group.labeled / biggest) ** 0.5).tolist(),
                    "color": version_color(str(version)),
                },
                "customdata": group[["labeled"]].to_numpy().tolist(),
                "hovertemplate": "score %{x:.2f} → accuracy %{y:.1%}<br>%{customdata[0]:,} labeled"
                "<extra>" + version + "</extra>",
            }
        )
    layout = fig["layout"]
    layout["xaxis"].update({"title": {"text": "mean score"}, "range": [0, 1]})
    layout["yaxis"].update({"range": [0, 1]})
    layout["hovermode"] = "closest"
    return fig


def confusion_heatmap(frame: pd.DataFrame, title: str = "Confusion matrix (range)") -> Figure:
    """Counts of true × predicted labels of one version; hover shows each row's
    share (recall)."""
    share = frame.predictions / frame.groupby("true_label").predictions.transform("sum")
    shaped = frame.assign(share=share.map(lambda v: f"{v:.1%} of the true class"))
    fig = heatmap(
        shaped,
        "predicted_label",
        "true_label",
        "predictions",
        title,
        "predictions",
        "share",
    )
    fig["data"][0]["colorscale"] = [[0, "#f4f6f8"], [1, "#3b6fb6"]]
    fig["data"][0]["texttemplate"] = "%{z:,}"
    # the same label order on both axes, true labels top-down: the diagonal (correct
    # predictions) runs from the top-left to the bottom-right corner
    labels = sorted({str(v) for v in frame.true_label} | {str(v) for v in frame.predicted_label})
    order = {"categoryorder": "array", "categoryarray": labels, "type": "category"}
    fig["layout"]["xaxis"].update({"title": {"text": "predicted label"}, "side": "top", **order})
    fig["layout"]["yaxis"].update(
        {"title": {"text": "true label"}, "autorange": "reversed", **order}
    )
    return fig


def budget_gauge(remaining: float | None, title: str) -> Figure:
    """An SLO's error budget remaining (share, may be negative) as a gauge:
    red below 0, amber below 20 %, green above."""
    value = None if remaining is None or pd.isna(remaining) else float(remaining) * 100
    floor = min(-100.0, value if value is not None else 0.0)
    return {
        "data": [
            {
                "type": "indicator",
                "mode": "gauge+number",
                "value": value,
                "number": {"suffix": " %", "valueformat": ".1f"},
                "title": {"text": title, "font": {"size": 14}},
                "gauge": {
                    "axis": {"range": [floor, 100]},
                    "bar": {"color": "#34495e"},
                    "steps": [
                        {"range": [floor, 0], "color": "#f5b7b1"},
                        {"range": [0, 20], "color": "#fad7a0"},
                        {"range": [20, 100], "color": "#d5f5e3"},
                    ],
                },
            }
        ],
        "layout": {
            **copy.deepcopy(THEME),
            "height": 260,
            "margin": {"l": 30, "r": 30, "t": 50, "b": 10},
        },
    }
