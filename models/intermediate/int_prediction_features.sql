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
        predictions.prediction_id,
        predictions.model_name,
        predictions.model_version,
        predictions.predicted_date,
        predictions.entry.key as feature,
        predictions.entry.value as feature_value
    from predictions
    where predictions.entry.value is not null
)

select * from final
