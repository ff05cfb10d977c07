with slos as (
    select * from {{ ref('int_slos_validated') }}
),

llm_hours as (
    select * from {{ ref('fct_llm_usage_hourly') }}
),

latency_hours as (
    select * from {{ ref('fct_llm_latency_hourly') }}
),

quality_hours as (
    select * from {{ ref('fct_model_quality_hourly') }}
),

labeled_predictions as (
    select * from {{ ref('int_predictions_labeled') }}
),

reference_windows as (
    select * from {{ ref('int_drift_reference_windows') }}
),

-- every UTC hour from the first to the last hour with LLM calls or predictions
hour_spine as (
    {{ modelmart.hour_spine(
        "(select min(first_hour) from (select min(usage_hour) as first_hour from " ~ ref('fct_llm_usage_hourly') ~ " union all select min(prediction_hour) as first_hour from " ~ ref('fct_model_quality_hourly') ~ ") as firsts)",
        "(select max(last_hour) from (select max(usage_hour) as last_hour from " ~ ref('fct_llm_usage_hourly') ~ " union all select max(prediction_hour) as last_hour from " ~ ref('fct_model_quality_hourly') ~ ") as lasts)"
    ) }}
),

-- an SLO's hours run from the first to the last hour of the stream it reads
-- (the whole stream, not its scope: a scope without events in an hour has no data)
stream_ranges as (
    select
        'llm_calls' as source_stream,
        min(usage_hour) as first_hour,
        max(usage_hour) as last_hour
    from llm_hours
    union all
    select
        'predictions' as source_stream,
        min(prediction_hour) as first_hour,
        max(prediction_hour) as last_hour
    from quality_hours
),

slo_sources as (
    select
        *,
        case
            when sli_kind in ('availability', 'latency') then 'llm_calls'
            when sli_kind = 'accuracy' then 'predictions'
            else stream
        end as source_stream
    from slos
),

-- accuracy relative to a baseline: the pooled accuracy of the scope's labeled
-- predictions on their version's reference-window dates
baselines as (
    select
        slo_sources.slo_id,
        {{ modelmart.safe_divide(
            'sum(case when labeled_predictions.is_correct then 1 else 0 end)',
            'sum(case when labeled_predictions.is_labeled then 1 else 0 end)') }} as baseline_accuracy
    from slo_sources
    inner join labeled_predictions
        on
            slo_sources.scope_model_name = labeled_predictions.model_name
            and (slo_sources.scope_model_version is null or slo_sources.scope_model_version = labeled_predictions.model_version)
    inner join reference_windows
        on
            labeled_predictions.model_name = reference_windows.model_name
            and labeled_predictions.model_version = reference_windows.model_version
            and labeled_predictions.predicted_date between reference_windows.reference_start and reference_windows.reference_end
    where slo_sources.sli_kind = 'accuracy' and slo_sources.objective is null
    group by slo_sources.slo_id
),

objectives as (
    select
        slo_sources.*,
        baselines.baseline_accuracy,
        coalesce(slo_sources.objective, baselines.baseline_accuracy * (1 - slo_sources.threshold)) as resolved_objective
    from slo_sources
    left join baselines on slo_sources.slo_id = baselines.slo_id
),

slo_hours as (
    select
        objectives.slo_id,
        hour_spine.date_hour as status_hour
    from objectives
    inner join stream_ranges on objectives.source_stream = stream_ranges.source_stream
    inner join hour_spine on hour_spine.date_hour between stream_ranges.first_hour and stream_ranges.last_hour
),

availability_counts as (
    select
        slos.slo_id,
        llm_hours.usage_hour as status_hour,
        sum(llm_hours.calls - llm_hours.errors) as good,
        sum(llm_hours.calls) as total
    from slos
    inner join llm_hours
        on
            (slos.scope_provider is null or slos.scope_provider = llm_hours.provider)
            and (slos.scope_model is null or slos.scope_model = llm_hours.model)
            and (slos.scope_team is null or slos.scope_team = llm_hours.team)
    where slos.sli_kind = 'availability'
    group by slos.slo_id, llm_hours.usage_hour
),

latency_counts as (
    select
        slos.slo_id,
        latency_hours.usage_hour as status_hour,
        sum(latency_hours.calls_at_or_under) as good,
        sum(latency_hours.calls) as total
    from slos
    inner join latency_hours
        on
            slos.threshold = latency_hours.threshold_ms
            and (slos.scope_provider is null or slos.scope_provider = latency_hours.provider)
            and (slos.scope_model is null or slos.scope_model = latency_hours.model)
            and (slos.scope_team is null or slos.scope_team = latency_hours.team)
    where slos.sli_kind = 'latency'
    group by slos.slo_id, latency_hours.usage_hour
),

accuracy_counts as (
    select
        slos.slo_id,
        quality_hours.prediction_hour as status_hour,
        sum(quality_hours.correct) as good,
        sum(quality_hours.labeled) as total
    from slos
    inner join quality_hours
        on
            (slos.scope_model_name is null or slos.scope_model_name = quality_hours.model_name)
            and (slos.scope_model_version is null or slos.scope_model_version = quality_hours.model_version)
    where slos.sli_kind = 'accuracy'
    group by slos.slo_id, quality_hours.prediction_hour
),

