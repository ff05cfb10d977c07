"""Experiment readouts: one row per experiment × treatment variant × metric.

A Python model because the p-values, confidence intervals and the SRM test need
the t and chi-square distributions (scipy.stats), which SQL engines do not have.
The statistics follow GrowthBook's frequentist engine (gbstats), written here from
its published formulas:

- relative lift Δ = (μ_T − μ_C) / μ_C, σ²_Δ = σ²_C·μ_T² / (μ_C⁴·n_C) + σ²_T / (μ_C²·n_T)
  (delta method); proportions σ² = p(1 − p); means the sample variance (n − 1);
  ratio metrics (Σx / Σy per arm) σ² = (σ²_x − 2R·σ_xy + R²·σ²_y) / μ_y² per user;
- Welch–Satterthwaite ν = (σ²_C/n_C + σ²_T/n_T)² / ((σ²_C/n_C)²/(n_C − 1) + (σ²_T/n_T)²/(n_T − 1));
- CI = Δ ± t_{1−α/2,ν}·σ_Δ, p = 2·(1 − F_t,ν(|Δ| / σ_Δ)); the absolute difference
  μ_T − μ_C ± t·√(σ²_C/n_C + σ²_T/n_T) beside it;
- always-valid sequential CI (Waudby-Smith et al.'s asymptotic confidence sequence):
  ρ = √((−2 ln α + ln(−2 ln α + 1)) / N*), N = n_C + n_T,
  half-width = √(σ²_Δ·N)·√(2(Nρ² + 1)·ln(√(Nρ² + 1)/α) / (Nρ)²);
- SRM: Pearson χ² of users per variant against the configured split, df = k − 1;
- secondary metrics: Holm's step-down adjustment per experiment × variant;
- CUPED on revenue per user: covariate = revenue in the pre-exposure window,
  θ = cov(Y, X) / var(X) pooled over both arms, Y' = Y − θ(X − X̄).

The helpers above `model()` are plain functions of numbers; scripts/experiment_sim.py
imports them for the A/A simulation.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

GOOD, BAD = "win", "loss"


def welch_df(var_c: float, n_c: int, var_t: float, n_t: int) -> float:
    """Welch–Satterthwaite degrees of freedom from per-user variances and counts."""
    a, b = var_c / n_c, var_t / n_t
    denominator = a * a / (n_c - 1) + b * b / (n_t - 1)
    return (a + b) ** 2 / denominator if denominator > 0 else math.inf


def frequentist(
    mean_c: float, var_c: float, n_c: int, mean_t: float, var_t: float, n_t: int, alpha: float
) -> dict:
    """GrowthBook's frequentist two-sided t-test of the relative lift (delta method)."""
    from scipy import stats

    out = dict.fromkeys(
        (
            "lift_relative",
            "lift_se",
            "df",
            "ci_low",
            "ci_high",
            "p_value",
            "abs_diff",
            "abs_ci_low",
            "abs_ci_high",
        )
    )
    if n_c < 2 or n_t < 2:
        return out
    df = welch_df(var_c, n_c, var_t, n_t)
    t_crit = float(stats.t.ppf(1 - alpha / 2, df)) if math.isfinite(df) else None
    out["df"] = df if math.isfinite(df) else None
    diff = mean_t - mean_c
    out["abs_diff"] = diff
    abs_se = math.sqrt(var_c / n_c + var_t / n_t)
    if t_crit is not None:
        out["abs_ci_low"], out["abs_ci_high"] = diff - t_crit * abs_se, diff + t_crit * abs_se
    if mean_c == 0:
        return out
    lift = diff / mean_c
    var_lift = var_c * mean_t**2 / (mean_c**4 * n_c) + var_t / (mean_c**2 * n_t)
    se = math.sqrt(var_lift)
    out["lift_relative"], out["lift_se"] = lift, se
    if t_crit is None or se == 0:
        return out
    out["ci_low"], out["ci_high"] = lift - t_crit * se, lift + t_crit * se
    out["p_value"] = float(2 * stats.t.sf(abs(lift) / se, df))
    return out


