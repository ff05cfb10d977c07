-- One row per experiment × user: the user's metrics counted from their first
-- exposure to the end of their conversion window, and their pre-exposure revenue.
-- A table: the Python results model and the daily mart both read it.
{{ config(materialized='table') }}

with users as (
    select * from {{ ref('int_experiment_users_exposed') }}
),

linked as (
    select * from {{ ref('int_experiment_events_linked') }}
),

calls as (
    select * from {{ ref('int_llm_calls_priced') }}
),

user_sessions as (
    select * from {{ ref('int_experiment_user_sessions') }}
),

event_totals as (
    select
        experiment,
        user_id,
        sum(case when is_in_window and event_type = 'conversion' then 1 else 0 end) as conversions,
        min(case when is_in_window and event_type = 'conversion' then occurred_at end) as first_conversion_at,
        sum(case when is_in_window then revenue_usd else 0 end) as revenue_usd,
        sum(case when not is_in_window then revenue_usd else 0 end) as pre_exposure_revenue_usd,
        sum(case when is_in_window and is_ticket then 1 else 0 end) as tickets,
        sum(case when is_in_window and is_agent_resolved then 1 else 0 end) as agent_resolved_tickets,
        max(batch_seq) as events_batch_seq
    from linked
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
        greatest(users.exposure_batch_seq, coalesce(event_totals.events_batch_seq, -1)) as source_batch_seq
    from users
    left join event_totals
        on users.experiment = event_totals.experiment and users.user_id = event_totals.user_id
    left join call_totals
        on users.experiment = call_totals.experiment and users.user_id = call_totals.user_id
)

select * from final
