"""A real Prometheus (Debian's package, scripts/prometheus.sh) scrapes the app's
/metrics under gunicorn; the values read back through its HTTP query API equal
the marts; the generated rule file loads and the demo's latency incident fires.
Also: `promtool check metrics` on a scrape, `promtool check rules` and the
generated `promtool test rules` unit tests, and /metrics without a warehouse.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from modelmart.config import get_paths
from tests.conftest import PROJECT, free_port, run_cli, wait_http

pytestmark = pytest.mark.slow

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
needs_prometheus = pytest.mark.skipif(
    PROMETHEUS is None or PROMTOOL is None,
    reason="Debian's prometheus is not installed: run scripts/prometheus.sh (scripts/test.sh does)",
)


def stop(proc: subprocess.Popen) -> str:
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out or ""


@pytest.fixture(scope="module")
def incident_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """42 demo days: the anthropic latency spike (days 40-43) is the newest day."""
    home = tmp_path_factory.mktemp("incident-home")
    run = run_cli(
        home, "demo", "--days", "42", "--calls-per-day", "400", "--predictions-per-day", "200"
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return home


@pytest.fixture(scope="module")
def app_url(incident_home: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "4", "--preload",
         "--bind", f"127.0.0.1:{port}", "dash_app.wsgi:server"],
        cwd=PROJECT,
        env={**os.environ, "MODELMART_HOME": str(incident_home), "MODELMART_USERS": ""},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/metrics", proc=proc)
        yield url
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rules") / "modelmart_rules.yml"
    run = subprocess.run(
        [sys.executable, "-m", "modelmart.cli", "export", "prometheus-rules", "--out", str(out)],
        capture_output=True, text=True, check=False, cwd=PROJECT,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    return out


@pytest.fixture(scope="module")
def prometheus(
    tmp_path_factory: pytest.TempPathFactory, app_url: str, rules: Path
) -> Iterator[str]:
    if PROMETHEUS is None:
        pytest.skip("prometheus not installed")
    work = tmp_path_factory.mktemp("prometheus")
    target = urllib.parse.urlparse(app_url).netloc
    config = work / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files:\n  - {rules}\n"
        f"scrape_configs:\n  - job_name: modelmart\n    static_configs:\n      - targets: ['{target}']\n"
    )
    port = free_port()
    proc = subprocess.Popen(
        [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={work / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/-/ready", proc=proc)
        yield url
    finally:
        stop(proc)


def api(base: str, path: str, **params: str) -> dict:
    query = urllib.parse.urlencode(params)
    with urllib.request.urlopen(f"{base}/api/v1/{path}?{query}", timeout=10) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    return body["data"]


def instant(base: str, promql: str) -> dict[tuple, float]:
    """{sorted label items (without __name__, job, instance): value}"""
    result = api(base, "query", query=promql)["result"]
    drop = {"__name__", "job", "instance"}
    return {
        tuple(sorted((k, v) for k, v in item["metric"].items() if k not in drop)): float(
            item["value"][1]
        )
        for item in result
    }


def await_query(base: str, promql: str, timeout: float = 60) -> dict[tuple, float]:
    """Poll until the query returns something (a scrape or a rule evaluation)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = instant(base, promql)
        if got:
            return got
        time.sleep(0.5)
    raise AssertionError(f"{promql} returned nothing within {timeout}s")


