-- one row per prediction × numeric feature (non-numeric values dropped)
with predictions as (
    select
        prediction_id,
        model_name,
        model_version,
        predicted_date,
        {{ modelmart.json_number_entries('features') }} as entry
    from {{ ref('stg_landing__predictions') }}
    where features is not null
),

final as (
    select
        prediction_id,
        model_name,
        model_version,
        predicted_date,
        entry.key as feature,
        entry.value as feature_value
    from predictions
    where entry.value is not null
)

select * from final
