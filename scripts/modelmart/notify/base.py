"""The small interface every channel implements, and the records it works on."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Protocol

# events a notice can carry; `digest` is the daily / weekly written summary
EVENTS = ("firing", "repeat", "flapping", "resolved", "no_data", "digest")


@dataclass(frozen=True)
class Alert:
    """One row of marts.fct_alerts (plus the rule's description). Dates are UTC days."""

    alert_id: str
    rule_id: str
    severity: str
    mart: str
    metric: str
    comparator: str
    threshold: float
    series: str
    provider: str | None
    model: str | None
    team: str | None
    model_name: str | None
    model_version: str | None
    first_seen_date: dt.date
    last_seen_date: dt.date
    breach_days: int
    last_value: float
    worst_value: float
    status: str
    resolved_date: dt.date | None
    latest_date: dt.date | None
    is_flapping: bool
    previous_alert_id: str | None
    description: str | None = None


@dataclass(frozen=True)
class Route:
    """One row of intermediate.int_alert_routes_validated."""

    route_id: str
    sends: str
    channel: str
    target: str
    match_severity: str | None = None
    match_rule_id: str | None = None
    scope_provider: str | None = None
    scope_model: str | None = None
    scope_team: str | None = None
    scope_model_name: str | None = None
    scope_model_version: str | None = None
    repeat_after_hours: float | None = None
    send_resolved: bool = True

    def matches(self, alert: Alert) -> bool:
        """Blank match columns match anything; set scope columns must equal the alert's."""
        if self.sends != "alerts":
            return False
        if self.match_severity and alert.severity not in self.match_severity.split("|"):
            return False
        if self.match_rule_id and alert.rule_id not in self.match_rule_id.split("|"):
            return False
        for column in ("provider", "model", "team", "model_name", "model_version"):
            wanted = getattr(self, "scope_" + column)
            if wanted is not None and getattr(alert, column) != wanted:
                return False
        return True


@dataclass(frozen=True)
class Notice:
    """One alert's event for one route."""

    alert: Alert
    event: str


@dataclass
class Message:
    """What one route gets in one run: its due notices grouped, or a digest."""

    route: Route
    notices: list[Notice] = field(default_factory=list)
    digest: Any = None  # report.Digest for digest routes
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    app_url: str = "http://127.0.0.1:8050"


@dataclass
class Payload:
    """One request to a receiver. ``notices`` are the ones it carries (log keys)."""

    body: Any
    notices: list[Notice]
    preview: str  # exactly what is sent, for the dry-run outbox
    suffix: str = "json"


class DeliveryError(Exception):
    """A failed attempt. ``retryable``: timeouts, 429, 5xx (and SMTP 4xx, connection errors)."""

    def __init__(
        self,
        detail: str,
        *,
        retryable: bool,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after


class Channel(Protocol):
    """One module per channel implements this."""

    name: str
    #: resending an in-doubt delivery (killed mid-send) is harmless at the receiver
    idempotent: bool
    #: the channel pages a person: a flapping alert is not sent to it
    pages: bool

    def render(self, message: Message) -> list[Payload]: ...

    def send(self, payload: Payload, settings: dict[str, str], timeout: float) -> None: ...


# ------------------------------------------------------------------ shared wording


def unit_of(metric: str) -> str:
    if metric.endswith("_ms"):
        return "ms"
    if metric.endswith("_usd"):
        return "usd"
    if metric.endswith(("_rate", "accuracy", "_7d", "coverage")):
        return "ratio"
    return ""


def format_unit(value: float | None, unit: str) -> str:
    """A value in its unit: 1,250 ms, $12.30, 4.2 % (ratio), 1,234 (count), 3.5 (plain)."""
    if value is None:
        return "no data"
    if unit == "ms":
        return f"{value:,.0f} ms"
    if unit == "usd":
        return f"${value:,.2f}"
    if unit == "ratio":
        return f"{100 * value:.1f} %"
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:,.4g}"


def format_value(metric: str, value: float | None) -> str:
    """A metric's value with the unit its name implies (``_ms``, ``_usd``, rates)."""
    return format_unit(value, unit_of(metric))


def alert_link(alert: Alert, app_url: str) -> str:
    """The Alerts page with the alert's scope and dates as URL filters."""
    query = {"start": alert.first_seen_date.isoformat(), "end": alert.last_seen_date.isoformat()}
    for column in ("provider", "model", "team"):
        if getattr(alert, column):
            query[column] = getattr(alert, column)
    if alert.model_name and alert.model_version:
        query["version"] = f"{alert.model_name}/{alert.model_version}"
    return app_url.rstrip("/") + "/alerts?" + urllib.parse.urlencode(query)


EVENT_WORDS = {
    "firing": "FIRING",
    "repeat": "STILL FIRING",
    "flapping": "FLAPPING",
    "resolved": "RESOLVED",
    "no_data": "NO DATA",
}


def since_text(notice: Notice) -> str:
    a = notice.alert
    if notice.event == "resolved":
        return f"since {a.first_seen_date}, resolved on {a.resolved_date} ({a.breach_days} breach days)"
    if notice.event == "no_data":
        return f"since {a.first_seen_date}; the series has no value after {a.last_seen_date} (not a recovery)"
    if notice.event == "flapping":
        return f"since {a.first_seen_date}; started again soon after its previous alert {a.previous_alert_id} ended"
    return f"since {a.first_seen_date} ({a.breach_days} breach days)"


def summary_line(notice: Notice) -> str:
    """One plain line: '[FIRING] critical rule on series: value 1,300 ms (threshold > 1,200 ms) since …'."""
    a = notice.alert
    return (
        f"[{EVENT_WORDS[notice.event]}] {a.severity} {a.rule_id} on {a.series}: "
        f"{a.metric} {format_value(a.metric, a.last_value)} "
        f"(threshold {a.comparator} {format_value(a.metric, a.threshold)}) {since_text(notice)}"
    )


def counts_title(notices: list[Notice]) -> str:
    counts: dict[str, int] = {}
    for n in notices:
        counts[n.event] = counts.get(n.event, 0) + 1
    parts = [f"{counts[e]} {EVENT_WORDS[e].lower()}" for e in EVENT_WORDS if e in counts]
    return "modelmart alerts: " + ", ".join(parts)
