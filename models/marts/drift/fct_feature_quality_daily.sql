with feature_values as (
    select * from {{ ref('int_prediction_features') }}
),

daily_predictions as (
    select
        prediction_date,
        model_name,
        model_version,
        predictions
    from {{ ref('fct_model_quality_daily') }}
),

reference_windows as (
    select * from {{ ref('int_drift_reference_windows') }}
),

-- the features of a version: every key it ever had a numeric value for
version_features as (
    select distinct
        model_name,
        model_version,
        feature
    from feature_values
),

-- the range of values observed in the version's reference window
reference_ranges as (
    select
        feature_values.model_name,
        feature_values.model_version,
        feature_values.feature,
        min(feature_values.feature_value) as reference_min,
        max(feature_values.feature_value) as reference_max
    from feature_values
    inner join reference_windows
        on
            feature_values.model_name = reference_windows.model_name
            and feature_values.model_version = reference_windows.model_version
            and feature_values.predicted_date between reference_windows.reference_start and reference_windows.reference_end
    group by feature_values.model_name, feature_values.model_version, feature_values.feature
),

present as (
    select
        feature_values.predicted_date as prediction_date,
        feature_values.model_name,
        feature_values.model_version,
        feature_values.feature,
        cast(count(*) as bigint) as values_present,
        cast(sum(
            case
                when
                    feature_values.feature_value < reference_ranges.reference_min
                    or feature_values.feature_value > reference_ranges.reference_max
                    then 1
                else 0
            end
        ) as bigint) as values_outside_reference,
        max(case when reference_ranges.feature is not null then 1 else 0 end) as has_reference
    from feature_values
    left join reference_ranges
        on
            feature_values.model_name = reference_ranges.model_name
            and feature_values.model_version = reference_ranges.model_version
            and feature_values.feature = reference_ranges.feature
    group by feature_values.predicted_date, feature_values.model_name, feature_values.model_version, feature_values.feature
),

final as (
    select
        daily_predictions.prediction_date,
        daily_predictions.model_name,
        daily_predictions.model_version,
        {{ modelmart.model_version_key('daily_predictions.model_name', 'daily_predictions.model_version') }} as model_version_key,
        version_features.feature,
        daily_predictions.predictions,
        cast(coalesce(present.values_present, 0) as bigint) as values_present,
        1 - {{ modelmart.safe_divide('coalesce(present.values_present, 0)', 'daily_predictions.predictions') }} as missing_rate,
        reference_ranges.reference_min,
        reference_ranges.reference_max,
        case when reference_ranges.feature is not null then present.values_outside_reference end as values_outside_reference,
        case
            when reference_ranges.feature is not null
                then {{ modelmart.safe_divide('present.values_outside_reference', 'present.values_present') }}
        end as outside_reference_share
    from daily_predictions
    inner join version_features
        on
            daily_predictions.model_name = version_features.model_name
            and daily_predictions.model_version = version_features.model_version
    left join present
        on
            daily_predictions.prediction_date = present.prediction_date
            and daily_predictions.model_name = present.model_name
            and daily_predictions.model_version = present.model_version
            and version_features.feature = present.feature
    left join reference_ranges
        on
            version_features.model_name = reference_ranges.model_name
            and version_features.model_version = reference_ranges.model_version
            and version_features.feature = reference_ranges.feature
)

select * from final
