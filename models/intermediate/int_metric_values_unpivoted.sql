{#- Every alertable metric of every mart as (mart, metric, date, series, value):
    one long relation that alert rules are matched against. -#}
{%- set catalog = modelmart.alert_metric_catalog() -%}
{%- set scope_columns = modelmart.alert_scope_columns() -%}

with unpivoted as (
    {%- for mart, entry in catalog | dictsort %}
        {%- for metric in entry['metrics'] %}
            select
                '{{ mart }}' as mart,
                '{{ metric }}' as metric,
                {{ entry['date'] }} as metric_date,
                {%- for column in scope_columns %}
                    {% if column in entry['dimensions'] %}{{ column }}{% else %}cast(null as varchar){% endif %} as {{ column }},
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
