with calls as (
    select * from {{ ref('int_llm_calls_priced') }}
),

labels as (
    select * from {{ ref('stg_landing__labels') }}
),

joined as (
    select
        calls.*,
        labels.label,
        labels.batch_seq as label_batch_seq,
        -- a grade other than correct/incorrect is not a grade of an LLM call
        coalesce(labels.label in ('correct', 'incorrect'), false) as is_labeled,
        coalesce(labels.label = 'correct', false) as is_correct
    from calls
    left join labels on calls.call_id = labels.target_event_id
)

select * from joined
