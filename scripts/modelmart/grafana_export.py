"""`modelmart export grafana`: a Grafana dashboard on the gauges /metrics exposes,
plus the provisioning files for its Prometheus data source and folder.

Four rows (traffic and health, model performance, drift and data quality,
business and cost); template variables provider, model and model_version; every
stat panel on a metric an alert rule watches takes its colour thresholds from
seeds/alert_rules.csv (converted to the gauge's unit), so Grafana turns a panel
red exactly where modelmart alerts. The JSON is checked against
``grafana_dashboard.schema.json`` (next to this module) before it is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from modelmart.prometheus_catalog import gauge_for
from modelmart.prometheus_export import load_definitions

UID = "modelmart-oncall"
DATASOURCE = {"type": "prometheus", "uid": "modelmart-prometheus"}
SCHEMA_VERSION = 39
SEVERITY_COLOURS = {"critical": "red", "warning": "orange", "info": "blue"}
RANK = {"green": 0, "blue": 1, "orange": 2, "red": 3}
SCHEMA = Path(__file__).with_name("grafana_dashboard.schema.json")

LLM = 'provider=~"$provider", model=~"$model"'
VERSION = 'model_version=~"$model_version"'


def thresholds(rules: list[dict[str, str]], mart: str, metric: str) -> dict[str, Any]:
    """Grafana threshold steps from every alert rule on mart.metric: each interval
    between thresholds takes the colour of the most severe rule it breaches."""
    gauge = gauge_for(mart, metric)
    scale = gauge.scale if gauge else 1.0
    watched = [
        (
            r["comparator"],
            float(r["threshold"]) * scale,
            SEVERITY_COLOURS.get(r["severity"], "orange"),
        )
        for r in rules
        if r["mart"] == mart and r["metric"] == metric and r["comparator"] in (">", ">=", "<", "<=")
    ]

    def colour(value: float) -> str:
        breached = [
            c
            for op, t, c in watched
            if (op == ">" and value > t)
            or (op == ">=" and value >= t)
            or (op == "<" and value < t)
            or (op == "<=" and value <= t)
        ]
        return max(breached, key=RANK.__getitem__, default="green")

    bounds = sorted({t for _, t, _ in watched})
    below = bounds[0] - 1 if bounds else 0.0
    steps = [{"color": colour(below), "value": None}]
    for index, bound in enumerate(bounds):
        # the colour just above the bound (>= a bound holds at the bound itself)
        upper = bounds[index + 1] if index + 1 < len(bounds) else bound + 1
        probe = (
            bound
            if any(op in (">=", "<") and t == bound for op, t, _ in watched)
            else (bound + upper) / 2
        )
        step_colour = colour(probe)
        if step_colour != steps[-1]["color"]:
            steps.append({"color": step_colour, "value": bound})
    return {"mode": "absolute", "steps": steps}


class Layout:
    """Places panels on Grafana's 24-column grid, row by row."""

    def __init__(self) -> None:
        self.panels: list[dict[str, Any]] = []
        self.y = 0
        self.x = 0
        self.row_height = 0
        self.next_id = 1

    def row(self, title: str) -> None:
        self._newline()
        self.panels.append(
            {
                "type": "row",
                "title": title,
                "id": self._id(),
                "collapsed": False,
                "panels": [],
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y},
            }
        )
        self.y += 1

    def add(self, panel: dict[str, Any], width: int, height: int) -> None:
        if self.x + width > 24:
            self._newline()
        panel["id"] = self._id()
        panel["gridPos"] = {"h": height, "w": width, "x": self.x, "y": self.y}
        panel["datasource"] = DATASOURCE
        self.panels.append(panel)
        self.x += width
        self.row_height = max(self.row_height, height)

    def _newline(self) -> None:
        self.y += self.row_height
        self.x, self.row_height = 0, 0

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


def _target(expr: str, legend: str = "", ref: str = "A") -> dict[str, Any]:
    return {"refId": ref, "expr": expr, "legendFormat": legend, "datasource": DATASOURCE}


def stat(
    title: str, expr: str, unit: str, steps: dict, legend: str = "", description: str = ""
) -> dict:
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "targets": [_target(expr, legend)],
        "fieldConfig": {
            "defaults": {"unit": unit, "thresholds": steps, "color": {"mode": "thresholds"}},
            "overrides": [],
        },
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "background",
            "graphMode": "area",
            "textMode": "auto",
        },
    }


def timeseries(title: str, expr: str, unit: str, steps: dict, legend: str) -> dict:
    return {
        "type": "timeseries",
        "title": title,
        "targets": [_target(expr, legend)],
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "thresholds": steps,
                "custom": {"thresholdsStyle": {"mode": "dashed"}},
            },
            "overrides": [],
        },
        "options": {
            "legend": {"displayMode": "list", "placement": "bottom"},
            "tooltip": {"mode": "multi"},
        },
    }


def _variable(name: str, label: str, query: str) -> dict[str, Any]:
    return {
        "type": "query",
        "name": name,
        "label": label,
        "datasource": DATASOURCE,
        "query": {"query": query, "refId": f"{name}-values"},
        "refresh": 2,
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "sort": 1,
    }


