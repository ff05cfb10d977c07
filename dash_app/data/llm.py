"""LLM calls: usage, latency, spend, budget and cost per resolved ticket, by day and by hour."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dash_app.data.catalog import where
from dash_app.data.filters import Filters
from dash_app.data.options import as_date
from dash_app.data.warehouse import SnapshotReader


def llm_usage(reader: SnapshotReader, filters: Filters) -> pd.DataFrame:
    """Grain: date × provider × model × team, as in fct_llm_usage_daily."""
    clause, params = where(reader, "fct_llm_usage_daily", filters)
    return reader.query(
        f"""
        select usage_date as date, provider, model, team, calls, errors, error_rate,
               latency_p50_ms, latency_p95_ms, latency_p99_ms, tokens_input, tokens_output,
               tokens_cached_input, tokens_total, cost_usd, unpriced_calls, unpriced_tokens
        from marts.fct_llm_usage_daily
        where {clause}
        order by usage_date, provider, model, team
        """,
        params,
    )


def calls_by_model(usage: pd.DataFrame) -> pd.DataFrame:
    """Grain: date × provider · model. Calls, errors and pooled error rate over teams."""
    if usage.empty:
        return pd.DataFrame(columns=["date", "series", "calls", "errors", "error_rate"])
    frame = usage.assign(series=usage.provider + " · " + usage.model)
    out = frame.groupby(["date", "series"], as_index=False)[["calls", "errors"]].sum()
    out["error_rate"] = out.errors / out.calls
    return out


COST_GROUPS = ("provider", "model", "team")


def cost_table(usage: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Grain: `by` (provider / model / team) over the range, or provider × model ×
    team without it. cost_usd is NaN when no call of the group is priced (shown as
    "unpriced", never $0); is_priced says whether every call of the group is."""
    if by is not None and by not in COST_GROUPS:
        raise ValueError(f"cannot group spend by {by!r}")
    keys = [by] if by else list(COST_GROUPS)
    columns = ["calls", "tokens_total", "cost_usd", "unpriced_calls", "unpriced_tokens"]
    if usage.empty:
        return pd.DataFrame(columns=[*keys, *columns, "is_priced"])
    out = usage.groupby(keys, as_index=False).agg(
        calls=("calls", "sum"),
        tokens_total=("tokens_total", "sum"),
        cost_usd=("cost_usd", lambda s: s.sum(min_count=1)),
        unpriced_calls=("unpriced_calls", "sum"),
        unpriced_tokens=("unpriced_tokens", "sum"),
    )
    out["is_priced"] = out.unpriced_calls == 0
    return out.sort_values("cost_usd", ascending=False, na_position="last").reset_index(drop=True)


def spend_over_time(usage: pd.DataFrame, by: str) -> pd.DataFrame:
    """Grain: date × one of provider / model / team; priced spend only."""
    if by not in ("provider", "model", "team"):
        raise ValueError(f"cannot group spend by {by!r}")
    priced = usage[usage.cost_usd.notna()]
    return priced.groupby(["date", by], as_index=False)["cost_usd"].sum()


BUDGET_COLUMNS = [
    "team", "budget_usd", "spend_mtd_usd", "calls", "priced_calls", "unpriced_calls",
    "days_with_data", "as_of_date", "days_elapsed", "days_in_month", "forecast_usd",
    "verdict_min_days", "has_enough_data", "budget_verdict",
]  # fmt: skip


@dataclass(frozen=True)
class BudgetStatus:
    """A month of fct_llm_budget_monthly for the selected teams: their rows (one per
    team, the mart's verdict each) and their sums."""

    month: dt.date
    as_of: dt.date | None
    spend_mtd: float | None
    budget: float | None
    forecast: float | None
    days_elapsed: int
    days_in_month: int
    unpriced_calls: int = 0  # month to date, not in spend_mtd (their cost is unknown)
    teams: pd.DataFrame | None = None  # grain: team, the mart's columns
    min_days: int | None = None  # days a verdict needs (the mart's verdict_min_days)

    @property
    def method(self) -> str:
        return (
            "Forecast = month-to-date spend ÷ days elapsed × days in month (linear run "
            f"rate over {self.days_elapsed} of {self.days_in_month} days, through {self.as_of})."
        )

    @property
    def verdict(self) -> str:
        """The teams' verdicts in words: a team's own, or a count over several."""
        rows = self.teams if self.teams is not None else pd.DataFrame(columns=BUDGET_COLUMNS)
        judged = rows[rows.budget_verdict.isin(["over budget", "within budget"])]
        if rows.empty:
            return "no budget set"
        if judged.empty:
            return "no budget set" if (rows.budget_verdict == "no budget").all() else (
                f"not enough data (a verdict needs {self.min_days} days)"
            )
        if len(rows) == 1:
            return str(rows.budget_verdict.iloc[0])
        over = int((judged.budget_verdict == "over budget").sum())
        return f"{over} of {len(judged)} teams over budget"


def _total(series: pd.Series) -> float | None:
    total = series.sum(min_count=1)
    return None if pd.isna(total) else float(total)


