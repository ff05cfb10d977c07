"""The Dash app factory: pages, shell (navbar, freshness banner), URL-kept filters."""

from __future__ import annotations

import datetime as dt
import importlib
import threading
import time
from pathlib import Path

import dash
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
    return app


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
    info: dict | None, stale_after_hours: float, now: float | None = None
) -> tuple[list, str]:
    """Freshness line: age of the published snapshot and the newest data dates."""
    if info is None:
        return (
            ["No warehouse published yet: run ", html.Code("modelmart build"), "."],
            "banner banner-stale",
        )
    age_h = ((now or time.time()) - info["published_at"]) / 3600
    published = dt.datetime.fromtimestamp(info["published_at"], dt.UTC).strftime(
        "%Y-%m-%d %H:%M UTC"
    )
    newest = ", ".join(
        f"{name.replace('_', ' ')} {day}" for name, day in info["newest"].items() if day
    )
    age = f"{age_h * 60:.0f} min" if age_h < 1 else f"{age_h:.1f} h"
    text = f"Data published {published} ({age} ago) · newest dates: {newest or 'none'}"
    if age_h > stale_after_hours:
        return [
            f"Stale: {text}. No build has published for over {stale_after_hours:g} h."
        ], "banner banner-stale"
    return [text], "banner banner-fresh"


def _freshness_or_none() -> dict | None:
    try:
        return freshness(reader())
    except NoWarehouse:
        return None


def _shell() -> html.Div:
    config = app_config()
    info = _freshness_or_none()
    children, class_name = banner(info, config.stale_after_hours)
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
        children, class_name = banner(info, app_config().stale_after_hours)
        key = info["key"] if info else None
        # a new key re-runs every page callback: the new snapshot shows without a reload
        return children, class_name, (key if key != known_key else no_update)

    @app.callback(
        Output("url", "search"),
        Input("f-dates", "start_date"),
        Input("f-dates", "end_date"),
        Input({"type": "filter", "field": ALL}, "value"),
        State({"type": "filter", "field": ALL}, "id"),
        State("f-carry", "data"),
        State("url", "search"),
        prevent_initial_call=True,
    )
    def keep_filters_in_url(start, end, values, ids, carry, search):
        chosen = {**(carry or {}), **{i["field"]: v for i, v in zip(ids, values, strict=True)}}
        return Filters.from_controls(start, end, chosen).to_search_keeping(search)

    @app.callback(
        Output({"type": "nav", "page": ALL}, "href"),
        Input("url", "search"),
        State({"type": "nav", "page": ALL}, "id"),
    )
    def nav_keeps_filters(search, ids):
        # links carry the filters so a view can move between pages without losing them
        return [f"{i['page']}{search or ''}" for i in ids]
