{#- The incremental pattern of the daily marts, named: a build re-aggregates the
    dates that changed (new batches, late labels — each mart says which) plus the
    last `lookback_days` dates it already holds (lookback_dates, a safety net),
    and a mart with a 7-day window spreads each changed date over the window
    dates it feeds (window_write_dates) and reads the window behind each date it
    writes (window_read_dates). -#}

{#- The first date of the lookback: the newest date the model being built holds
    minus lookback_days, a DATE expression (NULL on an empty model). -#}
{% macro lookback_start(column) -%}
    {{ modelmart.add_days(modelmart.built_last_date(column), -var('lookback_days')) }}
{%- endmacro %}

{#- SELECT of the dates the model being built already holds from lookback_start
    on (nothing on an empty model). -#}
{% macro lookback_dates(column) -%}
    select built.{{ column }} from {{ this }} as built
    where built.{{ column }} >= {{ modelmart.lookback_start(column) }}
{%- endmacro %}

{#- SELECT DISTINCT of every date a changed date feeds through a trailing window
    of `days` days: the date itself and the days − 1 after it, as `as_column`. -#}
{% macro window_write_dates(relation, column, as_column, days=7) -%}
    select distinct {{ modelmart.add_days(relation ~ '.' ~ column, 'offsets.offset_days') }} as {{ as_column }}
    from {{ relation }}
    cross join ({{ modelmart.day_offsets(0, days - 1) }}) as offsets
{%- endmacro %}

{#- SELECT DISTINCT of every date a written date's trailing window of `days`
    days reads: the date itself and the days − 1 before it, as `as_column`. -#}
{% macro window_read_dates(relation, column, as_column, days=7) -%}
    select distinct {{ modelmart.add_days(relation ~ '.' ~ column, '-offsets.offset_days') }} as {{ as_column }}
    from {{ relation }}
    cross join ({{ modelmart.day_offsets(0, days - 1) }}) as offsets
{%- endmacro %}
