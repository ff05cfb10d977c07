"""Model monitoring marts on the four classic scenarios, against scipy/numpy.

A 3-class Gaussian-mixture classifier stream with 5 features (f1–f3 separate the
classes, f4–f5 are class-independent N(0, 1) noise), 300 predictions a day for 12
days, one model version per scenario:

- stable:  nothing changes (default reference window: its first 7 dates);
- abrupt:  f4 and f5 shift by 2 standard deviations from day 5;
- gradual: f4 and f5 shift linearly from 0 on day 4 to 2 standard deviations on day 9;
- prior:   class priors move from uniform to 70/15/15 from day 5.

The shifted versions use a reference window of days 1–4 (drift_reference_windows
seed). Every prediction gets its true class as a label a day later.
"""

from __future__ import annotations

import datetime as dt
import json
import os

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from modelmart.ingest import ingest_records
from tests.conftest import project_copy, run_cli

pytestmark = pytest.mark.slow

CLASSES = np.array(["a", "b", "c"])
MEANS = np.array([[0, 0, 0, 0, 0], [2, 1, 0, 0, 0], [0, 2, 1.5, 0, 0]], dtype=float)
FEATURES = ["f1", "f2", "f3", "f4", "f5"]
SCENARIOS = ("stable", "abrupt", "gradual", "prior")
DAYS, PER_DAY = 12, 300
START = dt.date(2026, 9, 1)
SHIFTED_REFERENCE = (START, START + dt.timedelta(days=3))  # days 1–4


def day_of(date: dt.date) -> int:
    return (date - START).days + 1


def noise_shift(scenario: str, day: int) -> float:
    if scenario == "abrupt":
        return 2.0 if day >= 5 else 0.0
    if scenario == "gradual":
        return 2.0 * min(max((day - 4) / 5, 0.0), 1.0)
    return 0.0


