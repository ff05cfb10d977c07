-- An incremental table: the first-call window over every call runs once per
-- build for the sessions that newer batches added calls to (all their calls, old
-- and new: a late call can be the session's earliest), not in every model that
-- attributes business events.
{{ config(materialized='incremental', unique_key='session_id', incremental_strategy='delete+insert') }}
{%- set watermark = modelmart.built_watermark() %}

with calls as (
    select * from {{ ref('stg_landing__llm_calls') }}
    where
        session_id is not null
    {% if is_incremental() %}
            and session_id in (
                select newer.session_id from {{ ref('stg_landing__llm_calls') }} as newer
                where newer.batch_seq > {{ watermark }}
            )
    {% endif %}
),

ranked as (
    select
        session_id,
        provider,
        batch_seq,
        max(batch_seq) over (partition by session_id) as source_batch_seq,
        row_number() over (
            partition by session_id order by created_at, call_id
        ) as call_rank
    from calls
),

first_calls as (
    select
        session_id,
        provider as session_provider,
        batch_seq as attribution_batch_seq,
        source_batch_seq
    from ranked
    where call_rank = 1
)

select * from first_calls
