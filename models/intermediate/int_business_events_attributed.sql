with events as (
    select * from {{ ref('stg_landing__business_events') }}
),

calls as (
    select * from {{ ref('stg_landing__llm_calls') }}
),

-- only sessions that business events point at need a provider
session_calls as (
    select
        session_id,
        provider,
        batch_seq,
        row_number() over (
            partition by session_id order by created_at, call_id
        ) as call_rank
    from calls
    where session_id in (
        select events.session_id from events
        where events.session_id is not null
    )
),

session_providers as (
    select
        session_id,
        provider as session_provider,
        batch_seq as attribution_batch_seq
    from session_calls
    where call_rank = 1
),

attributed as (
    select
        events.*,
        coalesce(session_providers.session_provider, '(none)') as provider,
        session_providers.attribution_batch_seq
    from events
    left join session_providers on events.session_id = session_providers.session_id
)

select * from attributed
