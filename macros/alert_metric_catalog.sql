{#- The allow-list of alertable metrics: per mart its date column, the
    dimension columns that form a series, and the metrics a rule may name.
    Alert rules are validated against it and only these identifiers ever
    reach SQL. -#}
{% macro alert_metric_catalog() -%}
    {{ return({
        'fct_llm_usage_daily': {
            'date': 'usage_date',
            'dimensions': ['provider', 'model', 'team'],
            'metrics': ['calls', 'errors', 'error_rate', 'latency_p50_ms', 'latency_p95_ms', 'latency_p99_ms',
                        'tokens_total', 'cost_usd', 'unpriced_calls', 'unpriced_tokens'],
        },
        'fct_dashboard_daily': {
            'date': 'activity_date',
            'dimensions': ['provider'],
            'metrics': ['llm_calls', 'tokens_total', 'cost_usd', 'unpriced_calls', 'latency_p95_ms',
                        'accuracy_rolling_7d', 'tickets', 'resolution_rate', 'revenue_usd'],
        },
        'fct_model_quality_daily': {
            'date': 'prediction_date',
            'dimensions': ['model_name', 'model_version'],
            'metrics': ['predictions', 'error_rate', 'accuracy', 'label_coverage', 'accuracy_rolling_7d',
                        'latency_p95_ms'],
        },
        'fct_drift_status_daily': {
            'date': 'prediction_date',
            'dimensions': ['model_name', 'model_version'],
            'metrics': ['drift_level', 'drift_warning', 'features_critical', 'features_warning',
                        'label_shift_flagged'],
        },
        'fct_feature_quality_status_daily': {
            'date': 'prediction_date',
            'dimensions': ['model_name', 'model_version'],
            'metrics': ['max_missing_rate', 'features_missing_over_1pct', 'max_outside_reference_share'],
        },
        'fct_business_daily': {
            'date': 'business_date',
            'dimensions': [],
            'metrics': ['tickets', 'resolution_rate', 'revenue_usd', 'conversions'],
        },
    }) }}
{%- endmacro %}

{% macro alert_scope_columns() -%}
    {{ return(['provider', 'model', 'team', 'model_name', 'model_version']) }}
{%- endmacro %}
