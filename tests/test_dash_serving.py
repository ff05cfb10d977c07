"""Production-style serving: gunicorn with several workers keeps answering while
events are ingested and a build publishes, and shows the new snapshot without a
restart; login, when configured, guards the real server too."""

from __future__ import annotations

import base64
import datetime as dt
import os
import shutil
import subprocess
import sys
import threading
import urllib.error
from pathlib import Path

import pytest
from werkzeug.security import generate_password_hash

from modelmart.demo_data import DemoConfig, generate
from tests.conftest import PROJECT, free_port, wait_http
from tests.probe import Probe

pytestmark = pytest.mark.slow

PROVIDER = '{"field":"provider","type":"filter"}.value'


def gunicorn(home: Path, port: int, extra_env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "2",
            "--threads",
            "4",
            "--preload",
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "60",
            "dash_app.wsgi:server",
        ],
        cwd=PROJECT,
        env={**os.environ, "MODELMART_HOME": str(home), **(extra_env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(proc: subprocess.Popen) -> str:
    proc.terminate()
    out, _ = proc.communicate(timeout=30)
    return out


def calls_on(probe: Probe, day: dt.date) -> str:
    reply = probe.callback(
        "ov-body",
        {
            "f-dates.start_date": day.isoformat(),
            "f-dates.end_date": day.isoformat(),
            PROVIDER: [],
            "snapshot.data": "k",
        },
    )
    return str(reply["response"]["ov-body"]["children"])


def test_gunicorn_serves_through_ingest_and_build_and_shows_the_new_snapshot(demo_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(demo_home, home, ignore=shutil.ignore_patterns(".serve*", "demo_input"))
    port = free_port()
    server = gunicorn(home, port)
    try:
        wait_http(f"http://127.0.0.1:{port}/", proc=server)
        probe = Probe.connect(f"http://127.0.0.1:{port}")
        key = probe.callback("banner.children", {"snapshot.data": None})["response"]["snapshot"][
            "data"
        ]
        new_day = DemoConfig().end_date + dt.timedelta(days=1)
        assert "No LLM calls or business events" in calls_on(probe, new_day)

        # traffic from several threads for the whole ingest + build + publish
        failures: list[str] = []
        done = threading.Event()

        def traffic() -> None:
            while not done.is_set():
                try:
                    probe.get("/")
                    probe.callback(
                        "ov-body",
                        {
                            "f-dates.start_date": "2026-10-01",
                            "f-dates.end_date": "2026-11-01",
                            PROVIDER: [],
                            "snapshot.data": "k",
                        },
                    )
                except (OSError, urllib.error.HTTPError) as exc:
                    failures.append(repr(exc))

        threads = [threading.Thread(target=traffic) for _ in range(4)]
        for thread in threads:
            thread.start()
        try:
            inbox = tmp_path / "inbox"
            generate(
                inbox,
                DemoConfig(
                    days=1,
                    end_date=new_day,
                    llm_calls_per_day=300,
                    predictions_per_day=100,
                    bad_rows=False,
                    id_prefix="extra-",
                ),
            )
            cli = [sys.executable, "-m", "modelmart.cli", "--home", str(home)]
            ingest = subprocess.run(
                [*cli, "ingest", str(inbox)], capture_output=True, text=True, timeout=300
            )
            assert ingest.returncode == 0, ingest.stdout + ingest.stderr
            build = subprocess.run(
                [*cli, "build", "--quiet"], capture_output=True, text=True, timeout=600
            )
            assert build.returncode == 0, build.stdout + build.stderr
        finally:
            done.set()
            for thread in threads:
                thread.join()
        if failures:
            pytest.fail(f"{len(failures)} failed requests: {failures[:3]}\n{stop(server)}")

        # no restart: the next requests of every worker read the new snapshot
        for _ in range(6):
            assert "No LLM calls or business events" not in calls_on(probe, new_day)
        reply = probe.callback("banner.children", {"snapshot.data": key})
        assert reply["response"]["snapshot"]["data"] != key
    finally:
        log = stop(server)
    assert "Traceback" not in log, log


def test_gunicorn_with_login(demo_home, tmp_path):
    users = (
        f"fin:finance:{generate_password_hash('f-pw')},view:viewer:{generate_password_hash('v-pw')}"
    )
    port = free_port()
    server = gunicorn(demo_home, port, {"MODELMART_USERS": users})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/", proc=server, expect=401)  # up, and refusing strangers
        wait_http(base + "/_dash-layout", proc=server, expect=401)

        def auth(user: str, password: str) -> dict:
            return {
                "Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
            }

        viewer = Probe.connect(base, auth("view", "v-pw"))
        finance = Probe.connect(base, auth("fin", "f-pw"))
        values = {
            "f-dates.start_date": "2026-10-01",
            "f-dates.end_date": "2026-11-01",
            "snapshot.data": "k",
            "cost-by.value": "team",
        }
        assert "cost-table" in str(finance.callback("cost-body", values))
        with pytest.raises(urllib.error.HTTPError) as denied:
            viewer.callback("cost-body", values)
        assert denied.value.code == 403
        assert "ov-body" in str(viewer.callback("ov-body", values))
        # the navbar a viewer sees has no cost link
        layout = viewer.callback(
            "_pages_content", {"_pages_location.pathname": "/cost", "_pages_location.search": ""}
        )
        assert "finance and engineer" in str(layout)
    finally:
        stop(server)
