{{ config(materialized='table', contract={'enforced': true}) }}

with gates as (
    select * from {{ ref('int_drift_gates_validated') }}
),

final as (
    select
        gate,
        threshold,
        description
    from gates
)

select * from final
