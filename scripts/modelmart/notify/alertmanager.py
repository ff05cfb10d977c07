"""Push alerts to a real Alertmanager's /api/v2/alerts, for teams that route there.

Alertmanager keeps an alert until its endsAt: active and no_data alerts are pushed
with endsAt three repeat intervals (default 24 h) ahead, so a route with a repeat
interval keeps them alive; a resolved alert is pushed with endsAt = its recovery.
Alertmanager deduplicates by labels, so a resent push is harmless.
"""

from __future__ import annotations

import datetime as dt
import json

from modelmart.notify.base import Message, Payload
from modelmart.notify.transport import post_json
from modelmart.notify.webhook import alertmanager_alert, rfc3339


class Alertmanager:
    name = "alertmanager"
    idempotent = True
    pages = False

    def render(self, message: Message) -> list[Payload]:
        keep = dt.timedelta(hours=3 * (message.route.repeat_after_hours or 24))
        alerts = []
        for notice in message.notices:
            full = alertmanager_alert(notice, message.app_url, message.now)
            resolved = notice.event == "resolved"
            alerts.append(
                {
                    "labels": full["labels"],
                    "annotations": full["annotations"],
                    "startsAt": full["startsAt"],
                    "endsAt": rfc3339(message.now) if resolved else rfc3339(message.now + keep),
                    "generatorURL": full["generatorURL"],
                }
            )
        return [Payload(alerts, list(message.notices), json.dumps(alerts, indent=1))]

    def send(self, payload: Payload, settings: dict[str, str], timeout: float) -> None:
        post_json(settings["url"].rstrip("/") + "/api/v2/alerts", payload.body, timeout)
