"""The error-queue page against a real ``airflow standalone``: real users (simple auth manager, no
ALL_ADMINS: auth is under test), both sandboxes on loopback, a copy of the mapping files the test may fix,
and error-queue items made by a real ``orders_to_max`` run. One start per session."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from max_gateway.app import GatewayAuth
from sandboxes.exactmax.server import GatewayConfig
from sandboxes.exactmax.server import run_in_thread as run_gateway
from sandboxes.shopify.app import SandboxConfig
from sandboxes.shopify.app import run_in_thread as run_shop
from shopify_max.paths import MAPPINGS_DIR
from shopify_max.sync_store import SyncStore
from tests.live_airflow import LiveAirflow, airflow_standalone

# oncall may trigger DAGs (admin); viewer may only read. Passwords are written to the file the auth manager reads.
USERS = {"oncall": ("admin", "oncall-password-1"), "viewer": ("viewer", "viewer-password-1")}
PRODUCTS = 40


@dataclass
class UiStack:
    airflow: LiveAirflow
    mappings: Path
    store: SyncStore

    @property
    def base_url(self) -> str:
        return self.airflow.base_url

    def token(self, user: str) -> str:
        answer = httpx.post(f"{self.base_url}/auth/token", json={"username": user, "password": USERS[user][1]},
                            timeout=30)
        answer.raise_for_status()
        return answer.json()["access_token"]

    def client(self, user: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token(user)}"} if user else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)

    def wait_for_run(self, api: httpx.Client, dag_id: str, run_id: str | None = None, timeout_s: float = 240) -> dict:
        """The run (the newest one when ``run_id`` is None) once it has finished."""
        deadline = time.monotonic() + timeout_s
        while True:
            if run_id:
                run = api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}").json()
            else:
                runs = api.get(f"/api/v2/dags/{dag_id}/dagRuns", params={"order_by": "-run_after"}).json()["dag_runs"]
                run = runs[0] if runs else {}
            if run.get("state") in ("success", "failed"):
                return run
            assert time.monotonic() < deadline, f"{dag_id} run {run_id or ''} did not finish: {run}"
            time.sleep(2)


def _wait_for_dags(api: httpx.Client, dag_ids: tuple[str, ...], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while any(api.get(f"/api/v2/dags/{dag_id}").status_code != 200 for dag_id in dag_ids):
        assert time.monotonic() < deadline, f"the DAG processor did not register {dag_ids}"
        time.sleep(2)


@pytest.fixture(scope="session")
def ui_stack(tmp_path_factory) -> Iterator[UiStack]:
    workdir = tmp_path_factory.mktemp("error-queue-ui")
    mappings = workdir / "mappings"
    shutil.copytree(MAPPINGS_DIR, mappings)
    passwords = workdir / "passwords.json"
    passwords.write_text(json.dumps({user: password for user, (_role, password) in USERS.items()}))
    shop_config = SandboxConfig(products=PRODUCTS, orders=30, plan="plus")
    gateway_config = GatewayConfig(database_url=f"sqlite:///{workdir / 'max.sqlite'}", products=PRODUCTS,
                                   auth=GatewayAuth(username="max-ui", password="max-ui-password"))
    with run_shop(shop_config) as shop, run_gateway(gateway_config) as gateway:
        env = {
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{role}" for u, (role, _p) in USERS.items()),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",  # only the DAGs the test runs are unpaused
            "AIRFLOW__CORE__PARALLELISM": "4",
            "SHOPIFY_MAX_MAPPINGS_DIR": str(mappings),
            "AIRFLOW_CONN_SHOPIFY_DEFAULT": json.dumps({
                "conn_type": "http", "host": shop.host, "port": shop.port, "schema": "http",
                "password": shop.sandbox.config.token, "extra": {"api_version": "2026-07"}}),
            "AIRFLOW_CONN_EXACTMAX_DEFAULT": json.dumps({
                "conn_type": "http", "host": gateway.host, "port": gateway.port, "schema": "http",
                "login": "max-ui", "password": "max-ui-password", "extra": {"timeout": 5, "write_attempts": 3}}),
        }
        with airflow_standalone(workdir, all_admins=False, env=env) as live:
            stack = UiStack(live, mappings, SyncStore.from_url(live.sync_store_url))
            with stack.client("oncall") as api:
                for pool in ("shopify_api", "exactmax_api"):
                    api.post("/api/v2/pools", json={"name": pool, "slots": 4}).raise_for_status()
                _wait_for_dags(api, ("orders_to_max", "error_replay"))
                # The first orders run meets the seeded backlog: six orders fail to map (docs: tests/e2e).
                api.patch("/api/v2/dags/orders_to_max", json={"is_paused": False}).raise_for_status()
                run = stack.wait_for_run(api, "orders_to_max")
                api.patch("/api/v2/dags/orders_to_max", json={"is_paused": True}).raise_for_status()
                assert run["state"] == "success", live.log.read_text()[-3000:]
                api.patch("/api/v2/dags/error_replay", json={"is_paused": False}).raise_for_status()
            try:
                yield stack
            finally:
                stack.store.dispose()
