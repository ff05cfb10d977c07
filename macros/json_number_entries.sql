{#- Rows (key, value) of a JSON object column of name → number; non-numeric
    values become NULL. Used in a FROM/SELECT list as `unnest(...) as entry`,
    then entry.key / entry.value. -#}
{% macro json_number_entries(column) -%}
    {{ return(adapter.dispatch('json_number_entries', 'modelmart')(column)) }}
{%- endmacro %}

{% macro duckdb__json_number_entries(column) -%}
    unnest(map_entries(json_transform({{ column }}, '"MAP(VARCHAR, DOUBLE)"')))
{%- endmacro %}

{% macro default__json_number_entries(column) -%}
    {{ exceptions.raise_compiler_error("json_number_entries: no implementation for " ~ target.type) }}
{%- endmacro %}
