"""App settings, all from the environment so one image serves every deployment.

- ``MODELMART_HOME``: runtime folder; the app reads ``$MODELMART_HOME/warehouse.duckdb``.
- ``MODELMART_STALE_HOURS`` (default 26): the banner warns when the published
  snapshot is older than this.
- ``MODELMART_STALE_DATA_DAYS`` (default 2): the banner also warns when a
  stream's newest event date (LLM calls, predictions, business events) is more
  than this many whole days before today (UTC).
- ``MODELMART_USERS``: turns login on. Comma-separated ``user:role:password_hash``
  entries, role one of viewer, finance, engineer; the hash from
  ``werkzeug.security.generate_password_hash``. Unset: no login (local demo).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from modelmart.config import UserError, get_paths

ROLES = ("viewer", "finance", "engineer")
COST_ROLES = ("finance", "engineer")


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password_hash: str


@dataclass(frozen=True)
class AppConfig:
    warehouse: Path
    stale_after_hours: float = 26.0
    stale_data_days: float = 2.0
    refresh_seconds: int = 30
    users: dict[str, User] = field(default_factory=dict)

    @property
    def auth_enabled(self) -> bool:
        return bool(self.users)

    @classmethod
    def from_env(cls, home: str | Path | None = None) -> AppConfig:
        return cls(
            warehouse=get_paths(home).warehouse,
            stale_after_hours=float(os.environ.get("MODELMART_STALE_HOURS", "26")),
            stale_data_days=_days("MODELMART_STALE_DATA_DAYS", "2"),
            users=parse_users(os.environ.get("MODELMART_USERS", "")),
        )


def _days(name: str, default: str) -> float:
    text = os.environ.get(name, default)
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise UserError(f"{name}={text!r}: expected a number of days ≥ 0")
    return value


def parse_users(text: str) -> dict[str, User]:
    users: dict[str, User] = {}
    for number, entry in enumerate(filter(None, (e.strip() for e in text.split(","))), start=1):
        parts = entry.split(":", 2)
        if len(parts) != 3 or not parts[0] or not parts[2]:
            raise UserError(f"MODELMART_USERS entry {number}: expected user:role:password_hash")
        name, role, password_hash = parts
        if role not in ROLES:
            raise UserError(
                f"MODELMART_USERS entry {number} ({name}): role {role!r} is not one of {', '.join(ROLES)}"
            )
        users[name] = User(name, role, password_hash)
    return users
