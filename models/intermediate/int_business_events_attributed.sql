with events as (
    select * from {{ ref('stg_landing__business_events') }}
),

session_providers as (
    select * from {{ ref('int_session_providers') }}
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
