{#- a bad SLO stops the build here, before any SLI is computed -#}
{% do modelmart.validate_slos(ref('slos')) %}

with slos as (
    select * from {{ ref('slos') }}
),

validated as (
    select
        slo_id,
        description,
        sli_kind,
        cast(objective as double precision) as objective,
        cast(threshold as double precision) as threshold,
        cast(coalesce(period_days, 30) as integer) as period_days,
        cast(stream as varchar) as stream,
        cast(provider as varchar) as scope_provider,
        cast(model as varchar) as scope_model,
        cast(team as varchar) as scope_team,
        cast(model_name as varchar) as scope_model_name,
        cast(model_version as varchar) as scope_model_version
    from slos
)

select * from validated
