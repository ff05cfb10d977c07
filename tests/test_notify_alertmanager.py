"""Push to a real Alertmanager (Debian's prometheus-alertmanager 0.25, started by the
test on a free port), read the alerts back from its API, and compare the webhook it
forwards with the one modelmart's webhook channel sends: same fields."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import urllib.request
from pathlib import Path

import duckdb
import pytest

from modelmart.notify import engine
from tests.conftest import free_port, wait_http
from tests.receivers import HttpReceiver

pytestmark = pytest.mark.slow
BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


@pytest.fixture
def alertmanager(tmp_path: Path):
    assert BINARY, (
        "prometheus-alertmanager missing: run scripts/alertmanager.sh (the test command does)"
    )
    hook = HttpReceiver()
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 1s\n"
        "  group_interval: 1s\n  repeat_interval: 1h\n"
        f"receivers:\n  - name: hook\n    webhook_configs:\n      - url: {hook.url}/am-webhook\n"
        "        send_resolved: true\n"
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            BINARY,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/-/ready", proc=proc)
        yield url, hook
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        hook.stop()


def test_push_to_a_real_alertmanager_and_match_its_webhook(alertmanager, demo_home, tmp_path):
    url, hook = alertmanager
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(demo_home / "warehouse.duckdb", home / "warehouse.duckdb")
    now = dt.datetime.now(dt.UTC)
    ours = HttpReceiver()
    try:
        env = {"MODELMART_ALERTMANAGER_URL": url, "MODELMART_WEBHOOK_URL": ours.url + "/webhook"}
        result = engine.run(
            home, send=True, now=now, env=env, routes_only={"alerts_alertmanager", "alerts_webhook"}
        )
        assert "failed" not in result.counts, result.summary()
        con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
        try:
            want = {
                r[0]
                for r in con.execute(
                    "select alert_id from marts.fct_alerts where status = 'active' "
                    "and severity in ('critical', 'warning')"
                ).fetchall()
            }
        finally:
            con.close()
        assert want
        with urllib.request.urlopen(url + "/api/v2/alerts", timeout=10) as response:
            stored = json.loads(response.read())
        assert {a["labels"]["alert_id"] for a in stored} == want
        assert all(a["status"]["state"] == "active" for a in stored)
        # Alertmanager forwards them as its webhook (version 4): ours has the same fields
        hook.wait_for("/am-webhook", 1)
        theirs = hook.on("/am-webhook")[0].body
        mine = ours.on("/webhook")[0].body
        assert theirs["version"] == mine["version"] == "4"
        assert set(theirs) == set(mine)
        assert set(theirs["alerts"][0]) == set(mine["alerts"][0])
        forwarded = {
            a["labels"]["alert_id"] for r in hook.on("/am-webhook") for a in r.body["alerts"]
        }
        assert forwarded <= want
    finally:
        ours.stop()
