"""Alerts, the rules the charts draw, breach days, and where alerts were delivered."""

from __future__ import annotations

import duckdb
import pandas as pd

from dash_app.data.filters import Filters
from dash_app.data.warehouse import SnapshotReader


def scope_where(filters: Filters) -> tuple[str, list]:
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
    scope, params = scope_where(filters)
    if active_only:
        period, period_params = "is_active", []
    else:
        period, period_params = (
            "first_seen_date <= ? and last_seen_date >= ?",
            [filters.end, filters.start],
        )
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
    scope, params = scope_where(filters)
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
