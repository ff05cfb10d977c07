"""One dbt exposure per app page, listing exactly what the page reads.

What a page reads is found in the code, not declared twice: every function of
the ``dash_app`` package the page module reaches (its imports, and what those
call, through the components and the data layer) is walked, and the relations
named in their SQL (``marts.X`` / ``reference.X``) are collected. That set must
equal the page's exposure depends_on in models/marts/_marts__exposures.yml, and
dbt must resolve the exposures into the DAG.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import types
from pathlib import Path

import pytest
import yaml

from dash_app.app import create_app
from dash_app.config import AppConfig
from tests.conftest import run_dbt

ROOT = Path(__file__).resolve().parents[1]
EXPOSURES = ROOT / "models" / "marts" / "_marts__exposures.yml"
RELATION = re.compile(r"\b(?:marts|reference)\.([a-z][a-z0-9_]*)")
REF = re.compile(r"^ref\('([a-z0-9_]+)'\)$")


def pages() -> list[str]:
    return sorted(
        p.stem
        for p in (ROOT / "dash_app" / "pages").glob("*.py")
        if p.stem not in ("__init__", "not_found_404")
    )


def relations_read(page: str) -> set[str]:
    """Relations named in the SQL of every dash_app function the page reaches."""
    module = importlib.import_module(f"dash_app.pages.{page}")
    seen: set[types.FunctionType] = set()
    found: set[str] = set()

    def visit_code(code: types.CodeType, namespace: dict) -> None:
        for name in code.co_names:
            visit(namespace.get(name))
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                visit_code(const, namespace)
            elif isinstance(const, str):
                found.update(RELATION.findall(const))

    def visit(obj: object) -> None:
        if (
            isinstance(obj, types.FunctionType)
            and obj.__module__.startswith("dash_app")
            and obj not in seen
        ):
            seen.add(obj)
            visit_code(obj.__code__, obj.__globals__)

    for obj in vars(module).values():
        visit(obj)
    return found


@pytest.fixture(scope="module")
def exposures() -> dict[str, list[str]]:
    # dash.register_page needs an app; nothing is read from the warehouse
    create_app(AppConfig(warehouse=Path("/nonexistent/warehouse.duckdb")))
    declared = yaml.safe_load(EXPOSURES.read_text())["exposures"]
    out = {}
    for exposure in declared:
        refs = [REF.match(d) for d in exposure["depends_on"]]
        assert all(refs), f"{exposure['name']}: depends_on entries must be ref('...')"
        out[exposure["name"]] = [m.group(1) for m in refs]
    return out


def test_every_page_has_one_exposure(exposures: dict[str, list[str]]) -> None:
    assert sorted(exposures) == [f"app_{page}" for page in pages()]


@pytest.mark.parametrize("page", pages())
def test_exposure_lists_exactly_what_the_page_reads(
    page: str, exposures: dict[str, list[str]]
) -> None:
    read = relations_read(page)
    assert read, f"no relation found for {page}: the walk is broken"
    declared = set(exposures[f"app_{page}"])
    assert read <= declared, f"app_{page} lacks {sorted(read - declared)}"
    assert declared <= read, f"app_{page} lists {sorted(declared - read)} it does not read"


def test_the_walk_sees_through_components_and_the_catalog() -> None:
    """Known reads: the filter options (components.page → data.options) and the
    mart catalog behind where() (data.catalog) are reached."""
    create_app(AppConfig(warehouse=Path("/nonexistent/warehouse.duckdb")))
    read = relations_read("drift")
    assert {"fct_feature_drift_daily", "fct_llm_usage_daily", "mart_catalog"} <= read


def test_dbt_resolves_the_exposures_into_the_dag(tmp_path: Path) -> None:
    env = {**os.environ, "MODELMART_HOME": str(tmp_path), "MODELMART_BUILD_DB": ":memory:"}
    run = run_dbt(["parse"], ROOT, env, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    declared = yaml.safe_load(EXPOSURES.read_text())["exposures"]
    for exposure in declared:
        node = manifest["exposures"][f"exposure.modelmart.{exposure['name']}"]
        names = sorted(n.rsplit(".", 1)[-1] for n in node["depends_on"]["nodes"])
        assert names == sorted(REF.match(d).group(1) for d in exposure["depends_on"])
        # every node it depends on is a model or a seed of the project
        for unique_id in node["depends_on"]["nodes"]:
            assert unique_id.split(".")[0] in ("model", "seed"), unique_id
