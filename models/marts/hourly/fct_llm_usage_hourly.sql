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
    -- dates touched by new batches (every date when prices changed) and the lookback
    changed_dates as (
        {{ modelmart.changed_usage_dates(watermark, reprice) }}
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
        max(created_at) as last_call_at,
        {{ modelmart.llm_usage_measures() }}
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
