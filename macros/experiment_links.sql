{#- How a user's business events are found, shared by the views that do it for every
    exposed user and the incremental models that redo it for the users newer batches
    touched. Arguments are relation or CTE names. -#}

{#- One row per experiment × user × session: the sessions named on any business
    event that carries the user's user_id (at any time). -#}
{% macro experiment_user_sessions(users, events) -%}
    select distinct
        {{ users }}.experiment,
        {{ users }}.user_id,
        {{ events }}.session_id
    from {{ users }}
    inner join {{ events }} on {{ users }}.user_id = {{ events }}.user_id
    where {{ events }}.session_id is not null
{%- endmacro %}

{#- One row per experiment × user × business event of the user (it carries the
    user's user_id, or its session is one of the user's sessions) in
    [pre_window_start_at, window_end_at); is_in_window from exposed_at on. -#}
{% macro experiment_events_linked(users, user_sessions, events) -%}
    with by_user as (
        select
            {{ users }}.experiment,
            {{ users }}.user_id,
            {{ events }}.business_event_id
        from {{ users }}
        inner join {{ events }} on {{ users }}.user_id = {{ events }}.user_id
    ),

    by_session as (
        select
            {{ user_sessions }}.experiment,
            {{ user_sessions }}.user_id,
            {{ events }}.business_event_id
        from {{ user_sessions }}
        inner join {{ events }} on {{ user_sessions }}.session_id = {{ events }}.session_id
    ),

    linked_ids as (
        select * from by_user
        union
        select * from by_session
    )

    select
        {{ users }}.experiment,
        {{ users }}.user_id,
        {{ users }}.variant,
        {{ users }}.is_multiple_exposure,
        {{ events }}.business_event_id,
        {{ events }}.event_type,
        {{ events }}.occurred_at,
        {{ events }}.occurred_date,
        {{ events }}.revenue_usd,
        {{ events }}.is_ticket,
        {{ events }}.is_agent_resolved,
        {{ events }}.batch_seq,
        {{ events }}.occurred_at >= {{ users }}.exposed_at as is_in_window
    from linked_ids
    inner join {{ users }}
        on linked_ids.experiment = {{ users }}.experiment and linked_ids.user_id = {{ users }}.user_id
    inner join {{ events }} on linked_ids.business_event_id = {{ events }}.business_event_id
    where
        {{ events }}.occurred_at >= {{ users }}.pre_window_start_at
        and {{ events }}.occurred_at < {{ users }}.window_end_at
{%- endmacro %}

{#- The sums of int_experiment_user_days' columns over its rows, at the caller's
    grain (experiment × user × date in the model itself, experiment × user in
    int_experiment_user_metrics): one list, so a new column is summed alike in both. -#}
{% macro experiment_day_totals() -%}
    sum(conversions) as conversions,
    min(first_conversion_at) as first_conversion_at,
    sum(revenue_usd) as revenue_usd,
    sum(pre_exposure_revenue_usd) as pre_exposure_revenue_usd,
    sum(tickets) as tickets,
    sum(agent_resolved_tickets) as agent_resolved_tickets,
    max(events_batch_seq) as events_batch_seq
{%- endmacro %}

{#- The user_ids whose experiment numbers batches newer than `watermark` can change:
    those named on a newer business event (an exposure, an outcome, a new session
    link), and those with a session (named on any of their events) that a newer
    business event or LLM call belongs to. The caller restricts them to exposed users. -#}
{% macro experiment_touched_user_ids(watermark) -%}
    select newer.user_id
    from {{ ref('stg_landing__business_events') }} as newer
    where newer.batch_seq > {{ watermark }} and newer.user_id is not null
    union
    select named.user_id
    from {{ ref('stg_landing__business_events') }} as named
    inner join (
        select newer.session_id
        from {{ ref('stg_landing__business_events') }} as newer
        where newer.batch_seq > {{ watermark }} and newer.session_id is not null
        union
        select new_calls.session_id
        from {{ ref('stg_landing__llm_calls') }} as new_calls
        where new_calls.batch_seq > {{ watermark }} and new_calls.session_id is not null
    ) as new_sessions on named.session_id = new_sessions.session_id
    where named.user_id is not null
{%- endmacro %}

{#- True when the experiments seed differs from the one the model was built with
    (its column experiments_fingerprint): dates and windows moved, recompute all. -#}
{% macro experiments_changed() -%}
    {{ return(modelmart.fingerprint_changed(
        'experiments_fingerprint', modelmart.experiments_fingerprint())) }}
{%- endmacro %}

{#- A pre-hook for the incremental experiment models: when `changed` (the
    experiments seed or the prices moved), empty the table first, so the build that
    recomputes every user also drops the rows no user has any more. -#}
{% macro delete_all_when(changed) -%}
    {%- if changed and is_incremental() -%}
        delete from {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- The newest batch of business events or LLM calls the build sees: what the
    incremental experiment models store as their next watermark. -#}
{% macro experiments_newest_batch_seq() -%}
    greatest(
        (
            select coalesce(max(staged_events.batch_seq), -1)
            from {{ ref('stg_landing__business_events') }} as staged_events
        ),
        (
            select coalesce(max(staged_calls.batch_seq), -1)
            from {{ ref('stg_landing__llm_calls') }} as staged_calls
        )
    )
{%- endmacro %}
