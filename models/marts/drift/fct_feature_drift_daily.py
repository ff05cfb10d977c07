"""Feature drift per day against each model version's reference window.

A Python model because the KS p-value needs the Kolmogorov distribution
(scipy.stats.kstwo), which SQL engines do not have; PSI and the KS statistic are
computed here too so that one pass over the sorted values serves all three.
Grain: prediction_date × model_name × model_version × feature.

Incremental (delete+insert on the grain): a day's statistics depend only on that
day's values and on the reference window, so a build recomputes the days that got
new values, and a whole version × feature when its reference changed (another
window, or new values on a reference day). The gates (PSI warning / critical, KS p-value)
come from the drift_gates seed (int_drift_gates_validated); an edited seed changes
the project fingerprint, so `modelmart build` rebuilds every day with the new gates.
"""

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import stats

DECILES = [10, 20, 30, 40, 50, 60, 70, 80, 90]
SHARE_FLOOR = 0.0001
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


def status_of(psi, pvalue, gates):
    """gates: gate → threshold (psi_warning, psi_critical, ks_pvalue)."""
    drifted_psi, drifted_ks = psi >= gates["psi_critical"], pvalue < gates["ks_pvalue"]
    if drifted_psi and drifted_ks:
        return "critical"
    if psi >= gates["psi_warning"] or drifted_ks:
        return "warning"
    return "ok"


def group_rows(name, version, feature, dates, data, batches, window, gates, only_days=None):
    """Rows for one version × feature. dates (datetime64[D]) and data are sorted by
    date, then value, so each day's slice is already sorted. only_days: the days to
    emit (None: all); batches: each value's ingestion batch, for source_batch_seq."""
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
        if only_days is not None and day not in only_days:
            continue
        current = data[lo:hi]
        current_shares = shares(current, edges)
        psi = float(
            np.sum((current_shares - reference_shares) * np.log(current_shares / reference_shares))
        )
        statistic, pvalue = ks_two_sided(reference, current)
        status = status_of(psi, pvalue, gates)
        rows.append(
            {
                "prediction_date": day.astype("datetime64[D]").item(),
                "model_name": name,
                "model_version": version,
                "model_version_key": f"{name}/{version}",  # as the model_version_key macro
                "feature": feature,
                "is_reference_day": bool(start <= day <= end),
                "reference_values": len(reference),
                "current_values": len(current),
                "psi": psi,
                "ks_statistic": statistic,
                "ks_pvalue": pvalue,
                "status": status,
                "status_level": LEVEL[status],
                "reference_start": window.reference_start,
                "reference_end": window.reference_end,
                "source_batch_seq": int(batches[lo:hi].max()),
            }
        )
    return rows


SCHEMA = pa.schema(
    [
        ("prediction_date", pa.date32()),
        ("model_name", pa.string()),
        ("model_version", pa.string()),
        ("model_version_key", pa.string()),
        ("feature", pa.string()),
        ("is_reference_day", pa.bool_()),
        ("reference_values", pa.int64()),
        ("current_values", pa.int64()),
        ("psi", pa.float64()),
        ("ks_statistic", pa.float64()),
        ("ks_pvalue", pa.float64()),
        ("status", pa.string()),
        ("status_level", pa.int32()),
        ("reference_start", pa.date32()),
        ("reference_end", pa.date32()),
        ("source_batch_seq", pa.int64()),
    ]
)
COLUMNS = SCHEMA.names


