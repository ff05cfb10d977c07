"""``/metrics``: the published snapshot's latest values in Prometheus' text format.

A custom collector on a registry of the app's own (no process-global state): the
gauges of ``modelmart.prometheus_catalog`` read from the marts, the SLOs' budget
and burn rates, the active alerts, the snapshot's age and the ingest manifests'
counts. The mart values are read once per snapshot (it is immutable) and once
per change of the manifests; only the snapshot age is computed per scrape, so a
scrape costs a text rendering, not a query.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import flask
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dash_app.config import COST_ROLES
from dash_app.data.catalog import mart_catalog
from dash_app.data.warehouse import NoWarehouse, SnapshotReader
from modelmart.config import get_paths
from modelmart.prometheus_catalog import GAUGES, SLO_WINDOWS, Gauge

ALERT_LABELS = ("rule_id", "severity", "provider", "model", "team", "model_name", "model_version")


def _label(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _number(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


class MartCollector(Collector):
    """Prometheus collector over the published warehouse and the ingest manifests."""

    def __init__(self, reader: SnapshotReader, manifests: Path) -> None:
        self.reader = reader
        self.manifests = manifests
        self._lock = threading.Lock()
        self._snapshot_cache: tuple[str, list[Metric]] | None = None
        self._manifest_cache: tuple[tuple, list[Metric]] | None = None

    # ------------------------------------------------------------------ collect

    def collect(self) -> Iterator[Metric]:
        yield from self._manifest_metrics()
        available = GaugeMetricFamily(
            "modelmart_snapshot_available", "1 when a published warehouse snapshot could be read."
        )
        try:
            snapshot = self.reader.current_snapshot()
        except NoWarehouse:
            available.add_metric([], 0)
            yield available
            return
        available.add_metric([], 1)
        yield available
        age = GaugeMetricFamily(
            "modelmart_snapshot_age_seconds", "Seconds since the served snapshot was published."
        )
        age.add_metric([], max(0.0, time.time() - snapshot.published_at))
        yield age
        published = GaugeMetricFamily(
            "modelmart_snapshot_published_timestamp_seconds",
            "Unix time the served snapshot was published.",
        )
        published.add_metric([], snapshot.published_at)
        yield published
        yield from self._snapshot_metrics(snapshot.key)

    # ------------------------------------------------------------------ marts

    def _snapshot_metrics(self, key: str) -> list[Metric]:
        with self._lock:
            if self._snapshot_cache is not None and self._snapshot_cache[0] == key:
                return self._snapshot_cache[1]
        metrics = self._read_marts()
        with self._lock:
            self._snapshot_cache = (key, metrics)
        return metrics

    def _tables(self) -> set[str]:
        frame = self.reader.query(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        )
        return set(frame["table_name"])

    def _reference_tables(self) -> set[str]:
        frame = self.reader.query(
            "select table_name from information_schema.tables where table_schema = 'reference'"
        )
        return set(frame["table_name"])

    def _read_marts(self) -> list[Metric]:
        tables = self._tables()
        catalog = mart_catalog(self.reader) if "mart_catalog" in self._reference_tables() else {}
        families: dict[str, GaugeMetricFamily] = {}
        for gauge in GAUGES:
            if gauge.mart not in tables or gauge.mart not in catalog:
                continue
            labels = (*gauge.labels, *gauge.fixed)
            family = families.get(gauge.name)
            if family is None:
                family = families[gauge.name] = GaugeMetricFamily(
                    gauge.name, gauge.help, labels=list(labels)
                )
            for row in self._latest_values(gauge, catalog[gauge.mart]["date"]):
                value = _number(row[-1])
                if value is not None:
                    family.add_metric(
                        [*(_label(v) for v in row[:-1]), *gauge.fixed.values()],
                        value * gauge.scale,
                    )
        metrics: list[Metric] = list(families.values())
        if "fct_slo_status" in tables:
            metrics.extend(self._slo_metrics())
        if "fct_alerts" in tables:
            metrics.append(self._alert_metric())
        return metrics

    def _latest_values(self, gauge: Gauge, date_column: str) -> list[tuple]:
        # identifiers come from the gauge catalog (code) and the mart catalog
        # (checked identifiers), never from a request
        columns = ", ".join([*gauge.labels, gauge.column])
        sql = (
            f"select {columns} from marts.{gauge.mart} "
            f"where {gauge.column} is not null and {date_column} = "
            f"(select max({date_column}) from marts.{gauge.mart} where {gauge.column} is not null)"
        )
        return list(self.reader.query(sql).itertuples(index=False, name=None))

    def _slo_metrics(self) -> list[Metric]:
        frame = self.reader.query(
            "select slo_id, sli_kind, objective, sli, budget_remaining, budget_consumed, "
            + ", ".join(SLO_WINDOWS.values())
            + " from marts.fct_slo_status where is_latest order by slo_id"
        )
        remaining = GaugeMetricFamily(
            "modelmart_slo_error_budget_remaining_ratio",
            "Share of the SLO's error budget left over its period (<= 0: exhausted).",
            labels=["slo"],
        )
        consumed = GaugeMetricFamily(
            "modelmart_slo_error_budget_consumed_ratio",
            "Share of the SLO's error budget spent over its period.",
            labels=["slo"],
        )
        objective = GaugeMetricFamily(
            "modelmart_slo_objective_ratio",
            "The SLO's objective (share of good events).",
            labels=["slo", "sli_kind"],
        )
        sli = GaugeMetricFamily(
            "modelmart_slo_sli_ratio",
            "Good / total events of the SLO's newest hour.",
            labels=["slo"],
        )
        burn = GaugeMetricFamily(
            "modelmart_slo_burn_rate",
            "Error ratio over the window / error budget (1 = spending the budget exactly over the period).",
            labels=["slo", "window"],
        )
        for row in frame.itertuples(index=False):
            for family, value, labels in (
                (remaining, row.budget_remaining, [row.slo_id]),
                (consumed, row.budget_consumed, [row.slo_id]),
                (objective, row.objective, [row.slo_id, row.sli_kind]),
                (sli, row.sli, [row.slo_id]),
            ):
                number = _number(value)
                if number is not None:
                    family.add_metric(labels, number)
            for window, column in SLO_WINDOWS.items():
                number = _number(getattr(row, column))
                if number is not None:
                    burn.add_metric([row.slo_id, window], number)
        return [remaining, consumed, objective, sli, burn]

    def _alert_metric(self) -> Metric:
        frame = self.reader.query(
            "select distinct " + ", ".join(ALERT_LABELS) + " from marts.fct_alerts where is_active "
            "order by all"
        )
        family = GaugeMetricFamily(
            "modelmart_alert_active",
            "1 for every alert active in the snapshot (threshold rules and SLO burn rates).",
            labels=list(ALERT_LABELS),
        )
        for row in frame.itertuples(index=False, name=None):
            family.add_metric([_label(v) for v in row], 1)
        return family

    # ------------------------------------------------------------------ manifests

    def _manifest_files(self) -> list[Path]:
        if not self.manifests.is_dir():
            return []
        return sorted(self.manifests.glob("*/*.json"))

    def _manifest_metrics(self) -> list[Metric]:
        files = self._manifest_files()
        key = tuple((str(f), f.stat().st_mtime_ns) for f in files)
        with self._lock:
            if self._manifest_cache is not None and self._manifest_cache[0] == key:
                return self._manifest_cache[1]
        totals: dict[str, dict[str, int]] = {}
        for path in files:
            try:
                manifest = json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # a manifest being written: counted on the next scrape
            counts = totals.setdefault(manifest.get("stream") or path.parent.name, {})
            for field in ("read", "stored", "duplicates", "quarantined"):
                counts[field] = counts.get(field, 0) + int(manifest.get(field) or 0)
        metrics: list[Metric] = []
        for field, text in (
            ("read", "Rows read by ingest, per stream."),
            ("stored", "Rows stored by ingest, per stream."),
            ("duplicates", "Rows ingest found already stored, per stream."),
            ("quarantined", "Rows ingest quarantined, per stream."),
        ):
            family = CounterMetricFamily(
                f"modelmart_ingest_events_{field}", text, labels=["stream"]
            )
            for stream in sorted(totals):
                family.add_metric([stream], totals[stream].get(field, 0))
            metrics.append(family)
        with self._lock:
            self._manifest_cache = (key, metrics)
        return metrics


def install(server: flask.Flask) -> None:
    """Serve ``/metrics`` on the app's Flask server (also under gunicorn)."""
    config = server.config["MODELMART_CONFIG"]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        MartCollector(
            server.config["MODELMART_READER"], get_paths(config.warehouse.parent).manifests
        )
    )

    @server.route("/metrics")
    def metrics() -> flask.Response:
        # costs are in the scrape: with login on, only the roles that see the cost page
        role = flask.g.get("modelmart_role")
        if config.auth_enabled and role not in COST_ROLES:
            return flask.Response("modelmart: /metrics is for finance and engineer roles", 403)
        return flask.Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
