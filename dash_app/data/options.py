"""What the filter controls offer and how fresh the data is."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from dash_app.data.warehouse import SnapshotReader


@dataclass(frozen=True)
class Options:
    """Values offered by the filter controls, and the span of dates with data."""

    provider: list[str] = field(default_factory=list)
    model: list[str] = field(default_factory=list)
    team: list[str] = field(default_factory=list)
    version: list[str] = field(default_factory=list)
    first_date: dt.date | None = None
    last_date: dt.date | None = None  # newest date of any mart (the picker's limit)
    newest_date: dt.date | None = None  # newest date with LLM calls or predictions (default end)
    # LLM models per provider (the model filter follows the chosen providers)
    models_by_provider: dict[str, list[str]] = field(default_factory=dict)


def options(reader: SnapshotReader) -> Options:
    usage = reader.query(
        "select distinct provider, model, team from marts.fct_llm_usage_daily order by 1, 2, 3"
    )
    providers = reader.query(
        "select distinct provider from marts.fct_dashboard_daily order by 1"
    ).provider
    versions = reader.query(
        "select distinct model_version_key as version from marts.fct_model_quality_daily order by 1"
    ).version
    span = reader.query(
        """
        select
            min(d) as first_date,
            max(d) as last_date,
            coalesce(max(case when kind = 'model' then d end), max(d)) as newest_date
        from (
            select usage_date as d, 'model' as kind from marts.fct_llm_usage_daily
            union all select prediction_date, 'model' from marts.fct_model_quality_daily
            union all select business_date, 'business' from marts.fct_business_daily
        ) as dates
        """
    ).iloc[0]
    return Options(
        provider=sorted(set(usage.provider) | set(providers)),
        model=sorted(set(usage.model)),
        team=sorted(set(usage.team)),
        version=list(versions),
        first_date=as_date(span.first_date),
        last_date=as_date(span.last_date),
        newest_date=as_date(span.newest_date),
        models_by_provider={
            provider: sorted(set(group.model)) for provider, group in usage.groupby("provider")
        },
    )


def as_date(value: object) -> dt.date | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).date()


def freshness(reader: SnapshotReader) -> dict:
    """Publish time of the snapshot and the newest date of each kind of data."""
    # the key of the snapshot queried (not a fresh stat of the published file): when a
    # publish lands in between, the next tick sees a new key and refreshes again
    snapshot = reader.current_snapshot()
    row = reader.query(
        """
        select
            (select max(usage_date) from marts.fct_llm_usage_daily) as llm_calls,
            (select max(prediction_date) from marts.fct_model_quality_daily) as predictions,
            (select max(business_date) from marts.fct_business_daily) as business_events
        """
    ).iloc[0]
    return {
        "key": snapshot.key,
        "published_at": snapshot.published_at,
        "newest": {name: as_date(row[name]) for name in row.index},
    }
