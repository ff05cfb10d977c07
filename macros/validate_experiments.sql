{#- Fail the build with one clear message per bad row of the experiments seed
    (and of experiment_decision_rules): variants and split that do not match, a
    split that does not sum to 1, a control that is not a variant, an unknown
    metric (allowed: the experiment_metrics seed), reversed dates, alpha / power
    outside (0, 1), a non-positive MDE, window or N*. -#}
{% macro validate_experiments(experiments_relation, metrics_relation, rules_relation) -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- for relation in [experiments_relation, metrics_relation, rules_relation] -%}
        {%- if adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
            {{ return(none) }}
        {%- endif -%}
    {%- endfor -%}
    {%- set metric_rows = run_query('select metric, kind from ' ~ metrics_relation) -%}
    {%- set known = [] -%}
    {%- set problems = [] -%}
    {%- for row in metric_rows -%}
        {%- do known.append(row['metric']) -%}
        {%- if row['kind'] not in ['proportion', 'mean', 'ratio'] -%}
            {%- do problems.append('seeds/experiment_metrics.csv metric ' ~ row['metric'] ~ ": bad kind '" ~ row['kind'] ~ "' (use proportion, mean or ratio)") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set rows = run_query('select * from ' ~ experiments_relation) -%}
    {%- for row in rows -%}
        {%- set where = 'seeds/experiments.csv row ' ~ (loop.index + 1) ~ ' (experiment ' ~ (row['experiment'] or '<blank>') ~ ')' -%}
        {%- if not row['experiment'] -%}
            {%- do problems.append(where ~ ': column experiment is blank') -%}
        {%- endif -%}
        {%- set variants = (row['variants'] or '').split('|') -%}
        {%- set split = (row['traffic_split'] or '').split('|') -%}
        {%- if variants | length < 2 or '' in variants -%}
            {%- do problems.append(where ~ ": column variants must list at least two variants separated by | (got '" ~ (row['variants'] or '') ~ "')") -%}
        {%- elif variants | unique | list | length != variants | length -%}
            {%- do problems.append(where ~ ': column variants repeats a variant') -%}
        {%- endif -%}
        {%- if row['control_variant'] not in variants -%}
            {%- do problems.append(where ~ ": column control_variant '" ~ row['control_variant'] ~ "' is not one of the variants") -%}
        {%- endif -%}
        {%- if split | length != variants | length -%}
            {%- do problems.append(where ~ ': column traffic_split has ' ~ (split | length) ~ ' shares for ' ~ (variants | length) ~ ' variants') -%}
        {%- else -%}
            {%- set ns = namespace(total=0.0, bad=false) -%}
            {%- for share in split -%}
                {%- set value = share | float(-1) -%}
                {%- if value <= 0 or value >= 1 -%}{%- set ns.bad = true -%}{%- endif -%}
                {%- set ns.total = ns.total + value -%}
            {%- endfor -%}
            {%- if ns.bad -%}
                {%- do problems.append(where ~ ": column traffic_split '" ~ row['traffic_split'] ~ "' needs shares strictly between 0 and 1") -%}
            {%- elif (ns.total - 1.0) | abs > 0.000001 -%}
                {%- do problems.append(where ~ ": column traffic_split '" ~ row['traffic_split'] ~ "' sums to " ~ ns.total ~ ', not 1') -%}
            {%- endif -%}
        {%- endif -%}
        {%- if row['start_date'] is none or row['end_date'] is none -%}
            {%- do problems.append(where ~ ': columns start_date and end_date are required') -%}
        {%- elif row['start_date'] > row['end_date'] -%}
            {%- do problems.append(where ~ ': end_date ' ~ row['end_date'] ~ ' is before start_date ' ~ row['start_date']) -%}
        {%- endif -%}
        {%- if row['primary_metric'] not in known -%}
            {%- do problems.append(where ~ ": column primary_metric '" ~ row['primary_metric'] ~ "' is not a metric of seeds/experiment_metrics.csv (" ~ (known | join(', ')) ~ ")") -%}
        {%- endif -%}
        {%- for column in ['secondary_metrics', 'guardrail_metrics'] -%}
            {%- for metric in (row[column] or '').split('|') if metric -%}
                {%- if metric not in known -%}
                    {%- do problems.append(where ~ ': column ' ~ column ~ " names unknown metric '" ~ metric ~ "'") -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- if row['conversion_window_days'] is none or row['conversion_window_days'] < 1 -%}
            {%- do problems.append(where ~ ': column conversion_window_days must be a whole number ≥ 1') -%}
        {%- endif -%}
        {%- for column in ['alpha', 'power'] -%}
            {%- if row[column] is not none and (row[column] <= 0 or row[column] >= 1) -%}
                {%- do problems.append(where ~ ': column ' ~ column ~ ' must be strictly between 0 and 1 (got ' ~ row[column] ~ ')') -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if row['mde_relative'] is none or row['mde_relative'] <= 0 -%}
            {%- do problems.append(where ~ ': column mde_relative must be > 0') -%}
        {%- endif -%}
        {%- for column in ['pre_exposure_days', 'sequential_n_star'] -%}
            {%- if row[column] is not none and row[column] < 1 -%}
                {%- do problems.append(where ~ ': column ' ~ column ~ ' must be ≥ 1') -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set allowed = {
        'srm': ['yes', 'no', 'any'], 'primary_outcome': ['win', 'loss', 'neutral', 'any'],
        'guardrail_outcome': ['ok', 'worse', 'any'], 'complete': ['yes', 'no', 'any'],
        'status': ['running', 'ship', 'dont_ship', 'inconclusive', 'invalid']} -%}
    {%- for row in run_query('select * from ' ~ rules_relation) -%}
        {%- for column, values in allowed.items() -%}
            {%- if row[column] not in values -%}
                {%- do problems.append('seeds/experiment_decision_rules.csv rule ' ~ row['rule_order'] ~ ': column ' ~ column ~ " has '" ~ row[column] ~ "' (use " ~ (values | join(', ')) ~ ")") -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if problems -%}
        {%- do exceptions.raise_compiler_error('invalid experiments: ' ~ (problems | join('; '))) -%}
    {%- endif -%}
{%- endmacro %}
