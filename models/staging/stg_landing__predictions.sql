with source as (
    select * from {{ source('landing', 'predictions') }}
    where _batch_seq <= {{ env_var('MODELMART_MAX_BATCH_SEQ', '999999999999') }}
),

renamed as (
    select
        event_id as prediction_id,
        model_name,
        model_version,
        predicted_at,
        cast(predicted_at as date) as predicted_date,
        predicted_label,
        score,
        latency_ms,
        status,
        status = 'error' as is_error,
        segment,
        session_id,
        features,
        _batch_seq as batch_seq,
        _loaded_at as loaded_at
    from source
)

select * from renamed
