"""The Overview's business-impact panel: the largest impacts of technical changes,
as ranges from fct_metric_impacts (never a single falsely precise number)."""

from __future__ import annotations

import pandas as pd
from dash import html

from dash_app.data.experiments import top_impacts
from dash_app.data.warehouse import SnapshotReader

TECHNICAL_LABELS = {
    "accuracy": "accuracy",
    "latency_p95_ms": "p95 latency",
    "error_rate": "LLM error rate",
    "llm_cost_usd": "LLM spend",
}
KPI_LABELS = {
    "revenue_from_ai": "revenue from AI",
    "llm_spend_usd": "margin",
    "resolution_rate": "agent resolution rate",
}


def money(value: float) -> str:
    sign = "−" if value < 0 else "+"
    value = abs(value)
    return f"{sign}${value / 1000:,.1f}k" if value >= 1000 else f"{sign}${value:,.0f}"


def change_text(metric: str, change: float) -> str:
    if metric in ("accuracy", "error_rate"):
        return f"{change * 100:+.1f} pts"
    if metric == "latency_p95_ms":
        return f"{change:+,.0f} ms"
    return money(change)


def impact_sentence(row: pd.Series) -> str:
    """'p95 latency +180 ms ≈ −$4.1k to −$6.8k revenue from AI/month'."""
    head = (
        f"{TECHNICAL_LABELS[row.technical_metric]} {change_text(row.technical_metric, row.change)}"
    )
    kpi = KPI_LABELS[row.business_kpi]
    if row.is_money:
        return (
            f"{head} ≈ {money(row.impact_usd_per_month_low)} to "
            f"{money(row.impact_usd_per_month_high)} {kpi}/month"
        )
    return f"{head} ≈ {row.kpi_impact_low * 100:+.2f} to {row.kpi_impact_high * 100:+.2f} pts {kpi}"


def impact_panel(source: SnapshotReader) -> html.Div:
    frame = top_impacts(source, 3)
    frame = frame[frame.change.notna() & frame.kpi_impact_low.notna()]
    if frame.empty:
        items: list = [html.Li("Not enough data for two periods yet.")]
        period = ""
    else:
        items = [
            html.Li(impact_sentence(row), id=f"ov-impact-{int(row.impact_rank)}")
            for _, row in frame.iterrows()
        ]
        first = frame.iloc[0]
        period = (
            f" ({first.current_start_date} – {first.current_end_date} against the 30 days before;"
            " sensitivities from seeds/metric_translations.csv)"
        )
    return html.Div(
        [html.Strong("Largest business impacts of technical changes" + period), html.Ul(items)],
        id="ov-impacts",
        className="panel",
    )
