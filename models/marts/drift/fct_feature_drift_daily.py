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


def drift_rows(values, windows):
    """values: model_name, model_version, feature, predicted_date, feature_value."""
    rows = []
    windows = windows.set_index(["model_name", "model_version"])
    for (name, version, feature), group in values.groupby(
        ["model_name", "model_version", "feature"], sort=True
    ):
        if (name, version) not in windows.index:
            continue
        window = windows.loc[(name, version)]
        dates = group["predicted_date"].to_numpy()
        data = group["feature_value"].to_numpy(dtype=float)
        in_reference = (dates >= window.reference_start) & (dates <= window.reference_end)
        reference = np.sort(data[in_reference])
        if len(reference) == 0:
            continue  # no reference values for this feature: nothing to compare with
        edges = np.unique(np.percentile(reference, DECILES))
        reference_shares = shares(reference, edges)
        for day, day_values in group.groupby("predicted_date", sort=True)["feature_value"]:
            current = np.sort(day_values.to_numpy(dtype=float))
            current_shares = shares(current, edges)
            psi = float(
                np.sum(
                    (current_shares - reference_shares) * np.log(current_shares / reference_shares)
                )
            )
            statistic, pvalue = ks_two_sided(reference, current)
            status = status_of(psi, pvalue)
            rows.append(
                {
                    "prediction_date": day,
                    "model_name": name,
                    "model_version": version,
                    "feature": feature,
                    "is_reference_day": bool(window.reference_start <= day <= window.reference_end),
                    "reference_values": len(reference),
                    "current_values": len(current),
                    "psi": psi,
                    "ks_statistic": statistic,
                    "ks_pvalue": pvalue,
                    "status": status,
                    "status_level": LEVEL[status],
                }
            )
    columns = [
        "prediction_date", "model_name", "model_version", "feature", "is_reference_day",
        "reference_values", "current_values", "psi", "ks_statistic", "ks_pvalue", "status",
        "status_level",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def model(dbt, session):
    dbt.config(materialized="table")
    windows = dbt.ref("int_drift_reference_windows").df()
    values = (
        dbt.ref("int_prediction_features")
        .project("model_name, model_version, feature, predicted_date, feature_value")
        .order("model_name, model_version, feature, predicted_date")
        .df()
    )
    for frame in (values,):
        frame["predicted_date"] = pd.to_datetime(frame["predicted_date"]).dt.date
    for column in ("reference_start", "reference_end"):
        windows[column] = pd.to_datetime(windows[column]).dt.date
    out = drift_rows(values, windows)
    out["reference_values"] = out["reference_values"].astype("int64")
    out["current_values"] = out["current_values"].astype("int64")
    out["status_level"] = out["status_level"].astype("int32")
    return out
