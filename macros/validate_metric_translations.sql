{#- Fail the build with one message per bad row of the metric_translations seed. -#}
{% macro validate_metric_translations(relation) -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- if adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set technical = ['accuracy', 'latency_p95_ms', 'error_rate', 'llm_cost_usd'] -%}
    {%- set kpis = ['resolution_rate', 'revenue_from_ai', 'llm_spend_usd'] -%}
    {%- set problems = [] -%}
    {%- for row in run_query('select * from ' ~ relation) -%}
        {%- set where = 'seeds/metric_translations.csv row ' ~ (loop.index + 1) ~ ' (' ~ row['technical_metric'] ~ ' → ' ~ row['business_kpi'] ~ ')' -%}
        {%- if row['technical_metric'] not in technical -%}
            {%- do problems.append(where ~ ": unknown technical_metric (use " ~ (technical | join(', ')) ~ ")") -%}
        {%- endif -%}
        {%- if row['business_kpi'] not in kpis -%}
            {%- do problems.append(where ~ ": unknown business_kpi (use " ~ (kpis | join(', ')) ~ ")") -%}
        {%- endif -%}
        {%- if row['sensitivity_unit'] not in ['absolute', 'relative'] -%}
            {%- do problems.append(where ~ ": sensitivity_unit must be absolute or relative") -%}
        {%- endif -%}
        {%- if row['per_change'] is none or row['per_change'] <= 0 -%}
            {%- do problems.append(where ~ ": per_change must be > 0") -%}
        {%- endif -%}
        {%- if row['sensitivity_low'] is none or row['sensitivity_high'] is none or row['sensitivity_low'] > row['sensitivity_high'] -%}
            {%- do problems.append(where ~ ": sensitivity_low must be ≤ sensitivity_high (both required)") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if problems -%}
        {%- do exceptions.raise_compiler_error('invalid metric translations: ' ~ (problems | join('; '))) -%}
    {%- endif -%}
{%- endmacro %}
