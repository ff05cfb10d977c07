-- The floor for the benchmark: one hand-written DuckDB script computing the same
-- four marts as the dbt project, straight from the landed Parquet files, with no
-- framework, no tests and no incremental bookkeeping. {landing} and {seeds} are
-- filled in by scripts/bench.py.

create table prices as
select
    provider,
    model,
    cast(effective_from as timestamp) as valid_from,
    lead(cast(effective_from as timestamp)) over (partition by provider, model order by effective_from) as valid_to,
    input_usd_per_mtok as price_in,
    output_usd_per_mtok as price_out,
    coalesce(cached_input_usd_per_mtok, input_usd_per_mtok) as price_cached
from read_csv('{seeds}/llm_pricing.csv', header = true, types = {'cached_input_usd_per_mtok': 'DOUBLE'});

create table labels as
select target_event_id, arg_max(label, (labeled_at, event_id)) as label
from read_parquet('{landing}/labels/*.parquet')
group by target_event_id;

create table calls as
select
    c.event_id,
    c.session_id,
    c.provider,
    c.model,
    c.team,
    c.created_at,
    cast(c.created_at as date) as d,
    c.response_time_ms,
    c.status = 'error' as is_error,
    c.tokens_input,
    c.tokens_output,
    c.tokens_cached_input,
    c.tokens_input + c.tokens_output as tokens_total,
    p.provider is not null as is_priced,
    case when p.provider is not null then
        ((c.tokens_input - c.tokens_cached_input) * p.price_in + c.tokens_cached_input * p.price_cached
         + c.tokens_output * p.price_out) / 1e6
    end as cost,
    coalesce(l.label in ('correct', 'incorrect'), false) as graded,
    coalesce(l.label = 'correct', false) as right_answer
from read_parquet('{landing}/llm_calls/*.parquet') as c
left join prices as p
    on c.provider = p.provider and c.model = p.model and c.created_at >= p.valid_from
    and (p.valid_to is null or c.created_at < p.valid_to)
left join labels as l on l.target_event_id = c.event_id;

create table fct_llm_usage_daily as
select
    d as usage_date, provider, model, team,
    count(*) as calls,
    count(*) filter (where is_error) as errors,
    count(*) filter (where is_error) / count(*) as error_rate,
    quantile_cont(response_time_ms, 0.5) as latency_p50_ms,
    quantile_cont(response_time_ms, 0.95) as latency_p95_ms,
    quantile_cont(response_time_ms, 0.99) as latency_p99_ms,
    sum(tokens_input) as tokens_input,
    sum(tokens_output) as tokens_output,
    sum(tokens_cached_input) as tokens_cached_input,
    sum(tokens_total) as tokens_total,
    sum(cost) as cost_usd,
    count(*) filter (where not is_priced) as unpriced_calls,
    coalesce(sum(tokens_total) filter (where not is_priced), 0) as unpriced_tokens
from calls
group by all;

create table predictions as
select
    cast(p.predicted_at as date) as d,
    p.model_name,
    p.model_version,
    coalesce(p.segment, 'all') as segment,
    p.status = 'error' as is_error,
    p.latency_ms,
    l.label is not null as labeled,
    coalesce(l.label = p.predicted_label, false) as correct
from read_parquet('{landing}/predictions/*.parquet') as p
left join labels as l on l.target_event_id = p.event_id;

create table quality_daily as
select
    d, model_name, model_version,
    count(*) as predictions,
    count(*) filter (where is_error) as errors,
    count(*) filter (where labeled) as labeled,
    count(*) filter (where correct) as correct,
    quantile_cont(latency_ms, 0.95) as latency_p95_ms
from predictions
group by all;

create table fct_model_quality_daily as
select
    a.d as prediction_date, a.model_name, a.model_version, a.predictions, a.errors,
    a.errors / a.predictions as error_rate, a.labeled, a.correct,
    a.correct / nullif(a.labeled, 0) as accuracy,
    a.labeled / a.predictions as label_coverage,
    sum(b.correct) as correct_rolling_7d,
    sum(b.labeled) as labeled_rolling_7d,
    sum(b.correct) / nullif(sum(b.labeled), 0) as accuracy_rolling_7d,
    a.latency_p95_ms
