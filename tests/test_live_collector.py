"""The collector: events endpoint, OTLP traces from the real OpenTelemetry SDK, kill -9."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from modelmart.collector import Collector
from modelmart.spool import depth, promote
from tests.conftest import landed_rows


def landed(home: Path, stream: str = "llm_calls") -> pd.DataFrame:
    return landed_rows(home, stream, "event_id")


def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict | bytes]:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, data = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, data = exc.code, exc.read()
    try:
        return status, json.loads(data)
    except ValueError:
        return status, data


def call(event_id: str, i: int = 0) -> dict:
    return {
        "event_id": event_id,
        "session_id": "s",
        "provider": "openai",
        "model": "gpt-4o",
        "created_at": f"2026-03-01T10:00:{i % 60:02d}Z",
        "response_time_ms": 5 + i,
        "tokens_input": 10,
        "tokens_output": 2,
    }


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    c = Collector(tmp_path / "home", port=0, promote_seconds=0, max_bytes=200_000, max_events=50)
    c.start()
    yield c
    c.stop()


def base(c: Collector) -> str:
    host, port = c.address
    return f"http://{host}:{port}"


def test_events_endpoint_accepts_json_and_ndjson_and_refuses_bad_bodies(
    collector: Collector,
) -> None:
    url = base(collector) + "/v1/events/llm_calls"
    status, body = post(url, json.dumps([call("a1"), call("a2", 1)]).encode())
    assert (status, body) == (202, {"stream": "llm_calls", "accepted": 2})
    ndjson = "\n".join(json.dumps(call(f"n{i}", i)) for i in range(3)) + "\n\n"
    status, body = post(url, gzip.compress(ndjson.encode()), {"Content-Encoding": "gzip"})
    assert (status, body) == (202, {"stream": "llm_calls", "accepted": 3})
    # a row the contract rejects is accepted here and quarantined at promotion
    bad_row = {**call("q1"), "tokens_input": "many"}
    assert post(url, json.dumps([bad_row]).encode())[0] == 202

    refused = [
        (url, b'{"event_id": "x1"}\n{"event_id": ', 400, "line 2 is not JSON"),
        (url, b"[1, 2]", 400, "element 0 of the array is not an object"),
        (url, b"not json at all", 400, "line 1 is not JSON"),
        (url, json.dumps([call(f"m{i}") for i in range(51)]).encode(), 400, "over the limit of 50"),
        (url, b"[" + b" " * 200_001 + b"]", 413, "over the limit of 200000 bytes"),
        (base(collector) + "/v1/events/clicks", b"[]", 400, "unknown stream 'clicks'"),
    ]
    for target, payload, want_status, want_text in refused:
        status, body = post(target, payload)
        assert status == want_status, (payload[:40], body)
        assert want_text in body["error"]
    # a gzip bomb beyond the limit once inflated
    bomb = gzip.compress(b"[" + b" " * 300_000 + b"]")
    status, body = post(url, bomb, {"Content-Encoding": "gzip"})
    assert status == 413 and "decompressed" in body["error"]

    collector.promote_now()
    assert collector.metrics.stored.labels("llm_calls")._value.get() == 5
    assert collector.metrics.quarantined.labels("llm_calls")._value.get() == 1
    assert landed(collector.paths.home)["event_id"].tolist() == ["a1", "a2", "n0", "n1", "n2"]

    with urllib.request.urlopen(base(collector) + "/healthz") as r:
        assert r.read() == b"ok\n"
    with urllib.request.urlopen(base(collector) + "/metrics") as r:
        metrics = r.read().decode()
    assert 'modelmart_collector_events_spooled_total{stream="llm_calls"} 6.0' in metrics
    assert 'modelmart_collector_events_received_total{stream="llm_calls"} 6.0' in metrics
    assert "modelmart_collector_requests_rejected_total" in metrics
    assert "modelmart_collector_flush_seconds_count 3.0" in metrics


def test_bearer_token(tmp_path: Path) -> None:
    c = Collector(tmp_path / "home", port=0, promote_seconds=0, token="s3cret").start()
    try:
        url = base(c) + "/v1/events/llm_calls"
        status, body = post(url, json.dumps([call("t1")]).encode())
        assert status == 401 and "bearer token" in body["error"] and "s3cret" not in body["error"]
        assert post(url, b"[]", {"Authorization": "Bearer wrong"})[0] == 401
        status, body = post(
            url, json.dumps([call("t1")]).encode(), {"Authorization": "Bearer s3cret"}
        )
        assert (status, body["accepted"]) == (202, 1)
    finally:
        c.stop()
    promote(c.paths.home)  # promotion is off in this collector; stop() sealed the segments
    assert landed(c.paths.home)["event_id"].tolist() == ["t1"]


def test_otlp_traces_from_the_real_sdk_become_llm_calls(collector: Collector) -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "chat", "modelmart.team": "search"})
    )
    exporter = OTLPSpanExporter(endpoint=base(collector) + "/v1/traces")
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with (
        tracer.start_as_current_span(
            "chat gpt-4o",
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.response.model": "gpt-4o-2024-08-06",
                "gen_ai.usage.input_tokens": 120,
                "gen_ai.usage.output_tokens": 30,
                "gen_ai.usage.cache_read.input_tokens": 100,
                "gen_ai.conversation.id": "conv-1",
            },
        ),
        tracer.start_as_current_span("http GET", attributes={"http.method": "GET"}),
    ):
        pass
    with tracer.start_as_current_span(
        "old style",
        attributes={
            "gen_ai.system": "anthropic",
            "gen_ai.request.model": "claude-3-5-sonnet",
            "gen_ai.usage.prompt_tokens": 7,
            "gen_ai.usage.completion_tokens": 3,
            "session.id": "sess-9",
            "modelmart.team": "support",
        },
    ) as span:
        span.set_status(Status(StatusCode.ERROR, "boom"))
    with tracer.start_as_current_span(
        "timeout",
        attributes={
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 5,
            "gen_ai.usage.output_tokens": 0,
            "error.type": "timeout",
        },
    ):
        pass
    with tracer.start_as_current_span(
        "no model", attributes={"gen_ai.provider.name": "openai", "gen_ai.usage.input_tokens": 1}
    ):
        pass
    provider.shutdown()

    status = collector.metrics
    assert status.spans_ignored._value.get() == 1
    assert status.spans_rejected._value.get() == 1  # the span without a model
    collector.promote_now()
    got = landed(collector.paths.home).set_index("event_id")
    spans = {s.name: s for s in memory.get_finished_spans()}

    def key(name: str) -> str:
        ctx = spans[name].context
        return f"{ctx.trace_id:032x}-{ctx.span_id:016x}"

    assert sorted(got.index) == sorted(key(n) for n in ("chat gpt-4o", "old style", "timeout"))
    for name, expected in {
        "chat gpt-4o": dict(
            provider="openai",
            model="gpt-4o-2024-08-06",
            tokens_input=120,
            tokens_output=30,
            tokens_cached_input=100,
            status="ok",
            session_id="conv-1",
            team="search",
        ),
        "old style": dict(
            provider="anthropic",
            model="claude-3-5-sonnet",
            tokens_input=7,
            tokens_output=3,
            tokens_cached_input=0,
            status="error",
            session_id="sess-9",
            team="support",
        ),
        "timeout": dict(
            provider="openai",
            model="gpt-4o-mini",
            tokens_input=5,
            tokens_output=0,
            status="error",
            session_id=f"{spans['timeout'].context.trace_id:032x}",
            team="search",
        ),
    }.items():
        row, span = got.loc[key(name)], spans[name]
        for column, value in expected.items():
            assert row[column] == value, (name, column)
        assert row["response_time_ms"] == pytest.approx((span.end_time - span.start_time) / 1e6)
        started = pd.Timestamp(span.start_time, unit="ns").floor("us")
        assert row["created_at"] == started


def test_otlp_json_and_bad_trace_bodies(collector: Collector) -> None:
    url = base(collector) + "/v1/traces"

    def attr(key: str, value: object) -> dict:
        if isinstance(value, int):
            return {"key": key, "value": {"intValue": str(value)}}
        return {"key": key, "value": {"stringValue": value}}

    span = {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "eee19b7ec3c1b174",
        "name": "chat",
        "startTimeUnixNano": "1772359200000000000",
        "endTimeUnixNano": "1772359200250000000",
        "status": {"code": "STATUS_CODE_ERROR"},
        "attributes": [
            attr("gen_ai.provider.name", "mistral"),
            attr("gen_ai.request.model", "mistral-large"),
            attr("gen_ai.usage.input_tokens", 11),
            attr("gen_ai.usage.output_tokens", 4),
        ],
    }
    bad = {**span, "spanId": "eee19b7ec3c1b175", "attributes": [*span["attributes"][:2]]}
    doc = {
        "resourceSpans": [
            {
                "resource": {"attributes": [attr("modelmart.team", "ops")]},
                "scopeSpans": [{"spans": [span, bad]}],
            }
        ]
    }
    status, body = post(url, json.dumps(doc).encode(), {"Content-Type": "application/json"})
    assert status == 200
    assert body["partialSuccess"]["rejectedSpans"] == "1"
    assert "eee19b7ec3c1b175" in body["partialSuccess"]["errorMessage"]
    assert "gen_ai.usage.input_tokens" in body["partialSuccess"]["errorMessage"]
    for payload, ctype, text in [
        (b"{not json", "application/json", "not JSON"),
        (b'{"resourceSpans": 3}', "application/json", "no resourceSpans list"),
        (b"\xff\xfe garbage", "application/x-protobuf", "not an OTLP protobuf"),
    ]:
        status, body = post(url, payload, {"Content-Type": ctype})
        assert status == 400 and text in body["error"], body
    collector.promote_now()
    got = landed(collector.paths.home)
    assert got["event_id"].tolist() == ["5b8efff798038103d269b633813fc60c-eee19b7ec3c1b174"]
    row = got.iloc[0]
    assert (row["provider"], row["status"], row["team"], row["tokens_input"]) == (
        "mistral",
        "error",
        "ops",
        11,
    )
    assert row["response_time_ms"] == 250.0
    assert row["created_at"] == pd.Timestamp("2026-03-01 10:00:00")


def _start_collector(home: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "modelmart.cli",
            "--home",
            str(home),
            "collect",
            "--port",
            "0",
            "--promote-seconds",
            "0.3",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "MODELMART_QUIET_DBT": "1"},
    )
    line = proc.stdout.readline()
    assert line.startswith("collecting on "), line
    return proc, line.split()[2].rstrip("/")


def test_kill_9_of_the_collector_loses_no_acknowledged_event(tmp_path: Path) -> None:
    home = tmp_path / "home"
    rng = random.Random(5)
    acked: set[str] = set()
    lock = threading.Lock()
    for run in range(3):
        proc, url = _start_collector(home)
        stop = threading.Event()

        def client(t: int, url: str = url, run: int = run, stop: threading.Event = stop) -> None:
            n = 0
            while not stop.is_set():
                ids = [f"k{run}-{t}-{n + i}" for i in range(rng.randint(1, 400))]
                n += len(ids)
                body = "\n".join(json.dumps(call(i)) for i in ids).encode()
                try:
                    status, _ = post(url + "/v1/events/llm_calls", body)
                except (OSError, http.client.HTTPException):
                    return  # the collector died mid-request or mid-answer: not acknowledged
                if status == 202:
                    with lock:
                        acked.update(ids)

        clients = [threading.Thread(target=client, args=(t,)) for t in range(3)]
        for c in clients:
            c.start()
        time.sleep(rng.uniform(0.7, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        stop.set()
        for c in clients:
            c.join()
    # a last collector stopped with SIGTERM: graceful, promotes what is spooled
    proc, _ = _start_collector(home)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "stopped" in out
    assert sum(d.segments for d in depth(home).values()) == 0
    ids = landed(home)["event_id"]
    assert ids.is_unique, ids[ids.duplicated()].tolist()[:5]
    assert len(acked) > 0
    lost = acked - set(ids)
    assert not lost, sorted(lost)[:5]
