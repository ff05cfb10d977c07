{#- A one-column relation (offset_days) holding the integers from_day..to_day,
    used to spread a changed date over the rolling window it feeds. -#}
{% macro day_offsets(from_day, to_day) -%}
    {{ return(adapter.dispatch('day_offsets', 'modelmart')(from_day, to_day)) }}
{%- endmacro %}

{% macro default__day_offsets(from_day, to_day) -%}
    {%- for day in range(from_day, to_day + 1) %}
    select {{ day }} as offset_days{% if not loop.last %} union all{% endif %}
    {%- endfor %}
{%- endmacro %}
