"""The Alerts page shows, per alert, where and when it was delivered and its
failures, and warns about a channel failing run after run (headless Chromium)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from modelmart.notify import engine
from tests.receivers import HttpReceiver, Reply
from tests.test_dash_browser import browser, page  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow


def test_alerts_page_shows_deliveries_and_failures(served, demo_home, page):  # noqa: F811
    http = HttpReceiver()
    http.script["/webhook"] = [Reply(400)]
    env = {
        "MODELMART_SLACK_WEBHOOK_URL": http.url + "/slack",
        "MODELMART_WEBHOOK_URL": http.url + "/webhook",
        "MODELMART_NOTIFY_ATTEMPTS": "1",
    }
    now = dt.datetime(2026, 11, 2, 8, tzinfo=dt.UTC)
    try:
        for hours in (0, 1):
            engine.run(
                demo_home,
                send=True,
                now=now + dt.timedelta(hours=hours),
                env=env,
                routes_only={"critical_slack", "alerts_webhook"},
            )
    finally:
        http.stop()
    con = duckdb.connect(str(demo_home / "warehouse.duckdb"), read_only=True)
    try:
        critical, paged = con.execute(
            "select count(*) filter (where severity = 'critical'), "
            "count(*) filter (where severity in ('critical', 'warning')) "
            "from marts.fct_alerts where status = 'active'"
        ).fetchone()
    finally:
        con.close()
    assert critical > 0
    # one message per route and run: all the critical alerts in one Slack message
    assert len(http.on("/slack")) == 1 and len(http.on("/webhook")) == 2
    assert len(http.on("/slack")[0].body["blocks"]) == 1 + critical

    page.goto(served + "/alerts")
    page.wait_for_selector("#alerts-table")
    banner = page.inner_text("#alerts-delivery-failing")
    assert "webhook/default failed its last 2 runs" in banner and "HTTP 400" in banner
    cells = page.locator("#alerts-table td[data-dash-column='delivered']").all_inner_texts()
    assert cells.count("slack/default firing 2026-11-02 08:00") == critical
    failures = page.locator("#alerts-table td[data-dash-column='failures_text']").all_inner_texts()
    assert sum(f.startswith("2: ") and "webhook/default: HTTP 400" in f for f in failures) == paged
