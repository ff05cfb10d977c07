{#- An order-independent digest of a (small) relation's rows, used to notice
    that a reference table such as llm_pricing was edited. -#}
{% macro table_fingerprint(relation, columns) -%}
    {{ return(adapter.dispatch('table_fingerprint', 'modelmart')(relation, columns)) }}
{%- endmacro %}

{% macro default__table_fingerprint(relation, columns) -%}
    (
        select md5(string_agg(row_text, '|' order by row_text))
        from (
            select concat_ws('~'
            {%- for column in columns -%}
                , coalesce(cast({{ column }} as varchar), '<null>')
            {%- endfor -%}
            ) as row_text
            from {{ relation }}
        ) as fingerprint_rows
    )
{%- endmacro %}
