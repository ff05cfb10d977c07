"""Label shift per day: chi-square goodness of fit of the day's predicted_label
counts against the shares in the version's reference window.

A Python model because the p-value needs the chi-square distribution
(scipy.stats.chisquare), which SQL engines do not have.
Grain: prediction_date × model_name × model_version.

Incremental (delete+insert on the grain): a build recomputes the days with
predictions of newer batches, and a whole version when its reference changed
(another window, or new predictions on a reference day). The p-value gate is
label_shift_pvalue of the drift_gates seed (int_drift_gates_validated); an edited
seed changes the project fingerprint, so `modelmart build` rebuilds every day.
"""

import pandas as pd
import pyarrow as pa
from scipy import stats

SCHEMA = pa.schema(
    [
        ("prediction_date", pa.date32()),
        ("model_name", pa.string()),
        ("model_version", pa.string()),
        ("model_version_key", pa.string()),
        ("is_reference_day", pa.bool_()),
        ("predictions", pa.int64()),
        ("reference_classes", pa.int64()),
        ("unseen_class_predictions", pa.int64()),
        ("chi2_statistic", pa.float64()),
        ("p_value", pa.float64()),
        ("flagged", pa.bool_()),
        ("reference_start", pa.date32()),
        ("reference_end", pa.date32()),
        ("source_batch_seq", pa.int64()),
    ]
)


def shift_rows(counts, windows, alpha, todo=None):
    """counts: model_name, model_version, predicted_date, predicted_label, predictions,
    source_batch_seq. todo: (name, version) → the days to emit, None for all; a
    version missing from todo is left out (None instead of a dict: every version).
    alpha: a day is flagged when its p-value is below it."""
    rows = []
    windows = windows.set_index(["model_name", "model_version"])
    for (name, version), group in counts.groupby(["model_name", "model_version"], sort=True):
        if (name, version) not in windows.index:
            continue
        if todo is not None and (name, version) not in todo:
            continue
        only_days = None if todo is None else todo[(name, version)]
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
            if only_days is not None and day not in only_days:
                continue
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
                    "model_version_key": f"{name}/{version}",  # as the model_version_key macro
                    "is_reference_day": bool(window.reference_start <= day <= window.reference_end),
                    "predictions": total,
                    "reference_classes": len(reference_shares),
                    "unseen_class_predictions": unseen,
                    "chi2_statistic": statistic,
                    "p_value": pvalue,
                    "flagged": bool(pvalue is not None and pvalue < alpha),
                    "reference_start": window.reference_start,
                    "reference_end": window.reference_end,
                    "source_batch_seq": int(day_counts["source_batch_seq"].max()),
                }
            )
    return pd.DataFrame(rows, columns=SCHEMA.names)


def plan(windows, prior, new_days):
    """(name, version) → the days to recompute (None: all of them). prior:
    (name, version) → (reference_start, reference_end) already built; new_days:
    (name, version) → days with predictions of newer batches."""
    todo = {}
    for row in windows.itertuples():
        key, bounds = (row.model_name, row.model_version), (row.reference_start, row.reference_end)
        days = new_days.get(key, set())
        reference_changed = prior.get(key) != bounds  # also: a version not built yet
        reference_touched = any(bounds[0] <= day <= bounds[1] for day in days)
        if reference_changed or reference_touched:
            todo[key] = None
        elif days:
            todo[key] = days
    return todo


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        unique_key=["prediction_date", "model_name", "model_version"],
    )
    import duckdb

    windows = dbt.ref("int_drift_reference_windows").df()
    for column in ("reference_start", "reference_end"):
        windows[column] = pd.to_datetime(windows[column]).dt.date
    gates = dict(dbt.ref("int_drift_gates_validated").project("gate, threshold").fetchall())
    alpha = gates["label_shift_pvalue"]
    predictions = dbt.ref("stg_landing__predictions")
    todo = None
    if dbt.is_incremental:
        built = session.sql(
            f"select model_name, model_version, max(reference_start), max(reference_end), "
            f"max(source_batch_seq) from {dbt.this} group by all"
        ).fetchall()
        prior = {(n, v): (start, end) for n, v, start, end, _ in built}
        watermark = max((seq for *_, seq in built), default=-1)
        new_days = {}
        for name, version, day in (
            predictions.filter(f"batch_seq > {int(watermark)}")
            .aggregate(
                "model_name, model_version, predicted_date",
                "model_name, model_version, predicted_date",
            )
            .fetchall()
        ):
            new_days.setdefault((name, version), set()).add(day)
        todo = plan(windows, prior, new_days)
        # count only what the plan needs: each version's reference days and new days
        column, constant = duckdb.ColumnExpression, duckdb.ConstantExpression
        by_version = windows.set_index(["model_name", "model_version"])
        wanted = None
        for (name, version), days in todo.items():
            scope = (column("model_name") == constant(name)) & (
                column("model_version") == constant(version)
            )
            if days is not None:
                window = by_version.loc[(name, version)]
                scope = scope & (
                    column("predicted_date").between(
                        constant(window.reference_start), constant(window.reference_end)
                    )
                    | column("predicted_date").isin(*[constant(day) for day in sorted(days)])
                )
            wanted = scope if wanted is None else wanted | scope
        predictions = predictions.filter(wanted if wanted is not None else constant(False))
    counts = predictions.aggregate(
        "model_name, model_version, predicted_date, predicted_label, count(*) as predictions, "
        "max(batch_seq) as source_batch_seq",
        "model_name, model_version, predicted_date, predicted_label",
    ).df()
    counts["predicted_date"] = pd.to_datetime(counts["predicted_date"]).dt.date
    out = shift_rows(counts, windows, alpha, todo)
    # an explicit schema: an incremental build with nothing new returns no rows,
    # and those must still have the table's column types
    return pa.Table.from_pandas(out, schema=SCHEMA, preserve_index=False)
