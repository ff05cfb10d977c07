-- refs used only in incremental runs:
-- depends_on: {{ ref('stg_landing__labels') }}
-- depends_on: {{ ref('stg_landing__predictions') }}
{{ config(unique_key='prediction_date') }}
{%- set watermark = modelmart.built_watermark() %}

with predictions as (
    select * from {{ ref('int_predictions_labeled') }}
),

{% if is_incremental() %}
    -- a new prediction or a new winning label changes its own date and, through
    -- the 7-day window, the six dates after it
    changed_dates as (
        {{ modelmart.changed_prediction_dates(watermark) }}
    ),

    write_dates as (
        {{ modelmart.window_write_dates('changed_dates', 'prediction_date', 'prediction_date') }}
    ),

    read_dates as (
        {{ modelmart.window_read_dates('write_dates', 'prediction_date', 'prediction_date') }}
    ),
{% endif %}

scoped as (
    select * from predictions
    {% if is_incremental() %}
        where predicted_date in (select read_dates.prediction_date from read_dates)
    {% endif %}
),

daily as (
    select
        predicted_date as prediction_date,
        model_name,
        model_version,
        cast(count(*) as bigint) as predictions,
        cast(sum(case when is_error then 1 else 0 end) as bigint) as errors,
        cast(sum(case when is_labeled then 1 else 0 end) as bigint) as labeled,
        cast(sum(case when is_correct then 1 else 0 end) as bigint) as correct,
        {{ modelmart.percentile_cont('latency_ms', 0.95) }} as latency_p95_ms,
        max(case when label_batch_seq > batch_seq then label_batch_seq else batch_seq end) as source_batch_seq
    from scoped
    group by predicted_date, model_name, model_version
),

-- calendar-day window d-6..d: a range join, so days without predictions
-- shorten the window instead of pulling in older days
rolling as (
    select
        current_day.prediction_date,
        current_day.model_name,
        current_day.model_version,
        cast(sum(window_day.correct) as bigint) as correct_rolling_7d,
        cast(sum(window_day.labeled) as bigint) as labeled_rolling_7d
    from daily as current_day
    inner join daily as window_day
        on
            current_day.model_name = window_day.model_name
            and current_day.model_version = window_day.model_version
            and window_day.prediction_date
            between {{ modelmart.add_days('current_day.prediction_date', -6) }} and current_day.prediction_date
    group by current_day.prediction_date, current_day.model_name, current_day.model_version
),

final as (
    select
        daily.prediction_date,
        daily.model_name,
        daily.model_version,
        {{ modelmart.model_version_key('daily.model_name', 'daily.model_version') }} as model_version_key,
        daily.predictions,
        daily.errors,
        {{ modelmart.safe_divide('daily.errors', 'daily.predictions') }} as error_rate,
        daily.labeled,
        daily.correct,
        {{ modelmart.safe_divide('daily.correct', 'daily.labeled') }} as accuracy,
        {{ modelmart.safe_divide('daily.labeled', 'daily.predictions') }} as label_coverage,
        rolling.correct_rolling_7d,
        rolling.labeled_rolling_7d,
        {{ modelmart.safe_divide('rolling.correct_rolling_7d', 'rolling.labeled_rolling_7d') }} as accuracy_rolling_7d,
        daily.latency_p95_ms,
        daily.source_batch_seq
    from daily
    inner join rolling
        on
            daily.prediction_date = rolling.prediction_date
            and daily.model_name = rolling.model_name
            and daily.model_version = rolling.model_version
    {% if is_incremental() %}
        where daily.prediction_date in (select write_dates.prediction_date from write_dates)
    {% endif %}
)

select * from final
