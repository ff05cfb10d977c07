-- one row per version and day: the worst feature's missing rate, what the
-- feature-quality alert rule reads
with features as (
    select * from {{ ref('fct_feature_quality_daily') }}
),

final as (
    select
        prediction_date,
        model_name,
        model_version,
        {{ modelmart.model_version_key('model_name', 'model_version') }} as model_version_key,
        cast(count(*) as integer) as features,
        max(missing_rate) as max_missing_rate,
        cast(sum(case when missing_rate > 0.01 then 1 else 0 end) as integer) as features_missing_over_1pct,
        max(outside_reference_share) as max_outside_reference_share
    from features
    group by prediction_date, model_name, model_version
)

select * from final
