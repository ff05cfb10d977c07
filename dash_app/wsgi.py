"""WSGI entry for production servers: ``gunicorn dash_app.wsgi:server``.

Each worker opens its own read-only warehouse connections on first request (after
the fork), so ``--preload`` is safe.
"""

from dash_app.app import create_app

app = create_app()
server = app.server
