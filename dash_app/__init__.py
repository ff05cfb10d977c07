"""modelmart's Dash app: executive, operations, model quality, cost and alerts pages."""

from __future__ import annotations


def create_app(*args, **kwargs):
    """See dash_app.app.create_app (imported lazily: importing the package is cheap)."""
    from dash_app.app import create_app as factory

    return factory(*args, **kwargs)
