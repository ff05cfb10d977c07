{{ config(unique_key='business_date') }}
{%- set watermark = modelmart.built_watermark() %}

with events as (
    select * from {{ ref('stg_landing__business_events') }}
),

{% if is_incremental() %}
    changed_dates as (
        select distinct events.occurred_date as business_date
        from events
        where events.batch_seq > {{ watermark }}
        union
        {{ modelmart.lookback_dates('business_date') }}
    ),
{% endif %}

scoped as (
    select * from events
    {% if is_incremental() %}
        where occurred_date in (select changed_dates.business_date from changed_dates)
    {% endif %}
),

aggregated as (
    select
        occurred_date as business_date,
        cast(count(*) as bigint) as business_events,
        cast(sum(case when is_ticket then 1 else 0 end) as bigint) as tickets,
        cast(sum(case when is_agent_resolved then 1 else 0 end) as bigint) as agent_resolved_tickets,
        cast(sum(case when is_ticket and resolved_by = 'human' then 1 else 0 end) as bigint) as human_resolved_tickets,
        cast(sum(case when event_type = 'conversion' then 1 else 0 end) as bigint) as conversions,
        cast(sum(case when event_type = 'exposure' then 1 else 0 end) as bigint) as exposures,
        sum(revenue_usd) as revenue_usd,
        max(batch_seq) as source_batch_seq
    from scoped
    group by occurred_date
),

final as (
    select
        business_date,
        business_events,
        tickets,
        agent_resolved_tickets,
        human_resolved_tickets,
        {{ modelmart.safe_divide('agent_resolved_tickets', 'tickets') }} as resolution_rate,
        conversions,
        exposures,
        revenue_usd,
        source_batch_seq
    from aggregated
)

select * from final
