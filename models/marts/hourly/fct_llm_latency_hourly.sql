-- refs used only in incremental runs:
-- depends_on: {{ ref('stg_landing__llm_calls') }}
{{ config(unique_key='usage_date') }}
{%- set watermark = modelmart.built_watermark() %}
{%- set thresholds_changed = modelmart.latency_thresholds_changed() %}

with calls as (
    select * from {{ ref('stg_landing__llm_calls') }}
),

-- every latency threshold an SLO names (the SLI counts calls at or under it)
thresholds as (
    select distinct threshold as threshold_ms
    from {{ ref('int_slos_validated') }}
    where sli_kind = 'latency'
),

{% if is_incremental() %}
    changed_dates as (
        {{ modelmart.changed_usage_dates(watermark, thresholds_changed) }}
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
        scoped.created_hour as usage_hour,
        scoped.created_date as usage_date,
        scoped.provider,
        scoped.model,
        scoped.team,
        thresholds.threshold_ms,
        cast(count(*) as bigint) as calls,
        cast(sum(case when scoped.response_time_ms <= thresholds.threshold_ms then 1 else 0 end) as bigint)
            as calls_at_or_under,
        max(scoped.batch_seq) as source_batch_seq
    from scoped
    cross join thresholds
    group by scoped.created_hour, scoped.created_date, scoped.provider, scoped.model, scoped.team, thresholds.threshold_ms
),

final as (
    select
        usage_hour,
        usage_date,
        provider,
        model,
        team,
        threshold_ms,
        calls,
        calls_at_or_under,
        source_batch_seq,
        {{ modelmart.latency_thresholds_fingerprint() }} as thresholds_fingerprint
    from aggregated
)

select * from final