def sequential_halfwidth(var_lift: float, n_total: int, alpha: float, n_star: float) -> float:
    """Half-width of the asymptotic confidence sequence (GrowthBook's sequential test)."""
    rho = math.sqrt((-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / n_star)
    n = n_total
    return math.sqrt(var_lift * n) * math.sqrt(
        2 * (n * rho**2 + 1) * math.log(math.sqrt(n * rho**2 + 1) / alpha) / (n * rho) ** 2
    )


def srm_p_value(observed: list[int], shares: list[float]) -> tuple[float | None, float | None]:
    """Pearson χ² of users per variant against the expected split: (statistic, p)."""
    from scipy import stats

    total = sum(observed)
    if total == 0:
        return None, None
    expected = [share * total for share in shares]
    statistic = sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True))
    return statistic, float(stats.chi2.sf(statistic, len(observed) - 1))


def holm(p_values: list[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values (None stays None)."""
    present = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = [None] * len(p_values)
    running, m = 0.0, len(present)
    for rank, (p, i) in enumerate(present):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def arm_moments(kind: str, x: np.ndarray, y: np.ndarray | None = None) -> tuple[float, float, int]:
    """Per-arm (mean, per-user variance, n) of a metric of the given kind."""
    n = len(x)
    if n == 0:
        return math.nan, math.nan, 0
    if kind == "proportion":
        p = float(x.mean())
        return p, p * (1 - p), n
    if kind == "mean":
        return float(x.mean()), float(x.var(ddof=1)) if n > 1 else math.nan, n
    # ratio: Σx / Σy with the delta-method variance of the ratio per user
    mx, my = float(x.mean()), float(y.mean())
    if my == 0 or n < 2:
        return math.nan, math.nan, n
    ratio = mx / my
    vx, vy = float(x.var(ddof=1)), float(y.var(ddof=1))
    cov = float(np.cov(x, y, ddof=1)[0, 1])
    return ratio, (vx - 2 * ratio * cov + ratio**2 * vy) / my**2, n


def required_total_users(
    mean_c: float, var_c: float, mde: float, alpha: float, power: float, w_c: float, w_t: float
) -> float | None:
    """Total users for the lift test to detect a relative effect `mde` with `power`,
    assuming both arms have the control's variance: (z_{1−α/2} + z_power)²·σ²·(1/w_C + 1/w_T)
    / (mde·μ_C)²."""
    from scipy import stats

    if not mean_c or not np.isfinite(var_c) or var_c <= 0:
        return None
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return float(z**2 * var_c * (1 / w_c + 1 / w_t) / (mde * mean_c) ** 2)


def outcome(low: float | None, high: float | None, higher_is_better: bool) -> str:
    """win / loss / neutral from a CI of the lift and the metric's good direction."""
    if low is None or high is None or not (np.isfinite(low) and np.isfinite(high)):
        return "neutral"
    if low > 0:
        return GOOD if higher_is_better else BAD
    if high < 0:
        return BAD if higher_is_better else GOOD
    return "neutral"


def pct(value: float) -> str:
    return f"{value * 100:.1f} %"


def metric_phrase(label: str, row: dict, primary: bool) -> str:
    lift, low, high = row["lift_relative"], row["ci_low"], row["ci_high"]
    if lift is None:
        return f"{label} not measurable"
    if primary:
        verb = "lifted" if lift >= 0 else "lowered"
        significance = (
            "sequential test significant"
            if row["seq_outcome"] != "neutral"
            else "sequential test not significant"
        )
        ci = f"{round((1 - row['alpha']) * 100)} % CI {pct(low)} to {pct(high)}"
        return f"{verb} {label.lower()} by {pct(abs(lift))} ({ci}), {significance}"
    if row["seq_outcome"] == "neutral":
        return f"{label.lower()} neutral"
    direction = "up" if lift > 0 else "down"
    return f"{label.lower()} {direction} {pct(abs(lift))}"


def decide(rules: pd.DataFrame, facts: dict) -> pd.Series:
    """The first rule (by rule_order) whose conditions all match the facts."""
    for _, rule in rules.sort_values("rule_order").iterrows():
        if all(rule[key] in ("any", value) for key, value in facts.items()):
            return rule
    raise ValueError(f"no experiment_decision_rules row matches {facts}")


def analyse(
    experiments: pd.DataFrame,
    metrics: pd.DataFrame,
    rules: pd.DataFrame,
    users: pd.DataFrame,
    as_of: object,
) -> pd.DataFrame:
    """Every experiment × treatment × configured metric (pure pandas; see module doc)."""
    catalog = metrics.set_index("metric")
    rows: list[dict] = []
    for exp in experiments.sort_values("experiment").itertuples():
        variants = exp.variants.split("|")
        shares = [float(s) for s in exp.traffic_split.split("|")]
        share_of = dict(zip(variants, shares, strict=True))
        members = users[users.experiment == exp.experiment]
        multiple = int(members.is_multiple_exposure.sum())
        members = members[~members.is_multiple_exposure & members.variant.isin(variants)]
        counts = [int((members.variant == v).sum()) for v in variants]
        chi2, srm_p = srm_p_value(counts, shares)
        is_srm = srm_p is not None and srm_p < 0.001
        total_users = int(sum(counts))
        roles = [(exp.primary_metric, "primary")]
        roles += [(m, "secondary") for m in exp.secondary_metrics.split("|") if m]
        roles += [(m, "guardrail") for m in exp.guardrail_metrics.split("|") if m]
        control = members[members.variant == exp.control_variant]
        end = min(as_of, exp.end_date) if as_of is not None else exp.end_date
        days_running = max((end - exp.start_date).days + 1, 0)
        for variant in variants:
            if variant == exp.control_variant:
                continue
            treated = members[members.variant == variant]
            variant_rows = []
            for metric, role in roles:
                info = catalog.loc[metric]
                kind = info.kind
                values = metric_values(metric, control), metric_values(metric, treated)
                (mc, vc, nc), (mt, vt, nt) = (arm_moments(kind, *v) for v in values)
                result = frequentist(mc, vc, nc, mt, vt, nt, exp.alpha)
                seq_low = seq_high = None
                if result["lift_se"] is not None and nc + nt > 0:
                    half = sequential_halfwidth(
                        result["lift_se"] ** 2, nc + nt, exp.alpha, exp.sequential_n_star
                    )
                    seq_low = result["lift_relative"] - half
                    seq_high = result["lift_relative"] + half
                higher = str(info.higher_is_better).lower() == "true"
                row = {
                    "experiment": exp.experiment,
                    "variant": variant,
                    "control_variant": exp.control_variant,
                    "metric": metric,
                    "metric_label": info.label,
                    "metric_role": role,
                    "metric_kind": kind,
                    "metric_unit": info.unit,
                    "higher_is_better": higher,
                    "users": nt,
                    "control_users": nc,
                    "mean": none_if_nan(mt),
                    "control_mean": none_if_nan(mc),
                    "variance": none_if_nan(vt),
                    "control_variance": none_if_nan(vc),
                    **result,
                    "seq_ci_low": seq_low,
                    "seq_ci_high": seq_high,
                    "alpha": exp.alpha,
                    "sequential_n_star": exp.sequential_n_star,
                }
                row["outcome"] = outcome(row["ci_low"], row["ci_high"], higher)
                row["seq_outcome"] = outcome(seq_low, seq_high, higher)
                row.update(cuped(metric, kind, control, treated, exp.alpha))
                variant_rows.append(row)
            adjusted = holm(
                [r["p_value"] if r["metric_role"] == "secondary" else None for r in variant_rows]
            )
            for r, p in zip(variant_rows, adjusted, strict=True):
                r["p_value_adjusted"] = p
            primary = variant_rows[0]
            mean_c = primary["control_mean"]
            var_c = primary["control_variance"]
            required = (
                required_total_users(
                    mean_c,
                    var_c if var_c is not None else math.nan,
                    exp.mde_relative,
                    exp.alpha,
                    exp.power,
                    share_of[exp.control_variant],
                    share_of[variant],
                )
                if mean_c is not None
                else None
            )
            required = math.ceil(required) if required is not None else None
            arm_users = (
                counts[variants.index(exp.control_variant)] + counts[variants.index(variant)]
            )
            projected = None
            if required is not None and arm_users < required and days_running and arm_users:
                per_day = arm_users / days_running
                projected = (
                    exp.start_date
                    + pd.Timedelta(days=math.ceil(required / per_day) - 1).to_pytimedelta()
                )
            past_end = as_of is not None and as_of > exp.end_date
            complete = past_end or (required is not None and arm_users >= required)
            guardrail_worse = any(
                r["metric_role"] == "guardrail" and r["seq_outcome"] == BAD for r in variant_rows
            )
            facts = {
                "srm": "yes" if is_srm else "no",
                "primary_outcome": primary["seq_outcome"],
                "guardrail_outcome": "worse" if guardrail_worse else "ok",
                "complete": "yes" if complete else "no",
            }
            rule = decide(rules, facts)
            conclusion = sentence(
                variant, variant_rows, rule, is_srm, srm_p, counts, variants, shares
            )
            if rule.status == "running" and required is not None:
                conclusion += (
                    f" {arm_users:,} of {required:,} required users"
                    f" ({arm_users / required:.0%})"
                    + (f", projected to reach it on {projected}." if projected else ".")
                )
            # users per 30 days at the rate so far: a shipped variant's change per month
            monthly = total_users / days_running * 30 if days_running else None
            for r in variant_rows:
                per_month = monthly is not None and (
                    r["metric_kind"] == "proportion" or r["metric_unit"] == "usd"
                )
                for key, source in (
                    ("", "abs_diff"),
                    ("_low", "abs_ci_low"),
                    ("_high", "abs_ci_high"),
                ):
                    value = r[source]
                    r["impact_per_month" + key] = (
                        value * monthly if per_month and value is not None else None
                    )
                r["monthly_users"] = monthly
                r.update(
                    {
                        "srm_chi2": chi2,
                        "srm_p_value": srm_p,
                        "is_srm": is_srm,
                        "experiment_users": total_users,
                        "multiple_exposure_users": multiple,
                        "required_users": required,
                        "sample_progress": (arm_users / required) if required else None,
                        "projected_date": projected,
                        "is_complete": complete,
                        "decision_rule": int(rule.rule_order),
                        "status": rule.status,
                        "recommendation": rule.recommendation,
                        "conclusion": conclusion,
                        "start_date": exp.start_date,
                        "end_date": exp.end_date,
                        "as_of_date": as_of,
                    }
                )
            rows.extend(variant_rows)
    return pd.DataFrame(rows, columns=COLUMNS)


def none_if_nan(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def metric_values(metric: str, arm: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """Per-user observations of a metric: (x,) or (numerator, denominator) for ratios."""
    if metric == "conversion":
        return (arm.has_conversion.to_numpy(dtype=float),)
    if metric == "revenue_per_user":
        return (arm.revenue_usd.to_numpy(dtype=float),)
    if metric == "agent_resolution_rate":
        return (
            arm.agent_resolved_tickets.to_numpy(dtype=float),
            arm.tickets.to_numpy(dtype=float),
        )
    if metric == "llm_cost_per_user":
        return (arm.llm_cost_usd.to_numpy(dtype=float),)
    if metric == "llm_latency_p95_ms":
        return (arm.llm_latency_p95_ms.dropna().to_numpy(dtype=float),)
    raise ValueError(f"no per-user definition for metric {metric!r}")


def cuped(
    metric: str, kind: str, control: pd.DataFrame, treated: pd.DataFrame, alpha: float
) -> dict:
    """CUPED on revenue per user with pre-exposure revenue as covariate (θ pooled)."""
    empty = dict.fromkeys(
        (
            "cuped_theta",
            "cuped_lift_relative",
            "cuped_ci_low",
            "cuped_ci_high",
            "cuped_p_value",
            "cuped_variance_reduction",
        )
    )
    if metric != "revenue_per_user" or kind != "mean":
        return empty
    y = np.r_[control.revenue_usd.to_numpy(float), treated.revenue_usd.to_numpy(float)]
    x = np.r_[
        control.pre_exposure_revenue_usd.to_numpy(float),
        treated.pre_exposure_revenue_usd.to_numpy(float),
    ]
    if len(y) < 3 or x.var(ddof=1) == 0 or y.var(ddof=1) == 0:
        return empty
    theta = float(np.cov(y, x, ddof=1)[0, 1] / x.var(ddof=1))
    adjusted = y - theta * (x - x.mean())
    yc, yt = adjusted[: len(control)], adjusted[len(control) :]
    result = frequentist(
        float(yc.mean()),
        float(yc.var(ddof=1)),
        len(yc),
        float(yt.mean()),
        float(yt.var(ddof=1)),
        len(yt),
        alpha,
    )
    return {
        "cuped_theta": theta,
        "cuped_lift_relative": result["lift_relative"],
        "cuped_ci_low": result["ci_low"],
        "cuped_ci_high": result["ci_high"],
        "cuped_p_value": result["p_value"],
        "cuped_variance_reduction": float(1 - adjusted.var(ddof=1) / y.var(ddof=1)),
    }


def sentence(variant, rows, rule, is_srm, srm_p, counts, variants, shares) -> str:
    """The plain sentence for executives."""
    if is_srm:
        split = "/".join(f"{s:.0%}" for s in shares)
        got = ", ".join(f"{v} {c:,}" for v, c in zip(variants, counts, strict=True))
        return (
            f"Invalid: sample ratio mismatch (users {got} against the configured {split} split,"
            f" χ² p = {srm_p:.2g}); no ship / don't-ship verdict until the assignment is fixed."
        )
    primary = rows[0]
    parts = [f"Variant {variant} {metric_phrase(primary['metric_label'], primary, True)}"]
    parts += [
        metric_phrase(r["metric_label"], r, False) for r in rows if r["metric_role"] == "secondary"
    ]
    worse = [
        r["metric_label"].lower()
        for r in rows
        if r["metric_role"] == "guardrail" and r["seq_outcome"] == BAD
    ]
    parts.append("guardrail worse: " + ", ".join(worse) if worse else "no guardrail worse")
    return "; ".join(parts) + f". {rule.recommendation}."


COLUMNS = [
    "experiment",
    "variant",
    "control_variant",
    "metric",
    "metric_label",
    "metric_role",
    "metric_kind",
    "metric_unit",
    "higher_is_better",
    "users",
    "control_users",
    "mean",
    "control_mean",
    "variance",
    "control_variance",
    "abs_diff",
    "abs_ci_low",
    "abs_ci_high",
    "lift_relative",
    "lift_se",
    "df",
    "ci_low",
    "ci_high",
    "p_value",
    "p_value_adjusted",
    "seq_ci_low",
    "seq_ci_high",
    "outcome",
    "seq_outcome",
    "alpha",
    "sequential_n_star",
    "cuped_theta",
    "cuped_lift_relative",
    "cuped_ci_low",
    "cuped_ci_high",
    "cuped_p_value",
    "cuped_variance_reduction",
    "monthly_users",
    "impact_per_month",
    "impact_per_month_low",
    "impact_per_month_high",
    "srm_chi2",
    "srm_p_value",
    "is_srm",
    "experiment_users",
    "multiple_exposure_users",
    "required_users",
    "sample_progress",
    "projected_date",
    "is_complete",
    "decision_rule",
    "status",
    "recommendation",
    "conclusion",
    "start_date",
    "end_date",
    "as_of_date",
]


def model(dbt, session):
    dbt.config(materialized="table")
    experiments = dbt.ref("int_experiments_validated").df()
    for column in ("start_date", "end_date"):
        experiments[column] = pd.to_datetime(experiments[column]).dt.date
    metrics = dbt.ref("experiment_metrics").df()
    rules = dbt.ref("experiment_decision_rules").df()
    # in key order: the incremental table's physical row order differs from a full
    # build's, and the sums below must not depend on it (equal to the last bit)
    users = dbt.ref("int_experiment_user_metrics").order("experiment, user_id").df()
    newest = (
        dbt.ref("stg_landing__business_events").aggregate("max(occurred_date)").fetchall()[0][0]
    )
    frame = analyse(experiments, metrics, rules, users, newest)
    for column in ("projected_date", "start_date", "end_date", "as_of_date"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    for column in ("users", "control_users", "experiment_users", "multiple_exposure_users"):
        frame[column] = frame[column].astype("int64")
    for column in ("required_users", "decision_rule"):
        frame[column] = frame[column].astype("Int64")
    return frame
