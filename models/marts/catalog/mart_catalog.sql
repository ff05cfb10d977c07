{#- The mart catalog of the marts' YAML (macros/mart_catalog.sql), published in
    the warehouse so the app and `modelmart status` read the same facts at run
    time: no generated file to drift from the YAML. -#}
{%- set catalog = modelmart.mart_catalog() %}
{%- if execute and not catalog %}
    {%- do exceptions.raise_compiler_error('mart_catalog: no model declares config.meta.mart_catalog') -%}
{%- endif %}

with entries as (
    {%- for mart, entry in catalog | dictsort %}
        select
            '{{ mart }}' as mart,
            'date' as entry_kind,
            'date' as entry_name,
            '{{ entry["date"] }}' as column_name,
            0 as position
        {%- for name, column in entry['dimensions'].items() %}
            union all
            select
                '{{ mart }}' as mart,
                'dimension' as entry_kind,
                '{{ name }}' as entry_name,
                '{{ column }}' as column_name,
                {{ loop.index }} as position
        {%- endfor %}
        {%- for metric in entry['metrics'] %}
            union all
            select
                '{{ mart }}' as mart,
                'alertable_metric' as entry_kind,
                '{{ metric }}' as entry_name,
                '{{ metric }}' as column_name,
                {{ loop.index }} as position
        {%- endfor %}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

final as (
    select
        cast(mart as varchar) as mart,
        cast(entry_kind as varchar) as entry_kind,
        cast(entry_name as varchar) as entry_name,
        cast(column_name as varchar) as column_name,
        cast(position as integer) as position
    from entries
)

select * from final