def dashboard(rules: list[dict[str, str]], app_url: str) -> dict[str, Any]:
    plain = {"mode": "absolute", "steps": [{"color": "green", "value": None}]}
    grid = Layout()

    grid.row("Traffic and health")
    grid.add(
        stat(
            "LLM calls (newest day)",
            f'sum(modelmart_llm_calls{{window="1d", {LLM}}})',
            "short",
            plain,
        ),
        4,
        5,
    )
    grid.add(
        stat(
            "Error ratio (newest day)",
            f'sum(modelmart_llm_errors{{window="1d", {LLM}}}) / sum(modelmart_llm_calls{{window="1d", {LLM}}})',
            "percentunit",
            thresholds(rules, "fct_llm_usage_daily", "error_rate"),
        ),
        4,
        5,
    )
    grid.add(
        stat(
            "p95 latency per provider (newest day)",
            'modelmart_provider_latency_p95_seconds{provider=~"$provider"}',
            "s",
            thresholds(rules, "fct_dashboard_daily", "latency_p95_ms"),
            "{{provider}}",
        ),
        8,
        5,
    )
    budget = {
        "mode": "absolute",
        "steps": [
            {"color": "red", "value": None},
            {"color": "orange", "value": 0},
            {"color": "green", "value": 0.2},
        ],
    }
    grid.add(
        stat(
            "SLO error budget remaining",
            "modelmart_slo_error_budget_remaining_ratio",
            "percentunit",
            budget,
            "{{slo}}",
        ),
        8,
        5,
    )
    alerts = {
        "mode": "absolute",
        "steps": [{"color": "green", "value": None}, {"color": "red", "value": 1}],
    }
    grid.add(
        stat(
            "Active critical alerts",
            'count(modelmart_alert_active{severity="critical"}) or vector(0)',
            "short",
            alerts,
        ),
        4,
        4,
    )
    grid.add(
        timeseries(
            "p95 latency per provider · model (newest hour)",
            f'modelmart_llm_latency_p95_seconds{{window="1h", {LLM}}}',
            "s",
            thresholds(rules, "fct_llm_usage_daily", "latency_p95_ms"),
            "{{provider}} {{model}} {{team}}",
        ),
        10,
        8,
    )
    burn = {
        "mode": "absolute",
        "steps": [
            {"color": "green", "value": None},
            {"color": "orange", "value": 1},
            {"color": "red", "value": 14.4},
        ],
    }
    grid.add(
        timeseries(
            "SLO burn rate (1 h)", 'modelmart_slo_burn_rate{window="1h"}', "short", burn, "{{slo}}"
        ),
        10,
        8,
    )

    grid.row("Model performance")
    grid.add(
        stat(
            "7-day accuracy",
            f"modelmart_model_accuracy_7d_ratio{{{VERSION}}}",
            "percentunit",
            thresholds(rules, "fct_model_quality_daily", "accuracy_rolling_7d"),
            "{{model_name}} {{model_version}}",
        ),
        8,
        5,
    )
    grid.add(
        stat(
            "Label coverage",
            f"modelmart_model_label_coverage_ratio{{{VERSION}}}",
            "percentunit",
            thresholds(rules, "fct_model_quality_daily", "label_coverage"),
            "{{model_name}} {{model_version}}",
        ),
        8,
        5,
    )
    grid.add(
        stat(
            "Predictions (newest day)",
            f"sum by (model_version) (modelmart_model_predictions{{{VERSION}}})",
            "short",
            plain,
            "{{model_version}}",
        ),
        8,
        5,
    )
    grid.add(
        timeseries(
            "7-day accuracy over time",
            f"modelmart_model_accuracy_7d_ratio{{{VERSION}}}",
            "percentunit",
            thresholds(rules, "fct_model_quality_daily", "accuracy_rolling_7d"),
            "{{model_name}} {{model_version}}",
        ),
        24,
        8,
    )

    grid.row("Drift and data quality")
    grid.add(
        stat(
            "Drift level (0 ok, 1 warning, 2 critical)",
            f"modelmart_model_drift_level{{{VERSION}}}",
            "short",
            thresholds(rules, "fct_drift_status_daily", "drift_level"),
            "{{model_name}} {{model_version}}",
        ),
        8,
        5,
    )
    grid.add(
        stat(
            "Label shift flagged",
            f"modelmart_model_label_shift_flagged{{{VERSION}}}",
            "short",
            thresholds(rules, "fct_drift_status_daily", "label_shift_flagged"),
            "{{model_name}} {{model_version}}",
        ),
        8,
        5,
    )
    grid.add(
        stat(
            "Snapshot age",
            "modelmart_snapshot_age_seconds",
            "s",
            {
                "mode": "absolute",
                "steps": [
                    {"color": "green", "value": None},
                    {"color": "orange", "value": 26 * 3600},
                ],
            },
        ),
        8,
        5,
    )
    psi = {
        "mode": "absolute",
        "steps": [
            {"color": "green", "value": None},
            {"color": "orange", "value": 0.1},
            {"color": "red", "value": 0.2},
        ],
    }
    grid.add(
        timeseries(
            "PSI per feature",
            f"modelmart_feature_psi{{{VERSION}}}",
            "short",
            psi,
            "{{model_version}} {{feature}}",
        ),
        12,
        8,
    )
    grid.add(
        timeseries(
            "Feature missing ratio",
            f"modelmart_feature_missing_ratio{{{VERSION}}}",
            "percentunit",
            thresholds(rules, "fct_feature_quality_status_daily", "max_missing_rate"),
            "{{model_version}} {{feature}}",
        ),
        12,
        8,
    )

    grid.row("Business and cost")
    grid.add(
        stat(
            "LLM cost (newest day)",
            f'sum(modelmart_llm_cost_dollars{{window="1d", {LLM}}})',
            "currencyUSD",
            plain,
        ),
        6,
        5,
    )
    grid.add(
        stat("Revenue (newest day)", "modelmart_business_revenue_dollars", "currencyUSD", plain),
        6,
        5,
    )
    grid.add(
        stat(
            "Agent resolution ratio",
            "modelmart_business_resolution_ratio",
            "percentunit",
            thresholds(rules, "fct_business_daily", "resolution_rate"),
        ),
        6,
        5,
    )
    grid.add(
        stat(
            "Unpriced calls (newest day)",
            'modelmart_provider_unpriced_calls{provider=~"$provider"}',
            "short",
            thresholds(rules, "fct_dashboard_daily", "unpriced_calls"),
            "{{provider}}",
        ),
        6,
        5,
    )
    grid.add(
        timeseries(
            "Cost per provider (newest day)",
            f'sum by (provider) (modelmart_llm_cost_dollars{{window="1d", {LLM}}})',
            "currencyUSD",
            plain,
            "{{provider}}",
        ),
        24,
        8,
    )

    return {
        "uid": UID,
        "title": "modelmart on-call",
        "description": "Generated by `modelmart export grafana` from the alert rules and the /metrics gauges.",
        "tags": ["modelmart", "generated"],
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "timezone": "utc",
        "refresh": "1m",
        "time": {"from": "now-7d", "to": "now"},
        "templating": {
            "list": [
                _variable("provider", "Provider", "label_values(modelmart_llm_calls, provider)"),
                _variable(
                    "model",
                    "Model",
                    'label_values(modelmart_llm_calls{provider=~"$provider"}, model)',
                ),
                _variable(
                    "model_version",
                    "Model version",
                    "label_values(modelmart_model_predictions, model_version)",
                ),
            ]
        },
        "annotations": {"list": []},
        "links": [{"title": "modelmart app", "type": "link", "url": app_url, "targetBlank": True}],
        "panels": grid.panels,
    }


