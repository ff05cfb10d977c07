{#- Schemas are named exactly as configured (staging, intermediate, marts,
    reference) instead of dbt's default "<target>_<custom>", so the app reads
    marts.fct_* whatever the target. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
