-- One row per experiment × user × session: the sessions named on any business
-- event that carries the user's user_id (at any time). A user's events and LLM
-- calls are found through these sessions.
with users as (
    select * from {{ ref('int_experiment_users_exposed') }}
),

events as (
    select * from {{ ref('stg_landing__business_events') }}
),

user_sessions as (
    select distinct
        users.experiment,
        users.user_id,
        events.session_id
    from users
    inner join events on users.user_id = events.user_id
    where events.session_id is not null
)

select * from user_sessions
