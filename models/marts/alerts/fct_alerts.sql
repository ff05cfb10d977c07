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

-- each series' non-NULL values, keyed like the breaches' series
series_values as (
    select
        mart,
        metric,
        metric_date,
        metric_value,
        case
            when concat_ws(' · ', provider, model, team, model_name, model_version) = '' then 'all'
            else concat_ws(' · ', provider, model, team, model_name, model_version)
        end as series
    from metric_values
    where metric_value is not null
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

-- a run is over only when its series reports a value that does not breach: the
-- first such date after the run. A series that simply stops reporting (no value on
-- the newest date) has not recovered: that alert is no_data, never resolved.
recoveries as (
    select
        runs.rule_id,
        runs.series,
        runs.run_anchor,
        min(series_values.metric_date) as resolved_date
    from runs
    inner join series_values
        on
            runs.mart = series_values.mart
            and runs.metric = series_values.metric
            and runs.series = series_values.series
            and runs.last_seen_date < series_values.metric_date
    where
        not (
            (runs.comparator = '>' and series_values.metric_value > runs.threshold)
            or (runs.comparator = '>=' and series_values.metric_value >= runs.threshold)
            or (runs.comparator = '<' and series_values.metric_value < runs.threshold)
            or (runs.comparator = '<=' and series_values.metric_value <= runs.threshold)
        )
    group by runs.rule_id, runs.series, runs.run_anchor
),

-- the same rule and series' previous alert: flapping when it ended (its last breach
-- day) at most alert_flap_window_days before this one started alerting
sequenced as (
    select
        runs.*,
        recoveries.resolved_date,
        lag(runs.first_seen_date) over (
            partition by runs.rule_id, runs.series order by runs.first_seen_date
        ) as previous_first_seen_date,
        lag(runs.last_seen_date) over (
            partition by runs.rule_id, runs.series order by runs.first_seen_date
        ) as previous_last_seen_date
    from runs
    left join recoveries
        on
            runs.rule_id = recoveries.rule_id
            and runs.series = recoveries.series
            and runs.run_anchor = recoveries.run_anchor
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
        runs.last_seen_date = latest.latest_date as is_active,
        case
            when runs.last_seen_date = latest.latest_date then 'active'
            when runs.resolved_date is not null then 'resolved'
            else 'no_data'
        end as status,
        runs.resolved_date,
        latest.latest_date,
        case
            when runs.previous_first_seen_date is not null
                then concat_ws(':', runs.rule_id, runs.series, cast(runs.previous_first_seen_date as varchar))
        end as previous_alert_id,
        coalesce(
            runs.previous_last_seen_date
            >= {{ modelmart.add_days('runs.first_seen_date', -var('alert_flap_window_days')) }},
            false
        ) as is_flapping
    from sequenced as runs
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
