-- reliability bins: [0, 0.1], (0.1, 0.2] … (0.9, 1] over labeled predictions;
-- incremental: a day is re-aggregated when it gets predictions or winning labels
-- refs used only in incremental runs (incremental by date: _drift__models.yml):
-- depends_on: {{ ref('stg_landing__labels') }}
-- depends_on: {{ ref('stg_landing__predictions') }}
with labeled as (
    select
        predicted_date,
        model_name,
        model_version,
        score,
        case when is_correct then 1.0 else 0.0 end as correct_value,
        case when label_batch_seq > batch_seq then label_batch_seq else batch_seq end as row_batch_seq,
        case
            when score <= 0.1 then 1
            when score <= 0.2 then 2
            when score <= 0.3 then 3
            when score <= 0.4 then 4
            when score <= 0.5 then 5
            when score <= 0.6 then 6
            when score <= 0.7 then 7
            when score <= 0.8 then 8
            when score <= 0.9 then 9
            else 10
        end as score_bin
    from {{ ref('int_predictions_labeled') }}
    where is_labeled {{ modelmart.and_changed_prediction_date('predicted_date') }}
),

final as (
    select
        predicted_date as prediction_date,
        model_name,
        model_version,
        {{ modelmart.model_version_key('model_name', 'model_version') }} as model_version_key,
        score_bin,
        cast(score_bin - 1 as double precision) / 10 as bin_lower,
        cast(score_bin as double precision) / 10 as bin_upper,
        cast(count(*) as bigint) as labeled,
        avg(score) as mean_score,
        avg(correct_value) as accuracy,
        max(row_batch_seq) as source_batch_seq
    from labeled
    group by predicted_date, model_name, model_version, score_bin
)

select * from final
