"""A KPI's health: its value against the alert rules on that metric (the rules the
alert engine evaluates, from dash_app.data.alerts.thresholds), not the direction it
moved. The card is coloured by the state; the change stays beside it, neutral."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from dash import html

SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}
CHECKS: dict[str, Callable[[float, float], bool]] = {
    ">": lambda v, t: v > t,
    ">=": lambda v, t: v >= t,
    "<": lambda v, t: v < t,
    "<=": lambda v, t: v <= t,
}
WORDS = {">": "above", ">=": "at or above", "<": "below", "<=": "at or below"}


@dataclass(frozen=True)
class Health:
    """state: critical / warning / info (the worst rule the value is past), ok (past
    none), none (no value or no rule on the metric); text says which line."""

    state: str
    text: str


def health(value: float | None, rules: pd.DataFrame, fmt: Callable[[float], str]) -> Health:
    """The worst-severity rule that `value` breaks, if any. A rule needing several
    periods in a row still colours the card: the value is past its line now."""
    if rules is None or rules.empty:
        return Health("none", "no alert rule on this metric")
    if value is None or pd.isna(value):
        return Health("none", "no data")
    broken = [
        rule
        for rule in rules.itertuples()
        if CHECKS.get(rule.comparator, lambda v, t: False)(float(value), float(rule.threshold))
    ]
    if not broken:
        lines = ", ".join(
            f"{r.severity} {r.comparator} {fmt(float(r.threshold))}" for r in rules.itertuples()
        )
        return Health("ok", f"OK: inside the alert lines ({lines})")
    worst = min(broken, key=lambda r: SEVERITY_RANK.get(r.severity, 3))
    return Health(
        worst.severity,
        f"{worst.severity}: {WORDS.get(worst.comparator, worst.comparator)} the "
        f"{fmt(float(worst.threshold))} {worst.severity} line",
    )


def health_badge(card_id: str, state: Health) -> html.Span:
    return html.Span(state.text, className=f"health health-{state.state}", id=f"{card_id}-health")
