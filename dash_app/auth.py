"""Optional HTTP basic login with roles, enforced on every request of the server.

Off unless ``MODELMART_USERS`` is set. When on, every page, asset and callback
request needs valid credentials, and the cost page (its HTML route and every
callback whose outputs are ``cost-*`` components) needs role finance or engineer.
Run behind TLS in production: basic auth sends the password with each request.
"""

from __future__ import annotations

import flask
from werkzeug.security import check_password_hash

from dash_app.config import COST_ROLES, AppConfig

COST_PATH = "/cost"
COST_PREFIX = "cost-"


def _denied(status: int, text: str) -> flask.Response:
    response = flask.Response(text, status=status, mimetype="text/plain")
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="modelmart", charset="UTF-8"'
    return response


def _touches_cost(request: flask.Request) -> bool:
    if request.path.rstrip("/").endswith(COST_PATH):
        return True
    if request.path.endswith("/_dash-update-component"):
        body = request.get_json(silent=True) or {}
        return COST_PREFIX in str(body.get("output", ""))
    return False


def install(server: flask.Flask, config: AppConfig) -> None:
    if not config.auth_enabled:
        return

    @server.before_request
    def _require_login() -> flask.Response | None:
        credentials = flask.request.authorization
        user = config.users.get(credentials.username) if credentials else None
        if (
            user is None
            or credentials is None
            or not check_password_hash(user.password_hash, credentials.password or "")
        ):
            return _denied(401, "modelmart: sign in required")
        flask.g.modelmart_role = user.role
        if user.role not in COST_ROLES and _touches_cost(flask.request):
            return _denied(403, "modelmart: the cost page is for finance and engineer roles")
        return None
