"""What modelmart says to Prometheus: the gauges /metrics exposes from the marts,
and how an alert rule's mart metric maps onto one of them.

Declared once here and used by the app's /metrics exporter
(``dash_app/metrics.py``), the rule-file generator and the Grafana dashboard
(``modelmart.prometheus_export``). Names follow Prometheus' conventions: base
units (``_seconds``, ``_ratio``), ``_total`` only on counters, labels bounded by
the marts' dimensions (providers, models, teams, model versions, features, rule
and SLO ids, never event ids).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Gauge:
    """One mart column exposed as a gauge: the value of each series at the newest
    date (or hour) that has a value of the column in the mart (the mart's date
    column comes from the mart catalog, reference.mart_catalog)."""

    name: str
    help: str
    mart: str
    column: str
    labels: tuple[str, ...]
    scale: float = 1.0
    fixed: dict[str, str] = field(default_factory=dict)  # constant labels (window)


LLM = ("provider", "model", "team")
VERSION = ("model_name", "model_version")


def _llm(name: str, help_: str, column: str, scale: float = 1.0) -> list[Gauge]:
    return [
        Gauge(name, help_, "fct_llm_usage_daily", column, LLM, scale, {"window": "1d"}),
        Gauge(name, help_, "fct_llm_usage_hourly", column, LLM, scale, {"window": "1h"}),
    ]


GAUGES: tuple[Gauge, ...] = (
    *_llm(
        "modelmart_llm_latency_p95_seconds",
        "p95 LLM response time of the newest day / hour, seconds.",
        "latency_p95_ms",
        0.001,
    ),
    *_llm(
        "modelmart_llm_latency_p50_seconds",
        "Median LLM response time of the newest day / hour, seconds.",
        "latency_p50_ms",
        0.001,
    ),
    *_llm(
        "modelmart_llm_latency_p99_seconds",
        "p99 LLM response time of the newest day / hour, seconds.",
        "latency_p99_ms",
        0.001,
    ),
    *_llm(
        "modelmart_llm_error_ratio",
        "Share of LLM calls with status error, newest day / hour.",
        "error_rate",
    ),
    *_llm("modelmart_llm_calls", "LLM calls of the newest day / hour.", "calls"),
    *_llm("modelmart_llm_errors", "Failed LLM calls of the newest day / hour.", "errors"),
    *_llm(
        "modelmart_llm_tokens", "Input + output tokens of the newest day / hour.", "tokens_total"
    ),
    *_llm(
        "modelmart_llm_cost_dollars",
        "Token cost of the newest day / hour, USD (priced calls only).",
        "cost_usd",
    ),
    *_llm(
        "modelmart_llm_unpriced_calls",
        "Calls without a price row, newest day / hour.",
        "unpriced_calls",
    ),
    Gauge(
        "modelmart_provider_latency_p95_seconds",
        "p95 response time of a provider's calls on the newest day, seconds.",
        "fct_dashboard_daily",
        "latency_p95_ms",
        ("provider",),
        0.001,
    ),
    Gauge(
        "modelmart_provider_unpriced_calls",
        "A provider's calls without a price row on the newest day.",
        "fct_dashboard_daily",
        "unpriced_calls",
        ("provider",),
    ),
    Gauge(
        "modelmart_provider_calls",
        "A provider's LLM calls on the newest day.",
        "fct_dashboard_daily",
        "llm_calls",
        ("provider",),
    ),
    Gauge(
        "modelmart_provider_cost_dollars",
        "A provider's token cost on the newest day, USD.",
        "fct_dashboard_daily",
        "cost_usd",
        ("provider",),
    ),
    Gauge(
        "modelmart_provider_accuracy_7d_ratio",
        "7-day accuracy of a provider's graded calls.",
        "fct_dashboard_daily",
        "accuracy_rolling_7d",
        ("provider",),
    ),
    Gauge(
        "modelmart_provider_resolution_ratio",
        "Agent-resolved share of tickets attributed to a provider, newest day.",
        "fct_dashboard_daily",
        "resolution_rate",
        ("provider",),
    ),
    Gauge(
        "modelmart_provider_revenue_dollars",
        "Revenue attributed to a provider on the newest day, USD.",
        "fct_dashboard_daily",
        "revenue_usd",
        ("provider",),
    ),
    Gauge(
        "modelmart_model_accuracy_7d_ratio",
        "Accuracy of a model version over the 7 days to the newest date.",
        "fct_model_quality_daily",
        "accuracy_rolling_7d",
        VERSION,
    ),
    Gauge(
        "modelmart_model_accuracy_ratio",
        "Accuracy of a model version on the newest date.",
        "fct_model_quality_daily",
        "accuracy",
        VERSION,
    ),
    Gauge(
        "modelmart_model_label_coverage_ratio",
        "Labeled share of a version's predictions on the newest date.",
        "fct_model_quality_daily",
        "label_coverage",
        VERSION,
    ),
    Gauge(
        "modelmart_model_error_ratio",
        "Share of a version's predictions with status error, newest date.",
        "fct_model_quality_daily",
        "error_rate",
        VERSION,
    ),
    Gauge(
        "modelmart_model_predictions",
        "Predictions of a model version on the newest date.",
        "fct_model_quality_daily",
        "predictions",
        VERSION,
    ),
    Gauge(
        "modelmart_model_latency_p95_seconds",
        "p95 prediction latency of a version on the newest date, seconds.",
        "fct_model_quality_daily",
        "latency_p95_ms",
        VERSION,
        0.001,
    ),
    Gauge(
        "modelmart_model_drift_level",
        "Worst feature drift of a version on the newest date: 0 ok, 1 warning, 2 critical.",
        "fct_drift_status_daily",
        "drift_level",
        VERSION,
    ),
    Gauge(
        "modelmart_model_drift_warning",
        "1 when a single drift signal and no confirmed drift, newest date.",
        "fct_drift_status_daily",
        "drift_warning",
        VERSION,
    ),
    Gauge(
        "modelmart_model_features_critical",
        "Features with confirmed drift on the newest date.",
        "fct_drift_status_daily",
        "features_critical",
        VERSION,
    ),
    Gauge(
        "modelmart_model_features_warning",
        "Features with a single drift signal on the newest date.",
        "fct_drift_status_daily",
        "features_warning",
        VERSION,
    ),
    Gauge(
        "modelmart_model_label_shift_flagged",
        "1 when the predicted class mix differs from the reference (chi-square p < 0.01).",
        "fct_drift_status_daily",
        "label_shift_flagged",
        VERSION,
    ),
    Gauge(
        "modelmart_feature_psi",
        "Population stability index of a feature against its reference window, newest date.",
        "fct_feature_drift_daily",
        "psi",
        (*VERSION, "feature"),
    ),
    Gauge(
        "modelmart_feature_missing_ratio",
        "Share of a version's predictions without the feature (absent or null), newest date.",
        "fct_feature_quality_daily",
        "missing_rate",
        (*VERSION, "feature"),
    ),
    Gauge(
        "modelmart_feature_outside_reference_ratio",
        "Share of a feature's values outside its reference window's observed range, newest date.",
        "fct_feature_quality_daily",
        "outside_reference_share",
        (*VERSION, "feature"),
    ),
    Gauge(
        "modelmart_model_feature_missing_max_ratio",
        "The worst feature's missing ratio of a model version, newest date.",
        "fct_feature_quality_status_daily",
        "max_missing_rate",
        VERSION,
    ),
    Gauge(
        "modelmart_business_tickets",
        "Support tickets on the newest date.",
        "fct_business_daily",
        "tickets",
        (),
    ),
    Gauge(
        "modelmart_business_resolution_ratio",
        "Agent-resolved share of tickets on the newest date.",
        "fct_business_daily",
        "resolution_rate",
        (),
    ),
    Gauge(
        "modelmart_business_revenue_dollars",
        "Revenue on the newest date, USD (refunds negative).",
        "fct_business_daily",
        "revenue_usd",
        (),
    ),
    Gauge(
        "modelmart_business_conversions",
        "Conversions on the newest date.",
        "fct_business_daily",
        "conversions",
        (),
    ),
)


def gauge_for(mart: str, metric: str) -> Gauge | None:
    """The daily gauge an alert rule on mart.metric is evaluated on in Prometheus."""
    for gauge in GAUGES:
        if gauge.mart == mart and gauge.column == metric:
            return gauge
    return None


SLO_WINDOWS = {
    "1h": "burn_rate_1h",
    "2h": "burn_rate_2h",
    "6h": "burn_rate_6h",
    "1d": "burn_rate_1d",
    "3d": "burn_rate_3d",
    "period": "burn_rate_period",
}
WINDOW_HOURS = {1: "1h", 2: "2h", 6: "6h", 24: "1d", 72: "3d"}
