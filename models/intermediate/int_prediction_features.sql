-- one row per prediction × numeric feature (non-numeric values dropped). Incremental
-- append: stored predictions never change (ingest keeps the first copy of an
-- event_id), so each build adds only the rows of newer batches; the drift model
-- reads it one version × feature at a time
{{ config(materialized='incremental', incremental_strategy='append') }}
{%- set watermark = modelmart.built_watermark('batch_seq') %}

with predictions as (
    select
        model_name,
        model_version,
        predicted_date,
        batch_seq,
        {{ modelmart.json_number_entries('features') }} as entry
    from {{ ref('stg_landing__predictions') }}
    where
        features is not null
    {% if is_incremental() %}
        and batch_seq > {{ watermark }}
    {% endif %}
),

final as (
    select
        predictions.model_name,
        predictions.model_version,
        predictions.predicted_date,
        predictions.entry.key as feature,
        predictions.entry.value as feature_value,
        predictions.batch_seq
    from predictions
    where predictions.entry.value is not null
)

select * from final
