"""End-to-end fixtures: both sandboxes and the webhook receiver on loopback, a real sync store on each
backend, and Airflow connections pointing at them, so DAG runs (``dag.test()``) talk real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest

from max_gateway.app import GatewayAuth
from sandboxes.exactmax.server import GatewayConfig
from sandboxes.exactmax.server import run_in_thread as run_gateway
from sandboxes.shopify.app import RunningSandbox, SandboxConfig
from sandboxes.shopify.app import run_in_thread as run_shop
from shopify_max.airflow_glue.run_results import task_return_values
from shopify_max.exactmax.hook import ExactMaxHook
from shopify_max.http_server import serve_in_thread
from shopify_max.sync_store import SyncStore
from shopify_max.webhooks.receiver import create_receiver_app

WEBHOOK_SECRET = "e2e-webhook-signing-secret"
PRODUCTS = 40


@pytest.fixture(scope="session")
def shop() -> Iterator[RunningSandbox]:
    """The Shopify sandbox on the Plus preset (tests exercise logic; pacing has its own tests)."""
    with run_shop(SandboxConfig(products=PRODUCTS, orders=30, plan="plus")) as running:
        yield running


@dataclass
class Stack:
    shop: RunningSandbox
    shop_admin: httpx.Client
    gateway_url: str
    gateway_admin: httpx.Client
    store: SyncStore
    receiver_url: str
    gateway_app: object = None  # the running gateway's FastAPI app (the sandbox build keeps its state there)

    def max_hook(self) -> ExactMaxHook:
        return ExactMaxHook()


@contextmanager
def running_stack(shop, database_url: str, gateway_config: GatewayConfig, monkeypatch) -> Iterator[Stack]:
    """A freshly seeded shop, the MAX gateway of ``gateway_config``, an empty sync store on ``database_url``, the
    receiver in front of it, and the Airflow connections pointing at them."""
    token = shop.sandbox.config.token
    admin = httpx.Client(base_url=shop.base_url, headers={"X-Shopify-Access-Token": token}, timeout=30)
    admin.post("/_sandbox/reset", json={"products": PRODUCTS, "orders": 30}).raise_for_status()
    admin.post("/_sandbox/faults", json={"latency_ms": 0, "error_5xx_rate": 0, "drop_rate": 0,
                                         "throttle_429_rate": 0, "storm_rate": 0, "drop_after_commit_rate": 0,
                                         "drop_after_commit_count": 0}).raise_for_status()
    store = SyncStore.from_url(database_url)
    with run_gateway(gateway_config) as gateway, \
            serve_in_thread(create_receiver_app(lambda: store, [WEBHOOK_SECRET])) as receiver_url:
        monkeypatch.setenv("AIRFLOW_CONN_SHOPIFY_DEFAULT", json.dumps({
            "conn_type": "http", "host": shop.host, "port": shop.port, "schema": "http", "password": token,
            "extra": {"api_version": "2026-07", "webhook_secret": WEBHOOK_SECRET}}))
        monkeypatch.setenv("AIRFLOW_CONN_EXACTMAX_DEFAULT", json.dumps({
            "conn_type": "http", "host": gateway.host, "port": gateway.port, "schema": "http",
            "login": "max-e2e", "password": "max-e2e-password", "extra": {"timeout": 5, "write_attempts": 3}}))
        monkeypatch.setenv("AIRFLOW_CONN_SYNC_STORE_DEFAULT", json.dumps(
            {"conn_type": "sqlite", "extra": {"sqlalchemy_url": database_url}}))
        admin.post("/_sandbox/webhooks", json={"url": f"{receiver_url}/webhooks/shopify", "secret": WEBHOOK_SECRET,
                                               "duplicate_rate": 0, "drop_rate": 0}).raise_for_status()
        gateway_admin = httpx.Client(base_url=gateway.base_url, auth=("max-e2e", "max-e2e-password"), timeout=30)
        yield Stack(shop, admin, gateway.base_url, gateway_admin, store, receiver_url, gateway.app)
        admin.post("/_sandbox/webhooks", json={"url": None}).raise_for_status()
        gateway_admin.close()
    admin.close()
    store.dispose()


GATEWAY_AUTH = GatewayAuth(username="max-e2e", password="max-e2e-password")


@pytest.fixture
def stack(shop, database_url, tmp_path, monkeypatch) -> Iterator[Stack]:
    """The reference gateway on a fresh MAX-shaped SQLite database (see :func:`running_stack`)."""
    gateway_config = GatewayConfig(database_url=f"sqlite:///{tmp_path / 'max.sqlite'}", products=PRODUCTS,
                                   auth=GATEWAY_AUTH)
    with running_stack(shop, database_url, gateway_config, monkeypatch) as running:
        yield running


def xcom_return(dag_run, task_id: str):
    return task_return_values(dag_run.dag_id, dag_run.run_id)[task_id]


@pytest.fixture(autouse=True)
def params_as_declared(request):
    """After each test, every DAG's params are back to what its file declares (tests/conftest.py)."""
    yield
    if "dag_bag" in request.fixturenames:
        request.getfixturevalue("dag_bag").restore_declared_params()


@contextmanager
def declared_params_restored(dag_bag, dag):
    """The block's ``dag.test()`` runs leave ``dag``'s params as declared."""
    try:
        yield
    finally:
        dag_bag.restore_declared_params({dag.dag_id})


def run_dag(dag_bag, dag_id: str, **params):
    """One real run of ``dag_id`` (``dag.test()``), without Airflow's retries; its ``summarise_run`` XCom."""
    dag = dag_bag.dags[dag_id]
    for task in dag.tasks:
        task.retries = 0  # a failure must surface at once here, not after Airflow's retry back-off
    with declared_params_restored(dag_bag, dag):
        dag_run = dag.test(run_conf=params or None)
    assert dag_run.state == "success", f"{dag_id} run {dag_run.run_id} ended {dag_run.state}"
    return xcom_return(dag_run, "summarise_run")
