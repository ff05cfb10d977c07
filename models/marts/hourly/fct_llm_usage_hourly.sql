-- refs used only in incremental runs:
-- depends_on: {{ ref('stg_landing__llm_calls') }}
-- depends_on: {{ ref('llm_pricing') }}
{{ config(unique_key='usage_date') }}
{%- set watermark = modelmart.built_watermark() %}
{%- set reprice = modelmart.pricing_changed() %}

with calls as (
    select * from {{ ref('int_llm_calls_priced') }}
),

{% if is_incremental() %}
    new_calls as (
        select * from {{ ref('stg_landing__llm_calls') }}
        {% if not reprice %}where batch_seq > {{ watermark }}{% endif %}
    ),

    -- the same dates as fct_llm_usage_daily re-aggregates, so the two stay equal
    changed_dates as (
        select distinct new_calls.created_date as usage_date from new_calls
        union
        select built.usage_date from {{ this }} as built
        where built.usage_date >= {{ modelmart.add_days(modelmart.built_last_date('usage_date'), -var('lookback_days')) }}
    ),
{% endif %}

scoped as (
    select
        *,
        {{ dbt.date_trunc('hour', 'created_at') }} as created_hour
    from calls
    {% if is_incremental() %}
        where created_date in (select changed_dates.usage_date from changed_dates)
    {% endif %}
),

aggregated as (
    select
        created_hour as usage_hour,
        created_date as usage_date,
        provider,
        model,
        team,
        cast(count(*) as bigint) as calls,
        cast(sum(case when is_error then 1 else 0 end) as bigint) as errors,
        {{ modelmart.percentile_cont('response_time_ms', 0.5) }} as latency_p50_ms,
        {{ modelmart.percentile_cont('response_time_ms', 0.95) }} as latency_p95_ms,
        {{ modelmart.percentile_cont('response_time_ms', 0.99) }} as latency_p99_ms,
        cast(sum(tokens_input) as bigint) as tokens_input,
        cast(sum(tokens_output) as bigint) as tokens_output,
        cast(sum(tokens_cached_input) as bigint) as tokens_cached_input,
        cast(sum(tokens_total) as bigint) as tokens_total,
        sum(cost_usd) as cost_usd,
        cast(sum(case when is_priced then 0 else 1 end) as bigint) as unpriced_calls,
        cast(sum(case when is_priced then 0 else tokens_total end) as bigint) as unpriced_tokens,
        max(created_at) as last_call_at,
        max(batch_seq) as source_batch_seq
    from scoped
    group by created_hour, created_date, provider, model, team
),

final as (
    select
        aggregated.usage_hour,
        aggregated.usage_date,
        aggregated.provider,
        aggregated.model,
        aggregated.team,
        aggregated.calls,
        aggregated.errors,
        {{ modelmart.safe_divide('aggregated.errors', 'aggregated.calls') }} as error_rate,
        aggregated.latency_p50_ms,
        aggregated.latency_p95_ms,
        aggregated.latency_p99_ms,
        aggregated.tokens_input,
        aggregated.tokens_output,
        aggregated.tokens_cached_input,
        aggregated.tokens_total,
        aggregated.cost_usd,
        aggregated.unpriced_calls,
        aggregated.unpriced_tokens,
        aggregated.last_call_at,
        aggregated.source_batch_seq,
        {{ modelmart.pricing_fingerprint() }} as pricing_fingerprint
    from aggregated
)

select * from final
