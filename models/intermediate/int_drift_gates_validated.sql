{#- a bad gate stops the build here, before any drift statistic is computed -#}
{% do modelmart.validate_drift_gates(ref('drift_gates')) %}

with gates as (
    select * from {{ ref('drift_gates') }}
),

validated as (
    select
        gate,
        cast(threshold as double precision) as threshold,
        description
    from gates
)

select * from validated
