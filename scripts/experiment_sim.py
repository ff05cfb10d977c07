"""A/A simulation: does looking every day inflate false positives?

N A/A experiments (same true conversion rate in both arms), each looked at once a
day for D days. A look is a "win" when the fixed-horizon two-sided test says
p < alpha (naive peeking) or when the always-valid sequential CI excludes 0. The
false-positive rate is the share of experiments with at least one such look. The
statistics are the warehouse's own (models/intermediate/int_experiment_results_computed.py).

    .venv/bin/python scripts/experiment_sim.py --experiments 200 --days 20
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import numpy as np

MODEL = (
    Path(__file__).resolve().parents[1]
    / "models"
    / "intermediate"
    / "int_experiment_results_computed.py"
)


def load_stats():
    spec = importlib.util.spec_from_file_location("experiment_stats", MODEL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def simulate(
    experiments: int = 200,
    days: int = 20,
    users_per_arm_per_day: int = 100,
    rate: float = 0.10,
    alpha: float = 0.05,
    n_star: float = 5000,
    seed: int = 13,
) -> dict:
    """False-positive rates of daily peeking: naive fixed-horizon vs sequential."""
    stats = load_stats()
    rng = np.random.default_rng(seed)
    naive_any = seq_any = last_only = 0
    for _ in range(experiments):
        conversions = rng.binomial(users_per_arm_per_day, rate, size=(days, 2)).cumsum(axis=0)
        naive = seq = False
        for day in range(days):
            n = users_per_arm_per_day * (day + 1)
            p_c, p_t = conversions[day] / n
            if p_c == 0:
                continue
            result = stats.frequentist(p_c, p_c * (1 - p_c), n, p_t, p_t * (1 - p_t), n, alpha)
            if result["p_value"] is None:
                continue
            naive |= result["p_value"] < alpha
            half = stats.sequential_halfwidth(result["lift_se"] ** 2, 2 * n, alpha, n_star)
            seq |= abs(result["lift_relative"]) > half
            if day == days - 1:
                last_only += result["p_value"] < alpha
        naive_any += naive
        seq_any += seq
    return {
        "experiments": experiments,
        "days": days,
        "users_per_arm_per_day": users_per_arm_per_day,
        "alpha": alpha,
        "naive_peeking_fpr": naive_any / experiments,
        "sequential_fpr": seq_any / experiments,
        "fixed_horizon_once_fpr": last_only / experiments,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=200)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--users-per-arm-per-day", type=int, default=100)
    parser.add_argument("--rate", type=float, default=0.10)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    print(
        json.dumps(
            simulate(
                args.experiments, args.days, args.users_per_arm_per_day, args.rate, seed=args.seed
            ),
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
