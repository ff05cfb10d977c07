{#- The key the app filters model versions by, 'model_name/model_version' (the
    form the version filter and the URL use): one column in every version-grain
    mart instead of a concatenation written in each query. -#}
{% macro model_version_key(name_column, version_column) -%}
    {{ return(adapter.dispatch('model_version_key', 'modelmart')(name_column, version_column)) }}
{%- endmacro %}

{% macro default__model_version_key(name_column, version_column) -%}
    {{ name_column }} || '/' || {{ version_column }}
{%- endmacro %}

{#- Spark's || is an alias of concat; concat is the form every Spark version reads -#}
{% macro spark__model_version_key(name_column, version_column) -%}
    concat({{ name_column }}, '/', {{ version_column }})
{%- endmacro %}
