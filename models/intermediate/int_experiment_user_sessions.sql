-- One row per experiment × user × session: the sessions named on any business
-- event that carries the user's user_id (at any time). A user's events and LLM
-- calls are found through these sessions (macro experiment_user_sessions).
with users as (
    select * from {{ ref('int_experiment_users_exposed') }}
),

events as (
    select * from {{ ref('stg_landing__business_events') }}
),

user_sessions as (
    {{ modelmart.experiment_user_sessions('users', 'events') }}
)

select * from user_sessions
