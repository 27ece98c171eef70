"""The layout DESIGN.md describes: the Airflow side (dags/, plugins/) never imports the sandboxes or the MAX
gateway, which are services of their own; the gateway stands alone; nothing test-only ships in plugins/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
AIRFLOW_SIDE = [PROJECT_ROOT / "dags", PROJECT_ROOT / "plugins"]
LIBRARY_LINES_LIMIT = 450  # "no library file over about 400 lines does several jobs"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def python_files(*roots: Path) -> list[Path]:
    return sorted(path for root in roots for path in root.rglob("*.py") if ".venv" not in path.parts)


@pytest.mark.parametrize("path", python_files(*AIRFLOW_SIDE), ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_the_airflow_side_never_imports_the_sandboxes_the_gateway_or_graphql(path):
    forbidden = {module for module in imported_modules(path)
                 if module.split(".")[0] in ("sandboxes", "max_gateway", "graphql")}
    assert not forbidden, f"{path.relative_to(PROJECT_ROOT)} imports {sorted(forbidden)}"


@pytest.mark.parametrize("path", python_files(PROJECT_ROOT / "max_gateway"),
                         ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_the_gateway_is_a_service_of_its_own(path):
    """It runs beside MAX, not beside Airflow: it imports neither the integration library nor the sandboxes."""
    foreign = {module for module in imported_modules(path)
               if module.split(".")[0] in ("shopify_max", "sandboxes", "airflow")}
    assert not foreign, f"{path.relative_to(PROJECT_ROOT)} imports {sorted(foreign)}"


def test_no_sandbox_or_gateway_code_ships_in_the_airflow_package():
    package = PROJECT_ROOT / "plugins" / "shopify_max"
    assert not (package / "sandboxes").exists() and not (package / "demo.py").exists()
    assert not list(package.rglob("openapi.yaml"))


@pytest.mark.parametrize("path", python_files(PROJECT_ROOT / "plugins"), ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_library_files_stay_small_enough_to_do_one_job(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= LIBRARY_LINES_LIMIT, f"{path.relative_to(PROJECT_ROOT)} has {lines} lines: split it by concern"
