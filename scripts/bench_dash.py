"""Benchmark: the Dash app under 10 concurrent clients while a build runs.

Serves a warehouse (default: the 10M-call one that scripts/bench.py leaves in
/tmp/modelmart-bench) with gunicorn, keeps `modelmart build --full-refresh`
running in a loop on the same MODELMART_HOME, and lets N client threads alternate:

- a cold page load: the page HTML, /_dash-layout, /_dash-dependencies, the page
  router callback and the page's data callback, in sequence (a browser fetches
  layout and dependencies in parallel, so this is an upper bound);
- filter changes: the page's data callback with a random provider / team /
  version and a random 7–60 day range.

Reports p50/p95/max latency per kind and failed requests; targets: callback p95
≤ 150 ms, cold page ≤ 1 s, 0 failures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.error
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.conftest import free_port, wait_http  # noqa: E402
from tests.probe import Probe  # noqa: E402

FIELD = '{{"field":"{}","type":"filter"}}.value'
PAGES = {
    "/": ("ov-body", ["provider"], {}),
    "/operations": ("ops-body", ["provider", "model", "team"], {"ops-percentile.value": "p95"}),
    "/quality": ("quality-body", ["version"], {}),
    "/drift": ("drift-body", ["version"], {}),
    "/calibration": ("calibration-body", ["version"], {}),
    "/cost": ("cost-body", ["provider", "model", "team"], {"cost-by.value": "provider"}),
    "/alerts": (
        "alerts-body",
        ["provider", "model", "team", "version"],
        {"alerts-severity.value": ["critical", "warning", "info"], "alerts-active-only.value": []},
    ),
}


def build_loop(home: Path, stop: threading.Event, log: list[dict]) -> None:
    env = {**os.environ, "MODELMART_HOME": str(home)}
    while not stop.is_set():
        started = time.monotonic()
        run = subprocess.run(
            [sys.executable, "-m", "modelmart.cli", "build", "--full-refresh", "--quiet"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        log.append({"seconds": round(time.monotonic() - started, 1), "ok": run.returncode == 0})


def client(
    probe: Probe, choices: dict, newest: dt.date, until: float, seed: int, out: dict, think: float
) -> None:
    rng = random.Random(seed)
    while time.monotonic() < until:
        if think:
            time.sleep(rng.uniform(0.5 * think, 1.5 * think))
        path = rng.choice(list(PAGES))
        output, fields, extra = PAGES[path]
        days = rng.randint(7, 60)
        values = {
            "f-dates.start_date": (newest - dt.timedelta(days=days - 1)).isoformat(),
            "f-dates.end_date": newest.isoformat(),
            "snapshot.data": "bench",
            **extra,
        }
        for field in fields:
            pick = rng.random() < 0.5 and choices[field]
            values[FIELD.format(field)] = [rng.choice(choices[field])] if pick else []
        cold = rng.random() < 0.2
        started = time.perf_counter()
        try:
            if cold:
                probe.get(path)
                probe.get("/_dash-layout")
                probe.get("/_dash-dependencies")
                probe.callback(
                    "_pages_content",
                    {"_pages_location.pathname": path, "_pages_location.search": ""},
                )
            probe.callback(output, values)
            kind = "cold page" if cold else "callback"
            out.setdefault(kind, []).append(time.perf_counter() - started)
        except (OSError, urllib.error.HTTPError, ValueError) as exc:
            out.setdefault("failures", []).append(repr(exc))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--home", type=Path, default=Path("/tmp/modelmart-bench/calls-10000000/home")
    )
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--no-build", action="store_true", help="measure without a build running")
    parser.add_argument(
        "--think", type=float, default=0.0, help="mean pause between a client's requests, s"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not (args.home / "warehouse.duckdb").exists():
        sys.exit(f"bench_dash: no warehouse in {args.home}; run scripts/bench.py first")

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "--workers", str(args.workers),
            "--threads", str(args.threads), "--preload", "--bind", f"127.0.0.1:{port}",
            "--timeout", "120", "dash_app.wsgi:server",
        ],
        cwd=ROOT,
        env={**os.environ, "MODELMART_HOME": str(args.home), "MODELMART_USERS": ""},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    stop = threading.Event()
    builds: list[dict] = []
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/", proc=server)
        probe = Probe.connect(base)
        import duckdb

        con = duckdb.connect(str(args.home / "warehouse.duckdb"), read_only=True)
        choices = {
            "provider": [r[0] for r in con.execute("select distinct provider from marts.fct_llm_usage_daily").fetchall()],
            "model": [r[0] for r in con.execute("select distinct model from marts.fct_llm_usage_daily").fetchall()],
            "team": [r[0] for r in con.execute("select distinct team from marts.fct_llm_usage_daily").fetchall()],
            "version": [r[0] for r in con.execute("select distinct model_name || '/' || model_version from marts.fct_model_quality_daily").fetchall()],
        }  # fmt: skip
        newest = con.execute("select max(usage_date) from marts.fct_llm_usage_daily").fetchone()[0]
        rows = con.execute("select sum(calls) from marts.fct_llm_usage_daily").fetchone()[0]
        con.close()
        for path in PAGES:  # warm each worker's connection and imports
            probe.get(path)
        builder = None
        if not args.no_build:
            builder = threading.Thread(target=build_loop, args=(args.home, stop, builds))
            builder.start()
            time.sleep(3)  # let dbt get going
        results: dict[str, list] = {}
        until = time.monotonic() + args.seconds
        threads = [
            threading.Thread(
                target=client, args=(probe, choices, newest, until, i, results, args.think)
            )
            for i in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stop.set()
        if builder:
            builder.join()
    finally:
        stop.set()
        server.terminate()
        server.wait(timeout=30)

    summary = {
        "warehouse_llm_calls": int(rows),
        "clients": args.clients,
        "seconds": args.seconds,
        "gunicorn": f"{args.workers} workers × {args.threads} threads",
        "think_s": args.think,
        "builds_during_run": builds,
        "failures": len(results.get("failures", [])),
        "failure_examples": results.get("failures", [])[:3],
    }
    for kind in ("callback", "cold page"):
        times = np.array(results.get(kind, [])) * 1000
        summary[kind] = {
            "requests": len(times),
            "p50_ms": round(float(np.percentile(times, 50)), 1) if len(times) else None,
            "p95_ms": round(float(np.percentile(times, 95)), 1) if len(times) else None,
            "max_ms": round(float(times.max()), 1) if len(times) else None,
        }
    print(json.dumps(summary, indent=1))
    cb, cold = summary["callback"], summary["cold page"]
    print(
        f"\n| clients (think s) | build running | callback p95 ms (target ≤ 150) | cold page p95 ms (target ≤ 1000) | failed |\n"
        f"|---|---|---|---|---|\n"
        f"| {args.clients} ({args.think:g}) | {'yes' if not args.no_build else 'no'} ({len(builds)} builds) "
        f"| {cb['p95_ms']} (p50 {cb['p50_ms']}, n={cb['requests']}) "
        f"| {cold['p95_ms']} (p50 {cold['p50_ms']}, n={cold['requests']}) | {summary['failures']} |"
    )
    if args.out:
        args.out.write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
