"""The `modelmart` command line: ingest, build, demo, status."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import time
from pathlib import Path

from modelmart.config import UserError, get_paths


def _cmd_ingest(args: argparse.Namespace) -> int:
    from modelmart.ingest import discover, ingest_file

    if args.spool:
        return _promote_spool(args)
    if not args.paths:
        raise UserError("give files or folders to ingest, or --spool")
    files = discover(args.paths, args.stream)
    if not files:
        raise UserError("no files found")
    rejected = 0
    totals = {"read": 0, "stored": 0, "duplicates": 0, "quarantined": 0}
    started = time.monotonic()
    for path, stream in files:
        if stream is None:
            print(
                f"REJECTED {path}: cannot tell its stream; put it in a folder named after the stream "
                "(predictions, labels, llm_calls, business_events) or pass --stream"
            )
            rejected += 1
            continue
        result = ingest_file(path, stream, args.home)
        print(result.summary())
        for example in result.examples[: args.show_quarantined]:
            print(f"    quarantined: {example}")
        if result.status == "rejected":
            rejected += 1
        else:
            for key in totals:
                totals[key] += getattr(result, key)
    seconds = time.monotonic() - started
    rate = totals["read"] / seconds if seconds > 0 else 0.0
    print(
        f"total: files={len(files)} rejected={rejected} read={totals['read']} stored={totals['stored']} "
        f"duplicate={totals['duplicates']} quarantined={totals['quarantined']} "
        f"in {seconds:.1f}s ({rate:,.0f} rows/s)"
    )
    return 1 if rejected else 0


def _promote_spool(args: argparse.Namespace) -> int:
    from modelmart.compact import auto_compact
    from modelmart.spool import promote

    started = time.monotonic()
    results = promote(args.home)
    auto_compact(args.home)
    for r in results:
        for batch in r.results:
            print(batch.summary())
    events = sum(r.events for r in results)
    print(
        f"spool: promoted {events} events from {sum(r.segments for r in results)} segments "
        f"in {time.monotonic() - started:.1f}s"
    )
    return 1 if any(b.status == "rejected" for r in results for b in r.results) else 0


def _cmd_build(args: argparse.Namespace) -> int:
    from modelmart.build import build

    if args.quiet:
        os.environ["MODELMART_QUIET_DBT"] = "1"
    # a build is background work: on a shared machine the dashboard's requests win
    # the CPU (MODELMART_BUILD_NICE=0 turns this off)
    with contextlib.suppress(OSError, ValueError):
        os.nice(int(os.environ.get("MODELMART_BUILD_NICE", "10")))
    result = build(args.home, full_refresh=args.full_refresh, force=args.force)
    print(result.summary())
    if result.success and not result.up_to_date and not args.no_notify:
        _notify_after_build(args.home)
    return 0 if result.success else 1


def _notify_after_build(home: str | None) -> None:
    """Alert delivery after a publish: dry run unless MODELMART_NOTIFY=send; off
    with MODELMART_NOTIFY=off. A failing notify never fails the build."""
    from modelmart.notify.engine import run as notify

    mode = os.environ.get("MODELMART_NOTIFY", "dry_run").strip().lower()
    if mode == "off":
        return
    try:
        print(notify(home, send=mode == "send").summary())
    except UserError as exc:
        print(f"notify: skipped: {exc}")
    except Exception as exc:  # the build is published; delivery problems are reported, not raised
        from modelmart.notify.targets import redact

        print(f"notify: FAILED ({type(exc).__name__}: {redact(str(exc))}); the build stands")


def _send_asked(args: argparse.Namespace) -> bool:
    """--send, or MODELMART_NOTIFY=send: deliver instead of a dry run."""
    return args.send or os.environ.get("MODELMART_NOTIFY", "").strip().lower() == "send"


def _cmd_notify(args: argparse.Namespace) -> int:
    from modelmart.notify.engine import parse_now, run

    send = _send_asked(args)
    now = parse_now(args.now or os.environ.get("MODELMART_NOW"))
    result = run(args.home, send=send, now=now, routes_only=set(args.route) if args.route else None)
    print(result.summary())
    return 1 if result.counts.get("failed") else 0


def _cmd_report(args: argparse.Namespace) -> int:
    from modelmart.notify.report import send_report

    send = _send_asked(args)
    print(send_report(args.home, args.period, send=send, output=args.format, now_text=args.now))
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from modelmart.status import render

    print(render(args.home))
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from dash_app.app import create_app
    from dash_app.config import AppConfig

    config = AppConfig.from_env(args.home)
    if not config.warehouse.exists():
        print(
            f"note: nothing published yet at {config.warehouse}; pages say so until a build publishes"
        )
    app = create_app(config)
    login = "login on (MODELMART_USERS)" if config.auth_enabled else "no login"
    print(f"serving {config.warehouse} on http://{args.host}:{args.port}/ ({login}; Ctrl-C stops)")
    app.run(host=args.host, port=args.port, debug=args.debug, threaded=True)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from modelmart.build import build
    from modelmart.demo_data import DemoConfig, generate
    from modelmart.ingest import discover, ingest_file
    from modelmart.status import render

    paths = get_paths(args.home)
    if args.fresh and paths.home.exists():
        shutil.rmtree(paths.home)
    paths.ensure()
    config = DemoConfig(
        days=args.days,
        llm_calls_per_day=args.calls_per_day,
        predictions_per_day=args.predictions_per_day,
        seed=args.seed,
    )
    inbox = paths.home / "demo_input"
    shutil.rmtree(inbox, ignore_errors=True)
    started = time.monotonic()
    written = generate(inbox, config)
    print(
        f"generated {sum(written.values()):,} demo rows in {time.monotonic() - started:.1f}s: "
        + ", ".join(f"{k}={v:,}" for k, v in written.items())
    )
    started = time.monotonic()
    read = 0
    for path, stream in discover([inbox], None):
        result = ingest_file(path, stream, paths.home)
        read += result.read
        print("  " + result.summary())
    print(f"ingested {read:,} rows in {time.monotonic() - started:.1f}s")
    os.environ["MODELMART_QUIET_DBT"] = "1"
    result = build(paths.home)
    print(result.summary())
    if not result.success:
        return 1
    print()
    print(render(paths.home))
    print()
    print(_demo_summary(paths.warehouse))
    return 0


def _demo_summary(warehouse: Path) -> str:
    """A few headline figures read back from the published marts."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "select provider, sum(llm_calls), sum(cost_usd), sum(unpriced_calls), sum(tickets), "
            "sum(agent_resolved_tickets), sum(revenue_usd), max(latency_p95_ms) "
            "from marts.fct_dashboard_daily group by provider order by provider"
        ).fetchall()
        quality = con.execute(
            "select model_name, model_version, sum(predictions), sum(correct) / nullif(sum(labeled), 0), "
            "sum(labeled) / sum(predictions) from marts.fct_model_quality_daily group by 1, 2 order by 1, 2"
        ).fetchall()
    finally:
        con.close()
    lines = [
        "Headline figures (whole period, from marts.fct_dashboard_daily / fct_model_quality_daily):",
        f"  {'provider':<12}{'calls':>10}{'cost_usd':>12}{'unpriced':>10}{'tickets':>9}"
        f"{'agent%':>8}{'revenue_usd':>13}{'max daily p95 ms':>18}",
    ]
    for provider, calls, cost, unpriced, tickets, agent, revenue, p95 in rows:
        cost_text = f"{cost:,.2f}" if cost is not None else "unpriced"
        agent_text = f"{100 * agent / tickets:.1f}" if tickets else "-"
        p95_text = f"{p95:,.0f}" if p95 is not None else "-"
        lines.append(
            f"  {provider:<12}{calls:>10,}{cost_text:>12}{unpriced:>10,}{tickets:>9,}"
            f"{agent_text:>8}{revenue:>13,.2f}{p95_text:>18}"
        )
    for name, version, n, accuracy, coverage in quality:
        acc = f"{accuracy:.3f}" if accuracy is not None else "-"
        lines.append(
            f"  {name} {version}: predictions {n:,}, accuracy {acc}, label coverage {coverage:.2f}"
        )
    return "\n".join(lines)


