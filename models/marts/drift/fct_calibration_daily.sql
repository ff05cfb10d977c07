-- refs used only in incremental runs (incremental by date: _drift__models.yml):
-- depends_on: {{ ref('stg_landing__labels') }}
-- depends_on: {{ ref('stg_landing__predictions') }}
with bins as (
    -- all dates: the table is small, and the join with brier (changed dates only)
    -- keeps the ones this build rewrites, without computing the changed dates twice
    select * from {{ ref('fct_calibration_bins_daily') }}
),

labeled as (
    select
        predicted_date,
        model_name,
        model_version,
        score,
        case when is_correct then 1.0 else 0.0 end as correct_value,
        case when label_batch_seq > batch_seq then label_batch_seq else batch_seq end as row_batch_seq
    from {{ ref('int_predictions_labeled') }}
    where is_labeled {{ modelmart.and_changed_prediction_date('predicted_date') }}
),

brier as (
    select
        predicted_date as prediction_date,
        model_name,
        model_version,
        cast(count(*) as bigint) as labeled,
        avg((score - correct_value) * (score - correct_value)) as brier_score,
        max(row_batch_seq) as source_batch_seq
    from labeled
    group by predicted_date, model_name, model_version
),

ece as (
    select
        bins.prediction_date,
        bins.model_name,
        bins.model_version,
        sum(bins.labeled * abs(bins.accuracy - bins.mean_score)) as weighted_gap
    from bins
    group by bins.prediction_date, bins.model_name, bins.model_version
),

final as (
    select
        brier.prediction_date,
        brier.model_name,
        brier.model_version,
        {{ modelmart.model_version_key('brier.model_name', 'brier.model_version') }} as model_version_key,
        brier.labeled,
        ece.weighted_gap / brier.labeled as ece,
        brier.brier_score,
        brier.source_batch_seq
    from brier
    inner join ece
        on
            brier.prediction_date = ece.prediction_date
            and brier.model_name = ece.model_name
            and brier.model_version = ece.model_version
)

select * from final
