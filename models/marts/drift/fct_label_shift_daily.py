"""Label shift per day: chi-square goodness of fit of the day's predicted_label
counts against the shares in the version's reference window.

A Python model because the p-value needs the chi-square distribution
(scipy.stats.chisquare), which SQL engines do not have.
Grain: prediction_date × model_name × model_version.
"""

import pandas as pd
from scipy import stats

ALPHA = 0.01


def shift_rows(counts, windows):
    """counts: model_name, model_version, predicted_date, predicted_label, predictions."""
    rows = []
    windows = windows.set_index(["model_name", "model_version"])
    for (name, version), group in counts.groupby(["model_name", "model_version"], sort=True):
        if (name, version) not in windows.index:
            continue
        window = windows.loc[(name, version)]
        dates = group["predicted_date"]
        reference = (
            group[(dates >= window.reference_start) & (dates <= window.reference_end)]
            .groupby("predicted_label")["predictions"]
            .sum()
            .sort_index()
        )
        reference_shares = reference / reference.sum()
        for day, day_counts in group.groupby("predicted_date", sort=True):
            observed = day_counts.set_index("predicted_label")["predictions"]
            total = int(observed.sum())
            unseen = int(observed[~observed.index.isin(reference_shares.index)].sum())
            statistic = pvalue = None
            if unseen:
                # a class the reference never predicted: expected count 0, the
                # statistic is infinite and the shift certain
                statistic, pvalue = float("inf"), 0.0
            elif len(reference_shares) > 1:
                f_obs = observed.reindex(reference_shares.index, fill_value=0).to_numpy(dtype=float)
                f_exp = reference_shares.to_numpy() * total
                result = stats.chisquare(f_obs, f_exp)
                statistic, pvalue = float(result.statistic), float(result.pvalue)
            rows.append(
                {
                    "prediction_date": day,
                    "model_name": name,
                    "model_version": version,
                    "is_reference_day": bool(window.reference_start <= day <= window.reference_end),
                    "predictions": total,
                    "reference_classes": len(reference_shares),
                    "unseen_class_predictions": unseen,
                    "chi2_statistic": statistic,
                    "p_value": pvalue,
                    "flagged": bool(pvalue is not None and pvalue < ALPHA),
                }
            )
    columns = [
        "prediction_date", "model_name", "model_version", "is_reference_day", "predictions",
        "reference_classes", "unseen_class_predictions", "chi2_statistic", "p_value", "flagged",
    ]  # fmt: skip
    out = pd.DataFrame(rows, columns=columns)
    for column in ("chi2_statistic", "p_value"):
        out[column] = out[column].astype("float64")
    return out


def model(dbt, session):
    dbt.config(materialized="table")
    windows = dbt.ref("int_drift_reference_windows").df()
    counts = (
        dbt.ref("stg_landing__predictions")
        .aggregate(
            "model_name, model_version, predicted_date, predicted_label, count(*) as predictions",
            "model_name, model_version, predicted_date, predicted_label",
        )
        .df()
    )
    counts["predicted_date"] = pd.to_datetime(counts["predicted_date"]).dt.date
    for column in ("reference_start", "reference_end"):
        windows[column] = pd.to_datetime(windows[column]).dt.date
    out = shift_rows(counts, windows)
    for column in ("predictions", "reference_classes", "unseen_class_predictions"):
        out[column] = out[column].astype("int64")
    return out
