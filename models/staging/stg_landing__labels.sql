with source as (
    select * from {{ source('landing', 'labels') }}
    where _batch_seq <= {{ env_var('MODELMART_MAX_BATCH_SEQ', '999999999999') }}
),

ranked as (
    select
        event_id as label_id,
        target_event_id,
        label,
        labeled_at,
        _batch_seq as batch_seq,
        count(*) over (partition by target_event_id) as labels_received,
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
        labels_received
    from ranked
    where label_rank = 1
)

select * from latest
