{#- Fail the build with one clear message per bad row of the slos seed: unknown
    SLI kind, an objective outside (0, 1), a missing or negative threshold where
    the kind needs one, a period < 1 day, a freshness SLO without a known stream,
    a scope column the SLI kind cannot honour, a blank or repeated slo_id. -#}
{% macro validate_slos(slos_relation) -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set existing = adapter.get_relation(slos_relation.database, slos_relation.schema, slos_relation.identifier) -%}
    {%- if existing is none -%}{{ return(none) }}{%- endif -%}
    {%- set kinds = {
        'availability': ['provider', 'model', 'team'],
        'latency': ['provider', 'model', 'team'],
        'accuracy': ['model_name', 'model_version'],
        'freshness': [],
    } -%}
    {%- set streams = ['llm_calls', 'predictions'] -%}
    {%- set scopes = ['provider', 'model', 'team', 'model_name', 'model_version'] -%}
    {%- set rows = run_query('select * from ' ~ slos_relation) -%}
    {%- set problems = [] -%}
    {%- set seen = [] -%}
    {%- for row in rows -%}
        {%- set where = 'seeds/slos.csv row ' ~ (loop.index + 1) ~ ' (slo ' ~ (row['slo_id'] or '?') ~ ')' -%}
        {%- if not row['slo_id'] -%}
            {%- do problems.append(where ~ ": slo_id is blank") -%}
        {%- elif row['slo_id'] in seen -%}
            {%- do problems.append(where ~ ": slo_id repeats an earlier row") -%}
        {%- endif -%}
        {%- do seen.append(row['slo_id']) -%}
        {%- set kind = row['sli_kind'] -%}
        {%- if kind not in kinds -%}
            {%- do problems.append(where ~ ": unknown sli_kind '" ~ kind ~ "' (use " ~ (kinds.keys() | list | sort | join(', ')) ~ ")") -%}
        {%- else -%}
            {%- for scope in scopes -%}
                {%- if row[scope] is not none and scope not in kinds[kind] -%}
                    {%- do problems.append(where ~ ": scope column " ~ scope ~ " does not apply to a " ~ kind ~ " SLO") -%}
                {%- endif -%}
            {%- endfor -%}
            {%- if kind in ['latency', 'freshness'] and (row['threshold'] is none or row['threshold'] <= 0) -%}
                {%- do problems.append(where ~ ": threshold must be a positive number (" ~ ('ms' if kind == 'latency' else 'minutes') ~ ")") -%}
            {%- endif -%}
            {%- if kind == 'freshness' and row['stream'] not in streams -%}
                {%- do problems.append(where ~ ": stream '" ~ row['stream'] ~ "' is not one of " ~ (streams | join(', '))) -%}
            {%- endif -%}
            {%- if kind != 'freshness' and row['stream'] is not none -%}
                {%- do problems.append(where ~ ": stream applies only to a freshness SLO") -%}
            {%- endif -%}
            {%- if kind == 'accuracy' and row['objective'] is none -%}
                {%- if row['threshold'] is none or row['threshold'] <= 0 or row['threshold'] >= 1 -%}
                    {%- do problems.append(where ~ ": an accuracy SLO without objective needs threshold in (0, 1), the tolerance below its baseline") -%}
                {%- endif -%}
                {%- if row['model_name'] is none -%}
                    {%- do problems.append(where ~ ": an accuracy SLO relative to its baseline needs model_name") -%}
                {%- endif -%}
            {%- endif -%}
            {%- if kind == 'availability' and row['threshold'] is not none -%}
                {%- do problems.append(where ~ ": threshold does not apply to an availability SLO") -%}
            {%- endif -%}
        {%- endif -%}
        {%- if row['objective'] is none and kind != 'accuracy' -%}
            {%- do problems.append(where ~ ": objective is missing") -%}
        {%- elif row['objective'] is not none and (row['objective'] <= 0 or row['objective'] >= 1) -%}
            {%- do problems.append(where ~ ": objective " ~ row['objective'] ~ " must lie strictly between 0 and 1 (e.g. 0.999)") -%}
        {%- endif -%}
        {%- if row['period_days'] is not none and row['period_days'] < 1 -%}
            {%- do problems.append(where ~ ": period_days must be a whole number ≥ 1 (blank = 30)") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if problems -%}
        {%- do exceptions.raise_compiler_error('invalid SLOs: ' ~ (problems | join('; '))) -%}
    {%- endif -%}
{%- endmacro %}
