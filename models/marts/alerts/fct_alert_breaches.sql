with rules as (
    select * from {{ ref('int_alert_rules_validated') }}
),

metric_values as (
    select * from {{ ref('int_metric_values_unpivoted') }}
),

-- a blank scope column matches every series
checked as (
    select
        rules.rule_id,
        rules.severity,
        rules.mart,
        rules.metric,
        rules.comparator,
        rules.threshold,
        rules.consecutive_periods,
        metric_values.metric_date,
        metric_values.provider,
        metric_values.model,
        metric_values.team,
        metric_values.model_name,
        metric_values.model_version,
        metric_values.metric_value
    from rules
    inner join metric_values
        on
            rules.mart = metric_values.mart
            and rules.metric = metric_values.metric
            and (rules.scope_provider is null or rules.scope_provider = metric_values.provider)
            and (rules.scope_model is null or rules.scope_model = metric_values.model)
            and (rules.scope_team is null or rules.scope_team = metric_values.team)
            and (rules.scope_model_name is null or rules.scope_model_name = metric_values.model_name)
            and (rules.scope_model_version is null or rules.scope_model_version = metric_values.model_version)
    -- NULL is "no data": never a breach
    where
        (rules.comparator = '>' and metric_values.metric_value > rules.threshold)
        or (rules.comparator = '>=' and metric_values.metric_value >= rules.threshold)
        or (rules.comparator = '<' and metric_values.metric_value < rules.threshold)
        or (rules.comparator = '<=' and metric_values.metric_value <= rules.threshold)
),

-- consecutive calendar days of breach form one run (gaps and islands)
islands as (
    select
        *,
        concat_ws(' · ', provider, model, team, model_name, model_version) as series,
        {{ modelmart.add_days('metric_date', "-(row_number() over (partition by rule_id, provider, model, team, model_name, model_version order by metric_date))") }} as run_anchor
    from checked
),

streaks as (
    select
        *,
        row_number() over (
            partition by rule_id, provider, model, team, model_name, model_version, run_anchor
            order by metric_date
        ) as breach_streak
    from islands
),

final as (
    select
        rule_id,
        severity,
        mart,
        metric,
        comparator,
        threshold,
        consecutive_periods,
        metric_date,
        case when series = '' then 'all' else series end as series,
        provider,
        model,
        team,
        model_name,
        model_version,
        metric_value,
        run_anchor,
        cast(breach_streak as integer) as breach_streak,
        breach_streak >= consecutive_periods as is_alerting
    from streaks
)

select * from final
