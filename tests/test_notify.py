"""Alert delivery against real receivers on 127.0.0.1: a scripted incident over five
builds, retries, kill -9, Slack limits and escaping, PagerDuty's summary limit,
SMTP (plain + login, STARTTLS, SSL) and the routes' build-time validation."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest

from modelmart.ingest import ingest_records
from modelmart.notify import engine
from modelmart.notify import log as notify_log
from modelmart.notify.base import Alert, Message, Notice, Route, format_value
from modelmart.notify.pagerduty import PagerDuty
from modelmart.notify.slack import Slack
from tests.conftest import project_copy, run_cli
from tests.receivers import HttpReceiver, Reply, SmtpReceiver

pytestmark = pytest.mark.slow

RULES = (
    "rule_id,mart,metric,comparator,threshold,severity,consecutive_periods,provider,model,team,"
    "model_name,model_version,description\n"
    "acme_latency,fct_dashboard_daily,latency_p95_ms,>,1200,critical,1,,,,,,p95 above 1.2 s & <rising>\n"
)
ROUTES = (
    "route_id,sends,severity,rule_id,provider,model,team,model_name,model_version,channel,target,"
    "repeat_after_hours,send_resolved,description\n"
    "oncall_slack,alerts,critical,,,,,,,slack,default,4,true,x\n"
    "page_pagerduty,alerts,critical,,,,,,,pagerduty,default,24,true,x\n"
    "team_email,alerts,critical,acme_latency,,,,,,email,default,24,true,x\n"
    "team_webhook,alerts,,,acme,,,,,webhook,default,24,true,x\n"
)
T0 = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
SECRET_KEY = "R0UTING-KEY-s3cret"
SMTP_PASSWORD = "pa55-w0rd-s3cret"
SLOW_MS = [1900 + 10 * i for i in range(20)]  # acme's breaching days
FAST_MS = [100 + i for i in range(20)]


def calls(day: int, provider: str, times: list[int]) -> list[dict]:
    return [
        {
            "event_id": f"{provider}-{day}-{i}",
            "session_id": f"{provider}-{day}-{i}",
            "provider": provider,
            "model": "m1",
            "created_at": f"2026-03-0{day}T10:{i:02d}:00Z",
            "response_time_ms": ms,
            "tokens_input": 10,
            "tokens_output": 5,
        }
        for i, ms in enumerate(times)
    ]


# day -> acme's response times (None: acme sends nothing that day); `other` is always fast
INCIDENT = {1: SLOW_MS, 2: SLOW_MS, 3: FAST_MS, 4: SLOW_MS, 5: None}


@pytest.fixture(scope="module")
def incident(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Five builds, one new day each; the published snapshot after each is kept."""
    tmp = tmp_path_factory.mktemp("incident")
    project = project_copy(tmp)
    (project / "seeds" / "alert_rules.csv").write_text(RULES)
    # threshold alerts only: the default SLOs would page on this fixture too (their
    # burn-rate alerts join fct_alerts; test_slo checks those runs against pandas)
    slos = project / "seeds" / "slos.csv"
    slos.write_text(slos.read_text().splitlines()[0] + "\n")
    (project / "seeds" / "alert_routes.csv").write_text(ROUTES)
    home = tmp / "home"
    env = {**os.environ, "MODELMART_PROJECT_DIR": str(project), "MODELMART_NOTIFY": "dry_run"}
    for name in [
        k for k in env if k.startswith(("MODELMART_SLACK", "MODELMART_WEBHOOK", "MODELMART_SMTP"))
    ]:
        env.pop(name)
    snapshots, outputs = {}, {}
    for day, acme in INCIDENT.items():
        rows = calls(day, "other", FAST_MS) + (calls(day, "acme", acme) if acme else [])
        ingest_records("llm_calls", rows, home)
        args = ["build", "--quiet"] + ([] if day == 1 else ["--no-notify"])
        run = run_cli(home, *args, env=env, timeout=600)
        assert run.returncode == 0, run.stdout + run.stderr
        outputs[day] = run.stdout
        snapshots[day] = tmp / f"snapshot-{day}.duckdb"
        shutil.copyfile(home / "warehouse.duckdb", snapshots[day])
    return {"snapshots": snapshots, "outputs": outputs, "home": home, "project": project}


@pytest.fixture
def http():
    receiver = HttpReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def smtp(tmp_path: Path):
    receiver = SmtpReceiver(tmp_path, login=("alerts", SMTP_PASSWORD))
    yield receiver
    receiver.stop()


