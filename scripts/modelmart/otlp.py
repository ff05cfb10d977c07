"""OTLP/HTTP traces (JSON or protobuf) → ``llm_calls`` events.

A span is a GenAI span when it carries ``gen_ai.operation.name``,
``gen_ai.provider.name`` or ``gen_ai.system``; every other span is ignored (and
counted). A GenAI span becomes one ``llm_calls`` event:

====================  =====================================================================
event_id              ``<trace id>-<span id>`` (hex, as OTLP/JSON writes them)
provider              ``gen_ai.provider.name``, else the older ``gen_ai.system``
model                 ``gen_ai.response.model``, else ``gen_ai.request.model``
tokens_input          ``gen_ai.usage.input_tokens``, else the older ``gen_ai.usage.prompt_tokens``
tokens_output         ``gen_ai.usage.output_tokens``, else ``gen_ai.usage.completion_tokens``
tokens_cached_input   ``gen_ai.usage.cache_read.input_tokens`` (0 when absent). OpenTelemetry
                      counts cached tokens inside the input tokens, as the contract does:
                      stored as given, never added to tokens_input
status                ``error`` when the span status is ERROR or ``error.type`` is set, else ``ok``
response_time_ms      end − start of the span, in milliseconds
created_at            the span's start (UTC)
session_id            ``session.id``, else ``gen_ai.conversation.id`` (span attributes first,
                      then resource attributes), else the trace id
team                  ``modelmart.team`` (span, then resource attribute); absent → the
                      contract's default ``unassigned``
use_case              ``modelmart.use_case`` (span, then resource attribute), optional
====================  =====================================================================

A GenAI span without a provider, a model or its token counts, or with token
counts that are not non-negative integers, is rejected: it is reported in the
OTLP response's ``partial_success`` (with the span id and the attribute at fault)
and nothing of it is stored.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

GENAI_MARKERS = ("gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.system")
STATUS_ERROR = 2


class BadPayload(ValueError):
    """The request body is not an OTLP traces export request."""


@dataclass
class Span:
    trace_id: str
    span_id: str
    start_ns: int
    end_ns: int
    status_code: int
    attributes: dict[str, Any]
    resource: dict[str, Any]


@dataclass
class Mapped:
    events: list[dict[str, Any]] = field(default_factory=list)
    ignored: int = 0  # spans that are not GenAI
    rejected: list[str] = field(default_factory=list)  # one reason per rejected span


# ---------------------------------------------------------------- decoding


def _any_value(value: dict[str, Any]) -> Any:
    """An OTLP/JSON AnyValue as a Python value."""
    if not isinstance(value, dict) or not value:
        return None
    kind, inner = next(iter(value.items()))
    if kind == "intValue":
        return int(inner)  # int64 travels as a JSON string
    if kind == "doubleValue":
        return float(inner)
    if kind == "arrayValue":
        return [_any_value(v) for v in (inner or {}).get("values", [])]
    if kind == "kvlistValue":
        return _json_attributes((inner or {}).get("values", []))
    return inner  # stringValue, boolValue, bytesValue


def _json_attributes(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {a["key"]: _any_value(a.get("value") or {}) for a in items or [] if "key" in a}


def _json_status(status: dict[str, Any] | None) -> int:
    code = (status or {}).get("code", 0)
    if isinstance(code, str):  # the enum's name is also valid OTLP/JSON
        return {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}.get(code, 0)
    return int(code)


def spans_from_json(body: bytes) -> list[Span]:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadPayload(f"body is not JSON: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("resourceSpans", []), list):
        raise BadPayload("body is not an OTLP ExportTraceServiceRequest (no resourceSpans list)")
    spans = []
    try:
        for rs in doc.get("resourceSpans", []):
            resource = _json_attributes((rs.get("resource") or {}).get("attributes", []))
            for ss in rs.get("scopeSpans", []) or []:
                for s in ss.get("spans", []) or []:
                    spans.append(
                        Span(
                            trace_id=str(s.get("traceId", "")).lower(),
                            span_id=str(s.get("spanId", "")).lower(),
                            start_ns=int(s.get("startTimeUnixNano", 0)),
                            end_ns=int(s.get("endTimeUnixNano", 0)),
                            status_code=_json_status(s.get("status")),
                            attributes=_json_attributes(s.get("attributes", [])),
                            resource=resource,
                        )
                    )
    except (AttributeError, TypeError, ValueError, KeyError) as exc:
        raise BadPayload(f"malformed OTLP/JSON span: {exc}") from exc
    return spans


def _pb_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    inner = getattr(value, kind)
    if kind == "array_value":
        return [_pb_value(v) for v in inner.values]
    if kind == "kvlist_value":
        return {kv.key: _pb_value(kv.value) for kv in inner.values}
    return inner


def spans_from_protobuf(body: bytes) -> list[Span]:
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise BadPayload(f"body is not an OTLP protobuf ExportTraceServiceRequest: {exc}") from exc
    spans = []
    for rs in request.resource_spans:
        resource = {kv.key: _pb_value(kv.value) for kv in rs.resource.attributes}
        for ss in rs.scope_spans:
            for s in ss.spans:
                spans.append(
                    Span(
                        trace_id=s.trace_id.hex(),
                        span_id=s.span_id.hex(),
                        start_ns=s.start_time_unix_nano,
                        end_ns=s.end_time_unix_nano,
                        status_code=s.status.code,
                        attributes={kv.key: _pb_value(kv.value) for kv in s.attributes},
                        resource=resource,
                    )
                )
    return spans


def response_body(rejected: int, message: str, *, protobuf: bool) -> tuple[bytes, str]:
    """An ExportTraceServiceResponse, with partial_success when spans were rejected."""
    if protobuf:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceResponse,
        )

        response = ExportTraceServiceResponse()
        if rejected:
            response.partial_success.rejected_spans = rejected
            response.partial_success.error_message = message
        return response.SerializeToString(), "application/x-protobuf"
    doc: dict[str, Any] = {}
    if rejected:
        doc["partialSuccess"] = {"rejectedSpans": str(rejected), "errorMessage": message}
    return json.dumps(doc).encode(), "application/json"


# ---------------------------------------------------------------- mapping


def _first(span: Span, *keys: str) -> Any:
    for key in keys:
        value = span.attributes.get(key)
        if value not in (None, ""):
            return value
    return None


def _first_any(span: Span, *keys: str) -> Any:
    """From the span's attributes, else the resource's."""
    value = _first(span, *keys)
    if value is not None:
        return value
    for key in keys:
        if span.resource.get(key) not in (None, ""):
            return span.resource[key]
    return None


def _count(span: Span, column: str, keys: tuple[str, ...], required: bool) -> int:
    value = _first(span, *keys)
    if value is None:
        if required:
            raise _Bad(f"no {' or '.join(keys)}", keys[0])
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise _Bad(f"{column} {value!r} is not an integer", keys[0])
    if value < 0:
        raise _Bad(f"{column} {value!r} is negative", keys[0])
    return int(value)


class _Bad(Exception):
    def __init__(self, reason: str, attribute: str) -> None:
        super().__init__(reason)
        self.attribute = attribute


def is_genai(span: Span) -> bool:
    return any(k in span.attributes for k in GENAI_MARKERS)


def to_llm_call(span: Span) -> dict[str, Any]:
    """One GenAI span as an llm_calls event; raises ``_Bad`` for a span that cannot be one."""
    if len(span.trace_id) != 32 or len(span.span_id) != 16 or not span.trace_id.strip("0"):
        raise _Bad("trace or span id is missing or malformed", "traceId")
    provider = _first(span, "gen_ai.provider.name", "gen_ai.system")
    if provider is None:
        raise _Bad("no gen_ai.provider.name or gen_ai.system", "gen_ai.provider.name")
    model = _first(span, "gen_ai.response.model", "gen_ai.request.model")
    if model is None:
        raise _Bad("no gen_ai.response.model or gen_ai.request.model", "gen_ai.request.model")
    tokens_in = _count(
        span,
        "input tokens",
        ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
        required=True,
    )
    tokens_out = _count(
        span,
        "output tokens",
        ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"),
        required=True,
    )
    cached = _count(
        span, "cached input tokens", ("gen_ai.usage.cache_read.input_tokens",), required=False
    )
    if cached > tokens_in:
        raise _Bad(
            f"cached input tokens {cached} exceed input tokens {tokens_in} "
            "(OpenTelemetry counts them inside the input tokens)",
            "gen_ai.usage.cache_read.input_tokens",
        )
    if span.start_ns <= 0 or span.end_ns < span.start_ns:
        raise _Bad("span has no start time or ends before it starts", "startTimeUnixNano")
    error = span.status_code == STATUS_ERROR or _first(span, "error.type") is not None
    start = dt.datetime.fromtimestamp(span.start_ns // 1_000_000_000, dt.UTC).replace(
        microsecond=(span.start_ns % 1_000_000_000) // 1000
    )
    event = {
        "event_id": f"{span.trace_id}-{span.span_id}",
        "session_id": str(
            _first_any(span, "session.id", "gen_ai.conversation.id") or span.trace_id
        ),
        "provider": str(provider),
        "model": str(model),
        "created_at": start.isoformat(),
        "response_time_ms": (span.end_ns - span.start_ns) / 1e6,
        "tokens_input": tokens_in,
        "tokens_output": tokens_out,
        "tokens_cached_input": cached,
        "status": "error" if error else "ok",
    }
    team = _first_any(span, "modelmart.team")
    if team is not None:
        event["team"] = str(team)
    use_case = _first_any(span, "modelmart.use_case")
    if use_case is not None:
        event["use_case"] = str(use_case)
    return event


def map_spans(spans: list[Span]) -> Mapped:
    out = Mapped()
    for span in spans:
        if not is_genai(span):
            out.ignored += 1
            continue
        try:
            out.events.append(to_llm_call(span))
        except _Bad as exc:
            out.rejected.append(f"span {span.span_id or '?'} ({exc.attribute}): {exc}")
    return out
