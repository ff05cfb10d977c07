-- depends_on: {{ ref('int_experiment_users_exposed') }}
{{ config(unique_key=['experiment', 'variant', 'experiment_date']) }}
{%- set watermark = modelmart.built_watermark() %}

with experiments as (
    select * from {{ ref('int_experiments_validated') }}
),

users as (
    select * from {{ ref('int_experiment_user_metrics') }}
    where not is_multiple_exposure
),

linked as (
    select * from {{ ref('int_experiment_events_linked') }}
    where is_in_window and not is_multiple_exposure
),

events as (
    select * from {{ ref('stg_landing__business_events') }}
),

{% if is_incremental() %}
    -- the users whose numbers newer batches can change (an exposure, an event of
    -- theirs, an event naming them that links a session); their cumulative rows
    -- change from their exposure date on
    touched_users as (
        select experiment, user_id from {{ ref('int_experiment_events_linked') }}
        where batch_seq > {{ watermark }}
        union
        select experiment, user_id from {{ ref('int_experiment_users_exposed') }}
        where exposure_batch_seq > {{ watermark }}
        union
        select exposed.experiment, exposed.user_id
        from {{ ref('int_experiment_users_exposed') }} as exposed
        inner join events on exposed.user_id = events.user_id
        where events.batch_seq > {{ watermark }}
    ),

    changed_from as (
        select
            case
                when (select max(built.experiments_fingerprint) from {{ this }} as built)
                    is distinct from {{ modelmart.experiments_fingerprint() }}
                    then cast('1900-01-01' as date)
                else least(
                    coalesce((
                        select min(exposed.exposure_date)
                        from {{ ref('int_experiment_users_exposed') }} as exposed
                        inner join touched_users
                            on
                                exposed.experiment = touched_users.experiment
                                and exposed.user_id = touched_users.user_id
                    ), cast('9999-12-31' as date)),
                    coalesce(
                        {{ modelmart.lookback_start('experiment_date') }},
                        cast('1900-01-01' as date)
                    )
                )
            end as from_date
    ),
{% endif %}

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
        occurred_date,
        sum(case when event_type = 'conversion' then 1 else 0 end) as conversions,
        sum(revenue_usd) as revenue_usd
    from linked
    group by experiment, variant, occurred_date
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

scoped as (
    select * from cumulative
    {% if is_incremental() %}
        where experiment_date >= (select changed_from.from_date from changed_from)
    {% endif %}
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
    from scoped
)

select * from final
