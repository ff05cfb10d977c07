-- refs used only in incremental runs:
-- depends_on: {{ ref('stg_landing__labels') }}
-- depends_on: {{ ref('stg_landing__predictions') }}
{{ config(unique_key='prediction_date') }}
{%- set watermark = modelmart.built_watermark() %}

with predictions as (
    select * from {{ ref('int_predictions_labeled') }}
),

{% if is_incremental() %}
    -- no window here: a new prediction or a new winning label changes only its own date
    changed_dates as (
        {{ modelmart.changed_prediction_dates(watermark) }}
    ),
{% endif %}

daily as (
    select
        predicted_date as prediction_date,
        model_name,
        model_version,
        segment,
        cast(count(*) as bigint) as predictions,
        cast(sum(case when is_labeled then 1 else 0 end) as bigint) as labeled,
        cast(sum(case when is_correct then 1 else 0 end) as bigint) as correct,
        max(case when label_batch_seq > batch_seq then label_batch_seq else batch_seq end) as source_batch_seq
    from predictions
    {% if is_incremental() %}
        where predicted_date in (select changed_dates.prediction_date from changed_dates)
    {% endif %}
    group by predicted_date, model_name, model_version, segment
),

final as (
    select
        prediction_date,
        model_name,
        model_version,
        {{ modelmart.model_version_key('model_name', 'model_version') }} as model_version_key,
        segment,
        predictions,
        labeled,
        correct,
        {{ modelmart.safe_divide('correct', 'labeled') }} as accuracy,
        {{ modelmart.safe_divide('labeled', 'predictions') }} as label_coverage,
        source_batch_seq
    from daily
)

select * from final
