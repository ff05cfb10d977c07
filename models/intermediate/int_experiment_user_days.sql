-- One row per experiment × user × date with business events of the user in their
-- windows (int_experiment_events_linked's rows, summed per date), plus one row on
-- the exposure date, so every exposed user has a row. Incremental: a build
-- recomputes every row of the users newer batches touched (macro
-- experiment_touched_user_ids), all users when the experiments seed changed.
-- depends_on: {{ ref('stg_landing__llm_calls') }}
{{ config(
    materialized='incremental', unique_key=['experiment', 'user_id'],
    incremental_strategy='delete+insert',
    pre_hook="{{ modelmart.delete_all_when(modelmart.experiments_changed()) }}") }}
{%- set watermark = modelmart.built_watermark() %}
{%- set everything = modelmart.experiments_changed() %}

with events as (
    select * from {{ ref('stg_landing__business_events') }}
),

users as (
    select * from {{ ref('int_experiment_users_exposed') }}
    {% if not everything %}
        where user_id in ({{ modelmart.experiment_touched_user_ids(watermark) }})
    {% endif %}
),

user_sessions as (
    {{ modelmart.experiment_user_sessions('users', 'events') }}
),

linked as (
    {{ modelmart.experiment_events_linked('users', 'user_sessions', 'events') }}
),

per_day as (
    select
        experiment,
        user_id,
        occurred_date as activity_date,
        sum(case when is_in_window and event_type = 'conversion' then 1 else 0 end) as conversions,
        min(case when is_in_window and event_type = 'conversion' then occurred_at end) as first_conversion_at,
        sum(case when is_in_window then revenue_usd else 0 end) as revenue_usd,
        sum(case when not is_in_window then revenue_usd else 0 end) as pre_exposure_revenue_usd,
        sum(case when is_in_window and is_ticket then 1 else 0 end) as tickets,
        sum(case when is_in_window and is_agent_resolved then 1 else 0 end) as agent_resolved_tickets,
        max(batch_seq) as events_batch_seq
    from linked
    group by experiment, user_id, occurred_date
),

exposure_days as (
    select
        experiment,
        user_id,
        exposure_date as activity_date,
        0 as conversions,
        cast(null as timestamp) as first_conversion_at,
        0 as revenue_usd,
        0 as pre_exposure_revenue_usd,
        0 as tickets,
        0 as agent_resolved_tickets,
        exposure_batch_seq as events_batch_seq
    from users
),

days as (
    select
        experiment,
        user_id,
        activity_date,
        {{ modelmart.experiment_day_totals() }}
    from (
        select * from per_day
        union all
        select * from exposure_days
    ) as both_kinds
    group by experiment, user_id, activity_date
),

newest as (
    select {{ modelmart.experiments_newest_batch_seq() }} as batch_seq
),

final as (
    select
        experiment,
        user_id,
        activity_date,
        cast(conversions as bigint) as conversions,
        first_conversion_at,
        cast(revenue_usd as double precision) as revenue_usd,
        cast(pre_exposure_revenue_usd as double precision) as pre_exposure_revenue_usd,
        cast(tickets as bigint) as tickets,
        cast(agent_resolved_tickets as bigint) as agent_resolved_tickets,
        events_batch_seq,
        -- the newest batch of either stream this build saw: the next build's watermark
        (select newest.batch_seq from newest) as source_batch_seq,
        {{ modelmart.experiments_fingerprint() }} as experiments_fingerprint
    from days
)

select * from final
