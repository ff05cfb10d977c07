"""Seeded, vectorised generator of realistic demo events.

It writes landing-ready files per stream (folder name = stream), in the mix of
formats real feeds arrive in, with incidents for the dashboard to discover:

- providers and models with different latency, price and token profiles;
  ``mistral/mistral-large`` has no price row (unpriced);
- a latency spike on ``anthropic`` on days 40–43 of the period (0-based);
- a mid-period price change (``openai/gpt-4o`` on 2026-09-15, in seeds/llm_pricing.csv);
- sessions with several calls (mostly one provider) and several business events:
  tickets resolved by the agent or a human, conversions, refunds, exposures to the
  ``reply_tone`` experiment; events without a session or with a session that has no call;
- ``churn_model`` v1 all period, v2 from mid-period; in the last 20 days v2's
  ``tenure_months`` and ``monthly_spend`` shift by ~2 standard deviations and its
  class mix moves towards ``churn`` (feature drift and label shift);
- labels delayed by hours to days, ~15% never, some relabeled, a few orphans;
  ~20% of LLM calls graded ``correct`` / ``incorrect``;
- when ``bad_rows``: exact duplicates, conflicts and malformed rows in every stream;
- A/B experiments with known true effects on the sessions of the search and
  unassigned teams (``EXPERIMENTS``, also in seeds/experiments.csv): a clear
  conversion winner, an A/A-like null, a broken 44/56 split (SRM) and one still
  running; drawn from a random stream of their own and written to separate files,
  so every other event is exactly what it was without them.

Generation is chunked by up to 30 days, so 10M calls need bounded memory.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

# provider, model, share of calls, median latency ms, error rate, median input tokens, caching
MODELS = (
    ("openai", "gpt-4o", 0.22, 560.0, 0.010, 1400, True),
    ("openai", "gpt-4o-mini", 0.18, 330.0, 0.006, 900, True),
    ("anthropic", "claude-sonnet-4", 0.20, 610.0, 0.012, 1800, True),
    ("anthropic", "claude-haiku-4", 0.15, 350.0, 0.008, 800, True),
    ("google", "gemini-2.0-flash", 0.22, 280.0, 0.025, 1000, False),
    ("mistral", "mistral-large", 0.03, 520.0, 0.015, 1100, False),
)
TEAMS = ("support", "sales", "search", None)
TEAM_SHARES = (0.45, 0.25, 0.2, 0.1)
USE_CASES = {
    "support": "ticket_reply",
    "sales": "lead_qualify",
    "search": "query_rewrite",
    None: "misc",
}
CLASSES = ("stay", "churn", "downgrade")
SEGMENTS = ("web", "mobile", "api")
SPIKE_DAYS = range(40, 44)
# experiment, (control, treatment), realised treatment share, start, end, conversion
# multiplier of the treatment (the true effect); configured in seeds/experiments.csv
EXPERIMENTS = (
    ("upsell_prompt", ("control", "upsell"), 0.50, "2026-09-01", "2026-10-15", 2.0),
    ("reply_length", ("control", "short"), 0.50, "2026-09-01", "2026-10-20", 1.0),
    ("router_split", ("control", "router"), 0.56, "2026-09-15", "2026-10-25", 1.0),
    ("summary_model", ("control", "cheap"), 0.50, "2026-10-12", "2026-12-31", 1.05),
)
EXPERIMENT_BASE_CONVERSION = 0.08
EXPERIMENT_TEAMS = ("search", None)
SPIKE_PROVIDER = "anthropic"
DRIFT_DAYS = 20


@dataclass(frozen=True)
class DemoConfig:
    """What to generate. Volumes are averages per day (weekends are quieter)."""

    days: int = 90
    llm_calls_per_day: int = 2000
    predictions_per_day: int = 1500
    seed: int = 7
    end_date: dt.date = dt.date(2026, 11, 1)  # last UTC day of data, fixed for reproducibility
    bad_rows: bool = True
    id_prefix: str = ""  # distinguishes event ids of separately generated periods


def pricing_rows() -> list[dict]:
    """The starter price table shipped as seeds/llm_pricing.csv (USD per million tokens)."""
    return [
        {
            "provider": "openai",
            "model": "gpt-4o",
            "effective_from": "2026-01-01",
            "input_usd_per_mtok": 5.00,
            "output_usd_per_mtok": 15.00,
            "cached_input_usd_per_mtok": 2.50,
        },
        {
            "provider": "openai",
            "model": "gpt-4o",
            "effective_from": "2026-09-15",
            "input_usd_per_mtok": 2.50,
            "output_usd_per_mtok": 10.00,
            "cached_input_usd_per_mtok": 1.25,
        },
        {
            "provider": "openai",
            "model": "gpt-4o-mini",
            "effective_from": "2026-01-01",
            "input_usd_per_mtok": 0.15,
            "output_usd_per_mtok": 0.60,
            "cached_input_usd_per_mtok": 0.075,
        },
        {
            "provider": "anthropic",
            "model": "claude-sonnet-4",
            "effective_from": "2026-01-01",
            "input_usd_per_mtok": 3.00,
            "output_usd_per_mtok": 15.00,
            "cached_input_usd_per_mtok": 0.30,
        },
        {
            "provider": "anthropic",
            "model": "claude-haiku-4",
            "effective_from": "2026-01-01",
            "input_usd_per_mtok": 0.80,
            "output_usd_per_mtok": 4.00,
            "cached_input_usd_per_mtok": 0.08,
        },
        {
            "provider": "google",
            "model": "gemini-2.0-flash",
            "effective_from": "2026-01-01",
            "input_usd_per_mtok": 0.10,
            "output_usd_per_mtok": 0.40,
            "cached_input_usd_per_mtok": None,
        },
    ]


def _iso(ts: pd.Series) -> pd.Series:
    return ts.dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _daily_counts(rng: np.random.Generator, days: pd.DatetimeIndex, mean: int) -> np.ndarray:
    weekday = np.where(days.day_of_week >= 5, 0.6, 1.1)
    return rng.poisson(mean * weekday / weekday.mean())


class _Writer:
    """Writes frames through DuckDB (fast CSV / JSON Lines / Parquet writers)."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.con = duckdb.connect()
        self.rows: dict[str, int] = {}

    def write(
        self, stream: str, name: str, frame: pd.DataFrame, fmt: str, select: str = "*"
    ) -> None:
        folder = self.out_dir / stream
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        self.con.register("frame", frame)
        options = {
            "csv": "format csv, header true",
            "jsonl": "format json",
            "parquet": "format parquet",
        }[fmt]
        self.con.execute(f"copy (select {select} from frame) to '{target}' ({options})").fetchall()
        self.con.unregister("frame")
        self.rows[stream] = self.rows.get(stream, 0) + len(frame)


