-- One row per experiment × user exposed within the experiment's dates: the first
-- exposure (occurred_at, ties: smallest event id) and its variant; a user seen in
-- more than one variant is kept here, flagged, and left out of every analysis.
-- Incremental: a build re-ranks all exposures of the experiment × users that newer
-- batches exposed again (or for the first time); every user when the experiments
-- seed changed.
{{ config(
    materialized='incremental', unique_key=['experiment', 'user_id'],
    incremental_strategy='delete+insert',
    pre_hook="{{ modelmart.delete_all_when(modelmart.experiments_changed()) }}") }}
{%- set watermark = modelmart.built_watermark('exposure_batch_seq') %}
{%- set everything = modelmart.experiments_changed() %}

with experiments as (
    select * from {{ ref('int_experiments_validated') }}
),

events as (
    select * from {{ ref('stg_landing__business_events') }}
),

exposures as (
    select
        experiments.experiment,
        events.user_id,
        events.variant,
        events.occurred_at,
        events.business_event_id,
        events.batch_seq,
        experiments.conversion_window_days,
        experiments.pre_exposure_days
    from events
    inner join experiments on events.experiment = experiments.experiment
    where
        events.event_type = 'exposure'
        and events.user_id is not null
        and events.variant is not null
        and events.occurred_date between experiments.start_date and experiments.end_date
    {% if not everything %}
            and exists (
                select 1
                from {{ ref('stg_landing__business_events') }} as newer
                where
                    newer.batch_seq > {{ watermark }}
                    and newer.event_type = 'exposure'
                    and newer.experiment = events.experiment
                    and newer.user_id = events.user_id
            )
    {% endif %}
),

ranked as (
    select
        *,
        row_number() over (
            partition by experiment, user_id order by occurred_at, business_event_id
        ) as exposure_rank,
        min(variant) over (partition by experiment, user_id) as first_variant_name,
        max(variant) over (partition by experiment, user_id) as last_variant_name,
        count(*) over (partition by experiment, user_id) as exposure_events,
        max(batch_seq) over (partition by experiment, user_id) as exposure_batch_seq
    from exposures
),

first_exposures as (
    select
        experiment,
        user_id,
        variant,
        occurred_at as exposed_at,
        cast(occurred_at as date) as exposure_date,
        {{ dbt.dateadd('day', 'conversion_window_days', 'occurred_at') }} as window_end_at,
        {{ dbt.dateadd('day', '-pre_exposure_days', 'occurred_at') }} as pre_window_start_at,
        first_variant_name <> last_variant_name as is_multiple_exposure,
        exposure_events,
        exposure_batch_seq,
        {{ modelmart.experiments_fingerprint() }} as experiments_fingerprint
    from ranked
    where exposure_rank = 1
)

select * from first_exposures