def generate(seed: int = 20261122) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    preds, labels = [], []
    for scenario in SCENARIOS:
        for day in range(1, DAYS + 1):
            priors = [0.7, 0.15, 0.15] if scenario == "prior" and day >= 5 else [1 / 3] * 3
            truth = rng.choice(3, size=PER_DAY, p=priors)
            x = MEANS[truth] + rng.normal(size=(PER_DAY, 5))
            x[:, 3:] += noise_shift(scenario, day)
            # the classifier: posterior under the training-time model (uniform priors)
            loglik = -0.5 * ((x[:, None, :] - MEANS[None, :, :]) ** 2).sum(axis=2)
            posterior = np.exp(loglik - loglik.max(axis=1, keepdims=True))
            posterior /= posterior.sum(axis=1, keepdims=True)
            chosen = posterior.argmax(axis=1)
            at = pd.Timestamp(START + dt.timedelta(days=day - 1)) + pd.to_timedelta(
                rng.integers(0, 86_400, PER_DAY), unit="s"
            )
            ids = [f"{scenario}-{day}-{i}" for i in range(PER_DAY)]
            preds.append(
                pd.DataFrame(
                    {
                        "event_id": ids,
                        "model_name": "mixture",
                        "model_version": scenario,
                        "predicted_at": at.tz_localize("UTC"),
                        "predicted_label": CLASSES[chosen],
                        "score": posterior.max(axis=1),
                        "features": [
                            json.dumps(dict(zip(FEATURES, row.round(6).tolist(), strict=True)))
                            for row in x
                        ],
                        "true_label": CLASSES[truth],
                        "x": list(x.round(6)),
                    }
                )
            )
            labels.append(
                pd.DataFrame(
                    {
                        "event_id": [f"label-{i}" for i in ids],
                        "target_event_id": ids,
                        "label": CLASSES[truth],
                        "labeled_at": (at + pd.Timedelta(days=1)).tz_localize("UTC"),
                    }
                )
            )
    return pd.concat(preds, ignore_index=True), pd.concat(labels, ignore_index=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("drift")
    project = project_copy(tmp)
    seed = project / "seeds" / "drift_reference_windows.csv"
    rows = [f"mixture,{s},{SHIFTED_REFERENCE[0]},{SHIFTED_REFERENCE[1]}" for s in SCENARIOS[1:]]
    seed.write_text(seed.read_text() + "\n".join(rows) + "\n")
    preds, labels = generate()
    home = tmp / "home"

    def build(*extra: str) -> None:
        env = {**os.environ, "MODELMART_PROJECT_DIR": str(project)}
        run = run_cli(home, "build", "--quiet", *extra, env=env)
        assert run.returncode == 0, run.stdout + run.stderr

    # two builds, as in production: days 1–10 (labels up to day 9), then days 11–12
    # and the late labels; every check below runs on the incremental result
    first_days = preds.predicted_at.dt.date <= START + dt.timedelta(days=9)
    first_labels = labels.labeled_at.dt.date <= START + dt.timedelta(days=9)
    predictions = preds.drop(columns=["true_label", "x"])
    ingest_records("predictions", predictions[first_days], home)
    ingest_records("labels", labels[first_labels], home)
    build()
    ingest_records("predictions", predictions[~first_days], home)
    ingest_records("labels", labels[~first_labels], home)
    build()
    # nothing new: forced through dbt, the incremental models return no rows, typed
    # as the tables (unforced, `modelmart build` would skip it)
    build("--force")
    state = json.loads((home / "build" / "state.json").read_text())
    assert state["last_build"]["full_refresh"] is False
    marts = read_marts(home)
    preds["date"] = preds.predicted_at.dt.date
    build("--full-refresh")
    return {
        "marts": marts,
        "preds": preds,
        "rebuilt": read_marts(home),
        "project": project,
        "home": home,
    }


DRIFT_MARTS = (
    "fct_feature_drift_daily",
    "fct_label_shift_daily",
    "fct_calibration_daily",
    "fct_calibration_bins_daily",
    "fct_confusion_matrix_daily",
    "fct_classification_daily",
    "fct_drift_status_daily",
    "fct_alerts",
)


def read_marts(home) -> dict:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    marts = {name: con.execute(f"select * from marts.{name}").df() for name in DRIFT_MARTS}
    con.close()
    for frame in marts.values():
        for column in frame.columns:
            if column.endswith("_date"):
                frame[column] = pd.to_datetime(frame[column]).dt.date
    return marts


def reference_mask(preds: pd.DataFrame, version: str) -> pd.Series:
    rows = preds.model_version == version
    if version == "stable":  # the default: its first 7 dates with predictions
        first = sorted(preds.loc[rows, "date"].unique())[:7]
        return rows & preds.date.isin(first)
    return rows & preds.date.between(*SHIFTED_REFERENCE)


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    edges = np.unique(np.percentile(reference, np.arange(10, 100, 10)))
    ref = np.bincount(np.digitize(reference, edges, right=True), minlength=len(edges) + 1)
    cur = np.bincount(np.digitize(current, edges, right=True), minlength=len(edges) + 1)
    ref = np.maximum(ref / len(reference), 1e-4)
    cur = np.maximum(cur / len(current), 1e-4)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


# ------------------------------------------------------------------ statistics vs scipy


def test_psi_and_ks_equal_numpy_and_scipy(built):
    preds, drift = built["preds"], built["marts"]["fct_feature_drift_daily"]
    assert len(drift) == len(SCENARIOS) * DAYS * len(FEATURES)
    checked = 0
    for version in SCENARIOS:
        in_reference = reference_mask(preds, version)
        for j, feature in enumerate(FEATURES):
            reference = np.stack(preds.loc[in_reference, "x"])[:, j]
            for date, day_rows in preds[preds.model_version == version].groupby("date"):
                current = np.stack(day_rows.x)[:, j]
                row = drift[
                    (drift.model_version == version)
                    & (drift.feature == feature)
                    & (drift.prediction_date == date)
                ].iloc[0]
                ks = stats.ks_2samp(reference, current, method="asymp")
                assert row.ks_statistic == pytest.approx(ks.statistic, abs=1e-9)
                assert row.ks_pvalue == pytest.approx(ks.pvalue, abs=1e-6)
                assert row.psi == pytest.approx(psi(reference, current), abs=1e-9)
                assert row.reference_values == len(reference) and row.current_values == len(current)
                want = (
                    "critical"
                    if row.psi >= 0.2 and row.ks_pvalue < 0.01
                    else "warning"
                    if row.psi >= 0.1 or row.ks_pvalue < 0.01
                    else "ok"
                )
                assert row.status == want
                checked += 1
    assert checked == len(drift)


def test_label_shift_equals_scipy_chisquare(built):
    preds, shift = built["preds"], built["marts"]["fct_label_shift_daily"]
    for version in SCENARIOS:
        shares = (
            preds[reference_mask(preds, version)]
            .predicted_label.value_counts(normalize=True)
            .sort_index()
        )
        for date, day_rows in preds[preds.model_version == version].groupby("date"):
            observed = day_rows.predicted_label.value_counts().reindex(shares.index, fill_value=0)
            want = stats.chisquare(observed.to_numpy(float), shares.to_numpy() * len(day_rows))
            row = shift[(shift.model_version == version) & (shift.prediction_date == date)].iloc[0]
            assert row.chi2_statistic == pytest.approx(want.statistic, abs=1e-9)
            assert row.p_value == pytest.approx(want.pvalue, abs=1e-6)
            assert bool(row.flagged) == (want.pvalue < 0.01)


def test_calibration_confusion_and_macro_scores_equal_numpy(built):
    preds, marts = built["preds"], built["marts"]
    calibration, bins = marts["fct_calibration_daily"], marts["fct_calibration_bins_daily"]
    confusion, scores = marts["fct_confusion_matrix_daily"], marts["fct_classification_daily"]
    edges = np.linspace(0, 1, 11)
    for (version, date), g in preds.groupby(["model_version", "date"]):
        score = g.score.to_numpy()
        correct = (g.predicted_label == g.true_label).to_numpy(float)
        index = np.clip(np.searchsorted(edges, score, side="left"), 1, 10)  # [0, .1], (.1, .2] …
        ece = sum(
            (index == b).sum()
            / len(score)
            * abs(correct[index == b].mean() - score[index == b].mean())
            for b in range(1, 11)
            if (index == b).any()
        )
        row = calibration[
            (calibration.model_version == version) & (calibration.prediction_date == date)
        ].iloc[0]
        assert row.ece == pytest.approx(ece, abs=1e-9)
        assert row.brier_score == pytest.approx(np.mean((score - correct) ** 2), abs=1e-9)
        day_bins = bins[(bins.model_version == version) & (bins.prediction_date == date)]
        assert day_bins.labeled.sum() == len(g) and set(day_bins.score_bin) == set(np.unique(index))

        cells = confusion[
            (confusion.model_version == version) & (confusion.prediction_date == date)
        ]
        want_cells = g.groupby(["true_label", "predicted_label"]).size()
        got_cells = cells.set_index(["true_label", "predicted_label"]).predictions
        assert got_cells.sort_index().to_dict() == want_cells.sort_index().to_dict()

        labels = sorted(set(g.true_label) | set(g.predicted_label))
        precision, recall, f1 = [], [], []
        for c in labels:
            tp = ((g.predicted_label == c) & (g.true_label == c)).sum()
            fp = ((g.predicted_label == c) & (g.true_label != c)).sum()
            fn = ((g.predicted_label != c) & (g.true_label == c)).sum()
            p = tp / (tp + fp) if tp + fp else 0.0
            r = tp / (tp + fn) if tp + fn else 0.0
            precision.append(p)
            recall.append(r)
            f1.append(2 * p * r / (p + r) if p + r else 0.0)
        row = scores[(scores.model_version == version) & (scores.prediction_date == date)].iloc[0]
        assert row.macro_precision == pytest.approx(np.mean(precision), abs=1e-9)
        assert row.macro_recall == pytest.approx(np.mean(recall), abs=1e-9)
        assert row.macro_f1 == pytest.approx(np.mean(f1), abs=1e-9)


# ------------------------------------------------------------------ the four scenarios


def critical_days(drift: pd.DataFrame, version: str) -> list[int]:
    rows = drift[(drift.model_version == version) & (drift.status == "critical")]
    return sorted({day_of(d) for d in rows.prediction_date})


def test_stable_stream_never_goes_critical(built):
    drift = built["marts"]["fct_feature_drift_daily"]
    assert critical_days(drift, "stable") == []
    alerts = built["marts"]["fct_alerts"]
    assert alerts[(alerts.model_version == "stable") & (alerts.severity == "critical")].empty


def test_abrupt_shift_is_critical_from_day_5(built):
    drift = built["marts"]["fct_feature_drift_daily"]
    assert critical_days(drift, "abrupt") == list(range(5, DAYS + 1))
    noise = drift[(drift.model_version == "abrupt") & drift.feature.isin(["f4", "f5"])]
    assert (noise[noise.prediction_date.map(day_of) >= 5].status == "critical").all()
    alerts = built["marts"]["fct_alerts"]
    paging = alerts[
        (alerts.model_version == "abrupt") & (alerts.rule_id == "feature_drift_critical")
    ]
    assert (
        len(paging) == 1
        and day_of(paging.first_seen_date.iloc[0]) == 5
        and paging.is_active.iloc[0]
    )


def test_gradual_shift_is_detected_and_its_delay_reported(built, capsys):
    drift = built["marts"]["fct_feature_drift_daily"]
    days = critical_days(drift, "gradual")
    assert days, "gradual drift never reached critical"
    first = days[0]
    warned = sorted(
        {
            day_of(d)
            for d in drift[
                (drift.model_version == "gradual") & (drift.status != "ok")
            ].prediction_date
        }
    )
    with capsys.disabled():
        print(
            f"\n[gradual drift] ramp starts day 4 (shift 0) and reaches 2 sd on day 9; first warning "
            f"day {warned[0]}, first critical day {first}: detected {first - 4} days after the ramp began"
        )
    assert 4 < first <= 9 and days == list(range(first, DAYS + 1))


def test_prior_shift_flags_label_shift_from_day_5(built):
    shift = built["marts"]["fct_label_shift_daily"]
    rows = shift[shift.model_version == "prior"].assign(day=lambda f: f.prediction_date.map(day_of))
    assert rows[rows.day >= 5].flagged.all()
    assert not rows[rows.day < 5].flagged.any()
    stable = shift[shift.model_version == "stable"]
    assert stable.flagged.sum() <= 1  # p < 0.01 by chance at most once in 12 days
    gate = built["marts"]["fct_drift_status_daily"]
    assert (
        gate[
            (gate.model_version == "prior") & (gate.prediction_date.map(day_of) >= 5)
        ].label_shift_flagged
        == 1
    ).all()


@pytest.mark.parametrize("mart", DRIFT_MARTS)
def test_incremental_build_equals_a_full_rebuild(built, mart):
    """Days 11–12 and late labels added incrementally give the same rows as
    rebuilding everything (drift recomputes only the new days: same numbers)."""
    keys = [
        c
        for c in (
            "prediction_date",
            "model_name",
            "model_version",
            "feature",
            "score_bin",
            "true_label",
            "predicted_label",
            "alert_id",
        )
        if c in built["marts"][mart]
    ]

    def ordered(frame):
        frame = frame.drop(columns=[c for c in ("source_batch_seq",) if c in frame])
        return frame.sort_values(keys).reset_index(drop=True)

    pd.testing.assert_frame_equal(ordered(built["marts"][mart]), ordered(built["rebuilt"][mart]))


def test_reference_bounds_and_source_batches_of_the_incremental_build(built):
    """The bookkeeping columns the incremental build relies on, recomputed from the
    fixture: each version's reference window, and the newest ingestion batch behind
    each day (batches: 1 predictions days 1–10, 2 their labels up to day 10,
    3 predictions days 11–12, 4 the remaining labels)."""
    preds = built["preds"]
    for name in ("fct_feature_drift_daily", "fct_label_shift_daily"):
        mart = built["marts"][name]
        for version, rows in mart.groupby("model_version"):
            days = sorted(preds.loc[reference_mask(preds, version), "date"].unique())
            assert set(pd.to_datetime(rows.reference_start).dt.date) == {days[0]}
            assert set(pd.to_datetime(rows.reference_end).dt.date) == {days[-1]}
        expected = np.where(mart.prediction_date.map(day_of) <= 10, 1, 3)
        np.testing.assert_array_equal(mart.source_batch_seq.to_numpy(), expected)
    labeled_on = preds.predicted_at.dt.date + dt.timedelta(days=1)  # labels come a day later
    label_batch = np.where(labeled_on <= START + dt.timedelta(days=9), 2, 4)
    pred_batch = np.where(preds.date.map(day_of) <= 10, 1, 3)
    newest = pd.Series(np.maximum(label_batch, pred_batch)).groupby(preds.date.to_numpy()).max()
    for name in (
        "fct_calibration_daily",
        "fct_confusion_matrix_daily",
        "fct_calibration_bins_daily",
    ):
        mart = built["marts"][name]
        want = mart.prediction_date.map(newest).to_numpy()
        np.testing.assert_array_equal(mart.source_batch_seq.to_numpy(), want)


# ------------------------------------------------------------------ drift gates (seed)


def test_drift_gates_come_from_their_seed_and_bad_rows_fail_the_build(built):
    """Edited gates re-classify every day (pandas on the stored statistics with the
    new gates); a bad gate row fails the build with a message naming the row. Runs
    last in this module: it rebuilds the fixture's warehouse."""
    project, home = built["project"], built["home"]
    seed = project / "seeds" / "drift_gates.csv"
    original = seed.read_text()
    env = {**os.environ, "MODELMART_PROJECT_DIR": str(project)}
    gates = {"psi_warning": 0.05, "psi_critical": 0.15, "ks_pvalue": 0.05, "pvalue": 0.3}
    try:
        seed.write_text(
            original.replace("psi_warning,0.10", f"psi_warning,{gates['psi_warning']}")
            .replace("psi_critical,0.20", f"psi_critical,{gates['psi_critical']}")
            .replace("ks_pvalue,0.01", f"ks_pvalue,{gates['ks_pvalue']}")
            .replace("label_shift_pvalue,0.01", f"label_shift_pvalue,{gates['pvalue']}")
        )
        run = run_cli(home, "build", "--quiet", env=env)
        assert run.returncode == 0, run.stdout + run.stderr
        marts = read_marts(home)
        drift = marts["fct_feature_drift_daily"]
        psi_hit = drift.psi >= gates["psi_critical"]
        ks_hit = drift.ks_pvalue < gates["ks_pvalue"]
        want = np.where(
            psi_hit & ks_hit,
            "critical",
            np.where((drift.psi >= gates["psi_warning"]) | ks_hit, "warning", "ok"),
        )
        assert (drift.status.to_numpy() == want).all()
        before = built["rebuilt"]["fct_feature_drift_daily"]
        assert (drift.status != "ok").sum() > (before.status != "ok").sum()  # they changed
        shift = marts["fct_label_shift_daily"].dropna(subset=["p_value"])
        assert (shift.flagged == (shift.p_value < gates["pvalue"])).all()
        con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
        published = dict(
            con.execute("select gate, threshold from marts.dim_drift_gates").fetchall()
        )
        con.close()
        assert published["psi_critical"] == gates["psi_critical"]

        # three bad rows in one edit (the check reports every bad row, one build)
        seed.write_text(
            original.replace("psi_critical,0.20", "psi_critical,0.05").replace(
                "ks_pvalue,0.01", "ks_pvalue,1.5"
            )
            + "psi_extreme,0.5,a typo\n"
        )
        run = run_cli(home, "build", "--quiet", env=env)
        output = run.stdout + run.stderr
        assert run.returncode != 0, output
        for message in (
            "row 1 (gate psi_warning): must be below psi_critical",
            "row 5 (gate psi_extreme): unknown gate",
            "row 3 (gate ks_pvalue): a p-value gate must lie strictly between 0 and 1",
        ):
            assert f"seeds/drift_gates.csv {message}" in output, output
        assert "Traceback" not in output
    finally:
        seed.write_text(original)
