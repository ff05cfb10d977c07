"""fct_feature_quality_daily against pandas: missing rate (key absent or null),
share outside the reference window's observed range, the per-version status and
its default alert rule (missing rate > 1 %)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from modelmart.config import get_paths
from modelmart.ingest import ingest_records
from tests.conftest import project_copy, run_cli

pytestmark = pytest.mark.slow
REFERENCE = (
    "model_name,model_version,reference_start,reference_end\nchurn,v1,2026-10-01,2026-10-01\n"
)


def predictions() -> list[dict]:
    rng = np.random.default_rng(5)
    rows = []
    for day in range(3):
        for i in range(50):
            features: dict = {
                "spend": float(np.round(rng.normal(100 + 20 * day, 10), 3)),
                "age": float(rng.integers(18, 80)),
            }
            if day == 1 and i % 10 == 0:
                del features["spend"]  # absent key: 10 % missing on day two
            # no features at all (null): every feature is missing (ingest quarantines a
            # null value inside the object, so this is how "null" reaches the marts)
            text = None if day == 2 and i == 7 else json.dumps(features)
            rows.append(
                {
                    "event_id": f"p{day}-{i}",
                    "model_name": "churn",
                    "model_version": "v1",
                    "predicted_at": f"2026-10-0{day + 1}T{i % 24:02d}:15:00Z",
                    "predicted_label": "stay",
                    "score": 0.5,
                    "features": text,
                }
            )
    return rows


def reference(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["date"] = pd.to_datetime(frame.predicted_at).dt.date
    values = frame.features.map(lambda text: json.loads(text) if isinstance(text, str) else {})
    out = []
    ref_day = pd.Timestamp("2026-10-01").date()
    for feature in ("age", "spend"):
        value = values.map(lambda f, k=feature: f.get(k))
        ref = value[frame.date == ref_day].dropna()
        for date, g in value.groupby(frame.date):
            present = g.dropna()
            outside = ((present < ref.min()) | (present > ref.max())).sum()
            out.append(
                {
                    "prediction_date": date,
                    "feature": feature,
                    "predictions": len(g),
                    "values_present": len(present),
                    "missing_rate": 1 - len(present) / len(g),
                    "reference_min": ref.min(),
                    "reference_max": ref.max(),
                    "values_outside_reference": outside,
                    "outside_reference_share": outside / len(present),
                }
            )
    return pd.DataFrame(out)


def test_feature_quality_equals_pandas_and_alerts_over_one_percent(tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    (project / "seeds" / "drift_reference_windows.csv").write_text(REFERENCE)
    home = tmp_path / "home"
    rows = predictions()
    ingest_records("predictions", rows, home)
    run = run_cli(
        home, "build", "--quiet", env={**os.environ, "MODELMART_PROJECT_DIR": str(project)}
    )
    assert run.returncode == 0, run.stdout + run.stderr
    con = duckdb.connect(str(get_paths(home).warehouse), read_only=True)
    got = con.execute(
        "select * from marts.fct_feature_quality_daily order by feature, prediction_date"
    ).df()
    status = con.execute(
        "select * from marts.fct_feature_quality_status_daily order by prediction_date"
    ).df()
    alerts = con.execute(
        "select * from marts.fct_alerts where rule_id = 'feature_missing_rate_warning'"
    ).df()
    con.close()
    want = reference(rows).sort_values(["feature", "prediction_date"]).reset_index(drop=True)
    assert got.feature.tolist() == want.feature.tolist()
    assert pd.to_datetime(got.prediction_date).dt.date.tolist() == want.prediction_date.tolist()
    for column in want.columns.drop(["feature", "prediction_date"]):
        assert np.allclose(got[column].astype(float), want[column].astype(float)), column
    assert status.max_missing_rate.tolist() == pytest.approx([0.0, 0.1, 0.02])
    assert status.features_missing_over_1pct.tolist() == [0, 1, 2]
    # days two and three breach: one run, active on the newest date
    assert len(alerts) == 1 and alerts.severity[0] == "warning" and alerts.breach_days[0] == 2
    assert bool(alerts.is_active[0]) and alerts.last_value[0] == pytest.approx(0.02)
