{#- a bad route stops the build here, naming the row; a table, so notify reads
    the typed routes from any copy of the snapshot -#}
{{ config(materialized='table') }}
{% do modelmart.validate_alert_routes(ref('alert_routes'), ref('alert_targets'), ref('alert_rules')) %}

with routes as (
    select * from {{ ref('alert_routes') }}
),

validated as (
    select
        route_id,
        sends,
        severity as match_severity,
        rule_id as match_rule_id,
        provider as scope_provider,
        model as scope_model,
        team as scope_team,
        model_name as scope_model_name,
        model_version as scope_model_version,
        channel,
        target,
        cast(repeat_after_hours as double precision) as repeat_after_hours,
        coalesce(lower(trim(send_resolved)), 'true') = 'true' as send_resolved,
        description
    from routes
)

select * from validated
