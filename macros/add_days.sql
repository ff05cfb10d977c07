{#- A date moved by a whole number of days, still a date. -#}
{% macro add_days(date_expression, days) -%}
    {{ return(adapter.dispatch('add_days', 'modelmart')(date_expression, days)) }}
{%- endmacro %}

{% macro default__add_days(date_expression, days) -%}
    cast({{ dbt.dateadd('day', days, date_expression) }} as date)
{%- endmacro %}

{% macro duckdb__add_days(date_expression, days) -%}
    cast({{ date_expression }} + cast({{ days }} as integer) as date)
{%- endmacro %}
