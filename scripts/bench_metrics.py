"""Cost of a /metrics scrape on a published warehouse: the first scrape of a
snapshot (reads the marts) and the following ones (cached), through Flask's test
client in one process.

    .venv/bin/python scripts/bench_metrics.py --home data --scrapes 200
"""

from __future__ import annotations

import argparse
import statistics
import time

from dash_app.app import create_app
from dash_app.config import AppConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--home", default=None, help="MODELMART_HOME (default: $MODELMART_HOME or data/)"
    )
    parser.add_argument("--scrapes", type=int, default=200)
    args = parser.parse_args()
    client = create_app(AppConfig.from_env(args.home)).server.test_client()
    started = time.perf_counter()
    body = client.get("/metrics").get_data()
    first = time.perf_counter() - started
    times = []
    for _ in range(args.scrapes):
        started = time.perf_counter()
        client.get("/metrics").get_data()
        times.append(time.perf_counter() - started)
    series = sum(1 for line in body.decode().splitlines() if line and not line.startswith("#"))
    print(
        f"{series} series, {len(body):,} bytes; first scrape {first * 1000:.1f} ms; "
        f"cached scrape median {statistics.median(times) * 1000:.2f} ms, "
        f"p95 {sorted(times)[int(0.95 * len(times)) - 1] * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
