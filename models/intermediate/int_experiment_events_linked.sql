-- One row per experiment × user × business event that belongs to the user: the
-- event carries the user's user_id, or its session is one of the user's sessions
-- (a session on any business event that carries the user_id). Kept: events in the
-- user's conversion window [exposed_at, exposed_at + window) and in the
-- pre-exposure window [exposed_at − pre_exposure_days, exposed_at) (CUPED).
-- The whole history's view (macro experiment_events_linked); the incremental
-- experiment models run the same macro on the users newer batches touched.
with users as (
    select * from {{ ref('int_experiment_users_exposed') }}
),

events as (
    select * from {{ ref('stg_landing__business_events') }}
),

user_sessions as (
    select * from {{ ref('int_experiment_user_sessions') }}
),

linked as (
    {{ modelmart.experiment_events_linked('users', 'user_sessions', 'events') }}
)

select * from linked
