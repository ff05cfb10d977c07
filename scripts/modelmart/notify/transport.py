"""One JSON POST with a timeout, its failure classified for the retry loop above."""

from __future__ import annotations

import email.utils
import json
import time
import urllib.error
import urllib.request
from typing import Any

from modelmart.notify.base import DeliveryError


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


def post_json(url: str, body: Any, timeout: float, headers: dict[str, str] | None = None) -> int:
    """POST ``body`` as JSON; returns the 2xx status. 429 and 5xx and timeouts are
    retryable, every other 4xx is not (a bad payload does not get better)."""
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "modelmart-notify",
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        text = exc.read()[:200].decode("utf-8", "replace").strip()
        retryable = exc.code == 429 or exc.code >= 500
        raise DeliveryError(
            f"HTTP {exc.code}: {text}",
            retryable=retryable,
            status=exc.code,
            retry_after=_retry_after(exc.headers.get("Retry-After")) if retryable else None,
        ) from None
    except TimeoutError as exc:
        raise DeliveryError(f"timed out after {timeout:g}s", retryable=True) from exc
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise DeliveryError(f"timed out after {timeout:g}s", retryable=True) from exc
        raise DeliveryError(f"cannot connect: {reason}", retryable=True) from exc
    except (ConnectionError, OSError) as exc:
        raise DeliveryError(f"connection failed: {exc}", retryable=True) from exc
