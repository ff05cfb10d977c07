"""Decide what is due, group it per route, render it per channel, deliver it with
retries, and log every step. The one place with routing, dedup and retry logic.

Per alert and route (state = the notification log):
- active, nothing delivered yet: ``firing`` (``flapping`` when fct_alerts says so;
  channels that page get nothing for a flapping alert);
- active, delivered, repeat_after_hours passed since the last firing/repeat: ``repeat``;
- resolved (its series reported a non-breaching value), delivered before and
  send_resolved: ``resolved``;
- no_data (its series stopped reporting), delivered before: ``no_data``, never
  ``resolved``.
An alert never delivered is not announced as over. Dry-run records change no state.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from modelmart.config import LockBusy, Paths, UserError, file_lock, get_paths
from modelmart.notify import log as notify_log
from modelmart.notify.alertmanager import Alertmanager
from modelmart.notify.base import Alert, Channel, DeliveryError, Message, Notice, Payload, Route
from modelmart.notify.mail import Email
from modelmart.notify.pagerduty import PagerDuty
from modelmart.notify.slack import Slack
from modelmart.notify.targets import redact, resolve
from modelmart.notify.webhook import Webhook

CHANNELS: dict[str, Channel] = {
    c.name: c for c in (Slack(), Webhook(), PagerDuty(), Email(), Alertmanager())
}
DELIVERED = {"sent"}
FIRED = {"firing", "repeat", "flapping"}
FAILING_RUNS = 2  # a channel failing this many runs in a row is reported


@dataclass(frozen=True)
class Settings:
    """Delivery knobs, from the environment (seconds)."""

    timeout: float = 10.0
    attempts: int = 4
    backoff: float = 1.0
    max_wait: float = 60.0
    app_url: str = "http://127.0.0.1:8050"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        return cls(
            timeout=float(env.get("MODELMART_NOTIFY_TIMEOUT", 10)),
            attempts=max(1, int(env.get("MODELMART_NOTIFY_ATTEMPTS", 4))),
            backoff=float(env.get("MODELMART_NOTIFY_BACKOFF", 1)),
            max_wait=float(env.get("MODELMART_NOTIFY_MAX_WAIT", 60)),
            app_url=env.get("MODELMART_APP_URL", "http://127.0.0.1:8050"),
        )


@dataclass
class NotifyResult:
    run_id: str
    send: bool
    lines: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        mode = "sent" if self.send else "dry run (nothing sent; --send delivers)"
        tally = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items())) or "nothing due"
        return "\n".join([*self.lines, f"notify {self.run_id}: {mode}: {tally}"])


def parse_now(value: str | None) -> dt.datetime:
    """The clock: an ISO timestamp (tests, replays) or now. UTC."""
    if not value:
        return dt.datetime.now(dt.UTC)
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise UserError(f"bad time '{value}' (MODELMART_NOW / --now): use ISO 8601") from exc
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# ------------------------------------------------------------------ reading the snapshot


def load(warehouse: Path) -> tuple[list[Alert], list[Route]]:
    if not warehouse.exists():
        raise UserError(f"nothing published yet at {warehouse} (run `modelmart build`)")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        cur = con.execute(
            """
            select a.alert_id, a.rule_id, a.severity, a.mart, a.metric, a.comparator, a.threshold,
                   a.series, a.provider, a.model, a.team, a.model_name, a.model_version,
                   a.first_seen_date, a.last_seen_date, a.breach_days, a.last_value, a.worst_value,
                   a.status, a.resolved_date, a.latest_date, a.is_flapping, a.previous_alert_id,
                   coalesce(
                       r.description,
                       'SLO ' || s.slo_id || ': ' || s.description
                       || ' (error budget burning at its '
                       || case when a.rule_id like '%:page' then 'page' else 'ticket' end
                       || ' rate)'
                   ) as description
            from marts.fct_alerts as a
            -- the validated rules; an SLO's burn-rate alert (rule_id slo:<id>:page|ticket)
            -- is described by its SLO
            left join marts.dim_alert_rules as r on a.rule_id = r.rule_id
            left join intermediate.int_slos_validated as s
                on a.rule_id in ('slo:' || s.slo_id || ':page', 'slo:' || s.slo_id || ':ticket')
            order by case a.severity when 'critical' then 0 when 'warning' then 1 else 2 end,
                     a.first_seen_date, a.alert_id
            """
        )
        names = [d[0] for d in cur.description]
        alerts = [Alert(**dict(zip(names, row, strict=True))) for row in cur.fetchall()]
        cur = con.execute(
            """
            select route_id, sends, channel, target, match_severity, match_rule_id,
                   scope_provider, scope_model, scope_team, scope_model_name, scope_model_version,
                   repeat_after_hours, send_resolved
            from intermediate.int_alert_routes_validated order by route_id
            """
        )
        names = [d[0] for d in cur.description]
        routes = [Route(**dict(zip(names, row, strict=True))) for row in cur.fetchall()]
    except duckdb.Error as exc:
        raise UserError(
            f"the published snapshot has no alert routes or alerts ({str(exc).splitlines()[0]}); "
            "run `modelmart build` with this version"
        ) from exc
    finally:
        con.close()
    return alerts, routes


# ------------------------------------------------------------------ state


@dataclass
class History:
    """What the log says was delivered, per alert × route and per digest × route."""

    fired_at: dict[tuple[str, str], dt.datetime] = field(default_factory=dict)
    events: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    suppressed: set[tuple[str, str]] = field(default_factory=set)
    digests: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def of(cls, records: list[dict]) -> History:
        history = cls()
        for r in records:
            if r.get("mode") == "dry_run":
                continue
            counts = r["outcome"] in DELIVERED or (
                r["outcome"] == "interrupted" and not CHANNELS[r["channel"]].idempotent
            )
            if r.get("event") == "digest":
                if counts:
                    history.digests.add((r["route_id"], r["digest_key"]))
                continue
            key = (r["alert_id"], r["route_id"])
            if r["outcome"] == "skipped" and (r.get("detail") or "").startswith("flapping"):
                history.suppressed.add(key)
            if not counts:
                continue
            history.events.setdefault(key, set()).add(r["event"])
            if r["event"] in FIRED:
                when = parse_now(r["recorded_at"])
                history.fired_at[key] = max(history.fired_at.get(key, when), when)
        return history


def due_event(alert: Alert, route: Route, history: History, now: dt.datetime) -> str | None:
    key = (alert.alert_id, route.route_id)
    if key in history.suppressed:
        return None
    done = history.events.get(key, set())
    fired = done & FIRED
    if alert.status == "active":
        if not fired:
            return "flapping" if alert.is_flapping else "firing"
        last = history.fired_at[key]
        if route.repeat_after_hours and now - last >= dt.timedelta(hours=route.repeat_after_hours):
            return "repeat"
        return None
    if not fired or "resolved" in done:
        return None  # never told, or already told it is over
    if alert.status == "resolved":
        return "resolved" if route.send_resolved else None
    if alert.status == "no_data":
        return None if "no_data" in done else "no_data"
    return None


def close_interrupted(records: list[dict], run_id: str, now: dt.datetime) -> list[dict]:
    """Deliveries whose last record is `sending` died mid-request (kill -9). For a
    channel where a resend is harmless (PagerDuty's dedup_key) they are due again;
    for the others (Slack, e-mail, webhook) the receiver may already have them, so
    they count as delivered: at most once, never twice."""
    last: dict[tuple[str, str | None, str | None], dict] = {}
    for r in records:
        if r.get("delivery_id"):
            last[(r["delivery_id"], r.get("alert_id"), r.get("digest_key"))] = r
    closed = []
    for r in last.values():
        if r["outcome"] != "sending":
            continue
        resent = CHANNELS[r["channel"]].idempotent
        closed.append(
            {
                **r,
                "run_id": run_id,
                "recorded_at": _iso(now),
                "outcome": "interrupted",
                "detail": "killed during delivery; "
                + (
                    "due again (resending is harmless)"
                    if resent
                    else "not resent: the receiver may have it"
                ),
            }
        )
    return closed


# ------------------------------------------------------------------ delivery


def deliver(
    channel: Channel,
    payload: Payload,
    settings: dict[str, str],
    knobs: Settings,
    sleep: Callable[[float], None],
) -> tuple[int, DeliveryError | None]:
    """Send with retries: exponential backoff on timeouts, 429 (Retry-After first)
    and 5xx; other 4xx are final. Returns (attempts, last error or None)."""
    attempt = 0
    while True:
        attempt += 1
        try:
            channel.send(payload, settings, knobs.timeout)
            return attempt, None
        except DeliveryError as exc:
            if not exc.retryable or attempt >= knobs.attempts:
                return attempt, exc
            wait = (
                exc.retry_after
                if exc.retry_after is not None
                else knobs.backoff * 2 ** (attempt - 1)
            )
            if wait > knobs.max_wait:
                exc.detail += f" (asked to wait {wait:.0f}s, more than {knobs.max_wait:.0f}s)"
                return attempt, exc
            sleep(wait)


def _record(base: dict, notice: Notice | None, **extra) -> dict:
    rec = dict(base)
    if notice is not None:
        a = notice.alert
        rec.update(
            alert_id=a.alert_id,
            rule_id=a.rule_id,
            severity=a.severity,
            series=a.series,
            event=notice.event,
        )
    rec.update(extra)
    return rec


def run(
    home: str | os.PathLike[str] | None = None,
    *,
    send: bool = False,
    now: dt.datetime | None = None,
    env: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    routes_only: set[str] | None = None,
) -> NotifyResult:
    """One notify run over the published snapshot. Dry run unless ``send``."""
    paths = get_paths(home)
    env = os.environ if env is None else env
    now = now or parse_now(env.get("MODELMART_NOW"))
    try:
        with file_lock(paths.locks / "notify.lock", wait=False):
            return _run_locked(paths, send, now, env, sleep, routes_only)
    except LockBusy as exc:
        raise UserError("another `modelmart notify` is running; try again when it ends") from exc


def _run_locked(
    paths: Paths,
    send: bool,
    now: dt.datetime,
    env: Mapping[str, str],
    sleep: Callable[[float], None],
    routes_only: set[str] | None,
) -> NotifyResult:
    knobs = Settings.from_env(env)
    started = time.monotonic()  # the clock may be injected; elapsed time is real
    run_id = now.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    result = NotifyResult(run_id, send)
    log_file = notify_log.log_path(paths)
    notify_log.append(log_file, close_interrupted(notify_log.read(log_file), run_id, now))
    history = History.of(notify_log.read(log_file))
    alerts, routes = load(paths.warehouse)
    if routes_only:
        unknown = routes_only - {r.route_id for r in routes}
        if unknown:
            raise UserError(
                f"no route named {', '.join(sorted(unknown))} in seeds/alert_routes.csv"
            )
        routes = [r for r in routes if r.route_id in routes_only]
    outbox = notify_log.outbox_dir(paths) / run_id
    mode = "send" if send else "dry_run"
    digests: dict[str, object] = {}
    for route in routes:
        base = {
            "run_id": run_id,
            "mode": mode,
            "route_id": route.route_id,
            "channel": route.channel,
            "target": route.target,
        }

        def write(items: list[Notice | None], outcome: str, base=base, **fields) -> None:
            """One log record per notice (or one for a digest), counted in the result."""
            fields.setdefault("recorded_at", _iso(now))
            notify_log.append(
                log_file, [_record(base, n, outcome=outcome, **fields) for n in items]
            )
            if outcome != "sending":  # a step, not an outcome: its sent / failed follows
                result.counts[outcome] = result.counts.get(outcome, 0) + len(items)

        _route_run(
            route,
            alerts,
            history,
            now,
            send,
            knobs,
            env,
            sleep,
            outbox,
            digests,
            paths,
            write,
            result,
            started,
        )
    return result


def _route_run(
    route: Route,
    alerts: list[Alert],
    history: History,
    now: dt.datetime,
    send: bool,
    knobs: Settings,
    env: Mapping[str, str],
    sleep: Callable[[float], None],
    outbox: Path,
    digests: dict[str, object],
    paths: Paths,
    write: Callable[..., None],
    result: NotifyResult,
    started: float,
) -> None:
    """What one route gets in this run: due notices grouped into one message (or the
    digest), rendered by its channel, written to the outbox or delivered, logged."""
    channel = CHANNELS[route.channel]
    where = f"{route.route_id} → {route.channel}/{route.target}"
    notices: list[Notice] = []
    digest = None
    extra: dict[str, str] = {}
    if route.sends == "alerts":
        for alert in alerts:
            event = due_event(alert, route, history, now) if route.matches(alert) else None
            if event:
                notices.append(Notice(alert, event))
        flapping = [n for n in notices if n.event == "flapping"]
        if channel.pages and flapping:
            notices = [n for n in notices if n.event != "flapping"]
            if send:  # a dry run changes no state, suppression included
                write(flapping, "skipped", detail="flapping: not re-paged")
            result.lines.append(f"  {where}: {len(flapping)} flapping alert(s) not paged")
        if not notices:
            return
        label = f"{len(notices)} notice(s)"
    else:
        period = "daily" if route.sends == "daily_digest" else "weekly"
        key = digest_key_of(period, now)
        if (route.route_id, key) in history.digests:
            return
        if period not in digests:
            from modelmart.notify.report import build_digest

            digests[period] = build_digest(paths.warehouse, period)
        digest = digests[period]
        extra = {"digest_key": key, "event": "digest"}
        label = f"{key} digest"
    items: list[Notice | None] = list(notices) if digest is None else [None]
    settings, missing = resolve(route.channel, route.target, env)
    if missing:
        write(items, "skipped", detail="target not configured: set " + ", ".join(missing), **extra)
        result.lines.append(f"  {where}: {label} skipped: set {', '.join(missing)}")
        return
    try:
        payloads = channel.render(Message(route, notices, digest, now, knobs.app_url))
    except Exception as exc:  # a rendering bug in one channel never blocks the others
        detail = redact(f"cannot render: {type(exc).__name__}: {exc}", env)
        write(items, "failed", detail=detail, **extra)
        result.lines.append(f"  {where}: {detail}")
        return
    for number, payload in enumerate(payloads, 1):
        covered: list[Notice | None] = list(payload.notices) if digest is None else [None]
        delivery = {"delivery_id": f"{result.run_id}:{route.route_id}:{number}", **extra}
        what = label if len(payloads) == 1 else f"{len(covered)} notice(s)"
        if not send:
            outbox.mkdir(parents=True, exist_ok=True)
            file = outbox / f"{route.route_id}-{number}.{payload.suffix}"
            file.write_text(redact(payload.preview, env))
            write(covered, "dry_run", detail=str(file), **delivery)
            result.lines.append(f"  {where}: would send {what} → {file}")
            continue
        write(covered, "sending", **delivery)
        attempts, error = deliver(channel, payload, settings, knobs, sleep)
        finished = _iso(now + dt.timedelta(seconds=time.monotonic() - started))
        detail = redact(error.detail, env) if error else None
        write(
            covered,
            "failed" if error else "sent",
            recorded_at=finished,
            status_code=error.status if error else None,
            attempts=attempts,
            detail=detail,
            **delivery,
        )
        plural = "s" if attempts > 1 else ""
        tail = (
            f"FAILED after {attempts} attempt{plural}: {detail}"
            if error
            else f"sent ({attempts} attempt{plural})"
        )
        result.lines.append(f"  {where}: {what} {tail}")


def digest_key_of(period: str, now: dt.datetime) -> str:
    """Once per UTC day / ISO week of the clock."""
    if period == "daily":
        return "daily:" + now.date().isoformat()
    year, week, _ = now.isocalendar()
    return f"weekly:{year}-W{week:02d}"


# ------------------------------------------------------------------ health


def failing_channels(
    home: str | os.PathLike[str] | None = None, runs: int = FAILING_RUNS
) -> list[dict]:
    """Channel targets whose deliveries failed in each of their last ``runs`` send runs
    (runs where the target was tried), with the count of failed runs in a row."""
    records = notify_log.read(notify_log.log_path(get_paths(home)))
    per_target: dict[tuple[str, str], dict[str, bool]] = {}
    last_detail: dict[tuple[str, str], str] = {}
    for r in records:
        if r.get("mode") != "send" or r["outcome"] not in {"sent", "failed"}:
            continue
        key = (r["channel"], r["target"])
        runs_of = per_target.setdefault(key, {})
        failed = r["outcome"] == "failed"
        runs_of[r["run_id"]] = runs_of.get(r["run_id"], False) or failed
        if failed:
            last_detail[key] = f"{r['recorded_at']}: {r.get('detail') or ''}"
    out = []
    for (channel_name, target), by_run in per_target.items():
        streak = 0
        for failed in reversed(list(by_run.values())):
            if not failed:
                break
            streak += 1
        if streak >= runs:
            out.append(
                {
                    "channel": channel_name,
                    "target": target,
                    "failed_runs": streak,
                    "last": last_detail[(channel_name, target)],
                }
            )
    return out
