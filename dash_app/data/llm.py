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


def cost_table(usage: pd.DataFrame) -> pd.DataFrame:
    """Grain: provider × model × team over the range. cost_usd is NaN when no call of
    the group is priced (shown as "unpriced", never $0)."""
    columns = ["calls", "tokens_total", "cost_usd", "unpriced_calls", "unpriced_tokens"]
    if usage.empty:
        return pd.DataFrame(columns=["provider", "model", "team", *columns])
    out = usage.groupby(["provider", "model", "team"], as_index=False).agg(
        calls=("calls", "sum"),
        tokens_total=("tokens_total", "sum"),
        cost_usd=("cost_usd", lambda s: s.sum(min_count=1)),
        unpriced_calls=("unpriced_calls", "sum"),
        unpriced_tokens=("unpriced_tokens", "sum"),
    )
    return out.sort_values("cost_usd", ascending=False, na_position="last").reset_index(drop=True)


def spend_over_time(usage: pd.DataFrame, by: str) -> pd.DataFrame:
    """Grain: date × one of provider / model / team; priced spend only."""
    if by not in ("provider", "model", "team"):
        raise ValueError(f"cannot group spend by {by!r}")
    priced = usage[usage.cost_usd.notna()]
    return priced.groupby(["date", by], as_index=False)["cost_usd"].sum()


@dataclass(frozen=True)
class BudgetStatus:
    """Month-to-date spend of the selection against the budgets of its teams."""

    month: dt.date
    as_of: dt.date | None
    spend_mtd: float | None
    budget: float | None
    forecast: float | None
    days_elapsed: int
    days_in_month: int
    unpriced_calls: int = 0  # month to date, not in spend_mtd (their cost is unknown)

    @property
    def method(self) -> str:
        return (
            "Forecast = month-to-date spend ÷ days elapsed × days in month (linear run "
            f"rate over {self.days_elapsed} of {self.days_in_month} days, through {self.as_of})."
        )


def budget_status(reader: SnapshotReader, filters: Filters) -> BudgetStatus:
    """The month of the range's end date: spend from its first day to the range end."""
    assert filters.end
    month = filters.end.replace(day=1)
    days_in_month = calendar.monthrange(month.year, month.month)[1]
    mtd = Filters(**{**filters.__dict__, "start": month})
    clause, params = where(reader, "fct_llm_usage_daily", mtd)
    spend = reader.query(
        f"select sum(cost_usd) as spend, max(usage_date) as as_of, "
        f"coalesce(sum(unpriced_calls), 0) as unpriced_calls "
        f"from marts.fct_llm_usage_daily where {clause}",
        params,
    ).iloc[0]
    team_clause, team_params = "true", []
    if filters.team:
        team_clause, team_params = "list_contains(?::varchar[], team)", [list(filters.team)]
    budget = reader.query(
        f"select sum(budget_usd) as budget from reference.budgets "
        f"where budget_month = ? and {team_clause}",
        [month, *team_params],
    ).iloc[0]
    as_of = as_date(spend.as_of)
    spend_mtd = None if pd.isna(spend.spend) else float(spend.spend)
    elapsed = (as_of - month).days + 1 if as_of else 0
    forecast = spend_mtd / elapsed * days_in_month if spend_mtd is not None and elapsed else None
    return BudgetStatus(
        month=month,
        as_of=as_of,
        spend_mtd=spend_mtd,
        budget=None if pd.isna(budget.budget) else float(budget.budget),
        forecast=forecast,
        days_elapsed=elapsed,
        days_in_month=days_in_month,
        unpriced_calls=int(spend.unpriced_calls),
    )


@dataclass(frozen=True)
class CostPerTicket:
    """Cost per AI-resolved ticket over the provider-days whose calls are all priced."""

    value: float | None  # USD per ticket; None without such tickets
    excluded_tickets: int  # resolved tickets of provider-days with unpriced calls


def cost_per_resolved_ticket(reader: SnapshotReader, filters: Filters) -> CostPerTicket:
    """Σ cost ÷ Σ tickets the AI agent resolved, over the (date, provider) rows of
    fct_dashboard_daily whose calls are all priced: a provider-day with unpriced
    calls has an unknown cost, so its tickets would make the ratio look cheaper.
    Their tickets are counted apart, so the page can say what was left out."""
    clause, params = where(reader, "fct_dashboard_daily", filters)
    row = reader.query(
        f"""
        select
            sum(case when unpriced_calls = 0 then cost_usd end) as cost,
            sum(case when unpriced_calls = 0 then agent_resolved_tickets end) as resolved,
            sum(case when unpriced_calls > 0 then agent_resolved_tickets else 0 end) as excluded
        from marts.fct_dashboard_daily where {clause} and provider <> '(none)'
        """,
        params,
    ).iloc[0]
    excluded = 0 if pd.isna(row.excluded) else int(row.excluded)
    if pd.isna(row.cost) or pd.isna(row.resolved) or row.resolved == 0:
        return CostPerTicket(None, excluded)
    return CostPerTicket(float(row.cost) / float(row.resolved), excluded)


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
