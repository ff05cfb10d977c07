{#- Facts about the incremental model being built, read once at run time and
    rendered as literals, so the filters they feed prune the landing files
    (each file holds one batch, so `batch_seq > N` skips old files unread). -#}

{#- The newest ingestion batch the model already reflects; -1 on a full build. -#}
{% macro built_watermark(column='source_batch_seq') -%}
    {%- if execute and is_incremental() -%}
        {%- set result = run_query('select coalesce(max(' ~ column ~ '), -1) from ' ~ this) -%}
        {{ return(result.columns[0].values()[0] | int) }}
    {%- endif -%}
    {{ return(-1) }}
{%- endmacro %}

{#- The newest date the model holds, as a SQL date literal (NULL if empty). -#}
{% macro built_last_date(column) -%}
    {%- if execute and is_incremental() -%}
        {%- set result = run_query('select cast(max(' ~ column ~ ') as varchar) from ' ~ this) -%}
        {%- set value = result.columns[0].values()[0] -%}
        {{ return("cast('" ~ value ~ "' as date)" if value else 'cast(null as date)') }}
    {%- endif -%}
    {{ return('cast(null as date)') }}
{%- endmacro %}

{#- True when the fingerprint the model stored in `column` differs from
    `fingerprint` (a scalar subquery over the seed now); true on a full build. -#}
{% macro fingerprint_changed(column, fingerprint) -%}
    {%- if execute and is_incremental() -%}
        {%- set result = run_query(
            'select (select max(' ~ column ~ ') from ' ~ this ~ ') is distinct from '
            ~ fingerprint) -%}
        {{ return(result.columns[0].values()[0]) }}
    {%- endif -%}
    {{ return(true) }}
{%- endmacro %}

{#- True when the llm_pricing seed differs from the one the model was built with. -#}
{% macro pricing_changed() -%}
    {{ return(modelmart.fingerprint_changed('pricing_fingerprint', modelmart.pricing_fingerprint())) }}
{%- endmacro %}

{#- The fingerprint of the llm_pricing seed, as a scalar subquery. -#}
{% macro pricing_fingerprint() -%}
    {{ modelmart.table_fingerprint(ref('llm_pricing'), [
        'provider', 'model', 'effective_from', 'input_usd_per_mtok',
        'output_usd_per_mtok', 'cached_input_usd_per_mtok']) }}
{%- endmacro %}

{#- Prediction dates an incremental quality mart must re-aggregate: dates of
    predictions in newer batches, dates of targets of newer labels (a late label
    changes its target's date), and the last `lookback_days` dates built. -#}
{% macro changed_prediction_dates(watermark) -%}
    select distinct staged.predicted_date as prediction_date
    from {{ ref('stg_landing__predictions') }} as staged
    where
        staged.batch_seq > {{ watermark }}
        or staged.prediction_id in (
            select labels.target_event_id from {{ ref('stg_landing__labels') }} as labels
            where labels.batch_seq > {{ watermark }}
        )
    union
    {{ modelmart.lookback_dates('prediction_date') }}
{%- endmacro %}

{#- In an incremental run, the condition `and <column> in (changed prediction
    dates)` for a WHERE clause; nothing on a full build. For per-day marts without
    a window, whose changed dates are exactly what changed_prediction_dates says. -#}
{% macro and_changed_prediction_date(column) -%}
    {%- if is_incremental() -%}
        and {{ column }} in ({{ modelmart.changed_prediction_dates(modelmart.built_watermark()) }})
    {%- endif -%}
{%- endmacro %}

{#- Usage dates an incremental LLM usage mart must re-aggregate: dates of calls in
    batches newer than the watermark (every date when `everything` is true, e.g. the
    prices changed), and the last `lookback_days` dates already built. Shared by the
    daily and hourly usage marts, so they re-aggregate the same dates. -#}
{% macro changed_usage_dates(watermark, everything=false) -%}
    select distinct new_calls.created_date as usage_date
    from {{ ref('stg_landing__llm_calls') }} as new_calls
    {% if not everything %}where new_calls.batch_seq > {{ watermark }}{% endif %}
    union
    {{ modelmart.lookback_dates('usage_date') }}
{%- endmacro %}

{#- The additive and percentile measures of LLM calls (int_llm_calls_priced) for
    a GROUP BY: the same definitions per day and per hour. -#}
{% macro llm_usage_measures() -%}
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
    max(batch_seq) as source_batch_seq
{%- endmacro %}
