{#- The fingerprint of the experiments seed, as a scalar subquery: the daily
    experiment mart stores it, so an edited experiment recomputes every date on
    the next incremental build, whichever way dbt is run. -#}
{% macro experiments_fingerprint() -%}
    {{ modelmart.table_fingerprint(ref('experiments'), [
        'experiment', 'control_variant', 'variants', 'traffic_split', 'start_date', 'end_date',
        'conversion_window_days', 'pre_exposure_days']) }}
{%- endmacro %}
