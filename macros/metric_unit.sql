{#- The unit of an alertable metric, from the project's naming conventions
    (STYLE: _ms on durations, _usd on money; rates, shares, accuracy and coverage
    are fractions of 1): 'ms', 'usd', 'share' or 'count'. The app formats values
    and thresholds with it (1,114 ms; 4.2 %; $12.30). -#}
{% macro metric_unit(metric) -%}
    {{ return(adapter.dispatch('metric_unit', 'modelmart')(metric)) }}
{%- endmacro %}

{% macro default__metric_unit(metric) -%}
    case
        when {{ metric }} like '%\_ms' escape '\' then 'ms'
        when {{ metric }} like '%\_usd' escape '\' then 'usd'
        when
            {{ metric }} like '%\_rate' escape '\'
            or {{ metric }} like '%\_share' escape '\'
            or {{ metric }} like 'accuracy%'
            or {{ metric }} like '%coverage'
            then 'share'
        else 'count'
    end
{%- endmacro %}
