{#- Every alertable metric of every mart as (mart, metric, date, series, value):
    one long relation that alert rules are matched against. The marts and their
    metrics come from the mart catalog in the marts' YAML (meta.mart_catalog), read
    from dbt's graph when the model runs; dbt records refs while parsing, when the
    graph is still empty, so each mart with alertable metrics is named once below
    (a mart missing here fails the build with dbt's message naming it). -#}
-- depends_on: {{ ref('fct_business_daily') }}
-- depends_on: {{ ref('fct_dashboard_daily') }}
-- depends_on: {{ ref('fct_drift_status_daily') }}
-- depends_on: {{ ref('fct_feature_quality_status_daily') }}
-- depends_on: {{ ref('fct_llm_usage_daily') }}
-- depends_on: {{ ref('fct_model_quality_daily') }}
{%- set catalog = modelmart.alert_metric_catalog() %}
{%- set scope_columns = modelmart.alert_scope_columns() %}

with unpivoted as (
    {%- for mart, entry in catalog | dictsort %}
        {%- for metric in entry['metrics'] %}
            select
                '{{ mart }}' as mart,
                '{{ metric }}' as metric,
                {{ entry['date'] }} as metric_date,
                {%- for column in scope_columns %}
                    {% if column in entry['dimensions'] %}{{ entry['dimensions'][column] }}{% else %}cast(null as varchar){% endif %} as {{ column }},
                {%- endfor %}
                cast({{ metric }} as double precision) as metric_value
            from {{ ref(mart) }}
            {%- if not loop.last %}
                union all
            {%- endif %}
        {%- endfor %}
    {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
)

select * from unpivoted
