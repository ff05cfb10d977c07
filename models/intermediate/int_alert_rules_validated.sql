{#- a bad rule stops the build here, before any alert is computed -#}
{% do modelmart.validate_alert_rules(ref('alert_rules')) %}

with rules as (
    select * from {{ ref('alert_rules') }}
),

validated as (
    select
        rule_id,
        mart,
        metric,
        comparator,
        cast(threshold as double precision) as threshold,
        severity,
        cast(consecutive_periods as integer) as consecutive_periods,
        cast(provider as varchar) as scope_provider,
        cast(model as varchar) as scope_model,
        cast(team as varchar) as scope_team,
        cast(model_name as varchar) as scope_model_name,
        cast(model_version as varchar) as scope_model_version,
        description
    from rules
)

select * from validated
