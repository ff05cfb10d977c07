"""Drive the app over HTTP the way the browser does, without a browser.

Used by the serving tests and by ``scripts/bench_dash.py`` (which puts the
repository root on ``sys.path`` to import it): fetch the callback
graph from ``/_dash-dependencies`` once, then build ``/_dash-update-component``
requests for any callback from the values you give its inputs and states.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from typing import Any


def _parse_id(text: str) -> str | dict:
    return json.loads(text) if text.startswith("{") else text


@dataclass
class Probe:
    base: str
    headers: dict[str, str]
    graph: list[dict]

    @classmethod
    def connect(cls, base: str, headers: dict[str, str] | None = None) -> Probe:
        probe = cls(base.rstrip("/"), dict(headers or {}), [])
        probe.graph = json.loads(probe.get("/_dash-dependencies"))
        return probe

    def get(self, path: str, timeout: float = 30) -> bytes:
        request = urllib.request.Request(self.base + path, headers=self.headers)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()

    def callback(self, output_contains: str, values: dict[str, Any], timeout: float = 30) -> dict:
        """Call the callback whose output names `output_contains`. `values` maps
        "id.property" (dict ids as their JSON text) to the value to send."""
        dep = next(d for d in self.graph if output_contains in d["output"])

        def items(kind: str) -> list[dict]:
            out = []
            for item in dep[kind]:
                key = f"{item['id']}.{item['property']}"
                out.append(
                    {
                        "id": _parse_id(item["id"]),
                        "property": item["property"],
                        "value": values.get(key),
                    }
                )
            return out

        outputs = [
            {"id": _parse_id(part.rsplit(".", 1)[0]), "property": part.rsplit(".", 1)[1]}
            for part in dep["output"].strip(".").split("...")
        ]
        body = {
            "output": dep["output"],
            "outputs": outputs if dep["output"].startswith("..") else outputs[0],
            "inputs": items("inputs"),
            "state": items("state"),
            "changedPropIds": [f"{item['id']}.{item['property']}" for item in dep["inputs"][:1]],
        }
        request = urllib.request.Request(
            self.base + "/_dash-update-component",
            data=json.dumps(body).encode(),
            headers={**self.headers, "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
