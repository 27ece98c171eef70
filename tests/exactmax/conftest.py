"""Fixtures for the MAX gateway and ExactMaxHook tests: a real gateway over real HTTP and a real database.

- ``gateway``: a fresh gateway per test, on the shared ``database_url`` fixture (SQLite and PostgreSQL).
- ``shared_gateway``: one gateway per module and backend, for tests that only add their own orders (each
  uses a unique CUSTPO), to keep the suite fast.
- ``hook``: an ``ExactMaxHook`` whose ``exactmax_default`` connection comes from ``AIRFLOW_CONN_EXACTMAX_DEFAULT``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from max_gateway_helpers import AUTH, PASSWORD, PG_URL, PRODUCTS, USERNAME, GatewayClient

from sandboxes.exactmax.max_sandbox import create_max_stand_in, drop_max_stand_in
from sandboxes.exactmax.server import GatewayConfig, run_in_thread


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``reference_backend_only(reason)`` skips the test's ``max`` parametrisation, with the reason."""
    for item in items:
        marker = item.get_closest_marker("reference_backend_only")
        callspec = getattr(item, "callspec", None)
        if marker is not None and callspec is not None and callspec.params.get("shared_gateway") == "max":
            item.add_marker(pytest.mark.skip(reason=f"reference backend only: {marker.args[0]}"))


@pytest.fixture
def gateway_factory(make_database_url: Callable[[str], str]) -> Iterator[Callable[..., GatewayClient]]:
    """Start gateways on fresh databases: ``gateway_factory("sqlite", ordnum_first=...)``."""
    stack = []

    def start(backend: str, **config) -> GatewayClient:
        context = run_in_thread(GatewayConfig(database_url=make_database_url(backend), products=PRODUCTS, auth=AUTH,
                                              **config))
        stack.append(context)
        return GatewayClient(context.__enter__())

    yield start
    for context in reversed(stack):
        context.__exit__(None, None, None)


@pytest.fixture
def gateway(database_url: str) -> Iterator[GatewayClient]:
    """A fresh gateway on the shared fixture's fresh database (runs once on SQLite, once on PostgreSQL)."""
    with run_in_thread(GatewayConfig(database_url=database_url, products=PRODUCTS, auth=AUTH)) as running:
        client = GatewayClient(running)
        yield client
        client.set_faults([])


@contextmanager
def max_backend_gateway(postgres_available: bool) -> Iterator[GatewayClient]:
    """The ``max`` backend on a stand-in MAX (padded PostgreSQL tables behind read-only views, MAXUpdate
    simulated: ``sandboxes.exactmax.max_sandbox``), with the sandbox operations on MAX's side."""
    if not postgres_available:
        pytest.skip(f"PostgreSQL at {PG_URL} is not reachable (set CI=true to make this a failure)")
    suffix = uuid.uuid4().hex[:12]
    stand_in = create_max_stand_in(PG_URL, f"maxdb_{suffix}", f"maxgw_{suffix}", PRODUCTS)
    try:
        with run_in_thread(GatewayConfig(products=PRODUCTS, auth=AUTH, max_stand_in=stand_in)) as running:
            yield GatewayClient(running)
    finally:
        drop_max_stand_in(PG_URL, stand_in, f"maxdb_{suffix}")


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "max"])
def shared_gateway(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                   postgres_available: bool) -> Iterator[GatewayClient]:
    """One gateway per test module and backend (reference on SQLite and PostgreSQL; ``max`` on a stand-in MAX);
    tests add only their own uniquely keyed orders. A test that cannot hold on the ``max`` backend says why with
    ``@pytest.mark.reference_backend_only(reason)``."""
    if request.param == "max":
        with max_backend_gateway(postgres_available) as client:
            yield client
        return
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('maxgw') / 'max.sqlite'}"
    else:
        if not postgres_available:
            pytest.skip(f"PostgreSQL at {PG_URL} is not reachable (set CI=true to make this a failure)")
        schema = f"maxgw_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(PG_URL)
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    with run_in_thread(GatewayConfig(database_url=url, products=PRODUCTS, auth=AUTH)) as running:
        client = GatewayClient(running)
        yield client
    if schema is not None:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


def connection_env(client: GatewayClient, **extra) -> str:
    """``AIRFLOW_CONN_EXACTMAX_DEFAULT`` in Airflow's JSON form, Basic auth unless ``extra`` says otherwise."""
    running = client.running
    conn = {"conn_type": "http", "host": running.host, "port": running.port, "schema": "http",
            "login": extra.pop("login", USERNAME), "password": extra.pop("password", PASSWORD)}
    if extra:
        conn["extra"] = extra
    return json.dumps(conn)


@pytest.fixture
def make_hook(monkeypatch: pytest.MonkeyPatch):
    """Factory: an ExactMaxHook on ``client`` through the ``exactmax_default`` Airflow connection."""
    from shopify_max.exactmax.hook import ExactMaxHook

    def make(client: GatewayClient, timeout: float = 10, **extra) -> ExactMaxHook:
        monkeypatch.setenv("AIRFLOW_CONN_EXACTMAX_DEFAULT", connection_env(client, **extra))
        return ExactMaxHook(timeout=timeout, backoff_base=0.02, max_retry_wait=0.1)

    return make
