{#- Fail the build with one clear message per bad row of the alert_routes seed
    (and of alert_targets): unknown sends, channel or target, a match naming an
    unknown severity or rule, a scope column the matched rules' mart lacks, a digest
    route with a match, a repeat interval that is not a positive number of hours,
    send_resolved other than true/false. -#}
{% macro validate_alert_routes(routes_relation, targets_relation, rules_relation) -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- for relation in [routes_relation, targets_relation, rules_relation] -%}
        {%- if adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
            {{ return(none) }}
        {%- endif -%}
    {%- endfor -%}
    {%- set channels = modelmart.alert_channels() -%}
    {%- set catalog = modelmart.alert_metric_catalog() -%}
    {%- set problems = [] -%}
    {%- set targets = [] -%}
    {%- for row in run_query('select * from ' ~ targets_relation) -%}
        {%- set where = 'seeds/alert_targets.csv row ' ~ (loop.index + 1) -%}
        {%- if row['channel'] not in channels -%}
            {%- do problems.append(where ~ ": unknown channel '" ~ row['channel'] ~ "' (allowed: " ~ (channels | join(', ')) ~ ")") -%}
        {%- endif -%}
        {%- if row['target'] is none or not modules.re.fullmatch('[a-z][a-z0-9_]*', row['target']) -%}
            {%- do problems.append(where ~ ": target '" ~ row['target'] ~ "' must be lower-case letters, digits and _") -%}
        {%- endif -%}
        {%- do targets.append(row['channel'] ~ '/' ~ row['target']) -%}
    {%- endfor -%}
    {%- set rule_marts = {} -%}
    {%- for row in run_query('select rule_id, mart, severity from ' ~ rules_relation) -%}
        {%- do rule_marts.update({row['rule_id']: row['mart']}) -%}
    {%- endfor -%}
    {%- set seen = [] -%}
    {%- for row in run_query('select * from ' ~ routes_relation) -%}
        {%- set where = 'seeds/alert_routes.csv route ' ~ (row['route_id'] or ('#' ~ loop.index)) -%}
        {%- if row['route_id'] is none -%}
            {%- do problems.append(where ~ ": route_id is missing") -%}
        {%- elif row['route_id'] in seen -%}
            {%- do problems.append(where ~ ": route_id appears twice") -%}
        {%- endif -%}
        {%- do seen.append(row['route_id']) -%}
        {%- if row['sends'] not in ['alerts', 'daily_digest', 'weekly_digest'] -%}
            {%- do problems.append(where ~ ": sends '" ~ row['sends'] ~ "' (use alerts, daily_digest or weekly_digest)") -%}
        {%- endif -%}
        {%- if row['channel'] not in channels -%}
            {%- do problems.append(where ~ ": unknown channel '" ~ row['channel'] ~ "' (allowed: " ~ (channels | join(', ')) ~ ")") -%}
        {%- elif (row['channel'] ~ '/' ~ row['target']) not in targets -%}
            {%- do problems.append(where ~ ": unknown target '" ~ row['target'] ~ "' for channel " ~ row['channel'] ~ " (add it to seeds/alert_targets.csv)") -%}
        {%- endif -%}
        {%- set match_columns = ['severity', 'rule_id'] + modelmart.alert_scope_columns() -%}
        {%- if row['sends'] in ['daily_digest', 'weekly_digest'] -%}
            {%- for column in match_columns if row[column] is not none -%}
                {%- do problems.append(where ~ ": a digest route takes no match, but " ~ column ~ " is set") -%}
            {%- endfor -%}
        {%- else -%}
            {%- for severity in (row['severity'] or '').split('|') if row['severity'] is not none -%}
                {%- if severity not in ['critical', 'warning', 'info'] -%}
                    {%- do problems.append(where ~ ": bad severity '" ~ severity ~ "' in match (use critical, warning or info, separated by |)") -%}
                {%- endif -%}
            {%- endfor -%}
            {%- set matched_marts = [] -%}
            {%- for rule in (row['rule_id'] or '').split('|') if row['rule_id'] is not none -%}
                {%- if rule not in rule_marts -%}
                    {%- do problems.append(where ~ ": unknown rule_id '" ~ rule ~ "' in match (not in seeds/alert_rules.csv)") -%}
                {%- else -%}
                    {%- do matched_marts.append(rule_marts[rule]) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- for scope in modelmart.alert_scope_columns() if row[scope] is not none -%}
                {%- for mart in matched_marts if scope not in catalog[mart]['dimensions'] -%}
                    {%- do problems.append(where ~ ": scope column " ~ scope ~ " does not exist in " ~ mart ~ ", the mart of the matched rule") -%}
                {%- endfor -%}
            {%- endfor -%}
        {%- endif -%}
        {%- if row['repeat_after_hours'] is not none and not modules.re.fullmatch('[0-9]+(\.[0-9]+)?', row['repeat_after_hours'] | trim) -%}
            {%- do problems.append(where ~ ": repeat_after_hours '" ~ row['repeat_after_hours'] ~ "' must be a number of hours > 0, or blank for no repeat") -%}
        {%- elif row['repeat_after_hours'] is not none and (row['repeat_after_hours'] | float) <= 0 -%}
            {%- do problems.append(where ~ ": repeat_after_hours must be > 0, or blank for no repeat") -%}
        {%- endif -%}
        {%- if row['send_resolved'] is not none and (row['send_resolved'] | trim | lower) not in ['true', 'false'] -%}
            {%- do problems.append(where ~ ": send_resolved '" ~ row['send_resolved'] ~ "' must be true or false (blank = true)") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if problems -%}
        {%- do exceptions.raise_compiler_error('invalid alert routes: ' ~ (problems | join('; '))) -%}
    {%- endif -%}
{%- endmacro %}

{#- The channels notify can deliver to (one module each in scripts/modelmart/notify/). -#}
{% macro alert_channels() -%}
    {{ return(['slack', 'webhook', 'email', 'pagerduty', 'alertmanager']) }}
{%- endmacro %}
