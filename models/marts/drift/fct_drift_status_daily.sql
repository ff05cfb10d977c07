-- one row per version and day: the gate the alert rules read
with features as (
    select
        prediction_date,
        model_name,
        model_version,
        cast(max(status_level) as integer) as drift_level,
        cast(sum(case when status = 'critical' then 1 else 0 end) as integer) as features_critical,
        cast(sum(case when status = 'warning' then 1 else 0 end) as integer) as features_warning,
        max(psi) as max_psi,
        min(ks_pvalue) as min_ks_pvalue
    from {{ ref('fct_feature_drift_daily') }}
    group by prediction_date, model_name, model_version
),

labels as (
    select * from {{ ref('fct_label_shift_daily') }}
),

final as (
    select
        labels.prediction_date,
        labels.model_name,
        labels.model_version,
        {{ modelmart.model_version_key('labels.model_name', 'labels.model_version') }} as model_version_key,
        coalesce(features.drift_level, 0) as drift_level,
        case coalesce(features.drift_level, 0) when 2 then 'critical' when 1 then 'warning' else 'ok' end as drift_status,
        -- 1 on a warning-only day, so the warning rule stays quiet while critical pages
        cast(case when features.drift_level = 1 then 1 else 0 end as integer) as drift_warning,
        coalesce(features.features_critical, 0) as features_critical,
        coalesce(features.features_warning, 0) as features_warning,
        features.max_psi,
        features.min_ks_pvalue,
        labels.p_value as label_shift_p_value,
        cast(case when labels.flagged then 1 else 0 end as integer) as label_shift_flagged
    from labels
    left join features
        on
            labels.prediction_date = features.prediction_date
            and labels.model_name = features.model_name
            and labels.model_version = features.model_version
)

select * from final
