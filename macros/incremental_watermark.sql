{#- The newest ingestion batch already reflected in an incremental model
    (-1 on an empty one), so a build re-aggregates only what changed since.
    relation defaults to the model being built. -#}
{% macro incremental_watermark(column='source_batch_seq', relation=none) -%}
    {{ return(adapter.dispatch('incremental_watermark', 'modelmart')(column, relation if relation is not none else this)) }}
{%- endmacro %}

{% macro default__incremental_watermark(column, relation) -%}
    (select coalesce(max({{ column }}), -1) from {{ relation }})
{%- endmacro %}
