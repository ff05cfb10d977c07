-- the reference window of each model version: configured in the
-- drift_reference_windows seed, else the first 7 dates with predictions
with prediction_dates as (
    select distinct
        model_name,
        model_version,
        predicted_date
    from {{ ref('stg_landing__predictions') }}
),

ranked as (
    select
        *,
        row_number() over (partition by model_name, model_version order by predicted_date) as date_rank
    from prediction_dates
),

default_windows as (
    select
        model_name,
        model_version,
        min(predicted_date) as reference_start,
        max(predicted_date) as reference_end
    from ranked
    where date_rank <= 7
    group by model_name, model_version
),

configured as (
    select * from {{ ref('drift_reference_windows') }}
),

final as (
    select
        default_windows.model_name,
        default_windows.model_version,
        coalesce(configured.reference_start, default_windows.reference_start) as reference_start,
        coalesce(configured.reference_end, default_windows.reference_end) as reference_end,
        configured.model_name is not null as is_configured
    from default_windows
    left join configured
        on
            default_windows.model_name = configured.model_name
            and default_windows.model_version = configured.model_version
)

select * from final
