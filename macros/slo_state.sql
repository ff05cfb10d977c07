{#- Incremental bookkeeping of fct_llm_latency_hourly: a digest of the
    slos seed's kinds and thresholds; an edit recomputes every date. -#}
{% macro latency_thresholds_fingerprint() -%}
    {{ modelmart.table_fingerprint(ref('slos'), ['slo_id', 'sli_kind', 'threshold']) }}
{%- endmacro %}

{% macro latency_thresholds_changed() -%}
    {{ return(modelmart.fingerprint_changed(
        'thresholds_fingerprint', modelmart.latency_thresholds_fingerprint())) }}
{%- endmacro %}

{#- The multi-window, multi-burn-rate alert conditions (SRE workbook, ch. 5),
    declared once in dbt_project.yml (var slo_burn_alerts) and read by
    fct_slo_alerts and by `modelmart export prometheus-rules`. -#}
{% macro slo_burn_alerts() -%}
    {{ return(var('slo_burn_alerts')) }}
{%- endmacro %}

{#- The column suffix of a burn-rate window given in hours (fct_slo_status has
    1h, 2h, 6h, 1d and 3d); any other window fails the build by name. -#}
{% macro burn_window_name(hours) -%}
    {%- set names = {1: '1h', 2: '2h', 6: '6h', 24: '1d', 72: '3d'} -%}
    {%- if hours not in names -%}
        {%- do exceptions.raise_compiler_error('var slo_burn_alerts: window of ' ~ hours ~ ' h is not one of fct_slo_status burn-rate windows (1, 2, 6, 24, 72 h)') -%}
    {%- endif -%}
    {{ return(names[hours]) }}
{%- endmacro %}

{#- SQL condition: some slo_burn_alerts entry of this action burns over both
    its long and its short window (NULL, i.e. no events, never alerts). -#}
{% macro burn_alert_condition(action) -%}
    (
    {%- for entry in modelmart.slo_burn_alerts() if entry['action'] == action %}
        {% if not loop.first %}or {% endif -%}
        (coalesce(burn_rate_{{ modelmart.burn_window_name(entry['long_hours']) }} > {{ entry['factor'] }}, false)
         and coalesce(burn_rate_{{ modelmart.burn_window_name(entry['short_hours']) }} > {{ entry['factor'] }}, false))
    {%- endfor %}
    )
{%- endmacro %}

{#- A one-column relation (date_hour) of every hour from start to end inclusive
    (two SQL timestamp expressions, scalar subqueries allowed; nothing when either
    is NULL). DuckDB generates it in the query; the default uses dbt's date_spine,
    which counts the hours with a query of its own at run time. -#}
{% macro hour_spine(start_expression, end_expression) -%}
    {{ return(adapter.dispatch('hour_spine', 'modelmart')(start_expression, end_expression)) }}
{%- endmacro %}

{% macro default__hour_spine(start_expression, end_expression) -%}
    select spine.date_hour from (
        {{ dbt.date_spine('hour', start_expression, dbt.dateadd('hour', 1, end_expression)) }}
    ) as spine
{%- endmacro %}

{% macro duckdb__hour_spine(start_expression, end_expression) -%}
    select unnest(generate_series({{ start_expression }}, {{ end_expression }}, interval 1 hour)) as date_hour
{%- endmacro %}
