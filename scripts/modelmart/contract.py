"""The event contract v1 (README, "Event contract") as data.

Each stream is a list of columns; ingestion turns every column rule into a
vectorised SQL check, so the contract lives in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

STREAMS: tuple[str, ...] = ("predictions", "labels", "llm_calls", "business_events")


@dataclass(frozen=True)
class Column:
    """One contract column.

    kind: string | timestamp | double | integer | features
    landing_type: the DuckDB type stored in the landing Parquet files.
    """

    name: str
    kind: str
    required: bool = False
    default: str | None = None  # SQL literal used when the value is absent
    min_value: float | None = None
    max_value: float | None = None
    enum: tuple[str, ...] | None = None
    finite: bool = False

    @property
    def landing_type(self) -> str:
        return {
            "string": "VARCHAR",
            "timestamp": "TIMESTAMP",
            "double": "DOUBLE",
            "integer": "BIGINT",
            "features": "VARCHAR",
        }[self.kind]


@dataclass(frozen=True)
class Stream:
    name: str
    columns: tuple[Column, ...]
    # (column, condition on event_type, value) : column required when event_type = value
    required_when: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    # cross-column rules: (column blamed, SQL condition over typed values that must hold, reason)
    row_rules: tuple[tuple[str, str, str], ...] = field(default_factory=tuple)

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


_STATUS = ("ok", "error")

CONTRACT: dict[str, Stream] = {
    "predictions": Stream(
        "predictions",
        (
            Column("event_id", "string", required=True),
            Column("model_name", "string", required=True),
            Column("model_version", "string", required=True),
            Column("predicted_at", "timestamp", required=True),
            Column("predicted_label", "string", required=True),
            Column("score", "double", required=True, min_value=0.0, max_value=1.0),
            Column("latency_ms", "double", min_value=0.0, finite=True),
            Column("status", "string", default="'ok'", enum=_STATUS),
            Column("segment", "string", default="'all'"),
            Column("session_id", "string"),
            Column("features", "features"),
        ),
    ),
    "labels": Stream(
        "labels",
        (
            Column("event_id", "string", required=True),
            Column("target_event_id", "string", required=True),
            Column("label", "string", required=True),
            Column("labeled_at", "timestamp", required=True),
        ),
    ),
    "llm_calls": Stream(
        "llm_calls",
        (
            Column("event_id", "string", required=True),
            Column("session_id", "string", required=True),
            Column("provider", "string", required=True),
            Column("model", "string", required=True),
            Column("created_at", "timestamp", required=True),
            Column("response_time_ms", "double", required=True, min_value=0.0, finite=True),
            Column("tokens_input", "integer", required=True, min_value=0),
            Column("tokens_output", "integer", required=True, min_value=0),
            Column("tokens_cached_input", "integer", default="0", min_value=0),
            Column("status", "string", default="'ok'", enum=_STATUS),
            Column("team", "string", default="'unassigned'"),
            Column("use_case", "string"),
        ),
        row_rules=(
            (
                "tokens_cached_input",
                "tokens_cached_input <= tokens_input",
                "cached_exceeds_input",
            ),
        ),
    ),
    "business_events": Stream(
        "business_events",
        (
            Column("event_id", "string", required=True),
            Column("occurred_at", "timestamp", required=True),
            Column("event_type", "string", required=True),
            Column("session_id", "string"),
            Column("user_id", "string"),
            Column("resolved_by", "string", enum=("agent", "human")),
            Column("resolution_minutes", "double", min_value=0.0, finite=True),
            Column("revenue_usd", "double", default="0", finite=True),
            Column("experiment", "string"),
            Column("variant", "string"),
        ),
        required_when=(
            ("resolved_by", "ticket"),
            ("user_id", "exposure"),
            ("experiment", "exposure"),
            ("variant", "exposure"),
        ),
    ),
}
