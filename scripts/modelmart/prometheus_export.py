"""`modelmart export prometheus-rules` and `modelmart export grafana`.

Both are generated from the project's definitions, never written by hand: the
alert rules (seeds/alert_rules.csv), the SLOs (seeds/slos.csv), the burn-rate
alert windows (var slo_burn_alerts in dbt_project.yml) and the gauges /metrics
exposes (modelmart.prometheus_catalog).

Rules. A threshold rule becomes an alerting rule on the gauge of its mart metric,
in the gauge's unit (ms thresholds become seconds), its scope as label matchers,
`for:` = (consecutive_periods − 1) days: the gauge holds the newest day's value,
so n breaching days in a row is a breach that still holds n − 1 days after it was
first seen. An SLO becomes a recording rule per burn-rate window
(`modelmart:slo_burn_rate:<window>`, one series per SLO) and one alert per action
(page: severity critical, ticket: warning) that fires when any of the action's
long windows and its short window both burn faster than the factor — the
warehouse's hourly short window is already the confirmation, so `for: 0s`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from modelmart.config import UserError
from modelmart.prometheus_catalog import WINDOW_HOURS, gauge_for

SCOPES = ("provider", "model", "team", "model_name", "model_version")
COMPARATORS = (">", ">=", "<", "<=")
OPPOSITE = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}


@dataclass(frozen=True)
class Definitions:
    rules: list[dict[str, str]]
    slos: list[dict[str, str]]
    burn_alerts: list[dict[str, Any]]


def load_definitions(project: Path) -> Definitions:
    def rows(name: str) -> list[dict[str, str]]:
        path = project / "seeds" / name
        try:
            with path.open(newline="", encoding="utf-8") as handle:
                return [
                    {k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)
                ]
        except OSError as exc:
            raise UserError(f"cannot read {path}: {exc.strerror}") from None

    settings = yaml.safe_load((project / "dbt_project.yml").read_text(encoding="utf-8"))
    burn = (settings.get("vars") or {}).get("slo_burn_alerts") or []
    for number, entry in enumerate(burn, start=1):
        for key in ("long_hours", "short_hours"):
            if entry.get(key) not in WINDOW_HOURS:
                raise UserError(
                    f"dbt_project.yml var slo_burn_alerts entry {number}: {key} must be one of "
                    f"{', '.join(map(str, WINDOW_HOURS))}"
                )
    return Definitions(rows("alert_rules.csv"), rows("slos.csv"), burn)


def _number_text(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _matchers(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ", ".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def _threshold_rule(rule: dict[str, str], app_url: str) -> tuple[dict, dict] | None:
    gauge = gauge_for(rule["mart"], rule["metric"])
    if gauge is None or rule["comparator"] not in COMPARATORS:
        return None
    threshold = float(rule["threshold"]) * gauge.scale
    scope = {c: rule[c] for c in SCOPES if rule.get(c)}
    labels = {**{k: v for k, v in scope.items() if k in gauge.labels}, **gauge.fixed}
    periods = max(1, int(rule.get("consecutive_periods") or 1))
    query = "&".join(f"{k}={v}" for k, v in scope.items())
    link = f"{app_url}/alerts" + (f"?{query}" if query else "")
    alert = {
        "alert": rule["rule_id"],
        "expr": f"{gauge.name}{_matchers(labels)} {rule['comparator']} {_number_text(threshold)}",
        "for": f"{(periods - 1) * 24}h" if periods > 1 else "0s",
        "labels": {"severity": rule["severity"], "rule_id": rule["rule_id"]},
        "annotations": {
            "summary": rule.get("description") or rule["rule_id"],
            "description": (
                f"{rule['mart']}.{rule['metric']} {rule['comparator']} {rule['threshold']} "
                f"for {periods} day(s) in a row (gauge {gauge.name})"
            ),
            "link": link,
        },
    }
    return alert, {"gauge": gauge, "labels": labels, "threshold": threshold, "periods": periods}


def slo_actions(burn_alerts: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    actions: dict[str, list[dict[str, Any]]] = {}
    for entry in burn_alerts:
        actions.setdefault(entry["action"], []).append(entry)
    return actions


def _slo_alert(slo: dict[str, str], action: str, entries: list[dict], app_url: str) -> dict:
    slo_id = slo["slo_id"]
    terms = [
        f'(modelmart:slo_burn_rate:{WINDOW_HOURS[e["long_hours"]]}{{slo="{slo_id}"}} > {_number_text(e["factor"])}'
        f' and modelmart:slo_burn_rate:{WINDOW_HOURS[e["short_hours"]]}{{slo="{slo_id}"}} > {_number_text(e["factor"])})'
        for e in entries
    ]
    windows = "; ".join(
        f"> {_number_text(e['factor'])} over {WINDOW_HOURS[e['long_hours']]} and {WINDOW_HOURS[e['short_hours']]}"
        for e in entries
    )
    return {
        "alert": f"slo_{slo_id}_{action}",
        "expr": " or ".join(terms),
        "for": "0s",
        "labels": {"severity": entries[0]["severity"], "rule_id": f"slo:{slo_id}:{action}"},
        "annotations": {
            "summary": f"SLO {slo_id} burns its error budget too fast ({action})",
            "description": f"{slo.get('description') or slo_id}: burn rate {windows}",
            "link": f"{app_url}/slo?slo={slo_id}",
        },
    }


def prometheus_rules(defs: Definitions, app_url: str) -> tuple[dict, list[str], list[dict]]:
    """The rule file as a dict, the rules that have no gauge, and test material."""
    threshold_rules, skipped, tested = [], [], []
    for rule in defs.rules:
        made = _threshold_rule(rule, app_url)
        if made is None:
            skipped.append(rule["rule_id"])
            continue
        threshold_rules.append(made[0])
        tested.append({"rule": rule, "alert": made[0], **made[1]})
    windows = sorted({e[k] for e in defs.burn_alerts for k in ("long_hours", "short_hours")})
    recording = [
        {
            "record": f"modelmart:slo_burn_rate:{WINDOW_HOURS[h]}",
            "expr": f'max by (slo) (modelmart_slo_burn_rate{{window="{WINDOW_HOURS[h]}"}})',
        }
        for h in windows
    ]
    slo_rules = [
        _slo_alert(slo, action, entries, app_url)
        for slo in defs.slos
        for action, entries in slo_actions(defs.burn_alerts).items()
    ]
    groups = [{"name": "modelmart-thresholds", "rules": threshold_rules}]
    if defs.slos:
        # one group: rules run in order, so the alerts read this evaluation's recordings
        groups.append({"name": "modelmart-slo-burn-rates", "rules": recording + slo_rules})
    return {"groups": groups}, skipped, tested


def _value_on(side: str, threshold: float) -> float:
    """A value on the breaching (or not) side of a threshold, 10 % away from it."""
    step = max(abs(threshold) * 0.1, 0.5)
    return threshold + step if side in (">", ">=") else threshold - step


def rule_tests(rule_file: str, defs: Definitions, tested: list[dict], app_url: str) -> dict:
    """promtool unit tests: every threshold rule fires on a breaching series once
    its `for:` has passed and stays quiet on the other side of the threshold;
    every SLO action fires on each of its window pairs and not on a long window
    alone."""
    tests = []
    for item in tested:
        gauge, rule, alert = item["gauge"], item["rule"], item["alert"]
        labels = {name: item["labels"].get(name, f"any_{name}") for name in gauge.labels}
        labels.update(gauge.fixed)
        series = f"{gauge.name}{_matchers(labels)}"
        hours = (item["periods"] - 1) * 24
        eval_minutes = hours * 60 + 5
        points = eval_minutes + 10
        for breaching in (True, False):
            comparator = rule["comparator"] if breaching else OPPOSITE[rule["comparator"]]
            value = _value_on(comparator, item["threshold"])
            expected = (
                [
                    {
                        "exp_labels": {**labels, **alert["labels"]},
                        "exp_annotations": alert["annotations"],
                    }
                ]
                if breaching
                else []
            )
            tests.append(
                {
                    "name": f"{rule['rule_id']} {'fires' if breaching else 'stays quiet'}",
                    "interval": "1m",
                    "input_series": [
                        {"series": series, "values": f"{_number_text(value)}x{points}"}
                    ],
                    "alert_rule_test": [
                        {
                            "eval_time": f"{eval_minutes}m",
                            "alertname": alert["alert"],
                            "exp_alerts": expected,
                        }
                    ],
                }
            )
    for slo in defs.slos:
        for action, entries in slo_actions(defs.burn_alerts).items():
            alert = _slo_alert(slo, action, entries, app_url)
            labels = {"slo": slo["slo_id"], **alert["labels"]}
            for entry in entries:
                long, short = WINDOW_HOURS[entry["long_hours"]], WINDOW_HOURS[entry["short_hours"]]
                hot = entry["factor"] * 1.5
                cases = [{long: hot, short: hot}]
                if long != short:  # the long window alone: its short window is quiet
                    cases.append({long: hot, short: 0.0})
                for values in cases:
                    fires = any(_burning(values, e) for e in entries)
                    tests.append(
                        {
                            "name": f"{alert['alert']}: "
                            + ", ".join(f"{w}={_number_text(v)}" for w, v in values.items()),
                            "interval": "1m",
                            "input_series": [
                                {
                                    "series": f'modelmart_slo_burn_rate{{slo="{slo["slo_id"]}", window="{w}"}}',
                                    "values": f"{_number_text(v)}x20",
                                }
                                for w, v in values.items()
                            ],
                            "alert_rule_test": [
                                {
                                    "eval_time": "5m",
                                    "alertname": alert["alert"],
                                    "exp_alerts": [
                                        {
                                            "exp_labels": labels,
                                            "exp_annotations": alert["annotations"],
                                        }
                                    ]
                                    if fires
                                    else [],
                                }
                            ],
                        }
                    )
    return {"rule_files": [rule_file], "evaluation_interval": "1m", "tests": tests}


def _burning(values: dict[str, float], entry: dict[str, Any]) -> bool:
    """Whether the burn rates given per window meet one long/short pair (absent = 0)."""
    return all(
        values.get(WINDOW_HOURS[entry[key]], 0.0) > entry["factor"]
        for key in ("long_hours", "short_hours")
    )


def write_prometheus_rules(
    project: Path, out: Path, app_url: str, with_tests: bool = True
) -> list[str]:
    """Write the rule file (and `<name>_test.yml` next to it); returns a report."""
    defs = load_definitions(project)
    rules, skipped, tested = prometheus_rules(defs, app_url)
    out.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "# Generated by `modelmart export prometheus-rules` from seeds/alert_rules.csv,\n"
        "# seeds/slos.csv and var slo_burn_alerts; edit those, not this file.\n"
    )
    out.write_text(header + yaml.safe_dump(rules, sort_keys=False, allow_unicode=True, width=1000))
    report = [f"wrote {out}: {sum(len(g['rules']) for g in rules['groups'])} rules"]
    if skipped:
        report.append("no Prometheus gauge for (left out): " + ", ".join(skipped))
    if with_tests:
        test_path = out.with_name(out.stem + "_test.yml")
        tests = rule_tests(out.name, defs, tested, app_url)
        test_path.write_text(
            header + yaml.safe_dump(tests, sort_keys=False, allow_unicode=True, width=1000)
        )
        report.append(
            f"wrote {test_path}: {len(tests['tests'])} promtool unit tests (promtool test rules {test_path.name})"
        )
    return report
