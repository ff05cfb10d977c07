"""Model quality, drift and calibration of predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dash_app.data.catalog import where
from dash_app.data.filters import Filters
from dash_app.data.warehouse import SnapshotReader


def quality(reader: SnapshotReader, filters: Filters) -> pd.DataFrame:
    """Grain: date × model_name × model_version, as in fct_model_quality_daily."""
    clause, params = where(reader, "fct_model_quality_daily", filters)
    return reader.query(
        f"""
        select prediction_date as date, model_version_key as version,
               predictions, labeled, correct, accuracy, label_coverage,
               correct_rolling_7d, labeled_rolling_7d, accuracy_rolling_7d, error_rate
        from marts.fct_model_quality_daily
        where {clause}
        order by prediction_date, version
        """,
        params,
    )


def segment_quality(reader: SnapshotReader, filters: Filters) -> pd.DataFrame:
    """Grain: model version × segment over the range; pooled accuracy and coverage."""
    clause, params = where(reader, "fct_model_quality_segment_daily", filters)
    frame = reader.query(
        f"""
        select model_version_key as version, segment,
               sum(predictions) as predictions, sum(labeled) as labeled, sum(correct) as correct
        from marts.fct_model_quality_segment_daily
        where {clause}
        group by all
        order by version, segment
        """,
        params,
    )
    frame["accuracy"] = np.where(
        frame.labeled > 0, frame.correct / frame.labeled.where(frame.labeled > 0), np.nan
    )
    frame["label_coverage"] = frame.labeled / frame.predictions
    return frame


def feature_drift(reader: SnapshotReader, filters: Filters) -> pd.DataFrame:
    """Grain: date × version × feature, as in fct_feature_drift_daily, with the
    missing rate and out-of-reference share of fct_feature_quality_daily."""
    clause, params = where(reader, "fct_feature_drift_daily", filters)
    return reader.query(
        f"""
        select drift.prediction_date as date, drift.model_version_key as version,
               drift.feature, drift.psi, drift.ks_statistic, drift.ks_pvalue, drift.status,
               drift.is_reference_day, drift.current_values,
               quality.missing_rate, quality.outside_reference_share
        from (select * from marts.fct_feature_drift_daily where {clause}) as drift
        left join marts.fct_feature_quality_daily as quality
            on quality.prediction_date = drift.prediction_date
            and quality.model_name = drift.model_name
            and quality.model_version = drift.model_version
            and quality.feature = drift.feature
        order by date, version, feature
        """,
        params,
    )


def label_shift(reader: SnapshotReader, filters: Filters) -> pd.DataFrame:
    """Grain: date × version, as in fct_label_shift_daily."""
    clause, params = where(reader, "fct_label_shift_daily", filters)
    return reader.query(
        f"""
        select prediction_date as date, model_version_key as version,
               predictions, chi2_statistic, p_value, flagged
        from marts.fct_label_shift_daily
        where {clause}
        order by prediction_date, version
        """,
        params,
    )


def calibration(reader: SnapshotReader, filters: Filters) -> pd.DataFrame:
    """Grain: date × version: ECE, Brier and macro scores of labeled predictions."""
    clause, params = where(reader, "fct_calibration_daily", filters)
    scores_clause, scores_params = where(reader, "fct_classification_daily", filters)
    return reader.query(
        f"""
        with calibration as (
            select prediction_date as date, model_version_key as version,
                   labeled, ece, brier_score
            from marts.fct_calibration_daily where {clause}
        ),
        scores as (
            select prediction_date as date, model_version_key as version,
                   macro_precision, macro_recall, macro_f1
            from marts.fct_classification_daily where {scores_clause}
        )
        select calibration.*, scores.macro_precision, scores.macro_recall, scores.macro_f1
        from calibration
        left join scores using (date, version)
        order by date, version
        """,
        [*params, *scores_params],
    )


def reliability(reader: SnapshotReader, filters: Filters) -> pd.DataFrame:
    """Grain: version × score bin over the range: labeled count, mean score and
    accuracy pooled over the days (weighted by each day's labeled count)."""
    clause, params = where(reader, "fct_calibration_bins_daily", filters)
    return reader.query(
        f"""
        select model_version_key as version, score_bin,
               min(bin_lower) as bin_lower, min(bin_upper) as bin_upper,
               sum(labeled) as labeled,
               sum(mean_score * labeled) / sum(labeled) as mean_score,
               sum(accuracy * labeled) / sum(labeled) as accuracy
        from marts.fct_calibration_bins_daily
        where {clause}
        group by all
        order by version, score_bin
        """,
        params,
    )


def confusion(reader: SnapshotReader, filters: Filters) -> pd.DataFrame:
    """Grain: version × true_label × predicted_label over the range: versions are
    kept apart (their classes and errors differ; one matrix each)."""
    clause, params = where(reader, "fct_confusion_matrix_daily", filters)
    return reader.query(
        f"""
        select model_version_key as version, true_label, predicted_label,
               sum(predictions) as predictions
        from marts.fct_confusion_matrix_daily
        where {clause}
        group by all
        order by version, true_label, predicted_label
        """,
        params,
    )
