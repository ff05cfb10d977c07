"""The Dash app factory: pages, shell (navbar, freshness banner), URL-kept filters."""

from __future__ import annotations

import datetime as dt
import importlib
import threading
import time
from dataclasses import replace
from pathlib import Path

import dash
import flask
from dash import ALL, Dash, Input, Output, State, dcc, html, no_update

from dash_app import auth, metrics
from dash_app.config import AppConfig
from dash_app.context import app_config, can_see_cost, reader
from dash_app.data.filters import Filters
from dash_app.data.options import freshness
from dash_app.data.warehouse import NoWarehouse, SnapshotReader

PAGES = (
    "overview",
    "operations",
    "quality",
    "drift",
    "calibration",
    "cost",
    "alerts",
    "experiments",
    "slo",
    "not_found_404",
)


def create_app(config: AppConfig | None = None) -> Dash:
    """Build the app; nothing touches the warehouse until a request arrives."""
    config = config or AppConfig.from_env()
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder="",
        assets_folder=str(Path(__file__).parent / "assets"),
        title="modelmart",
        suppress_callback_exceptions=True,
        update_title=None,
    )
    app.server.config["MODELMART_CONFIG"] = config
    app.server.config["MODELMART_READER"] = SnapshotReader(config.warehouse)
    auth.install(app.server, config)
    metrics.install(app.server)
    for name in PAGES:
        importlib.import_module(f"dash_app.pages.{name}")
    app.layout = _shell
    _register_shell_callbacks(app)
    _serialise_first_request_setup(app)
    _answer_404_for_unknown_pages(app)
    return app


def _answer_404_for_unknown_pages(app: Dash) -> None:
    """Dash serves its shell for every path (the catch-all route) and the page
    container then shows the not-found page, with HTTP 200. A path that is no
    page answers 404 instead, still with the shell, so the browser shows the
    not-found page and clients, crawlers and probes see the real status."""
    catch_all = f"{app.config.routes_pathname_prefix}<path:path>"

    @app.server.after_request
    def not_found_status(response):
        request = flask.request
        if request.endpoint == catch_all and response.status_code == 200:
            path = "/" + request.path[len(app.config.routes_pathname_prefix) :].strip("/")
            pages = {
                page["path"].rstrip("/") or "/"
                for page in dash.page_registry.values()
                if page["path"] != "/404"
            }
            if path not in pages:
                response.status_code = 404
        return response


def _serialise_first_request_setup(app: Dash) -> None:
    """Dash moves the callbacks registered with `dash.callback` (every page's) into
    the app on a worker's first request, but marks that setup done *before* moving
    them: a second thread's request in that window finds no callback ("Callback
    function not found", HTTP 500; seen under gunicorn threads during a publish).
    The setup hook runs under a lock, so every request waits for the whole setup."""
    hooks = app.server.before_request_funcs.setdefault(None, [])
    setup = app._setup_server
    if setup not in hooks:  # another Dash version: nothing of this shape to guard
        return
    lock = threading.Lock()

    def setup_once() -> None:
        with lock:
            setup()

    hooks[hooks.index(setup)] = setup_once


def _navbar() -> html.Nav:
    links = [
        dcc.Link(
            page["name"],
            href=page["relative_path"],
            id={"type": "nav", "page": page["relative_path"]},
            className="nav-link",
        )
        for page in dash.page_registry.values()
        if page["path"] != "/404" and (page["path"] != "/cost" or can_see_cost())
    ]
    return html.Nav(
        [html.Span("modelmart", className="brand"), html.Div(links, className="nav-links")],
        className="navbar",
    )


