"""The Overview's daily blend and its headline numbers (fct_dashboard_daily)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from dash_app.data.catalog import where
from dash_app.data.filters import Filters
from dash_app.data.warehouse import SnapshotReader


def overview_daily(reader: SnapshotReader, filters: Filters) -> pd.DataFrame:
    """Grain: date, over the current and the previous period, selected providers summed.

    revenue_ai excludes provider `(none)`; latency_p95_max is the highest daily p95
    of any selected provider; the rolling accuracy counts are summed over providers.
    """
    span = filters.previous()
    clause, params = where(
        reader, "fct_dashboard_daily", Filters(**{**filters.__dict__, "start": span.start})
    )
    return reader.query(
        f"""
        select
            activity_date as date,
            sum(case when provider <> '(none)' then revenue_usd end) as revenue_ai,
            sum(revenue_usd) as revenue,
            sum(tickets) as tickets,
            sum(agent_resolved_tickets) as agent_resolved_tickets,
            sum(llm_calls) as llm_calls,
            sum(cost_usd) as cost_usd,
            sum(unpriced_calls) as unpriced_calls,
            max(latency_p95_ms) as latency_p95_max,
            sum(correct_calls_rolling_7d) as correct_rolling_7d,
            sum(labeled_calls_rolling_7d) as labeled_rolling_7d
        from marts.fct_dashboard_daily
        where {clause}
        group by activity_date
        order by activity_date
        """,
        params,
    )


@dataclass(frozen=True)
class Kpis:
    """Headline numbers of one period; None means no data (shown as a dash)."""

    revenue_ai: float | None
    resolution_rate: float | None
    accuracy_7d: float | None
    latency_p95_max: float | None
    spend: float | None
    unpriced_calls: int
    llm_calls: int


def _sum(series: pd.Series) -> float | None:
    total = series.sum(min_count=1)
    return None if pd.isna(total) else float(total)


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def kpis(daily: pd.DataFrame, start: dt.date, end: dt.date) -> Kpis:
    """KPIs of [start, end] from overview_daily rows.

    Ratios are pooled (Σ agent-resolved / Σ tickets); accuracy (7 days) is the
    rolling value on the period's last date that has labeled calls.
    """
    dates = pd.to_datetime(daily["date"]).dt.date
    rows = daily[(dates >= start) & (dates <= end)]
    labeled = rows[rows.labeled_rolling_7d.fillna(0) > 0]
    accuracy = None
    if len(labeled):
        last = labeled.iloc[-1]
        accuracy = float(last.correct_rolling_7d) / float(last.labeled_rolling_7d)
    return Kpis(
        revenue_ai=_sum(rows.revenue_ai),
        resolution_rate=_ratio(_sum(rows.agent_resolved_tickets), _sum(rows.tickets)),
        accuracy_7d=accuracy,
        latency_p95_max=None
        if rows.latency_p95_max.isna().all()
        else float(rows.latency_p95_max.max()),
        spend=_sum(rows.cost_usd),
        unpriced_calls=int(rows.unpriced_calls.fillna(0).sum()),
        llm_calls=int(rows.llm_calls.fillna(0).sum()),
    )
