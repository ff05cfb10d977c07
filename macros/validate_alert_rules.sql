{#- Fail the build with one clear message per bad row of the alert_rules seed:
    unknown mart or metric, bad comparator or severity, a scope the mart has no
    column for, consecutive_periods < 1, a missing threshold. -#}
{% macro validate_alert_rules(rules_relation) -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set existing = adapter.get_relation(rules_relation.database, rules_relation.schema, rules_relation.identifier) -%}
    {%- if existing is none -%}{{ return(none) }}{%- endif -%}
    {%- set catalog = modelmart.alert_metric_catalog() -%}
    {%- set rows = run_query('select * from ' ~ rules_relation) -%}
    {%- set problems = [] -%}
    {%- for row in rows -%}
        {%- set where = 'seeds/alert_rules.csv rule ' ~ (row['rule_id'] or ('#' ~ loop.index)) -%}
        {%- if row['mart'] not in catalog -%}
            {%- do problems.append(where ~ ": unknown mart '" ~ row['mart'] ~ "' (allowed: " ~ (catalog.keys() | list | sort | join(', ')) ~ ")") -%}
        {%- else -%}
            {%- set entry = catalog[row['mart']] -%}
            {%- if row['metric'] not in entry['metrics'] -%}
                {%- do problems.append(where ~ ": unknown metric '" ~ row['metric'] ~ "' for " ~ row['mart'] ~ " (allowed: " ~ (entry['metrics'] | join(', ')) ~ ")") -%}
            {%- endif -%}
            {%- for scope in modelmart.alert_scope_columns() -%}
                {%- if row[scope] is not none and scope not in entry['dimensions'] -%}
                    {%- do problems.append(where ~ ": scope column " ~ scope ~ " does not exist in " ~ row['mart']) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
        {%- if row['comparator'] not in ['>', '>=', '<', '<='] -%}
            {%- do problems.append(where ~ ": bad comparator '" ~ row['comparator'] ~ "' (use >, >=, < or <=)") -%}
        {%- endif -%}
        {%- if row['severity'] not in ['critical', 'warning', 'info'] -%}
            {%- do problems.append(where ~ ": bad severity '" ~ row['severity'] ~ "' (use critical, warning or info)") -%}
        {%- endif -%}
        {%- if row['threshold'] is none -%}
            {%- do problems.append(where ~ ": threshold is missing") -%}
        {%- endif -%}
        {%- if row['consecutive_periods'] is none or row['consecutive_periods'] < 1 -%}
            {%- do problems.append(where ~ ": consecutive_periods must be a whole number ≥ 1") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if problems -%}
        {%- do exceptions.raise_compiler_error('invalid alert rules: ' ~ (problems | join('; '))) -%}
    {%- endif -%}
{%- endmacro %}
