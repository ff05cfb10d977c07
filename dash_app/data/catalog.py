"""The allow-lists of SQL access: per mart its date column and the column each
filter field applies to, which filter fields each page honours, and the WHERE
clause built from them. Every value from the user is bound as a parameter;
identifiers come only from these lists."""

from __future__ import annotations

from dash_app.data.filters import LIST_FIELDS, Filters

# mart → the date column and the column each filter field applies to
DIMENSIONS: dict[str, dict[str, str]] = {
    "fct_llm_usage_daily": {
        "date": "usage_date",
        "provider": "provider",
        "model": "model",
        "team": "team",
    },
    "fct_dashboard_daily": {"date": "activity_date", "provider": "provider"},
    "fct_model_quality_daily": {
        "date": "prediction_date",
        "version": "model_name || '/' || model_version",
    },
    "fct_model_quality_segment_daily": {
        "date": "prediction_date",
        "version": "model_name || '/' || model_version",
    },
    "fct_business_daily": {"date": "business_date"},
    **{
        mart: {"date": "prediction_date", "version": "model_name || '/' || model_version"}
        for mart in (
            "fct_feature_drift_daily",
            "fct_label_shift_daily",
            "fct_calibration_daily",
            "fct_calibration_bins_daily",
            "fct_confusion_matrix_daily",
            "fct_classification_daily",
            "fct_feature_quality_daily",
        )
    },
}

# which filter fields each page's numbers can honour
PAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "overview": ("provider",),
    "operations": ("provider", "model", "team"),
    "quality": ("version",),
    "cost": ("provider", "model", "team"),
    "alerts": ("provider", "model", "team", "version"),
    "drift": ("version",),
    "calibration": ("version",),
    "slo": (),
}


def where(mart: str, filters: Filters) -> tuple[str, list]:
    """WHERE clause and parameters for a mart; only allow-listed columns appear."""
    columns = DIMENSIONS[mart]
    clauses = [f"{columns['date']} between ? and ?"]
    params: list = [filters.start, filters.end]
    for name in LIST_FIELDS:
        values = getattr(filters, name)
        if values and name in columns:
            clauses.append(f"list_contains(?::varchar[], {columns[name]})")
            params.append(list(values))
    return " and ".join(clauses), params
