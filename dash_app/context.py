"""What a callback or layout needs from the running app: the reader and the user's role.

Both hang off the Flask app created by ``create_app``; nothing is module-global.
"""

from __future__ import annotations

import flask

from dash_app.config import COST_ROLES, AppConfig
from dash_app.data.warehouse import SnapshotReader


def reader() -> SnapshotReader:
    return flask.current_app.config["MODELMART_READER"]


def app_config() -> AppConfig:
    return flask.current_app.config["MODELMART_CONFIG"]


def role() -> str | None:
    """The signed-in user's role; None when login is off (everything allowed)."""
    return flask.g.get("modelmart_role")


def can_see_cost() -> bool:
    current = role()
    return current is None or current in COST_ROLES
