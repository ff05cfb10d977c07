{{ config(materialized='table') }}

with rules as (
    select * from {{ ref('int_alert_rules_validated') }}
),

final as (
    select
        rule_id,
        mart,
        metric,
        comparator,
        threshold,
        severity,
        consecutive_periods,
        scope_provider,
        scope_model,
        scope_team,
        scope_model_name,
        scope_model_version,
        {{ modelmart.metric_unit('metric') }} as unit,
        description
    from rules
)

select * from final
