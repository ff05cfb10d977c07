with source as (
    select * from {{ source('landing', 'llm_calls') }}
    where _batch_seq <= {{ env_var('MODELMART_MAX_BATCH_SEQ', '999999999999') }}
),

renamed as (
    select
        event_id as call_id,
        session_id,
        provider,
        model,
        created_at,
        cast(created_at as date) as created_date,
        response_time_ms,
        tokens_input,
        tokens_output,
        tokens_cached_input,
        tokens_input + tokens_output as tokens_total,
        status,
        status = 'error' as is_error,
        team,
        use_case,
        _batch_seq as batch_seq,
        _loaded_at as loaded_at
    from source
)

select * from renamed
