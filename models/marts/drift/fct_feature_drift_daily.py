"""Feature drift per day against each model version's reference window.

A Python model because the KS p-value needs the Kolmogorov distribution
(scipy.stats.kstwo), which SQL engines do not have; PSI and the KS statistic are
computed here too so that one pass over the sorted values serves all three.
Grain: prediction_date × model_name × model_version × feature.
"""

import numpy as np
import pandas as pd
from scipy import stats

DECILES = [10, 20, 30, 40, 50, 60, 70, 80, 90]
SHARE_FLOOR = 0.0001
PSI_WARNING, PSI_CRITICAL, KS_ALPHA = 0.10, 0.20, 0.01
LEVEL = {"ok": 0, "warning": 1, "critical": 2}


def shares(sorted_values, edges):
    """Share of values per bin (-inf, e1], (e1, e2] ... (ek, +inf), floored."""
    bins = np.searchsorted(edges, sorted_values, side="left")
    counts = np.bincount(bins, minlength=len(edges) + 1)
    return np.maximum(counts / len(sorted_values), SHARE_FLOOR)


def ks_two_sided(reference, current):
    """KS statistic and asymptotic p-value, as scipy.stats.ks_2samp(reference,
    current, method="asymp"): both inputs sorted."""
    n1, n2 = len(reference), len(current)
    both = np.concatenate([reference, current])
    diffs = (
        np.searchsorted(reference, both, side="right") / n1
        - np.searchsorted(current, both, side="right") / n2
    )
    statistic = max(float(np.clip(-diffs.min(), 0, 1)), float(diffs.max()))
    m, n = sorted([float(n1), float(n2)], reverse=True)
    pvalue = float(np.clip(stats.kstwo.sf(statistic, np.round(m * n / (m + n))), 0, 1))
    return statistic, pvalue


def status_of(psi, pvalue):
    drifted_psi, drifted_ks = psi >= PSI_CRITICAL, pvalue < KS_ALPHA
    if drifted_psi and drifted_ks:
        return "critical"
    if psi >= PSI_WARNING or drifted_ks:
        return "warning"
    return "ok"


def group_rows(name, version, feature, dates, data, window):
    """Rows for one version × feature. dates (datetime64[D]) and data are sorted by
    date, then value, so each day's slice is already sorted."""
    rows = []
    start, end = (
        np.datetime64(window.reference_start, "D"),
        np.datetime64(window.reference_end, "D"),
    )
    in_reference = (dates >= start) & (dates <= end)
    reference = np.sort(data[in_reference])
    if len(reference) == 0:
        return rows  # no reference values for this feature: nothing to compare with
    edges = np.unique(np.percentile(reference, DECILES))
    reference_shares = shares(reference, edges)
    days, first = np.unique(dates, return_index=True)
    bounds = [*first[1:], len(dates)]
    for day, lo, hi in zip(days, first, bounds, strict=True):
        current = data[lo:hi]
        current_shares = shares(current, edges)
        psi = float(
            np.sum((current_shares - reference_shares) * np.log(current_shares / reference_shares))
        )
        statistic, pvalue = ks_two_sided(reference, current)
        status = status_of(psi, pvalue)
        rows.append(
            {
                "prediction_date": day.astype("datetime64[D]").item(),
                "model_name": name,
                "model_version": version,
                "feature": feature,
                "is_reference_day": bool(start <= day <= end),
                "reference_values": len(reference),
                "current_values": len(current),
                "psi": psi,
                "ks_statistic": statistic,
                "ks_pvalue": pvalue,
                "status": status,
                "status_level": LEVEL[status],
            }
        )
    return rows


COLUMNS = [
    "prediction_date", "model_name", "model_version", "feature", "is_reference_day",
    "reference_values", "current_values", "psi", "ks_statistic", "ks_pvalue", "status",
    "status_level",
]  # fmt: skip


def model(dbt, session):
    dbt.config(materialized="table")
    import duckdb

    windows = dbt.ref("int_drift_reference_windows").df()
    for column in ("reference_start", "reference_end"):
        windows[column] = pd.to_datetime(windows[column]).dt.date
    windows = windows.set_index(["model_name", "model_version"])
    values = dbt.ref("int_prediction_features")
    groups = values.aggregate(
        "model_name, model_version, feature", "model_name, model_version, feature"
    )
    rows = []
    # one version × feature at a time: memory stays at one group's values, and
    # the values arrive sorted from DuckDB
    for name, version, feature in sorted(groups.fetchall()):
        if (name, version) not in windows.index:
            continue
        column = duckdb.ColumnExpression
        group = (
            values.filter(
                (column("model_name") == duckdb.ConstantExpression(name))
                & (column("model_version") == duckdb.ConstantExpression(version))
                & (column("feature") == duckdb.ConstantExpression(feature))
            )
            .order("predicted_date, feature_value")
            .project("predicted_date, feature_value")
            .fetchnumpy()
        )
        dates = np.asarray(group["predicted_date"]).astype("datetime64[D]")
        data = np.asarray(group["feature_value"], dtype=float)
        rows.extend(group_rows(name, version, feature, dates, data, windows.loc[(name, version)]))
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["reference_values"] = out["reference_values"].astype("int64")
    out["current_values"] = out["current_values"].astype("int64")
    out["status_level"] = out["status_level"].astype("int32")
    return out
