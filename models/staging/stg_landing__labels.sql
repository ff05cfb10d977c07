-- An incremental table, not a view: the latest-label window over the whole label
-- history would otherwise run again in every model that joins labels. A build
-- re-ranks only the targets that newer batches labeled (all their labels, old and new).
{{ config(materialized='incremental', unique_key='target_event_id', incremental_strategy='delete+insert') }}
{%- set watermark = modelmart.built_watermark() %}
{%- set max_batch_seq = env_var('MODELMART_MAX_BATCH_SEQ', '999999999999') %}

with source as (
    select * from {{ source('landing', 'labels') }}
    where
        _batch_seq <= {{ max_batch_seq }}
    {% if is_incremental() %}
            and target_event_id in (
                select newer.target_event_id from {{ source('landing', 'labels') }} as newer
                where
                    newer._batch_seq > {{ watermark }}
                    and newer._batch_seq <= {{ max_batch_seq }}
            )
    {% endif %}
),

ranked as (
    select
        event_id as label_id,
        target_event_id,
        label,
        labeled_at,
        _batch_seq as batch_seq,
        count(*) over (partition by target_event_id) as labels_received,
        max(_batch_seq) over (partition by target_event_id) as source_batch_seq,
        row_number() over (
            partition by target_event_id
            order by labeled_at desc, event_id desc
        ) as label_rank
    from source
),

latest as (
    select
        label_id,
        target_event_id,
        label,
        labeled_at,
        batch_seq,
        labels_received,
        source_batch_seq
    from ranked
    where label_rank = 1
)

select * from latest
