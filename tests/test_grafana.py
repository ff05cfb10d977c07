"""`modelmart export grafana`: the dashboard JSON passes the project's JSON Schema
(jsonschema) and round-trips losslessly through the Grafana Foundation SDK's
dashboard model; thresholds equal the alert rules; the provisioning files point
the panels at the provisioned data source. (Its queries run against a real
Prometheus in tests/test_prometheus.py.)
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
import yaml

from modelmart.grafana_export import SCHEMA, validate
from tests.conftest import PROJECT


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("grafana")
    run = subprocess.run(
        [sys.executable, "-m", "modelmart.cli", "export", "grafana", "--out", str(out),
         "--datasource-url", "http://prometheus.example:9090"],
        capture_output=True, text=True, check=False, cwd=PROJECT,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    return out


def board(exported: Path) -> dict:
    return json.loads((exported / "dashboards" / "modelmart-oncall.json").read_text())


def panel(dashboard: dict, title: str) -> dict:
    return next(p for p in dashboard["panels"] if p["title"] == title)


def test_dashboard_passes_the_schema_and_the_foundation_sdk_model(exported: Path) -> None:
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.cog.plugins import register_default_plugins
    from grafana_foundation_sdk.models.dashboard import Dashboard

    dashboard = board(exported)
    jsonschema.validate(dashboard, json.loads(SCHEMA.read_text()))
    register_default_plugins()
    parsed = Dashboard.from_json(dashboard)
    again = json.loads(JSONEncoder().encode(parsed))
    # everything we wrote is a field of the SDK's model and survives unchanged (the
    # SDK may add its defaults): no misspelt or unknown key, no value of a wrong kind
    assert kept(dashboard, again) == []


def kept(ours: object, theirs: object, path: str = "") -> list[str]:
    """Paths of `ours` that `theirs` lost or changed."""
    if isinstance(ours, dict):
        if not isinstance(theirs, dict):
            return [path]
        return [
            lost
            for key, value in ours.items()
            for lost in (
                [f"{path}/{key}"]
                if key not in theirs
                else kept(value, theirs[key], f"{path}/{key}")
            )
        ]
    if isinstance(ours, list):
        if not isinstance(theirs, list) or len(ours) != len(theirs):
            return [path]
        return [
            lost
            for i, (a, b) in enumerate(zip(ours, theirs, strict=True))
            for lost in kept(a, b, f"{path}[{i}]")
        ]
    return [] if ours == theirs else [path]


def test_the_schema_rejects_what_grafana_would_not_load(exported: Path) -> None:
    dashboard = board(exported)
    for breaks in (
        lambda d: d["panels"][1]["gridPos"].update(w=30),
        lambda d: d["panels"][1].update(colour="red"),
        lambda d: d["panels"][1]["fieldConfig"]["defaults"]["thresholds"]["steps"][0].update(
            value=0
        ),
        lambda d: d.pop("uid"),
        lambda d: d["templating"]["list"][0].update(name="bad name"),
    ):
        broken = copy.deepcopy(dashboard)
        breaks(broken)
        with pytest.raises(jsonschema.ValidationError):
            validate(broken)


def test_layout_variables_and_thresholds_from_the_alert_rules(exported: Path) -> None:
    dashboard = board(exported)
    assert dashboard["uid"] == "modelmart-oncall" and dashboard["title"]
    assert dashboard["schemaVersion"] >= 36
    assert [v["name"] for v in dashboard["templating"]["list"]] == [
        "provider",
        "model",
        "model_version",
    ]
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert rows == [
        "Traffic and health",
        "Model performance",
        "Drift and data quality",
        "Business and cost",
    ]
    # no two panels overlap on the grid
    cells = set()
    for p in dashboard["panels"]:
        g = p["gridPos"]
        new = {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }
        assert not cells & new, p["title"]
        cells |= new
    rules = pd.read_csv(PROJECT / "seeds" / "alert_rules.csv")
    latency = rules[(rules.mart == "fct_dashboard_daily") & (rules.metric == "latency_p95_ms")]
    colours = {"critical": "red", "warning": "orange", "info": "blue"}
    want = [{"color": "green", "value": None}] + [
        {"color": colours[r.severity], "value": r.threshold / 1000}
        for r in latency.sort_values("threshold").itertuples()
    ]
    steps = panel(dashboard, "p95 latency per provider (newest day)")["fieldConfig"]["defaults"][
        "thresholds"
    ]["steps"]
    assert steps == want
    accuracy = rules[rules.metric == "accuracy_rolling_7d"].iloc[0]  # below the threshold is bad
    steps = panel(dashboard, "7-day accuracy")["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps == [
        {"color": colours[accuracy.severity], "value": None},
        {"color": "green", "value": accuracy.threshold},
    ]


def test_provisioning_points_panels_at_the_data_source(exported: Path) -> None:
    datasource = yaml.safe_load(
        (exported / "provisioning" / "datasources" / "modelmart.yml").read_text()
    )
    providers = yaml.safe_load(
        (exported / "provisioning" / "dashboards" / "modelmart.yml").read_text()
    )
    assert datasource["apiVersion"] == 1 and providers["apiVersion"] == 1
    (source,) = datasource["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus.example:9090"
    uids = {p["datasource"]["uid"] for p in board(exported)["panels"] if p["type"] != "row"}
    assert uids == {source["uid"]}
    (provider,) = providers["providers"]
    assert (
        provider["type"] == "file"
        and provider["folder"] == "modelmart"
        and provider["options"]["path"]
    )
