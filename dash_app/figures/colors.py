"""One colour per provider and per model version, on every page.

A series is coloured by what it is, not by its position in a chart's legend, so
openai is the same blue on Operations, Cost and the Overview, and churn_model/v2
the same colour on Model quality, Drift and Calibration. A provider's LLM models
are shades of its colour (a stacked bar of provider · model stays readable); a
team or other suffix of a series name keeps its provider's or model's colour.
Unknown names get a stable colour from a hash of the name (never from order).
"""

from __future__ import annotations

import zlib

PALETTE = ["#3b6fb6", "#e07b39", "#3a9d74", "#b5485d", "#7a5cb8", "#8c7a3e", "#4aa3b5", "#6b6b6b"]

PROVIDERS = {
    "openai": "#3b6fb6",
    "anthropic": "#e07b39",
    "google": "#3a9d74",
    "mistral": "#b5485d",
    "(none)": "#8a949e",
}

# a model's shade of its provider's colour: 0 = the colour itself, 1 darker, 2 lighter
LLM_MODELS = {
    "gpt-4o": ("openai", 0),
    "gpt-4o-mini": ("openai", 2),
    "claude-sonnet-4": ("anthropic", 0),
    "claude-haiku-4": ("anthropic", 2),
    "gemini-2.0-flash": ("google", 0),
    "mistral-large": ("mistral", 0),
}

# ML model versions (model_name/model_version)
VERSIONS = {
    "churn_model/v1": "#7a5cb8",
    "churn_model/v2": "#4aa3b5",
}
VERSION_PALETTE = ["#7a5cb8", "#4aa3b5", "#8c7a3e", "#c2185b", "#2e7d32", "#5d4037"]

SEPARATOR = " · "


def _hashed(name: str, palette: list[str]) -> str:
    return palette[zlib.crc32(name.encode()) % len(palette)]


def _shade(color: str, step: int) -> str:
    """Step 0: the colour; 1: 30 % darker; 2: 40 % lighter; 3: 55 % darker."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    if step in (1, 3):
        f = 0.7 if step == 1 else 0.45
        r, g, b = (int(v * f) for v in (r, g, b))
    elif step == 2:
        r, g, b = (int(v + (255 - v) * 0.4) for v in (r, g, b))
    return f"#{r:02x}{g:02x}{b:02x}"


def provider_color(provider: str) -> str:
    return PROVIDERS.get(provider) or _hashed(provider, PALETTE)


def model_color(provider: str, model: str) -> str:
    known = LLM_MODELS.get(model)
    if known and known[0] == provider:
        return _shade(provider_color(provider), known[1])
    return _shade(provider_color(provider), zlib.crc32(model.encode()) % 4)


def version_color(version: str) -> str:
    return VERSIONS.get(version) or _hashed(version, VERSION_PALETTE)


def series_color(name: str) -> str | None:
    """The colour of a series named `provider`, `provider · model[ · team]`, a
    version `name/version`, or a version series with a suffix (``churn_model/v2
    label coverage``); None for anything else (the theme's colourway applies)."""
    parts = name.split(SEPARATOR)
    head = parts[0]
    if head in PROVIDERS or (len(parts) > 1 and parts[1] in LLM_MODELS):
        return model_color(head, parts[1]) if len(parts) > 1 else provider_color(head)
    version = head.split(" ", 1)[0]
    if "/" in version and len(parts) == 1:  # "version · feature" lines need their own colours
        return version_color(version)
    if head in LLM_MODELS:  # a model on its own
        provider, _ = LLM_MODELS[head]
        return model_color(provider, head)
    return None


DASHES = ["solid", "dot", "dash", "dashdot"]
TEAMS = {"support": "solid", "sales": "dot", "search": "dash", "unassigned": "dashdot"}


def series_dash(name: str) -> str | None:
    """The line dash of a `provider · model · team` series: one per team, so a
    team's line looks the same under every model."""
    parts = name.split(SEPARATOR)
    if len(parts) < 3:
        return None
    team = parts[2]
    return TEAMS.get(team) or DASHES[zlib.crc32(team.encode()) % len(DASHES)]
