{#- a bad experiment stops the build here, before any result is computed -#}
{% do modelmart.validate_experiments(ref('experiments'), ref('experiment_metrics'), ref('experiment_decision_rules')) %}

with experiments as (
    select * from {{ ref('experiments') }}
),

validated as (
    select
        experiment,
        description,
        control_variant,
        variants,
        traffic_split,
        start_date,
        end_date,
        primary_metric,
        coalesce(secondary_metrics, '') as secondary_metrics,
        coalesce(guardrail_metrics, '') as guardrail_metrics,
        cast(conversion_window_days as integer) as conversion_window_days,
        cast(coalesce(alpha, 0.05) as double precision) as alpha,
        cast(mde_relative as double precision) as mde_relative,
        cast(coalesce(power, 0.8) as double precision) as power,
        cast(coalesce(pre_exposure_days, 14) as integer) as pre_exposure_days,
        cast(coalesce(sequential_n_star, 5000) as double precision) as sequential_n_star
    from experiments
)

select * from validated
