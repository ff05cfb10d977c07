-- One row per experiment × user × business event that belongs to the user: the
-- event carries the user's user_id, or its session is one of the user's sessions
-- (a session on any business event that carries the user_id). Kept: events in the
-- user's conversion window [exposed_at, exposed_at + window) and in the
-- pre-exposure window [exposed_at − pre_exposure_days, exposed_at) (CUPED).
with users as (
    select * from {{ ref('int_experiment_users_exposed') }}
),

events as (
    select * from {{ ref('stg_landing__business_events') }}
),

user_sessions as (
    select * from {{ ref('int_experiment_user_sessions') }}
),

by_user as (
    select
        users.experiment,
        users.user_id,
        events.business_event_id
    from users
    inner join events on users.user_id = events.user_id
),

by_session as (
    select
        user_sessions.experiment,
        user_sessions.user_id,
        events.business_event_id
    from user_sessions
    inner join events on user_sessions.session_id = events.session_id
),

linked_ids as (
    select * from by_user
    union
    select * from by_session
),

linked as (
    select
        users.experiment,
        users.user_id,
        users.variant,
        users.is_multiple_exposure,
        events.business_event_id,
        events.event_type,
        events.occurred_at,
        events.occurred_date,
        events.revenue_usd,
        events.is_ticket,
        events.is_agent_resolved,
        events.batch_seq,
        events.occurred_at >= users.exposed_at as is_in_window
    from linked_ids
    inner join users
        on linked_ids.experiment = users.experiment and linked_ids.user_id = users.user_id
    inner join events on linked_ids.business_event_id = events.business_event_id
    where
        events.occurred_at >= users.pre_window_start_at
        and events.occurred_at < users.window_end_at
)

select * from linked