def _llm_calls(
    rng: np.random.Generator,
    days: pd.DatetimeIndex,
    day0: int,
    cfg: DemoConfig,
    next_call: int,
    next_session: int,
) -> tuple[pd.DataFrame, int, int]:
    counts = _daily_counts(rng, days, cfg.llm_calls_per_day)
    n = int(counts.sum())
    # sessions of 1..8 calls (mean ~3)
    sizes = np.clip(rng.geometric(0.33, size=n), 1, 8)
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), n) + 1]
    sizes[-1] -= sizes.sum() - n
    sizes = sizes[sizes > 0]
    n_sessions = len(sizes)
    session_of_call = np.repeat(np.arange(n_sessions), sizes)
    # session start: a day picked in proportion to the day's volume, a time in the day
    session_day = rng.choice(len(days), size=n_sessions, p=counts / counts.sum())
    start = days.values[session_day] + (rng.uniform(0, 86_000, n_sessions) * 1e9).astype(
        "timedelta64[ns]"
    )
    step = np.zeros(n)
    first = np.r_[0, np.cumsum(sizes)[:-1]]
    step[1:] = rng.uniform(2, 90, n - 1)
    step[first] = 0
    offset = np.cumsum(step) - np.repeat(np.cumsum(step)[first], sizes)
    created = start[session_of_call] + (offset * 1e9).astype("timedelta64[ns]")

    shares = np.array([m[2] for m in MODELS])
    session_model = rng.choice(len(MODELS), size=n_sessions, p=shares / shares.sum())
    model_idx = session_model[session_of_call]
    switch = rng.random(n) < 0.12  # some calls of a session use another model
    model_idx[switch] = rng.choice(len(MODELS), size=int(switch.sum()), p=shares / shares.sum())
    provider = np.array([m[0] for m in MODELS])[model_idx]
    model = np.array([m[1] for m in MODELS])[model_idx]

    day_index = (created.astype("datetime64[D]") - days.values[0].astype("datetime64[D]")).astype(
        int
    ) + day0
    median = np.array([m[3] for m in MODELS])[model_idx]
    spike = (provider == SPIKE_PROVIDER) & np.isin(day_index, list(SPIKE_DAYS))
    latency = rng.lognormal(np.log(median), 0.35) * np.where(spike, 2.6, 1.0)
    error = rng.random(n) < np.array([m[4] for m in MODELS])[model_idx] * np.where(spike, 3, 1)
    tokens_in = np.clip(
        rng.lognormal(np.log(np.array([m[5] for m in MODELS])[model_idx]), 0.6), 20, 12_000
    )
    tokens_in = tokens_in.astype(np.int64)
    tokens_out = np.clip(rng.lognormal(np.log(260), 0.7, n), 5, 4000).astype(np.int64)
    caching = np.array([m[6] for m in MODELS])[model_idx] & (rng.random(n) < 0.4)
    cached = np.where(caching, (tokens_in * rng.uniform(0.2, 0.8, n)).astype(np.int64), 0)
    team_idx = rng.choice(len(TEAMS), size=n_sessions, p=TEAM_SHARES)[session_of_call]
    team = np.array(TEAMS, dtype=object)[team_idx]
    frame = pd.DataFrame(
        {
            "event_id": [f"{cfg.id_prefix}call-{i:09d}" for i in range(next_call, next_call + n)],
            "session_id": [f"{cfg.id_prefix}sess-{i:08d}" for i in next_session + session_of_call],
            "provider": provider,
            "model": model,
            "created_at": pd.to_datetime(created),
            "response_time_ms": np.round(latency, 1),
            "tokens_input": tokens_in,
            "tokens_output": tokens_out,
            "tokens_cached_input": cached,
            "status": np.where(error, "error", "ok"),
            "team": team,
            "use_case": [USE_CASES[t] for t in team],
        }
    )
    return frame, next_call + n, next_session + n_sessions


