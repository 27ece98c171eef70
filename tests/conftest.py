"""Shared fixtures: real databases for the sync store (and anything else that needs one).

``database_url`` is parametrised over SQLite and PostgreSQL, so every test that uses it runs on both.
PostgreSQL comes from ``SHOPIFY_MAX_TEST_PG_URL`` (default: the local server on 127.0.0.1:5432).
Each test gets its own fresh schema, dropped afterwards. Without a reachable PostgreSQL the
PostgreSQL variants skip, except under ``CI=true``, where they fail: CI must prove both backends.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The library (plugins/) and, beside it, the services the tests run: max_gateway/ and sandboxes/. Subprocesses
# the tests start inherit the same path.
for _path in (PROJECT_ROOT, PROJECT_ROOT / "plugins"):
    sys.path.insert(0, str(_path))
os.environ["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT / "plugins"), str(PROJECT_ROOT)])

# Airflow reads its configuration at import: point it at a throw-away home before anything imports it,
# so the tests never touch the demo's `.airflow/` and always parse this checkout's dags/ and plugins/.
AIRFLOW_TEST_HOME = Path(tempfile.mkdtemp(prefix="shopify-max-airflow-test-"))
for _name in [name for name in os.environ if name.startswith("AIRFLOW__") or name.startswith("AIRFLOW_CONN_")]:
    del os.environ[_name]  # nothing from `make`'s environment or the demo's home leaks into the tests
os.environ.update(
    {
        "AIRFLOW_HOME": str(AIRFLOW_TEST_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW__CORE__FERNET_KEY": "oVG4yLbsUAQr4N5c4Kd7m8qZ3FZ0Gx8W0nq0o8m9y5k=",  # test-only key
    }
)

PG_URL = os.environ.get("SHOPIFY_MAX_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _postgres_reachable() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Markers `make test-fast` leaves out, given by what a test uses rather than written on each one: the
    PostgreSQL half of every backend-parametrised test is ``postgresql``; a test that needs Airflow's metadata
    DB (a real DAG run, the airflow CLI) is ``slow``."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and any(value in ("postgresql", "max") for value in callspec.params.values()):
            item.add_marker(pytest.mark.postgresql)
        if "airflow_metadata_db" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    reason = _postgres_reachable()
    if reason is None:
        return True
    if IN_CI:
        pytest.fail(f"CI=true but PostgreSQL at {PG_URL} is unreachable ({reason}); CI must not skip it")
    return False


@pytest.fixture
def make_database_url(tmp_path: Path, postgres_available: bool) -> Iterator[Callable[[str], str]]:
    """Factory: ``make_database_url("sqlite")`` or ``("postgresql")`` gives a fresh, empty database URL."""
    import sqlalchemy as sa

    schemas: list[str] = []

    def make(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / f'db_{uuid.uuid4().hex[:8]}.sqlite'}"
        if backend == "postgresql":
            if not postgres_available:
                pytest.skip(f"PostgreSQL at {PG_URL} is not reachable (set CI=true to make this a failure)")
            schema = f"t_{uuid.uuid4().hex[:12]}"
            engine = sa.create_engine(PG_URL)
            with engine.begin() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
            engine.dispose()
            schemas.append(schema)
            separator = "&" if "?" in PG_URL else "?"
            return f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
        raise ValueError(backend)

    yield make

    if schemas:
        engine = sa.create_engine(PG_URL)
        with engine.begin() as conn:
            for schema in schemas:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, make_database_url: Callable[[str], str]) -> str:
    """A fresh database URL, once on SQLite and once on PostgreSQL."""
    return make_database_url(request.param)


@pytest.fixture
def sync_store(database_url: str):
    from shopify_max.sync_store import SyncStore

    store = SyncStore.from_url(database_url)
    yield store
    store.dispose()


@pytest.fixture(scope="session")
def airflow_metadata_db() -> Path:
    """A migrated Airflow metadata DB (SQLite) in the test home: what ``dag.test()`` needs."""
    env = {**os.environ}
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"airflow db migrate failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return AIRFLOW_TEST_HOME


@pytest.fixture(scope="session")
def dag_bag():
    """One DagBag for every DAG test (parsing is the expensive part)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    # dag.test(run_conf=…) writes the conf into the DAG's and each task's Param objects, so a value one run gave
    # (dry_run, a backfill window) would be the next run's default in this process: restore_declared_params.
    declared = {dag_id: [(params, {key: params.get_param(key).value for key in params})
                         for params in (dag.params, *(task.params for task in dag.tasks))]
                for dag_id, dag in bag.dags.items()}

    def restore_declared_params(dag_ids=None) -> None:
        """Every Param of these DAGs (default: all) back to the value its DAG file declares."""
        for dag_id, holders in declared.items():
            if dag_ids is None or dag_id in dag_ids:
                for params, values in holders:
                    for key, value in values.items():
                        params.get_param(key).value = value

    bag.restore_declared_params = restore_declared_params
    return bag
