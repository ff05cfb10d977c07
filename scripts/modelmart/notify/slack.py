"""Slack incoming webhook: Block Kit message plus a plain `text` fallback.

Every value that comes from data is escaped (& < >), so a team or model name can
neither inject a link nor a mention. Slack's limits: 50 blocks a message, 3,000
characters a section, 150 a header; past them alerts are grouped into "and N more".
"""

from __future__ import annotations

import json

from modelmart.notify.base import (
    EVENT_WORDS,
    Message,
    Notice,
    Payload,
    alert_link,
    counts_title,
    format_value,
    since_text,
    summary_line,
)
from modelmart.notify.transport import post_json

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
EMOJI = {"firing": "🔴", "repeat": "🔴", "flapping": "🟠", "resolved": "✅", "no_data": "⚪"}


def escape(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _truncate(text, MAX_SECTION)}}


def notice_text(notice: Notice, app_url: str) -> str:
    a = notice.alert
    lines = [
        f"{EMOJI[notice.event]} *{EVENT_WORDS[notice.event]}* · *{escape(a.severity)}* · "
        f"`{escape(a.rule_id)}`",
        f"*Scope:* {escape(a.series)}",
        f"*Value:* {escape(a.metric)} {escape(format_value(a.metric, a.last_value))} "
        f"(threshold {escape(a.comparator)} {escape(format_value(a.metric, a.threshold))}, "
        f"worst {escape(format_value(a.metric, a.worst_value))})",
        f"*When:* {escape(since_text(notice))}",
    ]
    if a.description:
        lines.append(escape(a.description))
    lines.append(f"<{escape(alert_link(a, app_url))}|Open in modelmart>")
    return "\n".join(lines)


def blocks_for(title: str, sections: list[str]) -> list[dict]:
    """Header + one section each, within 50 blocks: the rest as 'and N more'."""
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": _truncate(title, MAX_HEADER)}}
    ]
    room = MAX_BLOCKS - 1
    if len(sections) > room:
        shown, rest = sections[: room - 1], len(sections) - (room - 1)
        blocks += [_section(s) for s in shown]
        blocks.append(_section(f"…and {rest} more (see the Alerts page)"))
    else:
        blocks += [_section(s) for s in sections]
    return blocks


class Slack:
    name = "slack"
    idempotent = False
    pages = False

    def render(self, message: Message) -> list[Payload]:
        if message.digest is not None:
            from modelmart.notify.report import render_slack

            body = render_slack(message.digest)
            return [Payload(body, [], json.dumps(body, indent=1, ensure_ascii=False))]
        notices = message.notices
        title = counts_title(notices)
        sections = [notice_text(n, message.app_url) for n in notices]
        fallback = title + "\n" + "\n".join(escape(summary_line(n)) for n in notices[:10])
        if len(notices) > 10:
            fallback += f"\n…and {len(notices) - 10} more"
        body = {"text": fallback, "blocks": blocks_for(title, sections)}
        return [Payload(body, list(notices), json.dumps(body, indent=1, ensure_ascii=False))]

    def send(self, payload: Payload, settings: dict[str, str], timeout: float) -> None:
        post_json(settings["url"], payload.body, timeout)
