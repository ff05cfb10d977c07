-- one row per prediction × numeric feature (non-numeric values dropped); a table:
-- the drift model reads it one version × feature at a time
{{ config(materialized='table') }}

with predictions as (
    select
        model_name,
        model_version,
        predicted_date,
        {{ modelmart.json_number_entries('features') }} as entry
    from {{ ref('stg_landing__predictions') }}
    where features is not null
),

final as (
    select
        predictions.model_name,
        predictions.model_version,
        predictions.predicted_date,
        predictions.entry.key as feature,
        predictions.entry.value as feature_value
    from predictions
    where predictions.entry.value is not null
)

select * from final
