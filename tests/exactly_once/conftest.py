"""Fixtures for the exactly-once tests: the reference MAX gateway as a real process, a real sync store (SQLite
and PostgreSQL), the orders mapping, and staged orders made from Shopify's own example payload."""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from shopify_max.mappings import load_mappings
from shopify_max.orders.webhook_payload import order_from_webhook_payload
from shopify_max.shopify.models import Order

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = PROJECT_ROOT / "include/vendor/shopify/webhooks"
EXAMPLE_ORDER = json.loads((EXAMPLES / "orders.create.json").read_text())["response"]
TOKEN = "exactly-once-gateway-token"

# The example order's SKUs on parts the gateway seeds; its gateway and shipping title on seeded codes.
MAPPING_FILES = {
    "sku_to_part.csv": "sku,part_number,sales_uom,uom_factor\n" + "".join(
        f"{item['sku']},PRT-{n:05d},EA,1\n" for n, item in enumerate(EXAMPLE_ORDER["line_items"], start=1)),
    "tax_codes.csv": "tax_title,rate,max_tax_code\nCA State Tax,*,CA\n",
    "payment_gateways.csv": "gateway,max_terms\nvisa,CC\nbogus,CC\n",
    "shipping_methods.csv": "shipping_title,max_ship_via,shopify_carrier\nGeneric Shipping,UP,UPS\n",
    "order_rules.yaml": (PROJECT_ROOT / "include/mappings/order_rules.yaml").read_text(),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class GatewayProcess:
    base_url: str
    port: int
    process: subprocess.Popen
    http: requests.Session
    database: Path

    def set_faults(self, rules: list[dict] | None = None, latency_ms: int = 0) -> None:
        response = self.http.put(f"{self.base_url}/_sandbox/faults", json={"latency_ms": latency_ms,
                                                                           "rules": rules or []})
        assert response.status_code == 200, response.text

    def wait_until_fault_fired(self, kind: str, timeout_s: float = 30) -> None:
        """Block until a request has met the armed ``kind`` rule (a write is now in the gateway's hands)."""
        deadline = time.monotonic() + timeout_s
        while self.http.get(f"{self.base_url}/_sandbox/faults", timeout=5).json()["fired"].get(kind, 0) < 1:
            assert time.monotonic() < deadline, f"no request met the {kind} fault"
            time.sleep(0.02)

    def orders_for(self, custpo: str) -> list[dict]:
        return self.http.get(f"{self.base_url}/sales-orders", params={"custpo": custpo}, timeout=30).json()["items"]

    def connection_env(self, timeout: float = 10) -> str:
        return json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": self.port, "schema": "http",
                           "extra": {"token": TOKEN, "timeout": timeout, "write_attempts": 3}})


@pytest.fixture(scope="session")
def gateway_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    """The reference gateway started the way operators start it: its own process, its own database file."""
    port = free_port()
    database = tmp_path_factory.mktemp("max-gateway") / "max.sqlite"
    log = open(database.with_suffix(".log"), "wb")  # noqa: SIM115 - closed below, after the process
    process = subprocess.Popen(
        [sys.executable, "-m", "sandboxes.exactmax", "--host", "127.0.0.1", "--port", str(port),
         "--database-url", f"sqlite:///{database}", "--products", "12", "--token", TOKEN],
        env={**os.environ}, stdout=log, stderr=subprocess.STDOUT)
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {TOKEN}"
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if http.get(f"{base_url}/health", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, "the gateway process did not start"
        time.sleep(0.1)
    yield GatewayProcess(base_url, port, process, http, database)
    process.terminate()
    process.wait(timeout=15)
    log.close()


@pytest.fixture
def gateway(gateway_process: GatewayProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[GatewayProcess]:
    """The gateway process with no faults, and the ``exactmax_default`` connection pointing at it."""
    gateway_process.set_faults()
    monkeypatch.setenv("AIRFLOW_CONN_EXACTMAX_DEFAULT", gateway_process.connection_env())
    yield gateway_process
    gateway_process.set_faults()


@pytest.fixture(scope="session")
def mappings(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("mappings")
    for name, text in MAPPING_FILES.items():
        (directory / name).write_text(text)
    return load_mappings(directory)


def example_order(number: int | None = None, **changes) -> Order:
    """Shopify's example order as a live order of its own: a fresh id and name (so each test and round has its
    own CUSTPO), not a test order, not cancelled; ``changes`` override payload keys."""
    number = number if number is not None else uuid.uuid4().int % 10**9
    payload = copy.deepcopy(EXAMPLE_ORDER)
    payload.update({"id": number, "admin_graphql_api_id": f"gid://shopify/Order/{number}", "name": f"#X{number}",
                    "order_number": number, "test": False, "cancelled_at": None, "cancel_reason": None,
                    "updated_at": "2026-11-29T10:00:00+00:00", **changes})
    return order_from_webhook_payload(payload)


class ListSource:
    """The capture step's order source, fed from a list (the orders a poll would return)."""

    def __init__(self, *orders: Order) -> None:
        self.orders = list(orders)

    def iter_orders_updated(self, updated_at_min, updated_at_max=None):  # noqa: ANN001, ANN201
        return iter(self.orders)


def stage_validated(store, mappings, order: Order, run_id: str):  # noqa: ANN001, ANN201
    """Capture and map ``order`` for ``run_id`` through the real steps, then mark it validated (the GX suite has
    its own tests; these tests are about what happens from the export on)."""
    from shopify_max.orders.pipeline import capture_orders, map_staged_orders

    capture_orders(store, ListSource(order), run_id=run_id, window=(order.updated_at, order.updated_at))
    map_staged_orders(store, mappings, run_id=run_id)
    row = store.staged_orders([order.id])[order.id]
    assert row.status == "mapped", row.run_outcome_reason
    assert store.set_stage_status(order.id, "validated", expected=["mapped"])
    return store.staged_orders([order.id])[order.id]
