-- refs used only in incremental runs:
-- depends_on: {{ ref('stg_landing__labels') }}
-- depends_on: {{ ref('stg_landing__predictions') }}
{{ config(unique_key='prediction_date') }}

with predictions as (
    select * from {{ ref('int_predictions_labeled') }}
),

scoped as (
    select
        *,
        {{ dbt.date_trunc('hour', 'predicted_at') }} as predicted_hour
    from predictions
    where predicted_at is not null {{ modelmart.and_changed_prediction_date('predicted_date') }}
),

hourly as (
    select
        predicted_hour as prediction_hour,
        predicted_date as prediction_date,
        model_name,
        model_version,
        cast(count(*) as bigint) as predictions,
        cast(sum(case when is_error then 1 else 0 end) as bigint) as errors,
        cast(sum(case when is_labeled then 1 else 0 end) as bigint) as labeled,
        cast(sum(case when is_correct then 1 else 0 end) as bigint) as correct,
        {{ modelmart.percentile_cont('latency_ms', 0.95) }} as latency_p95_ms,
        max(predicted_at) as last_predicted_at,
        max(case when label_batch_seq > batch_seq then label_batch_seq else batch_seq end) as source_batch_seq
    from scoped
    group by predicted_hour, predicted_date, model_name, model_version
),

final as (
    select
        prediction_hour,
        prediction_date,
        model_name,
        model_version,
        predictions,
        errors,
        {{ modelmart.safe_divide('errors', 'predictions') }} as error_rate,
        labeled,
        correct,
        {{ modelmart.safe_divide('correct', 'labeled') }} as accuracy,
        {{ modelmart.safe_divide('labeled', 'predictions') }} as label_coverage,
        latency_p95_ms,
        last_predicted_at,
        source_batch_seq
    from hourly
)

select * from final
