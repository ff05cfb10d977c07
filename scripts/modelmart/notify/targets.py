"""Targets read their secrets from the environment; everything printed is redacted.

Target ``default`` of a channel reads the channel's variables as named below;
target ``oncall`` reads the same names with the suffix ``_ONCALL``. Variables
marked shared (the SMTP server, the sender, the receiver URLs) fall back to the
unsuffixed name, destinations (a webhook URL, a routing key, recipients) do not.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Mapping

PAGERDUTY_ENQUEUE = "https://events.pagerduty.com/v2/enqueue"

# channel -> (setting, variable, required, shared with the default target, secret)
VARIABLES: dict[str, list[tuple[str, str, bool, bool, bool]]] = {
    "slack": [("url", "MODELMART_SLACK_WEBHOOK_URL", True, False, True)],
    "webhook": [("url", "MODELMART_WEBHOOK_URL", True, False, True)],
    "pagerduty": [
        ("routing_key", "MODELMART_PAGERDUTY_ROUTING_KEY", True, False, True),
        ("url", "MODELMART_PAGERDUTY_URL", False, True, False),
    ],
    "email": [
        ("smtp_url", "MODELMART_SMTP_URL", True, True, True),
        ("from", "MODELMART_ALERT_EMAIL_FROM", True, True, False),
        ("to", "MODELMART_ALERT_EMAIL_TO", True, False, False),
    ],
    "alertmanager": [("url", "MODELMART_ALERTMANAGER_URL", True, False, False)],
}
DEFAULTS = {("pagerduty", "url"): PAGERDUTY_ENQUEUE}


def variable_name(base: str, target: str) -> str:
    return base if target == "default" else f"{base}_{target.upper()}"


def resolve(
    channel: str, target: str, env: Mapping[str, str] | None = None
) -> tuple[dict[str, str], list[str]]:
    """The target's settings, and the names of required variables that are unset."""
    env = os.environ if env is None else env
    settings: dict[str, str] = {}
    missing: list[str] = []
    for setting, base, required, shared, _secret in VARIABLES[channel]:
        name = variable_name(base, target)
        value = (
            env.get(name) or (env.get(base) if shared else None) or DEFAULTS.get((channel, setting))
        )
        if value:
            settings[setting] = value
        elif required:
            missing.append(name)
    return settings, missing


def secret_values(env: Mapping[str, str] | None = None) -> list[str]:
    """Every value that must never be printed: secret variables of any target, and
    the password and path/query of any URL-valued variable."""
    env = os.environ if env is None else env
    bases = [base for specs in VARIABLES.values() for _s, base, _r, _sh, secret in specs if secret]
    urls = [base for specs in VARIABLES.values() for _s, base, *_ in specs if base.endswith("URL")]
    values: set[str] = set()
    for name, value in env.items():
        if not value:
            continue
        if any(name == b or name.startswith(b + "_") for b in bases):
            values.add(value)
        if any(name == b or name.startswith(b + "_") for b in urls):
            parts = urllib.parse.urlsplit(value)
            if parts.password:
                values.add(parts.password)
            if parts.username:
                values.add(parts.username)
            if parts.path not in ("", "/"):
                values.add(parts.path)
            if parts.query:
                values.add(parts.query)
    return sorted(values, key=len, reverse=True)


def redact(text: str, env: Mapping[str, str] | None = None) -> str:
    """``text`` with every secret replaced by ***, and any URL's credentials too."""
    for value in secret_values(env):
        if len(value) >= 4:
            text = text.replace(value, "***")
    return re.sub(r"(://)[^/@\s:]+:[^/@\s]+@", r"\1***:***@", text)