def _business_events(
    rng: np.random.Generator, calls: pd.DataFrame, cfg: DemoConfig, next_event: int
) -> tuple[pd.DataFrame, int]:
    sessions = (
        calls.groupby("session_id", sort=False)
        .agg(team=("team", "first"), ended=("created_at", "max"), calls=("event_id", "size"))
        .reset_index()
    )
    m = len(sessions)
    team = sessions["team"].to_numpy(dtype=object)
    is_support = team == "support"
    is_sales = team == "sales"
    parts = []
    # tickets: most support sessions; agent resolution better with more calls
    ticket = is_support & (rng.random(m) < 0.6)
    agent = rng.random(m) < 0.62
    parts.append(
        pd.DataFrame(
            {
                "session_id": sessions["session_id"][ticket],
                "event_type": "ticket",
                "occurred_at": sessions["ended"][ticket]
                + pd.to_timedelta(rng.uniform(1, 30, ticket.sum()), unit="m"),
                "resolved_by": np.where(agent[ticket], "agent", "human"),
                "resolution_minutes": np.round(
                    np.where(
                        agent[ticket], rng.gamma(2, 4, ticket.sum()), rng.gamma(3, 25, ticket.sum())
                    ),
                    1,
                ),
                "revenue_usd": 0.0,
            }
        )
    )
    # conversions (sales, some support upsells) and refunds
    conv = (is_sales & (rng.random(m) < 0.18)) | (is_support & (rng.random(m) < 0.04))
    parts.append(
        pd.DataFrame(
            {
                "session_id": sessions["session_id"][conv],
                "event_type": "conversion",
                "occurred_at": sessions["ended"][conv]
                + pd.to_timedelta(rng.uniform(1, 240, conv.sum()), unit="m"),
                "revenue_usd": np.round(
                    rng.lognormal(np.log(80), 0.8, conv.sum()).clip(10, 500), 2
                ),
            }
        )
    )
    refund = conv & (rng.random(m) < 0.06)
    parts.append(
        pd.DataFrame(
            {
                "session_id": sessions["session_id"][refund],
                "event_type": "refund",
                "occurred_at": sessions["ended"][refund]
                + pd.to_timedelta(rng.uniform(1, 4, refund.sum()), unit="D"),
                "revenue_usd": -np.round(rng.uniform(10, 120, refund.sum()), 2),
            }
        )
    )
    # exposures to the reply-tone experiment on support sessions
    exposed = is_support & (rng.random(m) < 0.5)
    users = rng.integers(0, max(10, m // 3), exposed.sum())
    parts.append(
        pd.DataFrame(
            {
                "session_id": sessions["session_id"][exposed],
                "event_type": "exposure",
                "occurred_at": sessions["ended"][exposed]
                - pd.to_timedelta(rng.uniform(0, 5, exposed.sum()), unit="s"),
                "user_id": [f"{cfg.id_prefix}user-{u}" for u in users],
                "experiment": "reply_tone",
                "variant": np.where(users % 2 == 0, "control", "friendly"),
            }
        )
    )
    # tickets handled without the AI (no session) and sessions that never reached an LLM
    k = max(1, m // 200)
    lo, hi = calls["created_at"].min(), calls["created_at"].max()
    when = lo + pd.to_timedelta(rng.uniform(0, (hi - lo).total_seconds(), 2 * k), unit="s")
    parts.append(
        pd.DataFrame(
            {
                "session_id": [None] * k + [f"{cfg.id_prefix}web-{i}" for i in range(k)],
                "event_type": ["ticket"] * k + ["conversion"] * k,
                "occurred_at": when,
                "resolved_by": ["human"] * k + [None] * k,
                "revenue_usd": [0.0] * k + list(np.round(rng.uniform(20, 200, k), 2)),
            }
        )
    )
    events = pd.concat(parts, ignore_index=True)
    events = events.sort_values("occurred_at", kind="stable").reset_index(drop=True)
    for column in ("user_id", "resolved_by", "experiment", "variant", "resolution_minutes"):
        if column not in events:
            events[column] = None
    events.insert(
        0,
        "event_id",
        [f"{cfg.id_prefix}biz-{i:09d}" for i in range(next_event, next_event + len(events))],
    )
    return events, next_event + len(events)


def _experiment_events(
    rng: np.random.Generator, calls: pd.DataFrame, cfg: DemoConfig, chunk: int, start: pd.Timestamp
) -> pd.DataFrame:
    """Exposures, conversions, refunds, tickets and pre-exposure purchases of the
    experiments' users: one new user per session of the search / unassigned teams,
    exposed just before the session's first call to every experiment running that
    day. True effects: conversion × the experiment's multiplier in treatment; no
    effect on anything else. 1 % of upsell_prompt's users also see the other variant."""
    sessions = (
        calls.groupby("session_id", sort=False)
        .agg(team=("team", "first"), began=("created_at", "min"))
        .reset_index()
    )
    sessions = sessions[
        sessions["team"].isin([t for t in EXPERIMENT_TEAMS if t]) | sessions["team"].isna()
    ]
    m = len(sessions)
    exposed_at = (
        sessions["began"].to_numpy() - pd.to_timedelta(rng.uniform(1, 5, m), unit="s").to_numpy()
    )
    day = exposed_at.astype("datetime64[D]")
    users = np.array([f"{cfg.id_prefix}xuser-{s}" for s in sessions["session_id"]], dtype=object)
    session_ids = sessions["session_id"].to_numpy(dtype=object)
    value = rng.lognormal(0.0, 0.6, m)  # what a user tends to spend (CUPED's covariate)
    multiplier = np.ones(m)
    parts = []
    for name, (control, treatment), share, first, last, effect in EXPERIMENTS:
        on = (day >= np.datetime64(first)) & (day <= np.datetime64(last))
        treated = rng.random(m) < share
        multiplier = np.where(on & treated, multiplier * effect, multiplier)
        variant = np.where(treated, treatment, control)
        parts.append(
            pd.DataFrame(
                {
                    "occurred_at": exposed_at[on],
                    "event_type": "exposure",
                    "session_id": session_ids[on],
                    "user_id": users[on],
                    "experiment": name,
                    "variant": variant[on],
                }
            )
        )
        if name == "upsell_prompt":
            again = on & (rng.random(m) < 0.01)
            parts.append(
                pd.DataFrame(
                    {
                        "occurred_at": exposed_at[again] + np.timedelta64(600, "s"),
                        "event_type": "exposure",
                        "session_id": session_ids[again],
                        "user_id": users[again],
                        "experiment": name,
                        "variant": np.where(treated[again], control, treatment),
                    }
                )
            )
    in_any = np.zeros(m, dtype=bool)
    for _name, _, _, first, last, _ in EXPERIMENTS:
        in_any |= (day >= np.datetime64(first)) & (day <= np.datetime64(last))
    converts = in_any & (rng.random(m) < EXPERIMENT_BASE_CONVERSION * multiplier)
    converted_at = exposed_at + pd.to_timedelta(rng.uniform(0.5, 120, m), unit="h").to_numpy()
    parts.append(
        pd.DataFrame(
            {
                "occurred_at": converted_at[converts],
                "event_type": "conversion",
                "session_id": session_ids[converts],
                "user_id": users[converts],
                "revenue_usd": np.round(60 * value * rng.lognormal(0, 0.4, m), 2)[converts],
            }
        )
    )
    refunds = converts & (rng.random(m) < 0.05)
    parts.append(
        pd.DataFrame(
            {
                "occurred_at": converted_at[refunds]
                + pd.to_timedelta(rng.uniform(1, 3, m), unit="D").to_numpy()[refunds],
                "event_type": "refund",
                "session_id": session_ids[refunds],
                "user_id": users[refunds],
                "revenue_usd": -np.round(rng.uniform(10, 60, m), 2)[refunds],
            }
        )
    )
    tickets = in_any & (rng.random(m) < 0.3)
    parts.append(
        pd.DataFrame(
            {
                "occurred_at": exposed_at[tickets]
                + pd.to_timedelta(rng.uniform(1, 2880, m), unit="m").to_numpy()[tickets],
                "event_type": "ticket",
                "session_id": session_ids[tickets],
                "user_id": users[tickets],
                "resolved_by": np.where(rng.random(m) < 0.6, "agent", "human")[tickets],
                "resolution_minutes": np.round(rng.gamma(2, 6, m), 1)[tickets],
                "revenue_usd": 0.0,
            }
        )
    )
    # repeat purchases in the window: what CUPED's pre-exposure covariate predicts
    again_at = exposed_at + pd.to_timedelta(rng.uniform(1, 144, m), unit="h").to_numpy()
    regular = rng.random(m) < 0.6  # regular buyers purchase before and after exposure
    buys_again = in_any & regular
    parts.append(
        pd.DataFrame(
            {
                "occurred_at": again_at[buys_again],
                "event_type": "purchase",
                "user_id": users[buys_again],
                "revenue_usd": np.round(40 * value * rng.lognormal(0, 0.3, m), 2)[buys_again],
            }
        )
    )
    bought_at = exposed_at - pd.to_timedelta(rng.uniform(1, 13, m), unit="D").to_numpy()
    bought = in_any & regular & (bought_at >= start.to_datetime64())
    parts.append(
        pd.DataFrame(
            {
                "occurred_at": bought_at[bought],
                "event_type": "purchase",
                "user_id": users[bought],
                "revenue_usd": np.round(40 * value * rng.lognormal(0, 0.3, m), 2)[bought],
            }
        )
    )
    events = pd.concat(parts, ignore_index=True)
    events["occurred_at"] = pd.to_datetime(events["occurred_at"])
    events = events.sort_values("occurred_at", kind="stable").reset_index(drop=True)
    for column in (
        "session_id",
        "user_id",
        "resolved_by",
        "experiment",
        "variant",
        "resolution_minutes",
    ):
        if column not in events:
            events[column] = None
    events["revenue_usd"] = events["revenue_usd"].fillna(0.0)
    events.insert(
        0, "event_id", [f"{cfg.id_prefix}xbiz-{chunk:03d}-{i:07d}" for i in range(len(events))]
    )
    return events


def _predictions(
    rng: np.random.Generator, days: pd.DatetimeIndex, day0: int, cfg: DemoConfig, next_pred: int
) -> tuple[pd.DataFrame, int]:
    counts = _daily_counts(rng, days, cfg.predictions_per_day)
    n = int(counts.sum())
    day_local = np.repeat(np.arange(len(days)), counts)
    day_index = day_local + day0
    at = days.values[day_local] + (rng.uniform(0, 86_399, n) * 1e9).astype("timedelta64[ns]")
    v2_live = day_index >= cfg.days // 2
    version = np.where(v2_live & (rng.random(n) < 0.5), "v2", "v1")
    drift = (version == "v2") & (day_index >= cfg.days - DRIFT_DAYS)
    tenure = rng.gamma(3, 8, n) + np.where(drift, 2 * np.sqrt(3) * 8, 0)
    spend = rng.lognormal(np.log(60), 0.5, n) * np.where(drift, 2.8, 1.0)
    tickets = rng.poisson(1.2, n)
    sessions = rng.poisson(9, n)
    discount = np.round(rng.uniform(0, 30, n), 1)
    # the true class depends on the features; the drifted stream churns more
    logits = np.stack(
        [
            0.04 * tenure - 0.1 * tickets,
            -0.02 * tenure + 0.35 * tickets - 0.05 * sessions + 0.5,
            0.02 * discount - 0.005 * spend,
        ],
        axis=1,
    )
    logits[:, 1] += np.where(drift, 1.6, 0.0)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    true_idx = (probs.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    # roughly calibrated: the model is right with probability equal to its score
    score = rng.uniform(0.45, 0.99, n)
    right = rng.random(n) < score
    other = (true_idx + rng.integers(1, 3, n)) % 3
    pred_idx = np.where(right, true_idx, other)
    frame = pd.DataFrame(
        {
            "event_id": [f"{cfg.id_prefix}pred-{i:09d}" for i in range(next_pred, next_pred + n)],
            "model_name": "churn_model",
            "model_version": version,
            "predicted_at": pd.to_datetime(at),
            "predicted_label": np.array(CLASSES)[pred_idx],
            "score": np.round(score, 4),
            "latency_ms": np.round(rng.lognormal(np.log(35), 0.4, n), 1),
            "status": np.where(rng.random(n) < 0.003, "error", "ok"),
            "segment": rng.choice(SEGMENTS, size=n, p=(0.5, 0.35, 0.15)),
            "tenure_months": np.round(tenure, 2),
            "monthly_spend": np.round(spend, 2),
            "support_tickets_30d": tickets,
            "sessions_7d": sessions,
            "discount_pct": discount,
            "true_label": np.array(CLASSES)[true_idx],
        }
    )
    return frame, next_pred + n


def _labels(
    rng: np.random.Generator,
    preds: pd.DataFrame,
    calls: pd.DataFrame,
    cfg: DemoConfig,
    horizon: pd.Timestamp,
    next_label: int,
) -> tuple[pd.DataFrame, int]:
    # predictions: 85% labeled, hours to days later; labels after the horizon have not arrived
    has = rng.random(len(preds)) < 0.85
    p = preds[has]
    delay = pd.to_timedelta(rng.lognormal(np.log(30), 0.9, len(p)).clip(1, 24 * 9), unit="h")
    pred_labels = pd.DataFrame(
        {
            "target_event_id": p["event_id"].to_numpy(),
            "label": p["true_label"].to_numpy(),
            "labeled_at": p["predicted_at"].to_numpy() + delay,
        }
    )
    # some targets are relabeled later with a different answer (the later label wins)
    re = pred_labels.sample(frac=0.02, random_state=int(rng.integers(1 << 31)))
    relabel = re.assign(
        label=np.where(re["label"] == "stay", "downgrade", "stay"),
        labeled_at=re["labeled_at"] + pd.to_timedelta(rng.uniform(6, 72, len(re)), unit="h"),
    )
    # LLM calls: ~20% graded by humans
    graded = calls[rng.random(len(calls)) < 0.2]
    quality = np.where(graded["provider"].to_numpy() == "google", 0.78, 0.87)
    call_labels = pd.DataFrame(
        {
            "target_event_id": graded["event_id"].to_numpy(),
            "label": np.where(rng.random(len(graded)) < quality, "correct", "incorrect"),
            "labeled_at": graded["created_at"].to_numpy()
            + pd.to_timedelta(rng.uniform(1, 72, len(graded)), unit="h"),
        }
    )
    orphans = pd.DataFrame(
        {
            "target_event_id": [f"{cfg.id_prefix}pred-missing-{next_label + i}" for i in range(5)],
            "label": "stay",
            "labeled_at": pd.Timestamp(horizon) - pd.Timedelta(hours=12),
        }
    )
    labels = pd.concat([pred_labels, relabel, call_labels, orphans], ignore_index=True)
    labels = labels[labels["labeled_at"] <= horizon].sort_values("labeled_at", kind="stable")
    labels.insert(
        0,
        "event_id",
        [f"{cfg.id_prefix}lab-{i:09d}" for i in range(next_label, next_label + len(labels))],
    )
    return labels.reset_index(drop=True), next_label + len(labels)


def _bad_calls(calls: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Exact duplicates and conflicts (same file type), plus malformed rows as text."""
    dup = calls.sample(frac=0.005, random_state=int(rng.integers(1 << 31)))
    conflict = calls.sample(n=min(5, len(calls)), random_state=int(rng.integers(1 << 31))).assign(
        response_time_ms=lambda f: f["response_time_ms"] + 1
    )
    base = calls.sample(n=min(8, len(calls)), random_state=int(rng.integers(1 << 31))).copy()
    text = base.astype(object)
    text["created_at"] = _iso(base["created_at"])
    text["event_id"] = [f"bad-{e}" for e in base["event_id"]]
    breakers = [
        ("session_id", None),
        ("tokens_input", "abc"),
        ("response_time_ms", "-5"),
        ("status", "timeout"),
        ("created_at", "yesterday"),
        ("tokens_cached_input", "999999"),
        ("provider", None),
        ("tokens_output", "12.5"),
    ]
    for i, (column, value) in enumerate(breakers[: len(text)]):
        text.iloc[i, text.columns.get_loc(column)] = value
    return pd.concat([dup, conflict], ignore_index=True), text


def generate(out_dir: Path, config: DemoConfig = DemoConfig()) -> dict[str, int]:
    """Write landing-ready files under out_dir/<stream>/ and return rows written per stream."""
    out_dir = Path(out_dir)
    rng = np.random.default_rng(config.seed)
    writer = _Writer(out_dir)
    start = pd.Timestamp(config.end_date) - pd.Timedelta(days=config.days - 1)
    horizon = pd.Timestamp(config.end_date) + pd.Timedelta(hours=23, minutes=59)
    next_call = next_session = next_event = next_pred = next_label = 0
    # the experiments draw from a stream of their own: the other streams' draws are
    # exactly what they were before the experiments existed
    experiment_rng = np.random.default_rng([config.seed, 13])
    for chunk, day0 in enumerate(range(0, config.days, 30)):
        days = pd.date_range(
            start + pd.Timedelta(days=day0), periods=min(30, config.days - day0), freq="D"
        )
        calls, next_call, next_session = _llm_calls(
            rng, days, day0, config, next_call, next_session
        )
        events, next_event = _business_events(rng, calls, config, next_event)
        preds, next_pred = _predictions(rng, days, day0, config, next_pred)
        labels, next_label = _labels(rng, preds, calls, config, horizon, next_label)
        part = f"part-{chunk:03d}"
        experiment_events = _experiment_events(experiment_rng, calls, config, chunk, start)
        experiment_events = experiment_events[experiment_events["occurred_at"] <= horizon]
        writer.write(
            "business_events",
            f"{part}-experiments.csv",
            experiment_events.assign(occurred_at=_iso(experiment_events["occurred_at"])),
            "csv",
        )
        if config.bad_rows:
            repeats, malformed = _bad_calls(calls, rng)
            calls = pd.concat([calls, repeats], ignore_index=True)
            writer.write("llm_calls", f"{part}-malformed.csv", malformed, "csv")
            preds = pd.concat(
                [preds, preds.sample(frac=0.003, random_state=chunk)], ignore_index=True
            )
            labels = pd.concat([labels, labels.head(3)], ignore_index=True)
            events = pd.concat([events, events.tail(3)], ignore_index=True)
        writer.write("llm_calls", f"{part}.parquet", calls, "parquet")
        feature_json = (
            "json_object('tenure_months', tenure_months, 'monthly_spend', monthly_spend, "
            "'support_tickets_30d', support_tickets_30d, 'sessions_7d', sessions_7d, 'discount_pct', discount_pct)"
        )
        writer.write(
            "predictions",
            f"{part}.jsonl",
            preds,
            "jsonl",
            "event_id, model_name, model_version, strftime(predicted_at, '%Y-%m-%dT%H:%M:%S.%gZ') as predicted_at, "
            f"predicted_label, score, latency_ms, status, segment, {feature_json} as features",
        )
        writer.write(
            "labels", f"{part}.csv", labels.assign(labeled_at=_iso(labels["labeled_at"])), "csv"
        )
        writer.write(
            "business_events",
            f"{part}.csv",
            events.assign(occurred_at=_iso(events["occurred_at"])),
            "csv",
        )

    if config.bad_rows:
        _write_extras(writer, rng, start, config)
    writer.con.close()
    return writer.rows


def _write_extras(
    writer: _Writer, rng: np.random.Generator, start: pd.Timestamp, cfg: DemoConfig
) -> None:
    """Small files in other formats: offsets in timestamps, features as a JSON string, bad rows."""
    first_day = start + pd.Timedelta(hours=22)
    offsets = pd.DataFrame(
        {
            "event_id": [f"{cfg.id_prefix}tz-{i}" for i in range(6)],
            "session_id": [f"{cfg.id_prefix}tz-sess-{i // 2}" for i in range(6)],
            "provider": "openai",
            "model": "gpt-4o-mini",
            # 23:30 at -05:00 is the next UTC day; 01:00 at +02:00 the previous one
            "created_at": [
                (first_day + pd.Timedelta(minutes=30 * i)).strftime("%Y-%m-%dT%H:%M:%S")
                + ("-05:00" if i % 2 else "+02:00")
                for i in range(6)
            ],
            "response_time_ms": np.round(rng.uniform(200, 600, 6), 1),
            "tokens_input": 500,
            "tokens_output": 80,
            "tokens_cached_input": 0,
            "status": "ok",
            "team": "search",
            "use_case": "query_rewrite",
        }
    )
    writer.write("llm_calls", "offsets.csv", offsets, "csv")
    preds = pd.DataFrame(
        {
            "event_id": [f"{cfg.id_prefix}pq-pred-{i}" for i in range(4)],
            "model_name": "churn_model",
            "model_version": "v1",
            "predicted_at": [start + pd.Timedelta(hours=5 + i) for i in range(4)],
            "predicted_label": ["stay", "churn", "stay", "downgrade"],
            "score": [0.8, 0.7, 1.7, 0.6],  # one score out of range
            "segment": "api",
            "features": [
                '{"tenure_months": 12, "monthly_spend": 40.5}',
                '{"tenure_months": 3}',
                '{"tenure_months": 1}',
                '{"tenure_months": "long"}',
            ],
        }
    )
    writer.write("predictions", "extra.parquet", preds, "parquet")
    bad_labels = pd.DataFrame(
        {
            "event_id": ["lab-bad-1", "lab-bad-2"],
            "target_event_id": [None, "x"],
            "label": ["stay", "stay"],
            "labeled_at": ["2026-10-01T00:00:00Z", "soon"],
        }
    )
    writer.write("labels", "malformed.csv", bad_labels, "csv")
    bad_events = pd.DataFrame(
        {
            "event_id": ["biz-bad-1", "biz-bad-2", "biz-bad-3"],
            "occurred_at": ["2026-10-01T10:00:00Z"] * 3,
            "event_type": ["ticket", "exposure", "conversion"],
            "session_id": [None, None, None],
            "user_id": [None, None, None],
            "resolved_by": [None, None, None],
            "revenue_usd": [None, None, "lots"],
            "experiment": [None, "reply_tone", None],
            "variant": [None, "control", None],
        }
    )
    writer.write("business_events", "malformed.csv", bad_events, "csv")