def budget_status(reader: SnapshotReader, filters: Filters) -> BudgetStatus:
    """The month of the range's end date in fct_llm_budget_monthly (as of its newest
    data), for the selected teams (all teams without a team filter)."""
    assert filters.end
    month = filters.end.replace(day=1)
    team_clause, team_params = "true", []
    if filters.team:
        team_clause, team_params = "list_contains(?::varchar[], team)", [list(filters.team)]
    rows = reader.query(
        f"select {', '.join(BUDGET_COLUMNS)} from marts.fct_llm_budget_monthly "
        f"where budget_month = ? and {team_clause} order by team",
        [month, *team_params],
    )
    first = rows.iloc[0] if len(rows) else None
    (min_days,) = reader.query(
        "select max(verdict_min_days) as min_days from marts.fct_llm_budget_monthly"
    ).min_days
    return BudgetStatus(
        month=month,
        as_of=None if first is None else as_date(first.as_of_date),
        spend_mtd=_total(rows.spend_mtd_usd),
        budget=_total(rows.budget_usd),
        forecast=_total(rows.forecast_usd),
        days_elapsed=0 if first is None else int(first.days_elapsed),
        days_in_month=calendar.monthrange(month.year, month.month)[1],
        unpriced_calls=int(rows.unpriced_calls.sum()),
        teams=rows,
        min_days=None if pd.isna(min_days) else int(min_days),
    )


@dataclass(frozen=True)
class CostPerTicket:
    """Cost per AI-resolved ticket over the provider-days whose calls are all priced."""

    value: float | None  # USD per ticket; None without such tickets
    excluded_tickets: int  # resolved tickets of provider-days with unpriced calls
    cost: float | None = None  # USD of the fully priced provider-days
    tickets: int = 0  # tickets the AI agent resolved on them


def cost_per_resolved_ticket(reader: SnapshotReader, filters: Filters) -> CostPerTicket:
    """Σ fully_priced_cost_usd ÷ Σ fully_priced_resolved_tickets of fct_dashboard_daily
    (the mart says which provider-days are fully priced); the resolved tickets of
    provider-days with unpriced calls are counted apart, so the page can say what
    was left out."""
    clause, params = where(reader, "fct_dashboard_daily", filters)
    row = reader.query(
        f"""
        select sum(fully_priced_cost_usd) as cost,
               sum(fully_priced_resolved_tickets) as resolved,
               sum(unpriced_resolved_tickets) as excluded
        from marts.fct_dashboard_daily where {clause}
        """,
        params,
    ).iloc[0]
    excluded = 0 if pd.isna(row.excluded) else int(row.excluded)
    resolved = 0 if pd.isna(row.resolved) else int(row.resolved)
    cost = None if pd.isna(row.cost) else float(row.cost)
    if cost is None or resolved == 0:
        return CostPerTicket(None, excluded, cost, resolved)
    return CostPerTicket(cost / resolved, excluded, cost, resolved)


def provider_latency(reader: SnapshotReader, filters: Filters) -> pd.DataFrame:
    """Grain: date × provider with LLM calls; the p95 the latency alert rules watch."""
    clause, params = where(reader, "fct_dashboard_daily", filters)
    return reader.query(
        f"""
        select activity_date as date, provider, latency_p95_ms
        from marts.fct_dashboard_daily
        where {clause} and llm_calls > 0
        order by activity_date, provider
        """,
        params,
    )


HOURLY_VIEWS = {"24h": 24, "7d": 168}


def llm_usage_hourly(reader: SnapshotReader, filters: Filters, hours: int) -> pd.DataFrame:
    """Grain: hour × provider × model × team (fct_llm_usage_hourly), the `hours`
    hours up to the newest hour with calls; the date range does not apply."""
    clauses = [
        "usage_hour > (select max(usage_hour) from marts.fct_llm_usage_hourly) - to_hours(?)"
    ]
    params: list = [int(hours)]
    for name in ("provider", "model", "team"):
        values = getattr(filters, name)
        if values:
            clauses.append(f"list_contains(?::varchar[], {name})")
            params.append(list(values))
    return reader.query(
        f"""
        select usage_hour as date, provider, model, team, calls, errors, error_rate,
               latency_p50_ms, latency_p95_ms, latency_p99_ms
        from marts.fct_llm_usage_hourly
        where {" and ".join(clauses)}
        order by usage_hour, provider, model, team
        """,
        params,
    )


def hourly_breaches(frame: pd.DataFrame, column: str, rules: pd.DataFrame) -> pd.DataFrame:
    """Points of `frame` whose `column` lies past a rule's threshold (for the × marks
    of the hourly view: the rules themselves are evaluated on days)."""
    checks = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}
    out = []
    for rule in rules.itertuples():
        hit = frame[checks[rule.comparator](frame[column], rule.threshold)]
        out.append(
            pd.DataFrame(
                {
                    "metric_date": hit["date"],
                    "metric_value": hit[column],
                    "severity": rule.severity,
                    "rule_id": rule.rule_id,
                    "series": hit["series"],
                }
            )
        )
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()
