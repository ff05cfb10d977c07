"""``modelmart collect``: an HTTP collector that spools events from other services.

Endpoints (127.0.0.1 by default):

- ``POST /v1/events/<stream>``: a JSON array of event objects, or NDJSON (one
  object per line); ``Content-Encoding: gzip`` accepted. 202 ``{"stream",
  "accepted"}`` once the events are fsynced into the spool; 400 with
  ``{"error": ...}`` for a body that is not JSON (naming the line), an element
  that is not an object, an unknown stream, or more than ``max_events`` events;
  413 for a body over ``max_bytes`` (compressed or not). A refused body stores
  nothing. Per-row problems (a missing column, a wrong type) are quarantined as
  usual when the spool is promoted.
- ``POST /v1/traces``: OTLP/HTTP, ``application/json`` or ``application/x-protobuf``
  (see ``modelmart.otlp`` for how GenAI spans become ``llm_calls``).
- ``GET /healthz``: 200 ``ok``. ``GET /metrics``: Prometheus metrics of the collector.

With ``MODELMART_COLLECTOR_TOKEN`` set, the POST endpoints require
``Authorization: Bearer <token>`` (401 otherwise). The collector promotes the
spool every ``promote_seconds`` (0: leave it to ``modelmart run``). SIGTERM or
SIGINT: stop accepting, finish requests in flight, close the spool writers, a last
promotion, exit 0.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import signal
import threading
import time
import zlib
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from modelmart import otlp
from modelmart.compact import auto_compact
from modelmart.config import Paths, get_paths
from modelmart.contract import STREAMS
from modelmart.ingest import ensure_layout
from modelmart.logger import SpoolWriter, _Batch, encode_events
from modelmart.spool import depth, promote

TOKEN_ENV = "MODELMART_COLLECTOR_TOKEN"
_EVENTS_PATH = re.compile(r"^/v1/events/([^/?]+)/?$")


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Metrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.received = Counter(
            "modelmart_collector_events_received", "Events received", ["stream"], registry=r
        )
        self.spooled = Counter(
            "modelmart_collector_events_spooled",
            "Events made durable in the spool",
            ["stream"],
            registry=r,
        )
        self.rejected = Counter(
            "modelmart_collector_requests_rejected",
            "Requests refused whole (nothing stored)",
            ["endpoint", "reason"],
            registry=r,
        )
        self.spans_ignored = Counter(
            "modelmart_collector_spans_ignored", "Spans that are not GenAI spans", registry=r
        )
        self.spans_rejected = Counter(
            "modelmart_collector_spans_rejected", "GenAI spans that cannot be llm_calls", registry=r
        )
        self.promoted = Counter(
            "modelmart_collector_events_promoted",
            "Events promoted into landing batches",
            ["stream"],
            registry=r,
        )
        self.stored = Counter(
            "modelmart_collector_events_stored", "Promoted events stored", ["stream"], registry=r
        )
        self.quarantined = Counter(
            "modelmart_collector_events_quarantined",
            "Promoted events quarantined",
            ["stream"],
            registry=r,
        )
        self.spool_bytes = Gauge(
            "modelmart_collector_spool_bytes", "Bytes waiting in the spool", ["stream"], registry=r
        )
        self.spool_segments = Gauge(
            "modelmart_collector_spool_segments",
            "Segments waiting in the spool",
            ["stream"],
            registry=r,
        )
        self.flush_seconds = Histogram(
            "modelmart_collector_flush_seconds",
            "Time to write and fsync one spool append",
            registry=r,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
        )
        self.request_seconds = Histogram(
            "modelmart_collector_request_seconds", "POST request latency", ["endpoint"], registry=r
        )

    def refresh_spool(self, paths: Paths) -> None:
        for stream, d in depth(paths).items():
            self.spool_bytes.labels(stream).set(d.bytes)
            self.spool_segments.labels(stream).set(d.segments)


class Collector:
    """The server and its spool writers. ``start()`` serves in a thread; ``stop()`` drains."""

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 4318,
        max_bytes: int = 16 << 20,
        max_events: int = 100_000,
        promote_seconds: float = 5.0,
        token: str | None = None,
    ) -> None:
        self.paths = get_paths(home)
        ensure_layout(self.paths)
        self.max_bytes, self.max_events = max_bytes, max_events
        self.promote_seconds = promote_seconds
        self.token = token if token is not None else os.environ.get(TOKEN_ENV) or None
        self.metrics = Metrics()
        self._writers: dict[str, SpoolWriter] = {}
        self._writers_lock = threading.Lock()
        self._stopping = threading.Event()
        self._promoter: threading.Thread | None = None
        handler = type("Handler", (_Handler,), {"collector": self})
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = False  # shutdown waits for requests in flight
        self.server.block_on_close = True
        self._serving: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self.server.server_address[:2]

    def writer(self, stream: str) -> SpoolWriter:
        with self._writers_lock:
            if stream not in self._writers:
                self._writers[stream] = SpoolWriter(
                    self.paths,
                    stream,
                    flush_size=10**9,  # each request flushes itself
                    flush_seconds=3600,
                    on_write=lambda n, s: self.metrics.flush_seconds.observe(s),
                )
            return self._writers[stream]

    def spool(self, stream: str, data: bytes, n: int) -> None:
        self.metrics.received.labels(stream).inc(n)
        writer = self.writer(stream)
        writer.put(_Batch(data, n))
        writer.flush()
        self.metrics.spooled.labels(stream).inc(n)

    def promote_now(self) -> None:
        """Seal this collector's segments and promote the spool (all writers' segments)."""
        with self._writers_lock:
            writers = list(self._writers.values())
        for w in writers:
            if not w._closed:
                w.seal()
        results = promote(self.paths.home)
        auto_compact(self.paths.home)  # many small promotions: merged once they pile up
        for r in results:
            self.metrics.promoted.labels(r.stream).inc(r.events)
            self.metrics.stored.labels(r.stream).inc(r.stored)
            self.metrics.quarantined.labels(r.stream).inc(r.quarantined)

    def _promote_loop(self) -> None:
        while not self._stopping.wait(self.promote_seconds):
            try:
                self.promote_now()
            except Exception as exc:  # a failed promotion is retried next time
                print(f"collector: promotion failed, retrying later: {exc}", flush=True)

    def start(self) -> Collector:
        self._serving = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._serving.start()
        if self.promote_seconds > 0:
            self._promoter = threading.Thread(target=self._promote_loop, daemon=True)
            self._promoter.start()
        return self

    def run_until_signal(self) -> None:
        """Serve until SIGTERM or SIGINT, then stop gracefully."""
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.start()
        host, port = self.address
        print(f"collecting on http://{host}:{port}/ into {self.paths.home}", flush=True)
        stop.wait()
        print("collector: stopping (finishing requests, flushing the spool)", flush=True)
        self.stop()
        print("collector: stopped", flush=True)

    def stop(self) -> None:
        """Stop accepting, let requests in flight finish, flush, promote what is spooled."""
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()  # joins request threads (block_on_close)
        with self._writers_lock:
            for w in self._writers.values():
                w.close()
        if self._promoter is not None:
            self._promoter.join()
            self.promote_now()


class _Handler(BaseHTTPRequestHandler):
    collector: Collector
    protocol_version = "HTTP/1.1"
    server_version = "modelmart-collector"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: metrics tell the story
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str, endpoint: str, reason: str) -> None:
        self.collector.metrics.rejected.labels(endpoint, reason).inc()
        self._send(status, json.dumps({"error": message}).encode())

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._send(200, b"ok\n", "text/plain")
        elif self.path == "/metrics":
            self.collector.metrics.refresh_spool(self.collector.paths)
            self._send(200, generate_latest(self.collector.metrics.registry), CONTENT_TYPE_LATEST)
        else:
            self._send(404, json.dumps({"error": f"no such endpoint {self.path}"}).encode())

    def _body(self) -> bytes:
        c = self.collector
        length = self.headers.get("Content-Length")
        if length is None:
            raise Refused(HTTPStatus.LENGTH_REQUIRED, "Content-Length required")
        size = int(length)
        if size > c.max_bytes:
            # refuse without reading; the connection is closed, not reused
            self.close_connection = True
            raise Refused(413, f"body of {size} bytes is over the limit of {c.max_bytes} bytes")
        raw = self.rfile.read(size)
        if (self.headers.get("Content-Encoding") or "").lower() == "gzip":
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                raw = inflater.decompress(raw, c.max_bytes + 1)
            except zlib.error as exc:
                raise Refused(400, f"body is not valid gzip: {exc}") from exc
            if len(raw) > c.max_bytes or inflater.unconsumed_tail:
                raise Refused(413, f"decompressed body is over the limit of {c.max_bytes} bytes")
        return raw

    def _authorized(self) -> bool:
        token = self.collector.token
        if not token:
            return True
        given = self.headers.get("Authorization") or ""
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())

    def do_POST(self) -> None:
        started = time.perf_counter()
        path = self.path.split("?", 1)[0]
        endpoint = "traces" if path.rstrip("/") == "/v1/traces" else "events"
        try:
            if not self._authorized():
                self.close_connection = True
                self._error(401, "missing or wrong bearer token", endpoint, "unauthorized")
                return
            if endpoint == "traces":
                self._traces()
            elif match := _EVENTS_PATH.match(path):
                self._events(match.group(1))
            else:
                self._error(404, f"no such endpoint {path}", endpoint, "not_found")
        except Refused as exc:
            self._error(exc.status, str(exc), endpoint, _reason(exc))
        finally:
            self.collector.metrics.request_seconds.labels(endpoint).observe(
                time.perf_counter() - started
            )

    def _events(self, stream: str) -> None:
        if stream not in STREAMS:
            raise Refused(400, f"unknown stream {stream!r} (expected one of {', '.join(STREAMS)})")
        data, n = parse_events(self._body(), self.collector.max_events)
        self.collector.spool(stream, data, n)
        self._send(202, json.dumps({"stream": stream, "accepted": n}).encode())

    def _traces(self) -> None:
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        body = self._body()
        protobuf = content_type == "application/x-protobuf"
        if not protobuf and content_type != "application/json":
            raise Refused(415, "Content-Type must be application/x-protobuf or application/json")
        try:
            spans = otlp.spans_from_protobuf(body) if protobuf else otlp.spans_from_json(body)
        except otlp.BadPayload as exc:
            raise Refused(400, str(exc)) from exc
        mapped = otlp.map_spans(spans)
        m = self.collector.metrics
        m.spans_ignored.inc(mapped.ignored)
        m.spans_rejected.inc(len(mapped.rejected))
        if mapped.events:
            data = encode_events(mapped.events) + b"\n"
            self.collector.spool("llm_calls", data, len(mapped.events))
        message = "; ".join(mapped.rejected[:20])
        body, ctype = otlp.response_body(len(mapped.rejected), message, protobuf=protobuf)
        self._send(200, body, ctype)


def _reason(exc: Refused) -> str:
    text = str(exc)
    for key in ("unknown stream", "not JSON", "not an object", "over the limit", "gzip", "OTLP"):
        if key in text:
            return key.replace(" ", "_").lower()
    return str(exc.status)


def parse_events(body: bytes, max_events: int) -> tuple[bytes, int]:
    """Validate a JSON array or NDJSON body of objects; its events as spool bytes."""
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused(400, f"body is not UTF-8 (invalid byte at offset {exc.start})") from exc
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            events = json.loads(text)
        except ValueError as exc:
            raise Refused(400, f"body is not JSON: {exc}") from exc
        if len(events) > max_events:
            raise Refused(
                400, f"{len(events)} events is over the limit of {max_events} per request"
            )
        for i, e in enumerate(events):
            if not isinstance(e, dict):
                raise Refused(400, f"element {i} of the array is not an object")
        return encode_events(events) + b"\n" if events else b"", len(events)
    lines = []
    # split on newlines only: U+2028 and friends may appear raw inside JSON strings
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError as exc:
            raise Refused(400, f"line {number} is not JSON: {exc}") from exc
        if not isinstance(event, dict):
            raise Refused(400, f"line {number} is not an object")
        lines.append(line.strip())
        if len(lines) > max_events:
            raise Refused(400, f"over the limit of {max_events} events per request")
    if not lines and stripped:
        raise Refused(400, "body is not JSON")
    return ("\n".join(lines) + "\n").encode() if lines else b"", len(lines)
