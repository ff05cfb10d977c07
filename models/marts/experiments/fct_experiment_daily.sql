-- A table, rebuilt whole on every build from the per-user tables (one row per
-- experiment × user, and per user × date), which are incremental: a user's late
-- event moves every cumulative row from their exposure date on, and summing a few
-- million per-user rows is cheaper than finding those rows.
{{ config(materialized='table') }}

with experiments as (
    select * from {{ ref('int_experiments_validated') }}
),

users as (
    select * from {{ ref('int_experiment_user_metrics') }}
    where not is_multiple_exposure
),

user_days as (
    select
        user_days.*,
        users.variant
    from {{ ref('int_experiment_user_days') }} as user_days
    inner join users
        on user_days.experiment = users.experiment and user_days.user_id = users.user_id
),

events as (
    select * from {{ ref('stg_landing__business_events') }}
),

dates as (
    select distinct occurred_date as experiment_date from events
),

variants as (
    select distinct
        experiment,
        variant
    from users
),

-- every date that has any business event, from the start of the experiment to the
-- end of its last window (or the newest date), × the variants with users
spine as (
    select
        experiments.experiment,
        variants.variant,
        dates.experiment_date
    from experiments
    inner join variants on experiments.experiment = variants.experiment
    inner join dates
        on
            experiments.start_date <= dates.experiment_date
            and dates.experiment_date
            <= {{ modelmart.add_days('experiments.end_date', 'experiments.conversion_window_days') }}
),

new_users as (
    select
        experiment,
        variant,
        exposure_date,
        count(*) as users
    from users
    group by experiment, variant, exposure_date
),

first_conversions as (
    select
        experiment,
        variant,
        cast(first_conversion_at as date) as conversion_date,
        count(*) as users
    from users
    where has_conversion
    group by experiment, variant, cast(first_conversion_at as date)
),

daily_events as (
    select
        experiment,
        variant,
        activity_date as occurred_date,
        sum(conversions) as conversions,
        sum(revenue_usd) as revenue_usd
    from user_days
    group by experiment, variant, activity_date
),

daily as (
    select
        spine.experiment,
        spine.variant,
        spine.experiment_date,
        coalesce(new_users.users, 0) as new_users,
        coalesce(first_conversions.users, 0) as new_converted_users,
        coalesce(daily_events.conversions, 0) as day_conversions,
        coalesce(daily_events.revenue_usd, 0) as day_revenue_usd
    from spine
    left join new_users
        on
            spine.experiment = new_users.experiment and spine.variant = new_users.variant
            and spine.experiment_date = new_users.exposure_date
    left join first_conversions
        on
            spine.experiment = first_conversions.experiment
            and spine.variant = first_conversions.variant
            and spine.experiment_date = first_conversions.conversion_date
    left join daily_events
        on
            spine.experiment = daily_events.experiment and spine.variant = daily_events.variant
            and spine.experiment_date = daily_events.occurred_date
),

cumulative as (
    select
        experiment,
        variant,
        experiment_date,
        new_users,
        sum(new_users) over running as users,
        sum(new_converted_users) over running as converted_users,
        sum(day_conversions) over running as conversions,
        sum(day_revenue_usd) over running as revenue_usd
    from daily
    window running as (
        partition by experiment, variant order by experiment_date rows between unbounded preceding and current row
    )
),

final as (
    select
        experiment,
        variant,
        experiment_date,
        cast(new_users as bigint) as new_users,
        cast(users as bigint) as users,
        cast(converted_users as bigint) as converted_users,
        cast(conversions as bigint) as conversions,
        {{ modelmart.safe_divide('converted_users', 'users') }} as conversion_rate,
        cast(revenue_usd as double precision) as revenue_usd,
        {{ modelmart.safe_divide('revenue_usd', 'users') }} as revenue_per_user,
        (select max(events.batch_seq) from events) as source_batch_seq,
        {{ modelmart.experiments_fingerprint() }} as experiments_fingerprint
    from cumulative
)

select * from final