def _cmd_collect(args: argparse.Namespace) -> int:
    from modelmart.collector import Collector

    Collector(
        args.home,
        host=args.host,
        port=args.port,
        max_bytes=args.max_bytes,
        max_events=args.max_events,
        promote_seconds=args.promote_seconds,
    ).run_until_signal()
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from modelmart.runloop import RunLoop

    with contextlib.suppress(OSError, ValueError):
        os.nice(int(os.environ.get("MODELMART_BUILD_NICE", "10")))
    RunLoop(
        args.home,
        watch=args.watch,
        interval=args.interval,
        settle_seconds=args.settle_seconds,
        on_publish=args.on_publish,
    ).run_until_signal(once=args.once)
    return 0


def _cmd_compact(args: argparse.Namespace) -> int:
    from modelmart.compact import compact

    results = compact(args.home, threshold=args.threshold)
    for r in results:
        print(r.summary())
    if not results:
        print("compact: nothing to merge")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from modelmart.build import project_dir

    if args.target == "prometheus-rules":
        from modelmart.prometheus_export import write_prometheus_rules

        report = write_prometheus_rules(
            project_dir(), Path(args.out or "modelmart_rules.yml"), args.app_url, not args.no_tests
        )
    else:
        from modelmart.grafana_export import write_grafana

        report = write_grafana(
            project_dir(), Path(args.out or "grafana"), args.datasource_url, args.app_url
        )
    print("\n".join(report))
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="modelmart",
        description="Ingest ML, LLM and business events, build the blended daily facts, inspect them.",
    )
    top.add_argument("--home", help="runtime folder (default: $MODELMART_HOME or ./data)")
    sub = top.add_subparsers(dest="command", required=True)

    ing = sub.add_parser(
        "ingest",
        help="validate and land event files (CSV, JSON Lines, Parquet)",
        description="Ingest files or folders. A folder named after a stream, or a folder "
        "holding stream folders, is ingested whole. Prints read = stored + duplicate + "
        "quarantined per file; exit code 1 if any file was rejected.",
    )
    ing.add_argument("paths", nargs="*", help="files or folders")
    ing.add_argument(
        "--spool",
        action="store_true",
        help="promote what the live loggers and the collector spooled into landing batches",
    )
    ing.add_argument(
        "--stream",
        choices=["predictions", "labels", "llm_calls", "business_events"],
        help="stream of the given files (default: the name of their folder)",
    )
    ing.add_argument(
        "--show-quarantined",
        type=int,
        default=3,
        metavar="N",
        help="print up to N quarantined rows per file (default 3)",
    )
    ing.set_defaults(func=_cmd_ingest)

    bld = sub.add_parser(
        "build",
        help="run dbt build and publish the warehouse atomically",
        description="Build the marts from every batch committed so far and publish "
        "$MODELMART_HOME/warehouse.duckdb. A failed build keeps the last good snapshot.",
    )
    bld.add_argument(
        "--full-refresh", action="store_true", help="rebuild incremental marts from scratch"
    )
    bld.add_argument(
        "--force",
        action="store_true",
        help="build even when no batch is new and the project did not change "
        "(by default such a build is skipped: its result would equal the published one)",
    )
    bld.add_argument("--quiet", action="store_true", help="print only dbt's errors")
    bld.add_argument(
        "--no-notify",
        action="store_true",
        help="do not run `modelmart notify` after publishing (it runs by default: a dry run, "
        "or a delivery with MODELMART_NOTIFY=send; MODELMART_NOTIFY=off disables it)",
    )
    bld.set_defaults(func=_cmd_build)

    demo = sub.add_parser(
        "demo",
        help="generate demo events, ingest them, build, print a summary",
        description="End-to-end run on seeded synthetic data (about 90 days by default).",
    )
    demo.add_argument("--days", type=int, default=90)
    demo.add_argument("--calls-per-day", type=int, default=2000)
    demo.add_argument("--predictions-per-day", type=int, default=1500)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument(
        "--keep",
        dest="fresh",
        action="store_false",
        help="keep existing data in MODELMART_HOME (default: start fresh)",
    )
    demo.set_defaults(func=_cmd_demo)

    st = sub.add_parser(
        "status",
        help="what is stored, quarantined, published, and how fresh",
        description="Counts per stream from the ingest manifests, quarantine reasons, "
        "the published snapshot's age and last dates, and the last build's outcome.",
    )
    st.set_defaults(func=_cmd_status)

    ntf = sub.add_parser(
        "notify",
        help="send the alerts that are due (dry run unless --send)",
        description="Evaluate the published alerts against the notification log and the routes "
        "(seeds/alert_routes.csv); print and write to $MODELMART_HOME/notify/outbox/ what is due. "
        "--send (or MODELMART_NOTIFY=send) delivers. Every attempt is logged in "
        "$MODELMART_HOME/notify/log.jsonl. Exit code 1 if a delivery failed.",
    )
    ntf.add_argument("--send", action="store_true", help="deliver (default: dry run)")
    ntf.add_argument(
        "--route", action="append", metavar="ROUTE_ID", help="only this route (repeatable)"
    )
    ntf.add_argument("--now", help="the clock, ISO 8601 UTC (default: now, or $MODELMART_NOW)")
    ntf.set_defaults(func=_cmd_notify)

    rep = sub.add_parser(
        "report",
        help="the daily or weekly written summary, from the marts",
        description="Deterministic digest of the period ending on the newest date in the marts, "
        "against the previous period. Prints it (Markdown by default); --send delivers it to the "
        "digest routes of that period.",
    )
    rep.add_argument("--period", choices=["daily", "weekly"], default="daily")
    rep.add_argument("--format", choices=["markdown", "html", "slack"], default="markdown")
    rep.add_argument("--send", action="store_true", help="deliver to the digest routes")
    rep.add_argument("--now", help="the clock, ISO 8601 UTC (default: now, or $MODELMART_NOW)")
    rep.set_defaults(func=_cmd_report)
    col = sub.add_parser(
        "collect",
        help="HTTP collector: POST /v1/events/<stream> and OTLP /v1/traces into the spool",
        description="Receive events (JSON array or NDJSON, gzip accepted) and OpenTelemetry "
        "GenAI spans (OTLP/HTTP JSON or protobuf), make them durable in the spool, promote "
        "them into landing batches. Bearer token from $MODELMART_COLLECTOR_TOKEN if set. "
        "SIGTERM stops it cleanly.",
    )
    col.add_argument("--host", default="127.0.0.1")
    col.add_argument("--port", type=int, default=4318, help="0 picks a free port (printed)")
    col.add_argument("--max-bytes", type=int, default=16 << 20, help="request body limit")
    col.add_argument("--max-events", type=int, default=100_000, help="events per request")
    col.add_argument(
        "--promote-seconds",
        type=float,
        default=5.0,
        help="promote the spool this often (0: leave it to `modelmart run`)",
    )
    col.set_defaults(func=_cmd_collect)

    rn = sub.add_parser(
        "run",
        help="loop: promote the spool, ingest watched folders, compact, build, publish, hooks",
        description="One long-running loop for one machine; one log line per cycle. A failed "
        "build keeps the last good snapshot and is retried next cycle. SIGTERM stops it "
        "after the cycle in progress. --once runs one cycle (for cron).",
    )
    rn.add_argument(
        "--watch",
        action="append",
        default=[],
        metavar="DIR",
        help="folder to ingest new files from (repeatable; stream folders inside)",
    )
    rn.add_argument("--interval", type=float, default=10.0, help="seconds between cycle starts")
    rn.add_argument(
        "--settle-seconds",
        type=float,
        default=2.0,
        help="a watched file is taken once unchanged this long",
    )
    rn.add_argument(
        "--on-publish",
        metavar="CMD",
        help="command run after each publish (MODELMART_HOME and "
        "MODELMART_PUBLISHED_BATCH_SEQ in its environment)",
    )
    rn.add_argument("--once", action="store_true", help="run one cycle and exit")
    rn.set_defaults(func=_cmd_run)

    cp = sub.add_parser(
        "compact",
        help="merge small landing files into big ones (rows and batch numbers kept)",
        description="Merge runs of small committed landing files; builds never see a "
        "half-done merge (see README, Live logging). Waits for a running build to end.",
    )
    cp.add_argument(
        "--threshold",
        type=int,
        default=1,
        help="only streams with more small files than this (default 1)",
    )
    cp.set_defaults(func=_cmd_compact)

    srv = sub.add_parser(
        "serve",
        help="serve the Dash app on the published warehouse",
        description="Development server (threaded). In production run "
        "`gunicorn -w 4 --threads 4 -b 0.0.0.0:8050 dash_app.wsgi:server` instead.",
    )
    srv.add_argument("--host", default="127.0.0.1")
    srv.add_argument("--port", type=int, default=8050)
    srv.add_argument("--debug", action="store_true", help="Dash dev tools and reloading")
    srv.set_defaults(func=_cmd_serve)

    exp = sub.add_parser(
        "export",
        help="generate Prometheus rules or a Grafana dashboard from the alert rules and SLOs",
        description="prometheus-rules: a rule file (recording and alerting rules from "
        "seeds/alert_rules.csv and seeds/slos.csv) and its promtool unit tests next to it. "
        "grafana: a dashboard JSON and provisioning YAML for the data source and folder.",
    )
    exp.add_argument("target", choices=["prometheus-rules", "grafana"])
    exp.add_argument(
        "--out",
        help="rule file (default modelmart_rules.yml) or folder for grafana (default grafana/)",
    )
    exp.add_argument(
        "--app-url",
        default=os.environ.get("MODELMART_APP_URL", "http://127.0.0.1:8050"),
        help="base URL of the Dash app for the alerts' links (default $MODELMART_APP_URL or "
        "http://127.0.0.1:8050)",
    )
    exp.add_argument(
        "--datasource-url",
        default=os.environ.get("MODELMART_PROMETHEUS_URL", "http://127.0.0.1:9090"),
        help="Prometheus URL for the Grafana data source (default $MODELMART_PROMETHEUS_URL)",
    )
    exp.add_argument("--no-tests", action="store_true", help="rule file only, no promtool tests")
    exp.set_defaults(func=_cmd_export)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as exc:
        print(f"modelmart: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("modelmart: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
