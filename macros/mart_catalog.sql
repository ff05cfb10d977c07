{#- The mart catalog, declared once in the marts' YAML (config.meta.mart_catalog of
    each model) and read here from dbt's graph at execution time:

        {mart: {'date': column, 'dimensions': {name: column, ...},
                'metrics': [alertable metric, ...]}}

    `dimensions` maps the name a filter or an alert rule's scope uses (provider,
    model, team, model_name, model_version, version) to the mart's column. Every
    identifier must be a plain lower-case column name: only these ever reach SQL
    (here, in the alert models, and in the app through reference.mart_catalog).
    During parsing the graph is empty, so this returns {} then. -#}
{% macro mart_catalog() -%}
    {%- if not execute -%}{{ return({}) }}{%- endif -%}
    {%- set catalog = {} -%}
    {%- set problems = [] -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.package_name == project_name -%}
        {%- set meta = node['config']['meta'] or {} -%}
        {%- set entry = meta['mart_catalog'] if 'mart_catalog' in meta else none -%}
        {%- if entry is not none -%}
            {%- set where = node.patch_path.split('://')[-1] ~ ' model ' ~ node.name if node.patch_path else node.name -%}
            {%- set dimensions = entry.get('dimensions') or {} -%}
            {%- set metrics = entry.get('alertable_metrics') or [] -%}
            {%- set identifiers = [entry.get('date')] + (dimensions.values() | list) + (dimensions.keys() | list) + metrics -%}
            {%- for identifier in identifiers -%}
                {%- if identifier is not string or not modules.re.fullmatch('[a-z][a-z0-9_]*', identifier) -%}
                    {%- do problems.append(where ~ ": meta.mart_catalog identifier '" ~ identifier ~ "' must be a lower-case column name (letters, digits, _)") -%}
                {%- endif -%}
            {%- endfor -%}
            {%- do catalog.update({node.name: {'date': entry.get('date'), 'dimensions': dimensions, 'metrics': metrics}}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if problems -%}
        {%- do exceptions.raise_compiler_error('invalid mart catalog: ' ~ (problems | join('; '))) -%}
    {%- endif -%}
    {{ return(catalog) }}
{%- endmacro %}

{#- The allow-list of alertable metrics: the marts of the catalog with at least
    one alertable metric. Alert rules are validated against it and only these
    identifiers ever reach SQL. -#}
{% macro alert_metric_catalog() -%}
    {%- set alertable = {} -%}
    {%- for mart, entry in modelmart.mart_catalog().items() if entry['metrics'] -%}
        {%- do alertable.update({mart: entry}) -%}
    {%- endfor -%}
    {{ return(alertable) }}
{%- endmacro %}

{#- The scope columns of the alert_rules seed (a rule watches the series whose
    dimensions equal the scope columns it sets). -#}
{% macro alert_scope_columns() -%}
    {{ return(['provider', 'model', 'team', 'model_name', 'model_version']) }}
{%- endmacro %}
