{#- The newest ingestion batch already reflected in an incremental model
    (-1 on a first build), so a build re-aggregates only what changed since. -#}
{% macro incremental_watermark(column='source_batch_seq') -%}
    {{ return(adapter.dispatch('incremental_watermark', 'modelmart')(column)) }}
{%- endmacro %}

{% macro default__incremental_watermark(column) -%}
    (select coalesce(max({{ column }}), -1) from {{ this }})
{%- endmacro %}
