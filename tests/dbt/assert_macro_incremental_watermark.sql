-- the watermark of a built incremental mart is the newest batch it reflects
with expected as (
    select coalesce(max(source_batch_seq), -1) as seq from {{ ref('fct_llm_usage_daily') }}
)

select * from expected
where seq <> {{ modelmart.incremental_watermark('source_batch_seq', ref('fct_llm_usage_daily')) }}