def banner(
    info: dict | None,
    stale_after_hours: float,
    now: float | None = None,
    stale_data_days: float = 2.0,
) -> tuple[list, str]:
    """Freshness line: age of the published snapshot and the newest data dates.
    Stale when no build published for stale_after_hours, or when a stream's newest
    event date is more than stale_data_days whole days before today (UTC): a build
    that keeps publishing the same old events is not fresh data."""
    if info is None:
        return (
            ["No warehouse published yet: run ", html.Code("modelmart build"), "."],
            "banner banner-stale",
        )
    now = now or time.time()
    age_h = (now - info["published_at"]) / 3600
    published = dt.datetime.fromtimestamp(info["published_at"], dt.UTC).strftime(
        "%Y-%m-%d %H:%M UTC"
    )
    newest = ", ".join(
        f"{name.replace('_', ' ')} {day}" for name, day in info["newest"].items() if day
    )
    age = f"{age_h * 60:.0f} min" if age_h < 1 else f"{age_h:.1f} h"
    text = f"Data published {published} ({age} ago) · newest dates: {newest or 'none'}"
    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    old = {
        name.replace("_", " "): (today - day).days
        for name, day in info["newest"].items()
        if day and (today - day).days > stale_data_days
    }
    reasons = []
    if age_h > stale_after_hours:
        reasons.append(f"No build has published for over {stale_after_hours:g} h.")
    if old:
        reasons.append(
            "Newest events are over "
            + f"{stale_data_days:g} days old: "
            + ", ".join(f"{name} {days} days" for name, days in old.items())
            + "."
        )
    if reasons:
        return [f"Stale: {text}. {' '.join(reasons)}"], "banner banner-stale"
    return [text], "banner banner-fresh"


def _freshness_or_none() -> dict | None:
    try:
        return freshness(reader())
    except NoWarehouse:
        return None


def _shell() -> html.Div:
    config = app_config()
    info = _freshness_or_none()
    children, class_name = banner(
        info, config.stale_after_hours, stale_data_days=config.stale_data_days
    )
    return html.Div(
        [
            dcc.Location(id="url", refresh=False),
            dcc.Store(id="snapshot", data=info["key"] if info else None),
            dcc.Interval(id="freshness-tick", interval=config.refresh_seconds * 1000),
            _navbar(),
            html.Div(children, id="banner", className=class_name, role="status"),
            html.Main(dash.page_container, className="content"),
        ],
        className="shell",
    )


def _register_shell_callbacks(app: Dash) -> None:
    @app.callback(
        Output("banner", "children"),
        Output("banner", "className"),
        Output("snapshot", "data"),
        Input("freshness-tick", "n_intervals"),
        State("snapshot", "data"),
        prevent_initial_call=True,
    )
    def refresh_banner(_ticks: int, known_key: str | None):
        info = _freshness_or_none()
        config = app_config()
        children, class_name = banner(
            info, config.stale_after_hours, stale_data_days=config.stale_data_days
        )
        key = info["key"] if info else None
        # a new key re-runs every page callback: the new snapshot shows without a reload
        return children, class_name, (key if key != known_key else no_update)

    @app.callback(
        Output("url", "search"),
        Input("f-dates", "start_date"),
        Input("f-dates", "end_date"),
        Input({"type": "filter", "field": ALL}, "value"),
        Input({"type": "page-param", "name": ALL}, "value"),
        State({"type": "filter", "field": ALL}, "id"),
        State({"type": "page-param", "name": ALL}, "id"),
        State("f-carry", "data"),
        State("f-default-dates", "data"),
        State("url", "search"),
        prevent_initial_call=True,
    )
    def keep_filters_in_url(start, end, values, params, ids, param_ids, carry, default, search):
        chosen = {**(carry or {}), **{i["field"]: v for i, v in zip(ids, values, strict=True)}}
        filters = Filters.from_controls(start, end, chosen)
        # dates go into the URL only once chosen: a link without dates follows the
        # newest data (the default range), so a reload or a shared link shows new days
        if not Filters.from_search(search).has_dates and Filters.is_default_range(filters, default):
            filters = replace(filters, start=None, end=None)
        own = {p["name"]: v for p, v in zip(param_ids, params, strict=True)}
        return filters.to_search_keeping(search, own)

    @app.callback(
        Output({"type": "nav", "page": ALL}, "href"),
        Input("url", "search"),
        State({"type": "nav", "page": ALL}, "id"),
    )
    def nav_keeps_filters(search, ids):
        # links carry the filters so a view can move between pages without losing them
        return [f"{i['page']}{search or ''}" for i in ids]
