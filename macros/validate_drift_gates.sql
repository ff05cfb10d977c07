{#- Fail the build with one clear message per bad row of the drift_gates seed:
    an unknown or repeated gate, a missing gate, a missing threshold, a PSI gate
    that is not positive, a p-value gate outside (0, 1), or psi_warning not below
    psi_critical. -#}
{% macro validate_drift_gates(gates_relation) -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set existing = adapter.get_relation(gates_relation.database, gates_relation.schema, gates_relation.identifier) -%}
    {%- if existing is none -%}{{ return(none) }}{%- endif -%}
    {%- set known = ['psi_warning', 'psi_critical', 'ks_pvalue', 'label_shift_pvalue'] -%}
    {%- set rows = run_query('select gate, threshold from ' ~ gates_relation) -%}
    {%- set problems = [] -%}
    {%- set seen = {} -%}
    {%- for row in rows -%}
        {%- set where = 'seeds/drift_gates.csv row ' ~ loop.index ~ ' (gate ' ~ (row['gate'] or 'blank') ~ ')' -%}
        {%- if row['gate'] not in known -%}
            {%- do problems.append(where ~ ": unknown gate (allowed: " ~ (known | join(', ')) ~ ")") -%}
        {%- elif row['gate'] in seen -%}
            {%- do problems.append(where ~ ": gate repeated (first on row " ~ seen[row['gate']] ~ ")") -%}
        {%- else -%}
            {%- do seen.update({row['gate']: loop.index}) -%}
        {%- endif -%}
        {%- if row['threshold'] is none -%}
            {%- do problems.append(where ~ ": threshold is missing") -%}
        {%- elif row['gate'] in ['ks_pvalue', 'label_shift_pvalue'] and not (0 < row['threshold'] < 1) -%}
            {%- do problems.append(where ~ ": a p-value gate must lie strictly between 0 and 1") -%}
        {%- elif row['gate'] in ['psi_warning', 'psi_critical'] and row['threshold'] <= 0 -%}
            {%- do problems.append(where ~ ": a PSI gate must be positive") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for gate in known if gate not in seen -%}
        {%- do problems.append("seeds/drift_gates.csv: gate " ~ gate ~ " is missing") -%}
    {%- endfor -%}
    {%- set values = {} -%}
    {%- for row in rows if row['threshold'] is not none -%}{%- do values.update({row['gate']: row['threshold']}) -%}{%- endfor -%}
    {%- if 'psi_warning' in values and 'psi_critical' in values and values['psi_warning'] >= values['psi_critical'] -%}
        {%- do problems.append("seeds/drift_gates.csv row " ~ seen['psi_warning'] ~ " (gate psi_warning): must be below psi_critical (" ~ values['psi_critical'] ~ ")") -%}
    {%- endif -%}
    {%- if problems -%}
        {%- do exceptions.raise_compiler_error('invalid drift gates: ' ~ (problems | join('; '))) -%}
    {%- endif -%}
{%- endmacro %}
