"""Validation SQL: ``incoming`` → view ``validated`` (typed and default-filled values, and
the first rule each row breaks as ``reason|column``), in one vectorised pass."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import duckdb

from modelmart.contract import Column, Stream
from modelmart.ingest.results import RejectedFile
from modelmart.ingest.sql import literal, quote, run

_INTEGER_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
)
_FLOAT_TYPES = ("FLOAT", "DOUBLE", "HUGEINT", "UHUGEINT")
_NESTED_TYPES = ("STRUCT", "MAP", "UNION", "JSON", "VARIANT")
# date, optional time (hours 00-23), optional offset up to ±14:00 (or Z)
_ISO_TIMESTAMP = (
    r"\d{4}-\d{2}-\d{2}([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?)?"
    r" ?([Zz]|[+-](0\d|1[0-3])(:?[0-5]\d)?|[+-]14(:?00)?)?"
)


def _present_expr(c: Column, source_type: str) -> str:
    """The value as given, NULL when absent (blank text counts as absent)."""
    if source_type == "VARCHAR":
        return f"nullif(trim({quote(c.name)}), '')"
    return quote(c.name)


MAX_FEATURE_KEYS = 100_000
"""Most distinct feature names (keys of ``features``) in one file; a file with more
is rejected whole with a message (a feature is a column of the drift marts)."""
_NUMBER_TYPES = "('BIGINT', 'UBIGINT', 'DOUBLE')"


def _features_text(c: Column, source_type: str) -> str:
    """The given features value as JSON text (Parquet maps and structs rendered as
    JSON), NULL unless it is valid JSON: no JSON function ever sees invalid text
    (DuckDB may evaluate both sides of an AND, so a guard beside it is not enough)."""
    value = _present_expr(c, source_type)
    text = value if source_type == "VARCHAR" else f"to_json({value})::varchar"
    return f"(case when json_valid({text}) then {text} end)"


def _json_pointer(key: str) -> str:
    """An RFC 6901 pointer to a top-level key, as a SQL literal."""
    return literal("/" + key.replace("~", "~0").replace("/", "~1"))


def _features_lists(c: Column, source_type: str, keys: Sequence[str]) -> str:
    """Columns ``fv_<name>``, ``ft_<name>``: the values and JSON types at ``keys``.

    NULL unless the value is a JSON object without repeated keys. ``keys`` are all
    the keys the column holds, sorted, so every object is parsed once with a list
    of constant paths instead of cast JSON-to-MAP (several times slower). Used when
    the rows share their keys (cost: rows x distinct keys).
    """
    text_json = _features_text(c, source_type)
    is_object = (
        f"json_type({text_json}) = 'OBJECT' "
        f"and len(json_keys({text_json})) = len(list_distinct(json_keys({text_json})))"
    )
    if keys:
        paths = "[" + ", ".join(_json_pointer(k) for k in keys) + "]"
        values, types = f"json_extract({text_json}, {paths})", f"json_type({text_json}, {paths})"
    else:  # every object in the column is empty
        values, types = "cast([] as json[])", "cast([] as varchar[])"
    return (
        f"case when {is_object} then {values} end as fv_{c.name}, "
        f"case when {is_object} then {types} end as ft_{c.name}"
    )


def _features_expr(c: Column, keys: Sequence[str]) -> str:
    """Canonical features text (keys sorted, numbers as doubles), NULL when not valid.

    Valid: a JSON object without repeated keys whose every value is a finite JSON
    number ("1.5", true and null are not). Stored canonically, the same features
    sent in another key order, as 1 or 1.0, or from another format are the same
    content: a duplicate, not a conflict.
    """
    values, types = f"fv_{c.name}", f"ft_{c.name}"
    numbers_only = (
        f"list_bool_and(list_transform({types}, "
        f"lambda t: t is null or t in {_NUMBER_TYPES})) is not false"
    )
    finite = (
        f"list_bool_and(list_transform({values}, lambda v: v is null or isfinite(v::double))) "
        "is not false"
    )
    entries = ", ".join(
        f"case when {values}[{i}] is not null then to_json({literal(k)}::varchar) || ':' "
        f"|| to_json({values}[{i}]::double) end"
        for i, k in enumerate(keys, start=1)
    )
    canonical = f"'{{' || concat_ws(',', {entries}) || '}}'" if keys else "'{}'"
    return f"case when {values} is not null and {numbers_only} and {finite} then {canonical} end"


def _features_per_row(con: duckdb.DuckDBPyConnection, c: Column, source_type: str) -> None:
    """Table ``features_<name>`` (_source_row, canonical text): the same result as
    :func:`_features_expr`, computed from each object's own entries (cost: rows x
    keys per row), for files whose rows do not share their keys."""
    value = _features_text(c, source_type)
    number = f"e.type in {_NUMBER_TYPES}"
    run(
        con,
        f"create or replace temp table features_{c.name} as "
        f"with o as (select _source_row, {value}::json as j from incoming "
        f"where json_type({value}) = 'OBJECT') "
        "select o._source_row, case when count(e.key) = 0 then '{}' "
        f"when count(e.key) = count(distinct e.key) and bool_and({number}) "
        f"and bool_and(case when {number} then isfinite(e.value::double) end) "
        "then '{' || string_agg(to_json(e.key) || ':' || "
        f"to_json(case when {number} then e.value::double end), ',' order by e.key) || '}}' "
        "end as canonical from o left join lateral json_each(o.j) e on true "
        "group by o._source_row",
    )


def _feature_keys(
    con: duckdb.DuckDBPyConnection, c: Column, source_type: str
) -> tuple[list[str], bool]:
    """Every key of the column's JSON objects, in SQL's sort order, and whether the
    rows share them (then constant paths are cheapest, else each row's own entries).

    Rejects a file with more than MAX_FEATURE_KEYS distinct keys.
    """
    value = _features_text(c, source_type)
    run(
        con,
        f"create or replace temp table feature_keys as select unnest(json_keys(j)) as k from "
        f"(select {value} as j from incoming) where json_type(j) = 'OBJECT'",
    )
    entries, objects = con.execute(
        "select count(*), (select count(*) from "
        f"(select {value} as j from incoming) where json_type(j) = 'OBJECT') from feature_keys"
    ).fetchall()[0]
    distinct = con.execute("select count(distinct k) from feature_keys").fetchall()[0][0]
    if distinct > MAX_FEATURE_KEYS:
        raise RejectedFile(
            f"column {c.name}: {distinct:,} distinct feature keys, more than the "
            f"{MAX_FEATURE_KEYS:,} allowed in one file"
        )
    # constant paths cost about half a per-row entry each (measured): worth it
    # while the distinct keys are at most about twice the keys of an average row
    shared = distinct <= 2 * entries / max(objects, 1)
    if not shared:
        return [], False
    keys = [r[0] for r in con.execute("select distinct k from feature_keys order by k").fetchall()]
    return keys, True


def _typed_expr(c: Column, source_type: str, feature_keys: Sequence[str] | None = None) -> str:
    """The contract-typed value, NULL when the given value cannot be that type.

    Native Parquet types are used as they are (no round trip through text); text
    from CSV / JSON Lines / the API is parsed.
    """
    raw = f"r_{c.name}"
    text = source_type == "VARCHAR"
    numeric = (
        source_type in _INTEGER_TYPES
        or source_type in _FLOAT_TYPES
        or source_type.startswith("DECIMAL")
    )
    if c.kind == "timestamp":
        if text:
            # ISO 8601 only, and an offset within ±14:00: DuckDB alone would take
            # '+25:00' (another date) or a zone name
            return (
                f"case when regexp_full_match(trim({raw}), {literal(_ISO_TIMESTAMP)}) "
                f"then (try_cast({raw} as timestamptz) at time zone 'UTC') end"
            )
        if source_type.startswith("TIMESTAMP WITH TIME ZONE"):
            return f"({raw} at time zone 'UTC')"
        if source_type.startswith("TIMESTAMP") or source_type == "DATE":
            return f"cast({raw} as timestamp)"
        return "cast(null as timestamp)"
    if c.kind == "double":
        return f"try_cast({raw} as double)" if text or numeric else "cast(null as double)"
    if c.kind == "integer":
        if source_type in _INTEGER_TYPES:
            # try_: a UBIGINT beyond the BIGINT range is a wrong value of that row
            return f"try_cast({raw} as bigint)"
        if not (text or numeric):
            return "cast(null as bigint)"
        as_double = f"try_cast({raw} as double)"
        # try_cast in the branch too: DuckDB may cast rows the condition excludes
        return (
            f"case when isfinite({as_double}) and {as_double} = round({as_double}) "
            f"and abs({as_double}) < 9e15 then try_cast({as_double} as bigint) end"
        )
    if c.kind == "features":
        if feature_keys is None:  # computed per row (_features_per_row), joined in
            return f"fc_{c.name}"
        return _features_expr(c, feature_keys)
    if text:
        return raw
    if source_type.startswith(_NESTED_TYPES) or source_type.endswith("]"):
        return "cast(null as varchar)"  # a struct, map or list is not a string
    return f"cast({raw} as varchar)"


def _problem_case(stream: Stream, nested: Iterable[str] = ()) -> str:
    """One CASE giving 'reason|column' for the first rule a row breaks, else NULL.

    ``nested``: string columns with a flag ``nx_<name>`` (the value was a JSON
    object or array, which is not a string).
    """
    whens: list[str] = []
    for c in stream.columns:
        raw, typed = f"r_{c.name}", f"t_{c.name}"
        if c.required:
            whens.append(f"when {raw} is null then 'missing_required|{c.name}'")
        if c.name in nested:
            whens.append(f"when nx_{c.name} then 'wrong_type|{c.name}'")
        if c.kind == "integer":
            whens.append(f"when nf_{c.name} then 'not_finite|{c.name}'")
        whens.append(f"when {raw} is not null and {typed} is null then 'wrong_type|{c.name}'")
        if c.finite:
            whens.append(
                f"when {typed} is not null and not isfinite({typed}) then 'not_finite|{c.name}'"
            )
        if c.min_value is not None:
            whens.append(f"when {typed} < {c.min_value} then 'out_of_range|{c.name}'")
        if c.max_value is not None:
            whens.append(f"when {typed} > {c.max_value} then 'out_of_range|{c.name}'")
        if c.enum:
            allowed = ", ".join(literal(v) for v in c.enum)
            whens.append(
                f"when {typed} is not null and {typed} not in ({allowed}) then 'not_in_enum|{c.name}'"
            )
    for column, event_type in stream.required_when:
        whens.append(
            f"when t_event_type = {literal(event_type)} and r_{column} is null "
            f"then 'missing_required|{column}'"
        )
    names = {c.name for c in stream.columns}
    for column, condition, reason in stream.row_rules:
        cond = re.sub(
            r"\b([a-z_]+)\b",
            lambda m: f"v_{m.group(1)}" if m.group(1) in names else m.group(1),
            condition,
        )
        whens.append(f"when not ({cond}) then '{reason}|{column}'")
    return "case " + " ".join(whens) + " end"


def validate(con: duckdb.DuckDBPyConnection, stream: Stream) -> None:
    """``incoming`` → view ``validated``: each row's typed values (``v_*``), its first
    problem as ``reason|column`` (NULL for a valid row) and, for a bad row, its given
    values as JSON; and table ``ids`` (``_source_row``, ``v_event_id``) of every row.

    Nothing wide is materialised: the landing file is written from the view in one
    pass, and only the few rows that need more (bad, repeated or already stored
    ids) are typed again, by row number."""
    types = {r[0]: r[1] for r in con.execute("describe incoming").fetchall()}
    keys: dict[str, list[str] | None] = {}
    extra, joins = [], ""
    for c in stream.columns:
        if c.kind != "features":
            continue
        found, shared = _feature_keys(con, c, types[c.name])
        if shared:
            keys[c.name] = found
            extra.append(_features_lists(c, types[c.name], found))
        else:
            keys[c.name] = None
            _features_per_row(con, c, types[c.name])
            extra.append(f"features_{c.name}.canonical as fc_{c.name}")
            joins += f" left join features_{c.name} using (_source_row)"
    nested = [c.name for c in stream.columns if f"_nested_{c.name}" in types]
    extra += [f"coalesce({quote('_nested_' + name)}, false) as nx_{name}" for name in nested]
    present = ", ".join(
        [f"{_present_expr(c, types[c.name])} as r_{c.name}" for c in stream.columns] + extra
    )
    typed = ", ".join(
        [
            f"{_typed_expr(c, types[c.name], keys.get(c.name, []))} as t_{c.name}"
            for c in stream.columns
        ]
        + [
            # NaN or infinity given for an integer: not_finite, as for a double
            f"coalesce(not isfinite(try_cast(r_{c.name} as double)), false) as nf_{c.name}"
            if types[c.name] == "VARCHAR" or types[c.name] in _FLOAT_TYPES
            else f"false as nf_{c.name}"
            for c in stream.columns
            if c.kind == "integer"
        ]
    )
    values = ", ".join(
        f"coalesce(t_{c.name}, {c.default}) as v_{c.name}"
        if c.default
        else f"t_{c.name} as v_{c.name}"
        for c in stream.columns
    )
    v_columns = ", ".join(f"v_{c.name}" for c in stream.columns)
    raw_json = (
        "to_json({"
        + ", ".join(f"{literal(c.name)}: r_{c.name}" for c in stream.columns)
        + "})::varchar"
    )
    run(
        con,
        "create or replace temp view validated as "
        f"with r as (select _source_row, {present} from incoming{joins}), "
        f"t as (select *, {typed} from r), "
        f"v as (select *, {values} from t), "
        f"p as (select *, {_problem_case(stream, nested)} as _problem from v) "
        # the given values are kept only for rows that go to quarantine
        f"select _source_row, {v_columns}, _problem, "
        f"case when _problem is not null then {raw_json} end as _raw_row, "
        f"case when _problem is not null then r_event_id end as _raw_event_id from p",
    )
    # the ids alone, for the duplicate lookup before anything is written (the view
    # computes only what a query takes from it)
    run(con, "create or replace temp table ids as select _source_row, v_event_id from validated")
