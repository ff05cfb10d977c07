{{ config(materialized='table') }}

with breaches as (
    select * from {{ ref('fct_alert_breaches') }}
),

metric_values as (
    select * from {{ ref('int_metric_values_unpivoted') }}
),

-- the newest date with a value of the rule's metric: an alert is active if its
-- run reaches it (a mart's later dates without that metric, e.g. business events
-- after the last LLM call, do not end an LLM alert)
latest as (
    select
        mart,
        metric,
        max(metric_date) as latest_date
    from metric_values
    where metric_value is not null
    group by mart, metric
),

runs as (
    select
        rule_id,
        series,
        run_anchor,
        min(severity) as severity,
        min(mart) as mart,
        min(metric) as metric,
        min(comparator) as comparator,
        min(threshold) as threshold,
        min(consecutive_periods) as consecutive_periods,
        min(provider) as provider,
        min(model) as model,
        min(team) as team,
        min(model_name) as model_name,
        min(model_version) as model_version,
        min(metric_date) as run_started_date,
        min(case when is_alerting then metric_date end) as first_seen_date,
        max(metric_date) as last_seen_date,
        cast(count(*) as integer) as breach_days,
        max(metric_value) as max_value,
        min(metric_value) as min_value
    from breaches
    group by rule_id, series, run_anchor
    having max(case when is_alerting then 1 else 0 end) = 1
),

final as (
    select
        concat_ws(':', runs.rule_id, runs.series, cast(runs.first_seen_date as varchar)) as alert_id,
        runs.rule_id,
        runs.severity,
        runs.mart,
        runs.metric,
        runs.comparator,
        runs.threshold,
        runs.consecutive_periods,
        runs.series,
        runs.provider,
        runs.model,
        runs.team,
        runs.model_name,
        runs.model_version,
        runs.first_seen_date,
        runs.last_seen_date,
        runs.breach_days,
        last_breach.metric_value as last_value,
        case when runs.comparator in ('>', '>=') then runs.max_value else runs.min_value end as worst_value,
        runs.last_seen_date = latest.latest_date as is_active
    from runs
    inner join latest on runs.mart = latest.mart and runs.metric = latest.metric
    inner join breaches as last_breach
        on
            runs.rule_id = last_breach.rule_id
            and runs.series = last_breach.series
            and runs.last_seen_date = last_breach.metric_date
)

select * from final
-- SLO burn-rate alerts (pages and tickets, models/marts/slo) share the columns
union all
select * from {{ ref('fct_slo_alerts') }}
