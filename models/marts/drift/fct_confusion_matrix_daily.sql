-- refs used only in incremental runs:
-- depends_on: {{ ref('stg_landing__labels') }}
-- depends_on: {{ ref('stg_landing__predictions') }}
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='prediction_date') }}
{%- set watermark = modelmart.built_watermark() %}

with
{% if is_incremental() %}
    changed_dates as (
        {{ modelmart.changed_prediction_dates(watermark) }}
    ),
{% endif %}

final as (
    select
        predicted_date as prediction_date,
        model_name,
        model_version,
        true_label,
        predicted_label,
        cast(count(*) as bigint) as predictions,
        max(case when label_batch_seq > batch_seq then label_batch_seq else batch_seq end) as source_batch_seq
    from {{ ref('int_predictions_labeled') }}
    where
        is_labeled
    {% if is_incremental() %}
        and predicted_date in (select changed_dates.prediction_date from changed_dates)
    {% endif %}
    group by predicted_date, model_name, model_version, true_label, predicted_label
)

select * from final