def provisioning(datasource_url: str, dashboards_path: str) -> tuple[dict, dict]:
    datasource = {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "modelmart Prometheus",
                "type": "prometheus",
                "uid": DATASOURCE["uid"],
                "access": "proxy",
                "url": datasource_url,
                "isDefault": False,
                "editable": False,
            }
        ],
    }
    dashboards = {
        "apiVersion": 1,
        "providers": [
            {
                "name": "modelmart",
                "folder": "modelmart",
                "type": "file",
                "disableDeletion": False,
                "allowUiUpdates": False,
                "options": {"path": dashboards_path},
            }
        ],
    }
    return datasource, dashboards


def validate(board: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError when the dashboard breaks the schema."""
    jsonschema.validate(board, json.loads(SCHEMA.read_text(encoding="utf-8")))


def write_grafana(
    project: Path, out: Path, datasource_url: str, app_url: str = "http://127.0.0.1:8050"
) -> list[str]:
    defs = load_definitions(project)
    board = dashboard(defs.rules, app_url)
    validate(board)
    dashboards_dir = out / "dashboards"
    dashboards_dir.mkdir(parents=True, exist_ok=True)
    (out / "provisioning" / "datasources").mkdir(parents=True, exist_ok=True)
    (out / "provisioning" / "dashboards").mkdir(parents=True, exist_ok=True)
    board_path = dashboards_dir / "modelmart-oncall.json"
    board_path.write_text(json.dumps(board, indent=2) + "\n", encoding="utf-8")
    datasource, providers = provisioning(datasource_url, "/var/lib/grafana/dashboards/modelmart")
    (out / "provisioning" / "datasources" / "modelmart.yml").write_text(
        yaml.safe_dump(datasource, sort_keys=False)
    )
    (out / "provisioning" / "dashboards" / "modelmart.yml").write_text(
        yaml.safe_dump(providers, sort_keys=False)
    )
    return [
        f"wrote {board_path}: {sum(p['type'] != 'row' for p in board['panels'])} panels in 4 rows "
        f"(uid {UID}, schemaVersion {SCHEMA_VERSION})",
        f"wrote {out / 'provisioning'}/{{datasources,dashboards}}/modelmart.yml "
        "(copy the dashboard JSON to /var/lib/grafana/dashboards/modelmart)",
    ]
