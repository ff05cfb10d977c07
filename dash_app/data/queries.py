"""One function per question the pages ask, all against the published marts.

Every value from the user is bound as a parameter; identifiers (marts, columns)
come only from the allow-lists below. Functions return DataFrames at the grain
stated in their docstring; money in USD, latency in ms, rates in [0, 1].
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from dash_app.data.filters import LIST_FIELDS, Filters
from dash_app.data.warehouse import SnapshotReader

# mart → the date column and the column each filter field applies to
DIMENSIONS: dict[str, dict[str, str]] = {
    "fct_llm_usage_daily": {
        "date": "usage_date",
        "provider": "provider",
        "model": "model",
        "team": "team",
    },
    "fct_dashboard_daily": {"date": "activity_date", "provider": "provider"},
    "fct_model_quality_daily": {
        "date": "prediction_date",
        "version": "model_name || '/' || model_version",
    },
    "fct_model_quality_segment_daily": {
        "date": "prediction_date",
        "version": "model_name || '/' || model_version",
    },
    "fct_business_daily": {"date": "business_date"},
    **{
        mart: {"date": "prediction_date", "version": "model_name || '/' || model_version"}
        for mart in (
            "fct_feature_drift_daily",
            "fct_label_shift_daily",
            "fct_calibration_daily",
            "fct_calibration_bins_daily",
            "fct_confusion_matrix_daily",
            "fct_classification_daily",
            "fct_feature_quality_daily",
        )
    },
}

# which filter fields each page's numbers can honour
PAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "overview": ("provider",),
    "operations": ("provider", "model", "team"),
    "quality": ("version",),
    "cost": ("provider", "model", "team"),
    "alerts": ("provider", "model", "team", "version"),
    "drift": ("version",),
    "calibration": ("version",),
    "slo": (),
}


def where(mart: str, filters: Filters) -> tuple[str, list]:
    """WHERE clause and parameters for a mart; only allow-listed columns appear."""
    columns = DIMENSIONS[mart]
    clauses = [f"{columns['date']} between ? and ?"]
    params: list = [filters.start, filters.end]
    for name in LIST_FIELDS:
        values = getattr(filters, name)
        if values and name in columns:
            clauses.append(f"list_contains(?::varchar[], {columns[name]})")
            params.append(list(values))
    return " and ".join(clauses), params


# ---------------------------------------------------------------- options and dates


@dataclass(frozen=True)
class Options:
    """Values offered by the filter controls, and the span of dates with data."""

    provider: list[str] = field(default_factory=list)
    model: list[str] = field(default_factory=list)
    team: list[str] = field(default_factory=list)
    version: list[str] = field(default_factory=list)
    first_date: dt.date | None = None
    last_date: dt.date | None = None  # newest date of any mart (the picker's limit)
    newest_date: dt.date | None = None  # newest date with LLM calls or predictions (default end)


def options(reader: SnapshotReader) -> Options:
    usage = reader.query(
        "select distinct provider, model, team from marts.fct_llm_usage_daily order by 1, 2, 3"
    )
    providers = reader.query(
        "select distinct provider from marts.fct_dashboard_daily order by 1"
    ).provider
    versions = reader.query(
        "select distinct model_name || '/' || model_version as version "
        "from marts.fct_model_quality_daily order by 1"
    ).version
    span = reader.query(
        """
        select
            min(d) as first_date,
            max(d) as last_date,
            coalesce(max(case when kind = 'model' then d end), max(d)) as newest_date
        from (
            select usage_date as d, 'model' as kind from marts.fct_llm_usage_daily
            union all select prediction_date, 'model' from marts.fct_model_quality_daily
            union all select business_date, 'business' from marts.fct_business_daily
        ) as dates
        """
    ).iloc[0]
    return Options(
        provider=sorted(set(usage.provider) | set(providers)),
        model=sorted(set(usage.model)),
        team=sorted(set(usage.team)),
        version=list(versions),
        first_date=_date(span.first_date),
        last_date=_date(span.last_date),
        newest_date=_date(span.newest_date),
    )


def _date(value: object) -> dt.date | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).date()


def freshness(reader: SnapshotReader) -> dict:
    """Publish time of the snapshot and the newest date of each kind of data."""
    # the key of the snapshot queried (not a fresh stat of the published file): when a
    # publish lands in between, the next tick sees a new key and refreshes again
    snapshot = reader.current_snapshot()
    row = reader.query(
        """
        select
            (select max(usage_date) from marts.fct_llm_usage_daily) as llm_calls,
            (select max(prediction_date) from marts.fct_model_quality_daily) as predictions,
            (select max(business_date) from marts.fct_business_daily) as business_events
        """
    ).iloc[0]
    return {
        "key": snapshot.key,
        "published_at": snapshot.published_at,
        "newest": {name: _date(row[name]) for name in row.index},
    }


# ---------------------------------------------------------------- overview


def overview_daily(reader: SnapshotReader, filters: Filters) -> pd.DataFrame:
    """Grain: date, over the current and the previous period, selected providers summed.

    revenue_ai excludes provider `(none)`; latency_p95_max is the highest daily p95
    of any selected provider; the rolling accuracy counts are summed over providers.
    """
    span = filters.previous()
    clause, params = where("fct_dashboard_daily", Filters(**{**filters.__dict__, "start": span.start}))
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
        latency_p95_max=None if rows.latency_p95_max.isna().all() else float(rows.latency_p95_max.max()),
        spend=_sum(rows.cost_usd),
        unpriced_calls=int(rows.unpriced_calls.fillna(0).sum()),
        llm_calls=int(rows.llm_calls.fillna(0).sum()),
    )


# ---------------------------------------------------------------- alerts


def _scope_where(filters: Filters) -> tuple[str, list]:
    """Alerts whose scope column is unset match every value of that filter."""
    clauses, params = [], []
    columns = {
        "provider": "provider",
        "model": "model",
        "team": "team",
        "version": "model_name || '/' || model_version",
    }
    for name, column in columns.items():
        values = getattr(filters, name)
        if values:
            clauses.append(f"({column} is null or list_contains(?::varchar[], {column}))")
            params.append(list(values))
    return (" and ".join(clauses) or "true"), params


SEVERITY_ORDER = "case severity when 'critical' then 0 when 'warning' then 1 else 2 end"


def alerts(reader: SnapshotReader, filters: Filters, active_only: bool = False) -> pd.DataFrame:
    """Grain: alert. Alerts whose run overlaps the date range (or, with
    active_only, that are active now) and whose scope matches the filters."""
    scope, params = _scope_where(filters)
    if active_only:
        period, period_params = "is_active", []
    else:
        period, period_params = "first_seen_date <= ? and last_seen_date >= ?", [filters.end, filters.start]
    return reader.query(
        f"""
        select alert_id, rule_id, severity, mart, metric, comparator, threshold,
               consecutive_periods, series, provider, model, team, model_name, model_version,
               first_seen_date, last_seen_date, breach_days, last_value, worst_value, is_active,
               status, resolved_date, is_flapping
        from marts.fct_alerts
        where {period} and {scope}
        order by is_active desc, {SEVERITY_ORDER}, last_seen_date desc, alert_id
        """,
        [*period_params, *params],
    )


# alert-rule scope columns named like the filters they match
SCOPE_FIELDS = ("provider", "model", "team")


def thresholds(
    reader: SnapshotReader, metric: str, mart: str, filters: Filters | None = None
) -> pd.DataFrame:
    """Grain: alert rule. The rules on one metric of one mart that apply to the whole
    chart: unscoped rules, and a scoped rule (say provider = openai) only when the
    selection is narrowed to exactly that scope, so its line never sits on series
    it does not watch."""
    rules = reader.query(
        """
        select rule_id, mart, metric, comparator, threshold, severity, consecutive_periods,
               provider, model, team, model_name, model_version
        from reference.alert_rules where metric = ? and mart = ? order by threshold
        """,
        [metric, mart],
    )
    filters = filters or Filters()

    def applies(rule) -> bool:
        for field in SCOPE_FIELDS:
            value = getattr(rule, field)
            if isinstance(value, str) and value and getattr(filters, field) != (value,):
                return False
        if isinstance(rule.model_name, str) and rule.model_name:
            versions = {v.split("/", 1)[0] for v in filters.version}
            if versions != {rule.model_name}:
                return False
            if isinstance(rule.model_version, str) and rule.model_version:
                if filters.version != (f"{rule.model_name}/{rule.model_version}",):
                    return False
        return True

    keep = [applies(rule) for rule in rules.itertuples()]
    return rules[keep].reset_index(drop=True) if len(rules) else rules


def breaches(reader: SnapshotReader, filters: Filters, mart: str, metric: str) -> pd.DataFrame:
    """Grain: rule × series × date with is_alerting. Breach days of one metric in range."""
    scope, params = _scope_where(filters)
    return reader.query(
        f"""
        select rule_id, severity, metric_date, series, provider, model, team,
               model_name, model_version, metric_value, threshold, is_alerting
        from marts.fct_alert_breaches
        where mart = ? and metric = ? and metric_date between ? and ? and {scope}
        order by metric_date
        """,
        [mart, metric, filters.start, filters.end, *params],
    )


# ---------------------------------------------------------------- operations and cost


def llm_usage(reader: SnapshotReader, filters: Filters) -> pd.DataFrame:
    """Grain: date × provider × model × team, as in fct_llm_usage_daily."""
    clause, params = where("fct_llm_usage_daily", filters)
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
    clause, params = where("fct_llm_usage_daily", mtd)
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
    as_of = _date(spend.as_of)
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
    clause, params = where("fct_dashboard_daily", filters)
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


# ---------------------------------------------------------------- model quality


def quality(reader: SnapshotReader, filters: Filters) -> pd.DataFrame:
    """Grain: date × model_name × model_version, as in fct_model_quality_daily."""
    clause, params = where("fct_model_quality_daily", filters)
    return reader.query(
        f"""
        select prediction_date as date, model_name || '/' || model_version as version,
               predictions, labeled, correct, accuracy, label_coverage,
               correct_rolling_7d, labeled_rolling_7d, accuracy_rolling_7d, error_rate
        from marts.fct_model_quality_daily
        where {clause}
        order by prediction_date, version
        """,
        params,
    )


def segment_quality(reader: SnapshotReader, filters: Filters) -> pd.DataFrame:
    """Grain: model version × segment over the range; pooled accuracy and coverage."""
    clause, params = where("fct_model_quality_segment_daily", filters)
    frame = reader.query(
        f"""
        select model_name || '/' || model_version as version, segment,
               sum(predictions) as predictions, sum(labeled) as labeled, sum(correct) as correct
        from marts.fct_model_quality_segment_daily
        where {clause}
        group by all
        order by version, segment
        """,
        params,
    )
    frame["accuracy"] = np.where(frame.labeled > 0, frame.correct / frame.labeled.where(frame.labeled > 0), np.nan)
    frame["label_coverage"] = frame.labeled / frame.predictions
    return frame


def provider_latency(reader: SnapshotReader, filters: Filters) -> pd.DataFrame:
    """Grain: date × provider with LLM calls; the p95 the latency alert rules watch."""
    clause, params = where("fct_dashboard_daily", filters)
    return reader.query(
        f"""
        select activity_date as date, provider, latency_p95_ms
        from marts.fct_dashboard_daily
        where {clause} and llm_calls > 0
        order by activity_date, provider
        """,
        params,
    )


# ---------------------------------------------------------------- drift and calibration


def feature_drift(reader: SnapshotReader, filters: Filters) -> pd.DataFrame:
    """Grain: date × version × feature, as in fct_feature_drift_daily, with the
    missing rate and out-of-reference share of fct_feature_quality_daily."""
    clause, params = where("fct_feature_drift_daily", filters)
    return reader.query(
        f"""
        select drift.prediction_date as date, drift.model_name || '/' || drift.model_version as version,
               drift.feature, drift.psi, drift.ks_statistic, drift.ks_pvalue, drift.status,
               drift.is_reference_day, drift.current_values,
               quality.missing_rate, quality.outside_reference_share
        from (select * from marts.fct_feature_drift_daily where {clause}) as drift
        left join marts.fct_feature_quality_daily as quality
            on quality.prediction_date = drift.prediction_date
            and quality.model_name = drift.model_name
            and quality.model_version = drift.model_version
            and quality.feature = drift.feature
        order by date, version, feature
        """,
        params,
    )


def label_shift(reader: SnapshotReader, filters: Filters) -> pd.DataFrame:
    """Grain: date × version, as in fct_label_shift_daily."""
    clause, params = where("fct_label_shift_daily", filters)
    return reader.query(
        f"""
        select prediction_date as date, model_name || '/' || model_version as version,
               predictions, chi2_statistic, p_value, flagged
        from marts.fct_label_shift_daily
        where {clause}
        order by prediction_date, version
        """,
        params,
    )


def calibration(reader: SnapshotReader, filters: Filters) -> pd.DataFrame:
    """Grain: date × version: ECE, Brier and macro scores of labeled predictions."""
    clause, params = where("fct_calibration_daily", filters)
    scores_clause, scores_params = where("fct_classification_daily", filters)
    return reader.query(
        f"""
        with calibration as (
            select prediction_date as date, model_name || '/' || model_version as version,
                   labeled, ece, brier_score
            from marts.fct_calibration_daily where {clause}
        ),
        scores as (
            select prediction_date as date, model_name || '/' || model_version as version,
                   macro_precision, macro_recall, macro_f1
            from marts.fct_classification_daily where {scores_clause}
        )
        select calibration.*, scores.macro_precision, scores.macro_recall, scores.macro_f1
        from calibration
        left join scores using (date, version)
        order by date, version
        """,
        [*params, *scores_params],
    )


def reliability(reader: SnapshotReader, filters: Filters) -> pd.DataFrame:
    """Grain: version × score bin over the range: labeled count, mean score and
    accuracy pooled over the days (weighted by each day's labeled count)."""
    clause, params = where("fct_calibration_bins_daily", filters)
    return reader.query(
        f"""
        select model_name || '/' || model_version as version, score_bin,
               min(bin_lower) as bin_lower, min(bin_upper) as bin_upper,
               sum(labeled) as labeled,
               sum(mean_score * labeled) / sum(labeled) as mean_score,
               sum(accuracy * labeled) / sum(labeled) as accuracy
        from marts.fct_calibration_bins_daily
        where {clause}
        group by all
        order by version, score_bin
        """,
        params,
    )


def confusion(reader: SnapshotReader, filters: Filters) -> pd.DataFrame:
    """Grain: version × true_label × predicted_label over the range: versions are
    kept apart (their classes and errors differ; one matrix each)."""
    clause, params = where("fct_confusion_matrix_daily", filters)
    return reader.query(
        f"""
        select model_name || '/' || model_version as version, true_label, predicted_label,
               sum(predictions) as predictions
        from marts.fct_confusion_matrix_daily
        where {clause}
        group by all
        order by version, true_label, predicted_label
        """,
        params,
    )


# ---------------------------------------------------------------- alert delivery

LOG_COLUMNS = {
    "run_id": "varchar",
    "recorded_at": "varchar",
    "mode": "varchar",
    "route_id": "varchar",
    "channel": "varchar",
    "target": "varchar",
    "alert_id": "varchar",
    "event": "varchar",
    "outcome": "varchar",
    "status_code": "integer",
    "attempts": "integer",
    "detail": "varchar",
}


def deliveries(reader: SnapshotReader) -> pd.DataFrame:
    """Grain: alert. Where and when each alert was delivered (channel/target, event,
    time of each delivery the channel accepted) and its failed attempts, from the
    notification log `modelmart notify` writes next to the warehouse
    ($MODELMART_HOME/notify/log.jsonl). Not cached: the log grows between snapshots."""
    path = reader.warehouse.parent / "notify" / "log.jsonl"
    empty = pd.DataFrame(columns=["alert_id", "delivered", "failures", "last_failure"])
    if not path.exists() or path.stat().st_size == 0:
        return empty
    con = duckdb.connect()
    try:
        frame = con.execute(
            """
            with log as (
                select * from read_json(?, format = 'newline_delimited', columns = ?,
                                        ignore_errors = true)
                where mode = 'send' and alert_id is not null
            )
            select alert_id,
                   string_agg(channel || '/' || target || ' ' || event || ' '
                              || replace(left(recorded_at, 16), 'T', ' '), '; '
                              order by recorded_at, route_id)
                       filter (where outcome = 'sent') as delivered,
                   cast(count(*) filter (where outcome = 'failed') as integer) as failures,
                   max(recorded_at || ' ' || channel || '/' || target || ': ' || coalesce(detail, ''))
                       filter (where outcome = 'failed') as last_failure
            from log group by alert_id
            """,
            [str(path), LOG_COLUMNS],
        ).df()
    finally:
        con.close()
    return frame


def failing_channels(reader: SnapshotReader) -> list[dict]:
    """Channel targets whose deliveries failed several runs in a row (as `modelmart status`)."""
    from modelmart.notify.engine import failing_channels as failing

    return failing(reader.warehouse.parent)
# ---------------------------------------------------------------- on-call: hours and SLOs

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


def slo_list(reader: SnapshotReader) -> pd.DataFrame:
    """Grain: SLO, its latest hour (fct_slo_status where is_latest)."""
    return reader.query(
        """
        select slo_id, description, sli_kind, objective, error_budget, period_days, threshold,
               status_hour, sli, good_period, total_period, budget_consumed, budget_remaining,
               burn_rate_1h, burn_rate_6h, burn_rate_1d, burn_rate_3d, burn_rate_period,
               is_page, is_ticket, budget_state
        from marts.fct_slo_status where is_latest order by slo_id
        """
    )


def slo_history(reader: SnapshotReader, slo_id: str, filters: Filters) -> pd.DataFrame:
    """Grain: hour of one SLO in the date range (fct_slo_status)."""
    return reader.query(
        """
        select status_hour as hour, good, total, sli, budget_remaining,
               burn_rate_1h, burn_rate_6h, burn_rate_1d, burn_rate_3d, is_page, is_ticket
        from marts.fct_slo_status
        where slo_id = ? and status_date between ? and ?
        order by status_hour
        """,
        [slo_id, filters.start, filters.end],
    )