def plan(groups, windows, prior, new_days):
    """What to compute per version × feature: None = every day, a set of days, or
    nothing (the group is left out).

    groups: (name, version, feature) with values; prior: (name, version, feature)
    → (reference_start, reference_end) already built (empty on a full build);
    new_days: (name, version, feature) → set of days with values of newer batches.
    """
    todo = {}
    for key in groups:
        name, version, _ = key
        if (name, version) not in windows.index:
            continue
        window = windows.loc[(name, version)]
        bounds = (window.reference_start, window.reference_end)
        days = new_days.get(key, set())
        start, end = (np.datetime64(bound, "D") for bound in bounds)
        reference_changed = prior.get(key) != bounds  # also: a group not built yet
        reference_touched = any(start <= day <= end for day in days)
        if reference_changed or reference_touched:
            todo[key] = None  # every day
        elif days:
            todo[key] = days
    return todo


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        unique_key=["prediction_date", "model_name", "model_version", "feature"],
    )
    import duckdb

    windows = dbt.ref("int_drift_reference_windows").df()
    for column in ("reference_start", "reference_end"):
        windows[column] = pd.to_datetime(windows[column]).dt.date
    windows = windows.set_index(["model_name", "model_version"])
    gates = dict(dbt.ref("int_drift_gates_validated").project("gate, threshold").fetchall())
    values = dbt.ref("int_prediction_features")
    groups = [
        tuple(row)
        for row in values.aggregate(
            "model_name, model_version, feature", "model_name, model_version, feature"
        ).fetchall()
    ]
    prior, new_days = {}, {}
    if dbt.is_incremental:
        built = session.sql(
            f"select model_name, model_version, feature, max(reference_start), "
            f"max(reference_end), max(source_batch_seq) from {dbt.this} group by all"
        ).fetchall()
        prior = {(n, v, f): (start, end) for n, v, f, start, end, _ in built}
        watermark = max((seq for *_, seq in built), default=-1)
        for name, version, feature, day in (
            values.filter(f"batch_seq > {int(watermark)}")
            .aggregate(
                "model_name, model_version, feature, predicted_date",
                "model_name, model_version, feature, predicted_date",
            )
            .fetchall()
        ):
            new_days.setdefault((name, version, feature), set()).add(np.datetime64(day, "D"))
    todo = plan(groups, windows, prior, new_days)
    rows = []
    column, constant = duckdb.ColumnExpression, duckdb.ConstantExpression

    def arrays(frame):
        return (
            np.asarray(frame["predicted_date"]).astype("datetime64[D]"),
            np.asarray(frame["feature_value"], dtype=float),
            np.asarray(frame["batch_seq"], dtype=np.int64),
        )

    # whole groups (a full build, a new or moved reference): one version × feature
    # at a time, so memory stays at one group's values; they arrive sorted
    for name, version, feature in sorted(k for k, days in todo.items() if days is None):
        group = values.filter(
            (column("model_name") == constant(name))
            & (column("model_version") == constant(version))
            & (column("feature") == constant(feature))
        )
        fetched = (
            group.order("predicted_date, feature_value")
            .project("predicted_date, feature_value, batch_seq")
            .fetchnumpy()
        )
        window = windows.loc[(name, version)]
        rows.extend(group_rows(name, version, feature, *arrays(fetched), window, gates))
    # new days only (the daily case): one scan for every group of the reference days
    # and the new days, which is small, then split per group
    partial = {k: days for k, days in todo.items() if days is not None}
    if partial:
        needed = set()
        for (name, version, _), days in partial.items():
            window = windows.loc[(name, version)]
            needed |= set(days)
            needed |= set(
                np.arange(
                    np.datetime64(window.reference_start, "D"),
                    np.datetime64(window.reference_end, "D") + 1,
                )
            )
        dates_wanted = [constant(day.astype(object)) for day in sorted(needed)]
        frame = (
            values.filter(column("predicted_date").isin(*dates_wanted))
            .order("model_name, model_version, feature, predicted_date, feature_value")
            .project("model_name, model_version, feature, predicted_date, feature_value, batch_seq")
            .df()
        )
        for key, group in frame.groupby(["model_name", "model_version", "feature"], sort=True):
            if key in partial:
                window = windows.loc[key[:2]]
                rows.extend(group_rows(*key, *arrays(group), window, gates, partial[key]))
    # an explicit schema: an incremental build with nothing new returns no rows,
    # and those must still have the table's column types
    return pa.Table.from_pandas(
        pd.DataFrame(rows, columns=COLUMNS), schema=SCHEMA, preserve_index=False
    )
