"""The filters every page shares, and their round trip through the URL.

URL parameters: ``start`` and ``end`` (ISO dates, inclusive), and repeatable
``provider``, ``model`` (LLM model), ``team`` and ``version`` (an ML model version,
written ``model_name/model_version``). Unknown or malformed values are ignored, so
a hand-edited link never errors.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlencode

LIST_FIELDS = ("provider", "model", "team", "version")
DEFAULT_DAYS = 30


def _as_list(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    items: Iterable[object] = value if isinstance(value, list | tuple) else [value]
    out: list[str] = []
    for item in items:
        text = str(item).strip()
        if text and text not in out:
            out.append(text)
    return tuple(out)


def _as_date(value: object) -> dt.date | None:
    if isinstance(value, list | tuple):
        value = value[-1] if value else None
    if value is None or value == "":
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


@dataclass(frozen=True)
class Filters:
    """A date range (inclusive, UTC dates) and optional value lists per dimension."""

    start: dt.date | None = None
    end: dt.date | None = None
    provider: tuple[str, ...] = ()
    model: tuple[str, ...] = ()
    team: tuple[str, ...] = ()
    version: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, query: Mapping[str, object]) -> Filters:
        filters = cls(
            start=_as_date(query.get("start")),
            end=_as_date(query.get("end")),
            **{field: _as_list(query.get(field)) for field in LIST_FIELDS},
        )
        if filters.start and filters.end and filters.start > filters.end:
            filters = replace(filters, start=filters.end, end=filters.start)
        return filters

    @classmethod
    def from_controls(
        cls, start: object, end: object, values: Mapping[str, object] | None = None
    ) -> Filters:
        return cls.from_query({"start": start, "end": end, **(values or {})})

    def resolved(self, newest: dt.date | None) -> Filters:
        """Fill a missing range with the last DEFAULT_DAYS days up to the newest data."""
        end = self.end or newest or dt.datetime.now(dt.UTC).date()
        start = self.start or end - dt.timedelta(days=DEFAULT_DAYS - 1)
        return replace(self, start=min(start, end), end=end)

    def previous(self) -> Filters:
        """The period of equal length just before this one (for change figures)."""
        assert self.start and self.end
        days = (self.end - self.start).days + 1
        return replace(
            self,
            start=self.start - dt.timedelta(days=days),
            end=self.start - dt.timedelta(days=1),
        )

    def to_search(self) -> str:
        pairs: list[tuple[str, str]] = []
        if self.start:
            pairs.append(("start", self.start.isoformat()))
        if self.end:
            pairs.append(("end", self.end.isoformat()))
        for field in LIST_FIELDS:
            pairs.extend((field, value) for value in getattr(self, field))
        return "?" + urlencode(pairs) if pairs else ""

    def to_search_keeping(
        self, search: str | None, own: Mapping[str, object] | None = None
    ) -> str:
        """to_search, plus the parameters of `search` that are not shared filters
        (a page's own, such as ``slo`` or ``experiment``), so changing a shared
        filter never drops a page's choice from a shared link. `own`: a page's own
        parameters as its controls hold them now (name → value or list; empty
        removes the parameter), replacing those of `search`."""
        shared = {"start", "end", *LIST_FIELDS}
        own = own or {}
        kept = [
            (k, v)
            for k, v in parse_qsl((search or "").lstrip("?"))
            if k not in shared and k not in own
        ]
        kept.extend((name, value) for name in own for value in _as_list(own[name]))
        ours = self.to_search()
        if not kept:
            return ours
        return (ours + "&" if ours else "?") + urlencode(kept)

    @classmethod
    def from_search(cls, search: str | None) -> Filters:
        """The filters of a URL query string (``?start=…&provider=…``)."""
        query: dict[str, list[str]] = {}
        for key, value in parse_qsl((search or "").lstrip("?")):
            query.setdefault(key, []).append(value)
        return cls.from_query(query)

    @property
    def has_dates(self) -> bool:
        """The range was chosen (start or end given), not the default one."""
        return self.start is not None or self.end is not None

    @staticmethod
    def is_default_range(filters: Filters, default: Mapping[str, object] | None) -> bool:
        """filters' dates equal the default range ({"start", "end"} ISO dates, as the
        filter bar stores it), or are unset."""
        if not filters.has_dates:
            return True
        default = default or {}
        return (filters.start, filters.end) == (
            _as_date(default.get("start")),
            _as_date(default.get("end")),
        )

    @staticmethod
    def default_range(newest: dt.date | None) -> dict[str, str | None]:
        """The default range (Filters().resolved) as the filter bar stores it."""
        resolved = Filters().resolved(newest)
        return {
            "start": resolved.start.isoformat() if resolved.start else None,
            "end": resolved.end.isoformat() if resolved.end else None,
        }

    def describe(self) -> str:
        parts = [f"{self.start} – {self.end}"] if self.start and self.end else []
        for field in LIST_FIELDS:
            values = getattr(self, field)
            if values:
                parts.append(f"{field}: {', '.join(values)}")
        return " · ".join(parts)