stream_last_events as (
    select
        'llm_calls' as stream,
        usage_hour as event_hour,
        max(last_call_at) as last_event_at
    from llm_hours
    group by usage_hour
    union all
    select
        'predictions' as stream,
        prediction_hour as event_hour,
        max(last_predicted_at) as last_event_at
    from quality_hours
    group by prediction_hour
),

-- the newest event of the stream at the end of each hour
freshness_hours as (
    select
        slo_hours.slo_id,
        slo_hours.status_hour,
        slos.threshold,
        max(stream_last_events.last_event_at) over (
            partition by slo_hours.slo_id order by slo_hours.status_hour
            rows between unbounded preceding and current row
        ) as newest_event_at
    from slo_hours
    inner join slos on slo_hours.slo_id = slos.slo_id
    left join stream_last_events
        on
            slos.stream = stream_last_events.stream
            and slo_hours.status_hour = stream_last_events.event_hour
    where slos.sli_kind = 'freshness'
),

-- good: at the hour's end the newest event is at most `threshold` minutes old
freshness_counts as (
    select
        slo_id,
        status_hour,
        case
            when newest_event_at >= {{ dbt.dateadd('minute', '-threshold', dbt.dateadd('hour', 1, 'status_hour')) }}
                then 1
            else 0
        end as good,
        1 as total
    from freshness_hours
),

counts as (
    select * from availability_counts
    union all
    select * from latency_counts
    union all
    select * from accuracy_counts
    union all
    select * from freshness_counts
),

-- dense hours: an hour without events has total 0 (no data), never 100 % good
hourly as (
    select
        slo_hours.slo_id,
        slo_hours.status_hour,
        cast(coalesce(counts.good, 0) as bigint) as good,
        cast(coalesce(counts.total, 0) as bigint) as total
    from slo_hours
    left join counts
        on
            slo_hours.slo_id = counts.slo_id
            and slo_hours.status_hour = counts.status_hour
),

-- rows are consecutive hours, so a frame of n rows is a window of n hours
windowed as (
    select
        slo_id,
        status_hour,
        good,
        total,
        row_number() over (partition by slo_id order by status_hour) as hour_index,
        sum(good) over (partition by slo_id order by status_hour rows between unbounded preceding and current row) as good_cumulative,
        sum(total) over (partition by slo_id order by status_hour rows between unbounded preceding and current row) as total_cumulative,
        {%- for hours, name in [(2, '2h'), (6, '6h'), (24, '1d'), (72, '3d')] %}
            sum(total - good) over (partition by slo_id order by status_hour rows between {{ hours - 1 }} preceding and current row) as bad_{{ name }},
            sum(total) over (partition by slo_id order by status_hour rows between {{ hours - 1 }} preceding and current row) as total_{{ name }},
        {%- endfor %}
        max(status_hour) over (partition by slo_id) as last_hour
    from hourly
),

periods as (
    select
        windowed.*,
        objectives.description,
        objectives.sli_kind,
        objectives.threshold,
        objectives.stream,
        objectives.period_days,
        objectives.baseline_accuracy,
        objectives.resolved_objective as objective,
        1 - objectives.resolved_objective as error_budget,
        objectives.scope_provider,
        objectives.scope_model,
        objectives.scope_team,
        objectives.scope_model_name,
        objectives.scope_model_version,
        windowed.good_cumulative - coalesce(period_start.good_cumulative, 0) as good_period,
        windowed.total_cumulative - coalesce(period_start.total_cumulative, 0) as total_period
    from windowed
    inner join objectives on windowed.slo_id = objectives.slo_id
    left join windowed as period_start
        on
            windowed.slo_id = period_start.slo_id
            and period_start.hour_index = windowed.hour_index - objectives.period_days * 24
),

rates as (
    select
        *,
        {{ modelmart.safe_divide('good', 'total') }} as sli,
        {{ modelmart.safe_divide('total - good', 'total') }} / error_budget as burn_rate_1h,
        {%- for name in ['2h', '6h', '1d', '3d'] %}
            {{ modelmart.safe_divide('bad_' ~ name, 'total_' ~ name) }} / error_budget as burn_rate_{{ name }},
        {%- endfor %}
        {{ modelmart.safe_divide('total_period - good_period', 'total_period') }} / error_budget as burn_rate_period
    from periods
),

final as (
    select
        slo_id,
        description,
        sli_kind,
        objective,
        error_budget,
        threshold,
        stream,
        period_days,
        baseline_accuracy,
        scope_provider as provider,
        scope_model as model,
        scope_team as team,
        scope_model_name as model_name,
        scope_model_version as model_version,
        status_hour,
        cast(status_hour as date) as status_date,
        good,
        total,
        sli,
        cast(good_period as bigint) as good_period,
        cast(total_period as bigint) as total_period,
        burn_rate_period as budget_consumed,
        1 - burn_rate_period as budget_remaining,
        burn_rate_1h,
        burn_rate_2h,
        burn_rate_6h,
        burn_rate_1d,
        burn_rate_3d,
        burn_rate_period,
        {{ modelmart.burn_alert_condition('page') }} as is_page,
        {{ modelmart.burn_alert_condition('ticket') }} as is_ticket,
        case
            when error_budget is null or total_period = 0 then 'no_data'
            when burn_rate_period >= 1 then 'exhausted'
            when 1 - burn_rate_period < 0.2 then 'warning'
            else 'ok'
        end as budget_state,
        status_hour = last_hour as is_latest
    from rates
)

select * from final
