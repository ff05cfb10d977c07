-- refs used only in incremental runs:
-- depends_on: {{ ref('stg_landing__llm_calls') }}
-- depends_on: {{ ref('stg_landing__business_events') }}
-- depends_on: {{ ref('stg_landing__labels') }}
-- depends_on: {{ ref('llm_pricing') }}
{{ config(unique_key='activity_date') }}
{%- set watermark = modelmart.built_watermark() %}
{%- set reprice = modelmart.pricing_changed() %}

with calls as (
    select * from {{ ref('int_llm_calls_labeled') }}
),

events as (
    select * from {{ ref('int_business_events_attributed') }}
),

{% if is_incremental() %}
    staged_calls as (
        select * from {{ ref('stg_landing__llm_calls') }}
    ),

    staged_events as (
        select * from {{ ref('stg_landing__business_events') }}
    ),

    new_calls as (
        select * from staged_calls
        {% if not reprice %}where staged_calls.batch_seq > {{ watermark }}{% endif %}
    ),

    new_labels as (
        select labels.target_event_id from {{ ref('stg_landing__labels') }} as labels
        where labels.batch_seq > {{ watermark }}
    ),

    last_built as (
        {{ modelmart.lookback_dates('activity_date') }}
    ),

    -- new calls, new grades of calls (on the call's date), prices, lookback
    call_changes as (
        select new_calls.created_date as changed_date from new_calls
        union
        select staged_calls.created_date from staged_calls
        where staged_calls.call_id in (select new_labels.target_event_id from new_labels)
        union
        select last_built.activity_date from last_built
    ),

    -- new events, and events whose session got a new call (its provider may change)
    event_changes as (
        select staged_events.occurred_date as changed_date from staged_events
        where
            staged_events.batch_seq > {{ watermark }}
            or staged_events.session_id in (select new_calls.session_id from new_calls)
        union
        select last_built.activity_date from last_built
    ),

    -- a call date also feeds the 7-day accuracy of the six dates after it
    write_dates as (
        {{ modelmart.window_write_dates('call_changes', 'changed_date', 'activity_date') }}
        union
        select event_changes.changed_date from event_changes
    ),

    read_dates as (
        {{ modelmart.window_read_dates('write_dates', 'activity_date', 'activity_date') }}
    ),
{% endif %}

calls_scoped as (
    select * from calls
    {% if is_incremental() %}
        where created_date in (select read_dates.activity_date from read_dates)
    {% endif %}
),

events_scoped as (
    select * from events
    {% if is_incremental() %}
        where occurred_date in (select write_dates.activity_date from write_dates)
    {% endif %}
),

calls_daily as (
    select
        created_date as activity_date,
        provider,
        cast(count(*) as bigint) as llm_calls,
        cast(sum(tokens_total) as bigint) as tokens_total,
        sum(cost_usd) as cost_usd,
        cast(sum(case when is_priced then 0 else 1 end) as bigint) as unpriced_calls,
        {{ modelmart.percentile_cont('response_time_ms', 0.95) }} as latency_p95_ms,
        cast(sum(case when is_labeled then 1 else 0 end) as bigint) as labeled_calls,
        cast(sum(case when is_correct then 1 else 0 end) as bigint) as correct_calls,
        max(case when label_batch_seq > batch_seq then label_batch_seq else batch_seq end) as source_batch_seq
    from calls_scoped
    group by created_date, provider
),

events_daily as (
    select
        occurred_date as activity_date,
        provider,
        cast(sum(case when is_ticket then 1 else 0 end) as bigint) as tickets,
        cast(sum(case when is_agent_resolved then 1 else 0 end) as bigint) as agent_resolved_tickets,
        sum(revenue_usd) as revenue_usd,
        max(case when attribution_batch_seq > batch_seq then attribution_batch_seq else batch_seq end)
            as source_batch_seq
    from events_scoped
    group by occurred_date, provider
),

-- one row per (date, provider) with a call or an attributed business event
row_keys as (
    select
        activity_date,
        provider
    from calls_daily
    {% if is_incremental() %}
        where activity_date in (select write_dates.activity_date from write_dates)
    {% endif %}
    union
    select
        activity_date,
        provider
    from events_daily
),

-- calendar-day window d-6..d over the provider's labeled calls, also for
-- dates on which the provider only has business events
calls_rolling as (
    select
        row_keys.activity_date,
        row_keys.provider,
        cast(sum(window_day.labeled_calls) as bigint) as labeled_calls_rolling_7d,
        cast(sum(window_day.correct_calls) as bigint) as correct_calls_rolling_7d
    from row_keys
    inner join calls_daily as window_day
        on
            row_keys.provider = window_day.provider
            and window_day.activity_date
            between {{ modelmart.add_days('row_keys.activity_date', -6) }} and row_keys.activity_date
    group by row_keys.activity_date, row_keys.provider
),

blended as (
    select
        row_keys.activity_date,
        row_keys.provider,
        coalesce(calls_daily.llm_calls, 0) as llm_calls,
        coalesce(calls_daily.tokens_total, 0) as tokens_total,
        calls_daily.cost_usd,
        coalesce(calls_daily.unpriced_calls, 0) as unpriced_calls,
        calls_daily.latency_p95_ms,
        coalesce(calls_rolling.labeled_calls_rolling_7d, 0) as labeled_calls_rolling_7d,
        coalesce(calls_rolling.correct_calls_rolling_7d, 0) as correct_calls_rolling_7d,
        coalesce(events_daily.tickets, 0) as tickets,
        coalesce(events_daily.agent_resolved_tickets, 0) as agent_resolved_tickets,
        coalesce(events_daily.revenue_usd, 0) as revenue_usd,
        case
            when calls_daily.source_batch_seq > events_daily.source_batch_seq then calls_daily.source_batch_seq
            else coalesce(events_daily.source_batch_seq, calls_daily.source_batch_seq)
        end as source_batch_seq
    from row_keys
    left join calls_daily
        on row_keys.activity_date = calls_daily.activity_date and row_keys.provider = calls_daily.provider
    left join calls_rolling
        on row_keys.activity_date = calls_rolling.activity_date and row_keys.provider = calls_rolling.provider
    left join events_daily
        on row_keys.activity_date = events_daily.activity_date and row_keys.provider = events_daily.provider
),

final as (
    select
        blended.activity_date,
        blended.provider,
        blended.llm_calls,
        blended.tokens_total,
        blended.cost_usd,
        blended.unpriced_calls,
        blended.latency_p95_ms,
        blended.labeled_calls_rolling_7d,
        blended.correct_calls_rolling_7d,
        {{ modelmart.safe_divide('blended.correct_calls_rolling_7d', 'blended.labeled_calls_rolling_7d') }}
            as accuracy_rolling_7d,
        blended.tickets,
        blended.agent_resolved_tickets,
        {{ modelmart.safe_divide('blended.agent_resolved_tickets', 'blended.tickets') }} as resolution_rate,
        blended.revenue_usd,
        blended.provider <> '(none)' as is_ai_provider,
        -- cost per resolved ticket counts only AI provider-days whose calls are all
        -- priced: an unpriced call has an unknown cost, so its day's tickets would
        -- make the ratio look cheaper; they are counted apart
        blended.provider <> '(none)' and blended.unpriced_calls = 0 as is_fully_priced,
        case
            when blended.provider <> '(none)' and blended.unpriced_calls = 0 then blended.cost_usd
        end as fully_priced_cost_usd,
        case
            when blended.provider <> '(none)' and blended.unpriced_calls = 0
                then blended.agent_resolved_tickets
            else 0
        end as fully_priced_resolved_tickets,
        case
            when blended.provider <> '(none)' and blended.unpriced_calls > 0
                then blended.agent_resolved_tickets
            else 0
        end as unpriced_resolved_tickets,
        blended.source_batch_seq,
        {{ modelmart.pricing_fingerprint() }} as pricing_fingerprint
    from blended
)

select * from final
