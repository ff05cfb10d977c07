"""PagerDuty Events API v2: `trigger` with dedup_key = alert_id, `resolve` with the
same key when the alert ends. One event per request (the API takes one)."""

from __future__ import annotations

import json

from modelmart.notify.base import Message, Notice, Payload, alert_link, format_value, summary_line
from modelmart.notify.transport import post_json

MAX_SUMMARY = 1024
SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}


def event_for(notice: Notice, routing_key: str, app_url: str, timestamp: str) -> dict:
    a = notice.alert
    if notice.event == "resolved":
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": a.alert_id}
    summary = summary_line(notice)
    if len(summary) > MAX_SUMMARY:
        summary = summary[: MAX_SUMMARY - 1] + "…"
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": a.alert_id,
        "payload": {
            "summary": summary,
            "source": f"modelmart/{a.series}",
            "severity": SEVERITY.get(a.severity, "error"),
            "timestamp": timestamp,
            "component": a.mart,
            "group": a.rule_id,
            "class": a.metric,
            "custom_details": {
                "state": notice.event,
                "rule_id": a.rule_id,
                "series": a.series,
                "value": format_value(a.metric, a.last_value),
                "threshold": f"{a.comparator} {format_value(a.metric, a.threshold)}",
                "first_seen_date": a.first_seen_date.isoformat(),
                "last_seen_date": a.last_seen_date.isoformat(),
                "breach_days": a.breach_days,
                "description": a.description or "",
            },
        },
        "links": [{"href": alert_link(a, app_url), "text": "Open in modelmart"}],
        "client": "modelmart",
    }


class PagerDuty:
    name = "pagerduty"
    # a repeated trigger or resolve with the same dedup_key changes nothing
    idempotent = True
    pages = True

    def render(self, message: Message) -> list[Payload]:
        stamp = message.now.strftime("%Y-%m-%dT%H:%M:%SZ")
        payloads = []
        for notice in message.notices:
            # the routing key is a secret: it goes in at send time, never in the outbox
            body = event_for(notice, "", message.app_url, stamp)
            payloads.append(Payload(body, [notice], json.dumps(body, indent=1)))
        return payloads

    def send(self, payload: Payload, settings: dict[str, str], timeout: float) -> None:
        post_json(
            settings["url"], {**payload.body, "routing_key": settings["routing_key"]}, timeout
        )
