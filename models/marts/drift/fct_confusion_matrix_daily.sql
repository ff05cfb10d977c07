-- refs used only in incremental runs (incremental by date: _drift__models.yml):
-- depends_on: {{ ref('stg_landing__labels') }}
-- depends_on: {{ ref('stg_landing__predictions') }}
with final as (
    select
        predicted_date as prediction_date,
        model_name,
        model_version,
        {{ modelmart.model_version_key('model_name', 'model_version') }} as model_version_key,
        true_label,
        predicted_label,
        cast(count(*) as bigint) as predictions,
        max(case when label_batch_seq > batch_seq then label_batch_seq else batch_seq end) as source_batch_seq
    from {{ ref('int_predictions_labeled') }}
    where is_labeled {{ modelmart.and_changed_prediction_date('predicted_date') }}
    group by predicted_date, model_name, model_version, true_label, predicted_label
)

select * from final
