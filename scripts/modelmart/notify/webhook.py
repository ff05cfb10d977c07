"""Generic webhook in the shape of Alertmanager's webhook payload (version "4"),
so receivers that accept Alertmanager work unchanged."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from modelmart.notify.base import (
    Alert,
    Message,
    Notice,
    Payload,
    alert_link,
    format_value,
    since_text,
    summary_line,
)
from modelmart.notify.transport import post_json

ZERO_TIME = "0001-01-01T00:00:00Z"


def rfc3339(value: dt.date | dt.datetime) -> str:
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(), dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def labels_of(alert: Alert) -> dict[str, str]:
    labels = {
        "alertname": alert.rule_id,
        "severity": alert.severity,
        "series": alert.series,
        "mart": alert.mart,
        "metric": alert.metric,
        "alert_id": alert.alert_id,
    }
    for column in ("provider", "model", "team", "model_name", "model_version"):
        if getattr(alert, column):
            labels[column] = getattr(alert, column)
    return labels


def fingerprint(labels: dict[str, str]) -> str:
    text = "\x00".join(f"{k}\x00{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def alertmanager_alert(notice: Notice, app_url: str, now: dt.datetime) -> dict:
    a = notice.alert
    resolved = notice.event == "resolved"
    labels = labels_of(a)
    return {
        "status": "resolved" if resolved else "firing",
        "labels": labels,
        "annotations": {
            "summary": summary_line(notice),
            "description": a.description or "",
            "value": format_value(a.metric, a.last_value),
            "threshold": f"{a.comparator} {format_value(a.metric, a.threshold)}",
            "when": since_text(notice),
            # no_data stays firing for receivers: it is not a recovery
            "state": notice.event,
        },
        "startsAt": rfc3339(a.first_seen_date),
        "endsAt": rfc3339(a.resolved_date or now) if resolved else ZERO_TIME,
        "generatorURL": alert_link(a, app_url),
        "fingerprint": fingerprint(labels),
    }


class Webhook:
    name = "webhook"
    idempotent = False
    pages = False

    def render(self, message: Message) -> list[Payload]:
        route = message.route
        alerts = [alertmanager_alert(n, message.app_url, message.now) for n in message.notices]
        group_labels = {"route": route.route_id}
        body = {
            "version": "4",
            "groupKey": f'{{}}:{{route="{route.route_id}"}}',
            "truncatedAlerts": 0,
            "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
            "receiver": f"{route.channel}/{route.target}",
            "groupLabels": group_labels,
            "commonLabels": _common(a["labels"] for a in alerts),
            "commonAnnotations": {},
            "externalURL": message.app_url,
            "alerts": alerts,
        }
        return [Payload(body, list(message.notices), json.dumps(body, indent=1))]

    def send(self, payload: Payload, settings: dict[str, str], timeout: float) -> None:
        post_json(settings["url"], payload.body, timeout)


def _common(label_sets) -> dict[str, str]:
    sets = list(label_sets)
    if not sets:
        return {}
    common = dict(sets[0])
    for labels in sets[1:]:
        common = {k: v for k, v in common.items() if labels.get(k) == v}
    return common