def mart(home: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(get_paths(home).warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@needs_prometheus
def test_prometheus_scrapes_the_marts_values(prometheus: str, incident_home: Path) -> None:
    await_query(prometheus, 'up{job="modelmart"} == 1')
    # provider p95 of the newest LLM day, seconds
    got = await_query(prometheus, "modelmart_provider_latency_p95_seconds")
    want = mart(
        incident_home,
        "select provider, latency_p95_ms / 1000 from marts.fct_dashboard_daily where activity_date = "
        "(select max(activity_date) from marts.fct_dashboard_daily where latency_p95_ms is not null) "
        "and latency_p95_ms is not null",
    )
    assert got == pytest.approx({(("provider", p),): v for p, v in want})
    # calls, cost and p95 of the newest day and hour per provider × model × team
    for window, table, column in (
        ("1d", "fct_llm_usage_daily", "usage_date"),
        ("1h", "fct_llm_usage_hourly", "usage_hour"),
    ):
        for metric, expression in (
            ("modelmart_llm_calls", "calls"),
            ("modelmart_llm_cost_dollars", "cost_usd"),
            ("modelmart_llm_latency_p95_seconds", "latency_p95_ms / 1000"),
        ):
            got = instant(prometheus, f'{metric}{{window="{window}"}}')
            want = mart(
                incident_home,
                f"select provider, model, team, {expression} from marts.{table} "
                f"where {column} = (select max({column}) from marts.{table}) and {expression} is not null",
            )
            assert got == pytest.approx(
                {(("model", m), ("provider", p), ("team", t), ("window", window)): v for p, m, t, v in want}
            ), (metric, window)  # fmt: skip
    # 7-day accuracy per version, SLO budget and burn rates of the latest hour
    got = instant(prometheus, "modelmart_model_accuracy_7d_ratio")
    want = mart(
        incident_home,
        "select model_name, model_version, accuracy_rolling_7d from marts.fct_model_quality_daily "
        "where prediction_date = (select max(prediction_date) from marts.fct_model_quality_daily "
        "where accuracy_rolling_7d is not null) and accuracy_rolling_7d is not null",
    )
    assert got == pytest.approx({(("model_name", n), ("model_version", v)): a for n, v, a in want})
    latest = mart(
        incident_home,
        "select slo_id, budget_remaining, burn_rate_1h, burn_rate_6h, burn_rate_1d from "
        "marts.fct_slo_status where is_latest",
    )
    remaining = instant(prometheus, "modelmart_slo_error_budget_remaining_ratio")
    assert remaining == pytest.approx({(("slo", s),): r for s, r, *_ in latest if r is not None})
    burn = instant(prometheus, "modelmart_slo_burn_rate")
    for slo, _, b1, b6, b24 in latest:
        for window, value in (("1h", b1), ("6h", b6), ("1d", b24)):
            key = (("slo", slo), ("window", window))
            assert (key in burn) == (value is not None and value == value)
            if key in burn:
                assert burn[key] == pytest.approx(value)
    # active alerts and ingest counts (independently: the landed Parquet rows)
    active = instant(prometheus, "modelmart_alert_active")
    want = mart(
        incident_home,
        "select count(distinct rule_id || coalesce(provider, '') || coalesce(model_name, '') || coalesce(model_version, '')) from marts.fct_alerts where is_active",
    )
    assert len(active) == want[0][0] and set(active.values()) == {1.0}
    stored = instant(prometheus, "modelmart_ingest_events_stored_total")
    landing = get_paths(incident_home).home / "landing"
    con = duckdb.connect()
    for labels, value in stored.items():
        stream = dict(labels)["stream"]
        rows = con.execute(
            f"select count(*) from read_parquet('{landing / stream}/*.parquet')"
        ).fetchone()[0]
        assert value == rows, stream
    age = instant(prometheus, "modelmart_snapshot_age_seconds")
    assert 0 <= next(iter(age.values())) < 3600


@needs_prometheus
def test_generated_rules_load_and_the_latency_incident_fires(
    prometheus: str, incident_home: Path
) -> None:
    groups = api(prometheus, "rules")["groups"]
    assert {g["name"] for g in groups} == {"modelmart-thresholds", "modelmart-slo-burn-rates"}
    assert all(rule["health"] == "ok" for g in groups for rule in g["rules"]), groups
    firing = await_query(
        prometheus, 'ALERTS{alertname="llm_latency_p95_critical", alertstate="firing"}'
    )
    assert [dict(labels)["provider"] for labels in firing] == ["anthropic"]
    assert dict(next(iter(firing)))["severity"] == "critical"
    # the SLO alerts, evaluated by Prometheus on the exported burn rates through the
    # recording rules, are the pages and tickets of the mart's latest hour
    want = set()
    for slo, page, ticket in mart(
        incident_home, "select slo_id, is_page, is_ticket from marts.fct_slo_status where is_latest"
    ):
        want |= {f"slo_{slo}_page"} if page else set()
        want |= {f"slo_{slo}_ticket"} if ticket else set()
    assert "slo_anthropic_latency_1500ms_ticket" in want  # the incident burns its budget

    def firing_slo_alerts() -> set[str]:
        got = instant(prometheus, 'ALERTS{alertstate="firing", alertname=~"slo_.*"}')
        return {dict(labels)["alertname"] for labels in got}

    deadline = time.monotonic() + 60
    while firing_slo_alerts() != want and time.monotonic() < deadline:
        time.sleep(0.5)
    assert firing_slo_alerts() == want


@needs_prometheus
def test_promtool_check_metrics_on_a_scrape_is_clean(app_url: str) -> None:
    with urllib.request.urlopen(app_url + "/metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        body = response.read()
    check = subprocess.run(
        [PROMTOOL, "check", "metrics"], input=body, capture_output=True, check=False
    )
    assert check.returncode == 0 and not check.stdout and not check.stderr, check
    # bounded labels only: dimensions of the marts, never ids of events or sessions
    from prometheus_client.parser import text_string_to_metric_families

    names = {
        label
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
        for label in sample.labels
    }
    assert names <= {
        "provider", "model", "team", "window", "model_name", "model_version", "feature",
        "rule_id", "severity", "slo", "sli_kind", "stream",
    }, names  # fmt: skip


@needs_prometheus
def test_rule_file_passes_promtool_check_and_its_unit_tests(rules: Path) -> None:
    check = subprocess.run(
        [PROMTOOL, "check", "rules", str(rules)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    tests = rules.with_name("modelmart_rules_test.yml")
    run = subprocess.run(
        [PROMTOOL, "test", "rules", tests.name],
        capture_output=True,
        text=True,
        check=False,
        cwd=rules.parent,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "SUCCESS" in run.stdout + run.stderr


def test_metrics_without_a_published_warehouse(tmp_path: Path) -> None:
    from dash_app.app import create_app
    from dash_app.config import AppConfig

    app = create_app(AppConfig(warehouse=get_paths(tmp_path).warehouse))
    response = app.server.test_client().get("/metrics")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "modelmart_snapshot_available 0.0" in text
    assert "modelmart_slo_burn_rate" not in text


@needs_prometheus
def test_grafana_panels_query_the_real_prometheus(
    prometheus: str, incident_home: Path, tmp_path: Path
) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "modelmart.cli", "export", "grafana", "--out", str(tmp_path)],
        capture_output=True, text=True, check=False, cwd=PROJECT,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    board = json.loads((tmp_path / "dashboards" / "modelmart-oncall.json").read_text())
    await_query(prometheus, "modelmart_slo_burn_rate")
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable in ("$provider", "$model_version", "$model"):
                expr = expr.replace(variable, ".*")
            got = instant(prometheus, expr)  # a bad expression fails the API call
            assert got, (panel["title"], expr)
    errors = instant(prometheus, panel_expr(board, "Error ratio (newest day)"))
    want = mart(
        incident_home,
        "select sum(errors) / sum(calls) from marts.fct_llm_usage_daily "
        "where usage_date = (select max(usage_date) from marts.fct_llm_usage_daily)",
    )
    assert next(iter(errors.values())) == pytest.approx(want[0][0])


def panel_expr(board: dict, title: str) -> str:
    expr = next(p for p in board["panels"] if p["title"] == title)["targets"][0]["expr"]
    for variable in ("$provider", "$model_version", "$model"):
        expr = expr.replace(variable, ".*")
    return expr


def test_scrapes_of_one_snapshot_read_the_marts_once(incident_home: Path) -> None:
    from dash_app.app import create_app
    from dash_app.config import AppConfig

    app = create_app(AppConfig(warehouse=get_paths(incident_home).warehouse))
    reader = app.server.config["MODELMART_READER"]
    queries: list[str] = []
    original = reader.query

    def counting(sql: str, params=None):
        queries.append(sql)
        return original(sql, params)

    reader.query = counting
    client = app.server.test_client()
    first = client.get("/metrics").get_data(as_text=True)
    after_first = len(queries)
    second = client.get("/metrics").get_data(as_text=True)
    assert after_first > 10 and len(queries) == after_first  # the second scrape: no query
    strip = [line for line in first.splitlines() if not line.startswith("modelmart_snapshot_age")]
    assert strip == [
        line for line in second.splitlines() if not line.startswith("modelmart_snapshot_age")
    ]