from quality_daily as a
join quality_daily as b
    on a.model_name = b.model_name and a.model_version = b.model_version and b.d between a.d - 6 and a.d
group by all;

create table fct_model_quality_segment_daily as
select
    d as prediction_date, model_name, model_version, segment,
    count(*) as predictions,
    count(*) filter (where labeled) as labeled,
    count(*) filter (where correct) as correct,
    count(*) filter (where correct) / nullif(count(*) filter (where labeled), 0) as accuracy,
    count(*) filter (where labeled) / count(*) as label_coverage
from predictions
group by all;

create table events as
select *, cast(occurred_at as date) as d
from read_parquet('{landing}/business_events/*.parquet');

create table fct_business_daily as
select
    d as business_date,
    count(*) as business_events,
    count(*) filter (where event_type = 'ticket') as tickets,
    count(*) filter (where event_type = 'ticket' and resolved_by = 'agent') as agent_resolved_tickets,
    count(*) filter (where event_type = 'ticket' and resolved_by = 'human') as human_resolved_tickets,
    count(*) filter (where event_type = 'ticket' and resolved_by = 'agent')
    / nullif(count(*) filter (where event_type = 'ticket'), 0) as resolution_rate,
    count(*) filter (where event_type = 'conversion') as conversions,
    count(*) filter (where event_type = 'exposure') as exposures,
    sum(revenue_usd) as revenue_usd
from events
group by all;

create table session_providers as
select session_id, arg_min(provider, (created_at, event_id)) as provider
from calls
where session_id in (select session_id from events)
group by session_id;

create table events_daily as
select
    e.d, coalesce(s.provider, '(none)') as provider,
    count(*) filter (where e.event_type = 'ticket') as tickets,
    count(*) filter (where e.event_type = 'ticket' and e.resolved_by = 'agent') as agent_resolved_tickets,
    sum(e.revenue_usd) as revenue_usd
from events as e
left join session_providers as s on e.session_id = s.session_id
group by all;

create table calls_daily as
select
    d, provider,
    count(*) as llm_calls,
    sum(tokens_total) as tokens_total,
    sum(cost) as cost_usd,
    count(*) filter (where not is_priced) as unpriced_calls,
    quantile_cont(response_time_ms, 0.95) as latency_p95_ms,
    count(*) filter (where graded) as labeled_calls,
    count(*) filter (where graded and right_answer) as correct_calls
from calls
group by all;

create table fct_dashboard_daily as
with keys as (
    select d, provider from calls_daily union select d, provider from events_daily
),

windowed as (
    select k.d, k.provider, sum(w.labeled_calls) as labeled, sum(w.correct_calls) as correct
    from keys as k
    join calls_daily as w on k.provider = w.provider and w.d between k.d - 6 and k.d
    group by all
)

select
    k.d as activity_date, k.provider,
    coalesce(c.llm_calls, 0) as llm_calls,
    coalesce(c.tokens_total, 0) as tokens_total,
    c.cost_usd,
    coalesce(c.unpriced_calls, 0) as unpriced_calls,
    c.latency_p95_ms,
    coalesce(w.labeled, 0) as labeled_calls_rolling_7d,
    coalesce(w.correct, 0) as correct_calls_rolling_7d,
    w.correct / nullif(w.labeled, 0) as accuracy_rolling_7d,
    coalesce(e.tickets, 0) as tickets,
    coalesce(e.agent_resolved_tickets, 0) as agent_resolved_tickets,
    e.agent_resolved_tickets / nullif(e.tickets, 0) as resolution_rate,
    coalesce(e.revenue_usd, 0) as revenue_usd,
    k.provider <> '(none)' as is_ai_provider
from keys as k
left join calls_daily as c on k.d = c.d and k.provider = c.provider
left join windowed as w on k.d = w.d and k.provider = w.provider
left join events_daily as e on k.d = e.d and k.provider = e.provider;
