with source as (
    select * from {{ source('landing', 'business_events') }}
    where _batch_seq <= {{ env_var('MODELMART_MAX_BATCH_SEQ', '999999999999') }}
),

renamed as (
    select
        event_id as business_event_id,
        occurred_at,
        cast(occurred_at as date) as occurred_date,
        event_type,
        session_id,
        user_id,
        resolved_by,
        resolution_minutes,
        revenue_usd,
        experiment,
        variant,
        event_type = 'ticket' as is_ticket,
        event_type = 'ticket' and resolved_by = 'agent' as is_agent_resolved,
        _batch_seq as batch_seq,
        _loaded_at as loaded_at
    from source
)

select * from renamed