def receiver_env(http: HttpReceiver, smtp: SmtpReceiver | None = None, **extra: str) -> dict:
    env = {
        "MODELMART_SLACK_WEBHOOK_URL": http.url + "/slack",
        "MODELMART_WEBHOOK_URL": http.url + "/webhook",
        "MODELMART_PAGERDUTY_ROUTING_KEY": SECRET_KEY,
        "MODELMART_PAGERDUTY_URL": http.url + "/pd",
        "MODELMART_NOTIFY_TIMEOUT": "2",
        "MODELMART_NOTIFY_BACKOFF": "0.05",
        **extra,
    }
    if smtp is not None:
        env |= {
            "MODELMART_SMTP_URL": f"smtp://alerts:{SMTP_PASSWORD}@127.0.0.1:{smtp.port}",
            "MODELMART_ALERT_EMAIL_FROM": "modelmart@example.com",
            "MODELMART_ALERT_EMAIL_TO": "oncall@example.com, lead@example.com",
        }
    return env


def publish(home: Path, snapshot: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(snapshot, home / "warehouse.duckdb")


def mart_alerts(snapshot: Path) -> dict[str, dict]:
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        frame = con.execute("select * from marts.fct_alerts").df()
    finally:
        con.close()
    return {row["alert_id"]: row for row in frame.to_dict("records")}


def log_records(home: Path) -> list[dict]:
    """The log read back with DuckDB, as a user would."""
    con = duckdb.connect()
    try:
        frame = con.execute(
            "select * from read_json(?, format = 'newline_delimited') order by recorded_at",
            [str(home / "notify" / "log.jsonl")],
        ).df()
    finally:
        con.close()
    return frame.to_dict("records")


def slack_events(http: HttpReceiver) -> list[list[str]]:
    """Per Slack message, the events of its sections (from the bold word after the emoji)."""
    out = []
    for req in http.on("/slack"):
        words = []
        for block in req.body["blocks"][1:]:
            text = block["text"]["text"]
            words.append(text.split("*")[1])
        out.append(words)
    return out


# ------------------------------------------------------------------ the marts


def test_marts_tell_resolved_from_no_data_and_flapping(incident):
    first = mart_alerts(incident["snapshots"][1])
    assert list(first) == ["acme_latency:acme:2026-03-01"]
    a = first["acme_latency:acme:2026-03-01"]
    assert a["status"] == "active" and a["last_value"] == pytest.approx(np.percentile(SLOW_MS, 95))
    third = mart_alerts(incident["snapshots"][3])["acme_latency:acme:2026-03-01"]
    assert third["status"] == "resolved" and str(third["resolved_date"])[:10] == "2026-03-03"
    assert third["breach_days"] == 2
    fifth = mart_alerts(incident["snapshots"][5])
    b = fifth["acme_latency:acme:2026-03-04"]
    # acme sent nothing on the newest date: no data, not a recovery
    assert b["status"] == "no_data" and not b["is_active"] and b["is_flapping"]
    assert pd_isna(b["resolved_date"]) and b["previous_alert_id"] == "acme_latency:acme:2026-03-01"


def pd_isna(value) -> bool:
    return value is None or value != value or str(value) == "NaT"


# ------------------------------------------------------------------ the scripted incident


def test_scripted_incident_sends_the_exact_sequence_per_channel(incident, http, smtp, tmp_path):
    home = tmp_path / "home"
    env = receiver_env(http, smtp)
    steps = [(1, 0), (1, 1), (2, 5), (3, 6), (4, 7), (5, 8), (5, 9)]
    for day, hours in steps:
        publish(home, incident["snapshots"][day])
        result = engine.run(home, send=True, now=T0 + dt.timedelta(hours=hours), env=env)
        assert "failed" not in result.counts, result.summary()

    a, b = "acme_latency:acme:2026-03-01", "acme_latency:acme:2026-03-04"
    # Slack (repeat after 4 h): fired, nothing at +1 h, repeat at +5 h, resolved, flapping, no data
    assert slack_events(http) == [
        ["FIRING"],
        ["STILL FIRING"],
        ["RESOLVED"],
        ["FLAPPING"],
        ["NO DATA"],
    ]
    # PagerDuty: one trigger, one resolve with the same dedup_key; the flapping alert is not paged
    pd = [(r.body["event_action"], r.body["dedup_key"]) for r in http.on("/pd")]
    assert pd == [("trigger", a), ("resolve", a)]
    assert all(r.body["routing_key"] == SECRET_KEY for r in http.on("/pd"))
    # webhook (Alertmanager v4): no_data stays firing, with its state in the annotations
    hooks = [
        (
            r.body["status"],
            [
                (x["labels"]["alert_id"], x["status"], x["annotations"]["state"])
                for x in r.body["alerts"]
            ],
        )
        for r in http.on("/webhook")
    ]
    assert hooks == [
        ("firing", [(a, "firing", "firing")]),
        ("resolved", [(a, "resolved", "resolved")]),
        ("firing", [(b, "firing", "flapping")]),
        ("firing", [(b, "firing", "no_data")]),
    ]
    # e-mail: same events as the webhook, each a multipart text + HTML message
    subjects = [m["Subject"] for m in smtp.messages]
    assert subjects == [
        "modelmart alerts: 1 firing",
        "modelmart alerts: 1 resolved",
        "modelmart alerts: 1 flapping",
        "modelmart alerts: 1 no data",
    ]
    assert all(env_[1] == ["oncall@example.com", "lead@example.com"] for env_ in smtp.envelopes)

    # the log, read with DuckDB, holds every attempt; the flapping page is recorded as skipped
    records = log_records(home)
    sent = [(r["route_id"], r["event"], r["alert_id"]) for r in records if r["outcome"] == "sent"]
    assert sent.count(("oncall_slack", "firing", a)) == 1
    assert ("page_pagerduty", "flapping", b) in [
        (r["route_id"], r["event"], r["alert_id"]) for r in records if r["outcome"] == "skipped"
    ]
    assert all(r["attempts"] == 1 for r in records if r["outcome"] == "sent")
    assert SECRET_KEY not in (home / "notify" / "log.jsonl").read_text()
    assert SMTP_PASSWORD not in (home / "notify" / "log.jsonl").read_text()


def test_payloads_carry_the_marts_numbers_and_follow_the_formats(incident, http, smtp, tmp_path):
    home = tmp_path / "home"
    publish(home, incident["snapshots"][2])
    alert = mart_alerts(incident["snapshots"][2])["acme_latency:acme:2026-03-01"]
    p95 = float(np.percentile(SLOW_MS, 95))
    assert alert["last_value"] == pytest.approx(p95) and alert["breach_days"] == 2
    engine.run(
        home, send=True, now=T0, env=receiver_env(http, smtp, MODELMART_APP_URL="http://app.test")
    )
    value = format_value("latency_p95_ms", p95)  # e.g. "2,090 ms"
    assert value == f"{p95:,.0f} ms"

    slack = http.on("/slack")[0].body
    assert slack["blocks"][0]["type"] == "header" and len(slack["blocks"]) == 2
    section = slack["blocks"][1]["text"]["text"]
    assert value in section and "&gt; 1,200 ms" in section and "2 breach days" in section
    assert "since 2026-03-01" in section
    # data-borne text is escaped: the rule's description has & and < >
    assert "p95 above 1.2 s &amp; &lt;rising&gt;" in section and "<rising>" not in section
    assert (
        "<http://app.test/alerts?start=2026-03-01&amp;end=2026-03-02&amp;provider=acme|Open in modelmart>"
        in section
    )
    assert value in slack["text"]

    pd = http.on("/pd")[0].body
    assert set(pd) == {"routing_key", "event_action", "dedup_key", "payload", "links", "client"}
    assert pd["payload"]["severity"] == "critical" and pd["payload"]["source"] == "modelmart/acme"
    assert value in pd["payload"]["summary"] and len(pd["payload"]["summary"]) <= 1024
    assert pd["payload"]["custom_details"]["breach_days"] == 2
    dt.datetime.strptime(pd["payload"]["timestamp"], "%Y-%m-%dT%H:%M:%SZ")

    hook = http.on("/webhook")[0].body
    assert hook["version"] == "4" and hook["groupKey"] == '{}:{route="team_webhook"}'
    assert {
        "status",
        "alerts",
        "receiver",
        "groupLabels",
        "commonLabels",
        "commonAnnotations",
        "externalURL",
    } <= set(hook)
    item = hook["alerts"][0]
    assert set(item) == {
        "status",
        "labels",
        "annotations",
        "startsAt",
        "endsAt",
        "generatorURL",
        "fingerprint",
    }
    assert item["labels"]["alertname"] == "acme_latency" and item["labels"]["provider"] == "acme"
    assert item["startsAt"] == "2026-03-01T00:00:00Z" and item["endsAt"] == "0001-01-01T00:00:00Z"
    assert item["annotations"]["value"] == value

    mail = smtp.messages[0]
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert value in text and value in html
    assert "&gt; 1,200 ms" in html and "<td>acme</td>" in html
    assert mail["From"] == "modelmart@example.com"


# ------------------------------------------------------------------ dry run, dedup, skipping


def test_dry_run_writes_the_outbox_and_sends_nothing(incident, http, tmp_path):
    home = tmp_path / "home"
    publish(home, incident["snapshots"][1])
    env = receiver_env(http)  # no SMTP: the e-mail route is skipped and says why
    dry = engine.run(home, send=False, now=T0, env=env)
    assert http.requests == []
    assert dry.counts == {"dry_run": 3, "skipped": 1}
    assert (
        "set MODELMART_SMTP_URL, MODELMART_ALERT_EMAIL_FROM, MODELMART_ALERT_EMAIL_TO"
        in dry.summary()
    )
    box = home / "notify" / "outbox" / dry.run_id
    files = sorted(p.name for p in box.iterdir())
    assert files == ["oncall_slack-1.json", "page_pagerduty-1.json", "team_webhook-1.json"]
    assert json.loads((box / "page_pagerduty-1.json").read_text())["routing_key"] == ""
    # a dry run changes no state: the real run sends the same, and a second sends nothing
    sent = engine.run(home, send=True, now=T0, env=env)
    assert sent.counts == {"sent": 3, "skipped": 1}
    body = json.loads((box / "oncall_slack-1.json").read_text())
    assert http.on("/slack")[0].body == body
    again = engine.run(home, send=True, now=T0 + dt.timedelta(minutes=30), env=env)
    assert again.counts == {"skipped": 1} and len(http.requests) == 3


def test_the_build_runs_notify_after_publishing(incident):
    out = incident["outputs"][1]
    assert "notify " in out and "dry run" in out
    assert (
        "oncall_slack → slack/default: 1 notice(s) skipped: set MODELMART_SLACK_WEBHOOK_URL" in out
    )
    assert "notify" not in incident["outputs"][2]  # --no-notify


# ------------------------------------------------------------------ failures and retries


def test_retries_500_then_200_and_429_with_retry_after(incident, http, tmp_path):
    home = tmp_path / "home"
    publish(home, incident["snapshots"][1])
    http.script["/slack"] = [Reply(500), Reply(200)]
    http.script["/webhook"] = [Reply(429, {"Retry-After": "1"}), Reply(200)]
    result = engine.run(
        home,
        send=True,
        now=T0,
        env=receiver_env(http),
        routes_only={"oncall_slack", "team_webhook"},
    )
    assert result.counts == {"sent": 2}
    assert len(http.on("/slack")) == 2 and len(http.on("/webhook")) == 2
    first, second = http.on("/webhook")
    assert second.at - first.at >= 1.0  # Retry-After honoured
    attempts = {r["route_id"]: r["attempts"] for r in log_records(home) if r["outcome"] == "sent"}
    assert attempts == {"oncall_slack": 2, "team_webhook": 2}


def test_400_is_not_retried_and_a_hanging_receiver_times_out(incident, http, tmp_path):
    home = tmp_path / "home"
    publish(home, incident["snapshots"][1])
    http.script["/slack"] = [Reply(400)]
    http.script["/pd"] = [Reply(hang=True)]
    env = receiver_env(http, MODELMART_NOTIFY_TIMEOUT="0.5", MODELMART_NOTIFY_ATTEMPTS="2")
    result = engine.run(home, send=True, now=T0, env=env)
    # the failing channels never block the webhook
    assert result.counts == {"failed": 2, "sent": 1, "skipped": 1}  # no SMTP configured
    assert len(http.on("/slack")) == 1 and len(http.on("/pd")) == 2
    failed = {r["route_id"]: r for r in log_records(home) if r["outcome"] == "failed"}
    assert failed["oncall_slack"]["status_code"] == 400 and failed["oncall_slack"]["attempts"] == 1
    assert (
        failed["page_pagerduty"]["attempts"] == 2
        and "timed out" in failed["page_pagerduty"]["detail"]
    )
    # a failed notice stays due: the next run delivers it, once
    http.script["/slack"] = [Reply(200)]
    http.script["/pd"] = [Reply(202)]
    for hours in (1, 2):  # two runs: the second finds nothing due
        engine.run(home, send=True, now=T0 + dt.timedelta(hours=hours), env=env)
    assert (
        len(http.on("/slack")) == 2 and len(http.on("/pd")) == 3 and len(http.on("/webhook")) == 1
    )


def test_status_shows_a_channel_failing_several_runs(incident, http, tmp_path):
    from modelmart.status import render

    home = tmp_path / "home"
    publish(home, incident["snapshots"][1])
    http.script["/slack"] = [Reply(503)]
    env = receiver_env(http, MODELMART_NOTIFY_ATTEMPTS="1")
    engine.run(home, send=True, now=T0, env=env)
    assert engine.failing_channels(home) == []  # one failed run is not yet "several"
    engine.run(home, send=True, now=T0 + dt.timedelta(hours=1), env=env)
    failing = engine.failing_channels(home)
    assert [(f["channel"], f["target"], f["failed_runs"]) for f in failing] == [
        ("slack", "default", 2)
    ]
    text = render(home)
    assert "slack/default failed its last 2 runs" in text and "HTTP 503" in text


# ------------------------------------------------------------------ kill -9


def kill_notify_when(http: HttpReceiver, path: str, home: Path, env: dict, *args: str) -> None:
    """`modelmart notify --send ARGS` in a process, killed -9 once ``path`` got its request."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelmart.cli", "--home", str(home), "notify", "--send", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        http.wait_for(path, 1)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)


def test_kill_9_during_notify_never_resends_what_a_receiver_accepted(
    incident, http, smtp, tmp_path
):
    home = tmp_path / "home"
    publish(home, incident["snapshots"][1])
    # routes go in id order: oncall_slack is accepted, then PagerDuty hangs
    http.script["/pd"] = [Reply(hang=True)]
    env = {**os.environ, **receiver_env(http, smtp), "MODELMART_NOW": T0.isoformat()}
    kill_notify_when(http, "/pd", home, env)
    assert len(http.on("/slack")) == 1 and smtp.messages == []
    http.script["/pd"] = [Reply(202)]
    rerun = run_cli(home, "notify", "--send", env=env)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    # Slack accepted its message before the kill: not sent again. PagerDuty's trigger was
    # in doubt: sent again with the same dedup_key (harmless). The rest once each.
    assert len(http.on("/slack")) == 1
    assert [r.body["dedup_key"] for r in http.on("/pd")] == ["acme_latency:acme:2026-03-01"] * 2
    assert len(smtp.messages) == 1 and len(http.on("/webhook")) == 1
    interrupted = [
        r for r in notify_log.read(home / "notify" / "log.jsonl") if r["outcome"] == "interrupted"
    ]
    assert [(r["route_id"], r["detail"].split(";")[1].strip()) for r in interrupted] == [
        ("page_pagerduty", "due again (resending is harmless)")
    ]
    third = run_cli(home, "notify", "--send", env=env)
    assert "nothing due" in third.stdout and len(http.requests) == 4


def test_kill_9_while_slack_is_in_doubt_does_not_resend_it(incident, http, tmp_path):
    home = tmp_path / "home"
    publish(home, incident["snapshots"][1])
    http.script["/slack"] = [Reply(hang=True)]
    env = {**os.environ, **receiver_env(http), "MODELMART_NOW": T0.isoformat()}
    kill_notify_when(http, "/slack", home, env, "--route", "oncall_slack")
    http.script["/slack"] = [Reply(200)]
    rerun = run_cli(home, "notify", "--send", "--route", "oncall_slack", env=env)
    assert rerun.returncode == 0 and len(http.on("/slack")) == 1  # at most once
    (last,) = [
        r for r in notify_log.read(home / "notify" / "log.jsonl") if r["outcome"] == "interrupted"
    ]
    assert "not resent: the receiver may have it" in last["detail"]


# ------------------------------------------------------------------ limits and escaping


def fake_alert(i: int, series: str = "acme", description: str = "d") -> Alert:
    day = dt.date(2026, 3, 1)
    return Alert(
        alert_id=f"r:{series}:{i}",
        rule_id="r",
        severity="critical",
        mart="fct_dashboard_daily",
        metric="latency_p95_ms",
        comparator=">",
        threshold=1200.0,
        series=series,
        provider=series,
        model=None,
        team=None,
        model_name=None,
        model_version=None,
        first_seen_date=day,
        last_seen_date=day,
        breach_days=1,
        last_value=1300.0 + i,
        worst_value=1300.0 + i,
        status="active",
        resolved_date=None,
        latest_date=day,
        is_flapping=False,
        previous_alert_id=None,
        description=description,
    )


def test_slack_limits_and_escaping_at_a_real_receiver(http):
    route = Route("r", "alerts", "slack", "default")
    notices = [Notice(fake_alert(i), "firing") for i in range(60)]
    notices[0] = Notice(
        fake_alert(0, series="team&co <@U123> <!channel>", description="x" * 5000), "firing"
    )
    channel = Slack()
    (payload,) = channel.render(Message(route, notices))
    channel.send(payload, {"url": http.url + "/slack"}, 5)
    body = http.on("/slack")[0].body
    blocks = body["blocks"]
    assert len(blocks) == 50
    assert (
        blocks[-1]["text"]["text"] == "…and 12 more (see the Alerts page)"
    )  # 48 - 1 shown + 12 = 60
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks[1:])
    first = blocks[1]["text"]["text"]
    assert "team&amp;co &lt;@U123&gt; &lt;!channel&gt;" in first and "<@U123>" not in first
    assert "<!channel>" not in body["text"] and "…and 50 more" in body["text"]
    assert len(blocks[0]["text"]["text"]) <= 150


def test_pagerduty_summary_is_at_most_1024_characters(http):
    alert = fake_alert(1, series="s" * 2000)
    channel = PagerDuty()
    (payload,) = channel.render(
        Message(Route("r", "alerts", "pagerduty", "default"), [Notice(alert, "firing")])
    )
    channel.send(payload, {"url": http.url + "/pd", "routing_key": "k"}, 5)
    summary = http.on("/pd")[0].body["payload"]["summary"]
    assert len(summary) == 1024 and summary.endswith("…")


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_email_over_starttls_and_ssl(tmp_path, mode, monkeypatch):
    from modelmart.notify.mail import Email

    receiver = SmtpReceiver(
        tmp_path, tls=mode == "starttls", implicit_tls=mode == "ssl", login=("u", "p w")
    )
    try:
        monkeypatch.setenv("MODELMART_SMTP_CA_FILE", str(receiver.cafile))
        scheme = "smtp+starttls" if mode == "starttls" else "smtps"
        channel = Email()
        (payload,) = channel.render(
            Message(
                Route("r", "alerts", "email", "default"),
                [Notice(fake_alert(1, series="<b>x</b>"), "firing")],
            )
        )
        channel.send(
            payload,
            {
                "smtp_url": f"{scheme}://u:p%20w@127.0.0.1:{receiver.port}",
                "from": "a@example.com",
                "to": "b@example.com",
            },
            5,
        )
        (mail,) = receiver.messages
        assert "&lt;b&gt;x&lt;/b&gt;" in mail.get_body(("html",)).get_content()
        assert "<b>x</b>" in mail.get_body(("plain",)).get_content()
    finally:
        receiver.stop()


# ------------------------------------------------------------------ routes validation


def test_bad_routes_fail_the_build_naming_the_row(tmp_path):
    from tests.test_concurrency import build_with_seed_rows

    home, failed = build_with_seed_rows(
        tmp_path,
        "alert_routes.csv",
        [
            "to_teams,alerts,critical,,,,,,,teams,default,4,true,x",
            "no_target,alerts,critical,,,,,,,slack,marketing,4,true,x",
            "bad_match,alerts,urgent,no_such_rule,,,,,,slack,default,4,true,x",
            "bad_scope,alerts,,agent_resolution_rate_low,openai,,,,,slack,default,4,true,x",
            "bad_repeat,alerts,,,,,,,,slack,default,soon,maybe,x",
        ],
    )
    out = failed.stdout
    assert failed.returncode == 1 and "invalid alert routes" in out
    assert "route to_teams: unknown channel 'teams'" in out
    assert "route no_target: unknown target 'marketing' for channel slack" in out
    assert "route bad_match: bad severity 'urgent'" in out
    assert "route bad_match: unknown rule_id 'no_such_rule'" in out
    assert "route bad_scope: scope column provider does not exist in fct_business_daily" in out
    assert "route bad_repeat: repeat_after_hours 'soon'" in out and "send_resolved 'maybe'" in out
    assert "Traceback" not in out + failed.stderr
    assert not (home / "warehouse.duckdb").exists()
