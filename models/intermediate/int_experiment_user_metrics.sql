-- One row per experiment × user: the user's metrics counted from their first
-- exposure to the end of their conversion window, and their pre-exposure revenue.
-- Incremental: a build recomputes the users newer batches touched (macro
-- experiment_touched_user_ids: their events, sessions or LLM calls), every user
-- when the experiments seed or the prices changed. Read by the results model and
-- the daily mart.
{{ config(
    materialized='incremental', unique_key=['experiment', 'user_id'],
    incremental_strategy='delete+insert',
    pre_hook="{{ modelmart.delete_all_when(
        modelmart.experiments_changed() or modelmart.pricing_changed()) }}") }}
{%- set watermark = modelmart.built_watermark() %}
{%- set everything = modelmart.experiments_changed() or modelmart.pricing_changed() %}

with users as (
    select * from {{ ref('int_experiment_users_exposed') }}
    {% if not everything %}
        where user_id in ({{ modelmart.experiment_touched_user_ids(watermark) }})
    {% endif %}
),

days as (
    select user_days.*
    from {{ ref('int_experiment_user_days') }} as user_days
    inner join users
        on user_days.experiment = users.experiment and user_days.user_id = users.user_id
),

events as (
    select * from {{ ref('stg_landing__business_events') }}
),

calls as (
    select * from {{ ref('int_llm_calls_priced') }}
),

user_sessions as (
    {{ modelmart.experiment_user_sessions('users', 'events') }}
),

event_totals as (
    select
        experiment,
        user_id,
        {{ modelmart.experiment_day_totals() }}
    from days
    group by experiment, user_id
),

user_calls as (
    select
        users.experiment,
        users.user_id,
        calls.response_time_ms,
        calls.cost_usd,
        calls.is_priced
    from users
    inner join user_sessions
        on users.experiment = user_sessions.experiment and users.user_id = user_sessions.user_id
    inner join calls on user_sessions.session_id = calls.session_id
    where calls.created_at >= users.exposed_at and calls.created_at < users.window_end_at
),

call_totals as (
    select
        experiment,
        user_id,
        count(*) as llm_calls,
        sum(case when is_priced then 0 else 1 end) as llm_unpriced_calls,
        coalesce(sum(cost_usd), 0) as llm_cost_usd,
        {{ modelmart.percentile_cont('response_time_ms', 0.95) }} as llm_latency_p95_ms
    from user_calls
    group by experiment, user_id
),

newest as (
    select {{ modelmart.experiments_newest_batch_seq() }} as batch_seq
),

final as (
    select
        users.experiment,
        users.user_id,
        users.variant,
        users.exposed_at,
        users.exposure_date,
        users.is_multiple_exposure,
        cast(coalesce(event_totals.conversions, 0) as bigint) as conversions,
        coalesce(event_totals.conversions, 0) > 0 as has_conversion,
        event_totals.first_conversion_at,
        cast(coalesce(event_totals.revenue_usd, 0) as double precision) as revenue_usd,
        cast(coalesce(event_totals.pre_exposure_revenue_usd, 0) as double precision) as pre_exposure_revenue_usd,
        cast(coalesce(event_totals.tickets, 0) as bigint) as tickets,
        cast(coalesce(event_totals.agent_resolved_tickets, 0) as bigint) as agent_resolved_tickets,
        cast(coalesce(call_totals.llm_calls, 0) as bigint) as llm_calls,
        cast(coalesce(call_totals.llm_unpriced_calls, 0) as bigint) as llm_unpriced_calls,
        cast(coalesce(call_totals.llm_cost_usd, 0) as double precision) as llm_cost_usd,
        call_totals.llm_latency_p95_ms,
        greatest(users.exposure_batch_seq, coalesce(event_totals.events_batch_seq, -1)) as events_batch_seq,
        -- the newest batch of either stream this build saw: the next build's watermark
        (select newest.batch_seq from newest) as source_batch_seq,
        {{ modelmart.experiments_fingerprint() }} as experiments_fingerprint,
        {{ modelmart.pricing_fingerprint() }} as pricing_fingerprint
    from users
    left join event_totals
        on users.experiment = event_totals.experiment and users.user_id = event_totals.user_id
    left join call_totals
        on users.experiment = call_totals.experiment and users.user_id = call_totals.user_id
)

select * from final
