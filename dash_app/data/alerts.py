"""Alerts, the rules the charts draw, breach days, and where alerts were delivered."""

from __future__ import annotations

import duckdb
import pandas as pd

from dash_app.data.filters import Filters
from dash_app.data.warehouse import SnapshotReader


def scope_where(filters: Filters) -> tuple[str, list]:
    """Alerts whose scope column is unset match every value of that filter. The
    version filter's values are ``model_name/model_version``: an alert of a whole
    model (its version unset, as an SLO over every version) matches the versions of
    that model only."""
    clauses, params = [], []
    for column in ("provider", "model", "team"):
        values = getattr(filters, column)
        if values:
            clauses.append(f"({column} is null or list_contains(?::varchar[], {column}))")
            params.append(list(values))
    if filters.version:
        clauses.append(
            "(model_name is null"
            " or list_contains(?::varchar[], model_name || '/' || model_version)"
            " or (model_version is null and exists (select 1 from unnest(?::varchar[]) as"
            " chosen(v) where starts_with(chosen.v, model_name || '/'))))"
        )
        params += [list(filters.version), list(filters.version)]
    return (" and ".join(clauses) or "true"), params


SEVERITY_ORDER = "case severity when 'critical' then 0 when 'warning' then 1 else 2 end"


def alerts(reader: SnapshotReader, filters: Filters, active_only: bool = False) -> pd.DataFrame:
    """Grain: alert. Alerts whose run overlaps the date range (or, with
    active_only, that are active now) and whose scope matches the filters.
    days_alerting: calendar days from first_seen_date to last_seen_date, both
    included (breach_days also counts the days before the run reached the rule's
    consecutive_periods). unit: the metric's unit (marts.dim_alert_rules; an SLO
    burn-rate alert's value is a multiple of the budget rate)."""
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
               first_seen_date, last_seen_date, breach_days,
               cast(date_diff('day', first_seen_date, last_seen_date) + 1 as integer)
                   as days_alerting,
               last_value, worst_value, is_active, status, resolved_date, is_flapping,
               coalesce(
                   (select unit from marts.dim_alert_rules as r where r.rule_id = a.rule_id),
                   case when metric like 'burn_rate%' then 'multiple' else 'count' end
               ) as unit
        from marts.fct_alerts as a
        where {period} and {scope}
        order by is_active desc, {SEVERITY_ORDER}, last_seen_date desc, alert_id
        """,
        [*period_params, *params],
    )


def thresholds(
    reader: SnapshotReader, metric: str, mart: str, filters: Filters | None = None
) -> pd.DataFrame:
    """Grain: alert rule (marts.dim_alert_rules, the validated rules). The rules on
    one metric of one mart that apply to the whole chart: unscoped rules, and a
    scoped rule (say provider = openai) only when the selection is narrowed to
    exactly that scope, so its line never sits on series it does not watch. A
    model_name scope needs every selected version to be of that model; a
    model_version scope needs exactly that one version selected."""
    filters = filters or Filters()
    return reader.query(
        """
        with chosen as (
            select ?::varchar[] as provider, ?::varchar[] as model, ?::varchar[] as team,
                   ?::varchar[] as version
        )
        select rule_id, mart, metric, comparator, threshold, severity, consecutive_periods,
               scope_provider as provider, scope_model as model, scope_team as team,
               scope_model_name as model_name, scope_model_version as model_version, unit
        from marts.dim_alert_rules, chosen
        where metric = ? and mart = ?
          and (scope_provider is null or chosen.provider = [scope_provider])
          and (scope_model is null or chosen.model = [scope_model])
          and (scope_team is null or chosen.team = [scope_team])
          and (
              scope_model_name is null
              or (
                  list_distinct(list_transform(chosen.version, lambda v: split_part(v, '/', 1)))
                      = [scope_model_name]
                  and (
                      scope_model_version is null
                      or chosen.version = [scope_model_name || '/' || scope_model_version]
                  )
              )
          )
        order by threshold, rule_id
        """,
        [
            list(filters.provider),
            list(filters.model),
            list(filters.team),
            list(filters.version),
            metric,
            mart,
        ],
    )


def drift_gates(reader: SnapshotReader) -> dict[str, float]:
    """The drift gates (marts.dim_drift_gates): gate → threshold, the same rows the
    drift marts classify with (psi_warning, psi_critical, ks_pvalue, label_shift_pvalue)."""
    frame = reader.query("select gate, threshold from marts.dim_drift_gates")
    return dict(zip(frame.gate, frame.threshold.astype(float), strict=True))


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
