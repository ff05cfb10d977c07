"""The allow-lists of SQL access: per mart its date column and the column each
filter field applies to, which filter fields each page honours, and the WHERE
clause built from them. Every value from the user is bound as a parameter;
identifiers come only from the mart catalog.

The mart catalog is declared once, in the marts' YAML (``config.meta.mart_catalog``),
and published by the build as ``reference.mart_catalog``; it is read here from
the snapshot being served (a cached query: one per snapshot), so the app never
holds a copy that could drift from the YAML. Each identifier is checked again to
be a plain column name before it may reach SQL.
"""

from __future__ import annotations

import functools
import re

from dash_app.data.filters import LIST_FIELDS, Filters
from dash_app.data.warehouse import SnapshotReader

IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")


def identifier(name: str) -> str:
    """name, if it is a plain lower-case SQL identifier; ValueError otherwise."""
    if not isinstance(name, str) or not IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a plain column or table name: {name!r}")
    return name


def mart_catalog(reader: SnapshotReader) -> dict[str, dict[str, str]]:
    """mart → {"date": its date column, <dimension>: its column, ...} (the dimension
    names are the filter fields and alert scopes: provider, model, team, model_name,
    model_version, version), from reference.mart_catalog of the snapshot being
    served. Parsed once per snapshot; treat the result as read-only."""
    return _parsed_catalog(reader, reader.current_snapshot().key)


@functools.lru_cache(maxsize=8)
def _parsed_catalog(reader: SnapshotReader, snapshot_key: str) -> dict[str, dict[str, str]]:
    rows = reader.query(
        "select mart, entry_name, column_name from reference.mart_catalog "
        "where entry_kind in ('date', 'dimension') order by mart, entry_kind, position"
    )
    catalog: dict[str, dict[str, str]] = {}
    for mart, name, column in zip(rows.mart, rows.entry_name, rows.column_name, strict=True):
        catalog.setdefault(identifier(mart), {})[identifier(name)] = identifier(column)
    return catalog


# which filter fields each page's numbers can honour
PAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "overview": ("provider",),
    "operations": ("provider", "model", "team"),
    "quality": ("version",),
    "cost": ("provider", "model", "team"),
    "alerts": ("provider", "model", "team", "version"),
    "drift": ("version",),
    "calibration": ("version",),
    "slo": (),
}


def where(reader: SnapshotReader, mart: str, filters: Filters) -> tuple[str, list]:
    """WHERE clause and parameters for a mart; only catalogued columns appear."""
    columns = mart_catalog(reader).get(mart)
    if columns is None:
        raise KeyError(
            f"{mart} is not in reference.mart_catalog (declare meta.mart_catalog in its YAML)"
        )
    clauses = [f"{columns['date']} between ? and ?"]
    params: list = [filters.start, filters.end]
    for name in LIST_FIELDS:
        values = getattr(filters, name)
        if values and name in columns:
            clauses.append(f"list_contains(?::varchar[], {columns[name]})")
            params.append(list(values))
    return " and ".join(clauses), params
