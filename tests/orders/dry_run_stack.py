"""What the dry-run tests of orders and refunds share: both sandboxes on loopback with the Airflow connections
pointing at them (as in production, over HTTP), and the evidence that nothing was written: every row of every
sync-store table, and both sandboxes' own write logs (``GET /_sandbox/writes``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa

from max_gateway.app import GatewayAuth
from sandboxes.exactmax.server import GatewayConfig
from sandboxes.exactmax.server import run_in_thread as run_gateway
from sandboxes.shopify.app import RunningSandbox
from shopify_max.sync_store import SyncStore

PRODUCTS = 40
MAX_USER, MAX_PASSWORD = "max-dry-run", "max-dry-run-password"


@dataclass
class Sandboxes:
    shop_admin: httpx.Client
    gateway_admin: httpx.Client
    store: SyncStore

    def writes(self) -> dict[str, Any]:
        """Both sandboxes' write logs: Shopify's mutations, MAX's committed writes and write requests received."""
        shop = self.shop_admin.get("/_sandbox/writes").json()
        gateway = self.gateway_admin.get("/_sandbox/writes").json()
        return {"shopify": {"total": shop["total"], "counts": shop["counts"]},
                "max": {"total": gateway["total"], "counts": gateway["counts"], "received": gateway["received"]}}

    def new_order(self, lines: list[dict], **body: Any) -> dict:
        response = self.shop_admin.post("/_sandbox/orders", json={"lines": lines, **body})
        response.raise_for_status()
        return response.json()

    def order_action(self, order: dict, action: str, **body: Any) -> dict:
        response = self.shop_admin.post(f"/_sandbox/orders/{order['id'].rsplit('/', 1)[1]}/{action}", json=body)
        response.raise_for_status()
        return response.json()


@contextmanager
def sandboxes(shop: RunningSandbox, database_url: str, max_database: str, monkeypatch, *,
              orders: int) -> Iterator[Sandboxes]:
    """A freshly seeded shop (``orders`` seeded orders) and MAX, an empty sync store, and the connections."""
    token = shop.sandbox.config.token
    shop_admin = httpx.Client(base_url=shop.base_url, headers={"X-Shopify-Access-Token": token}, timeout=30)
    shop_admin.post("/_sandbox/reset", json={"products": PRODUCTS, "orders": orders}).raise_for_status()
    store = SyncStore.from_url(database_url)
    config = GatewayConfig(database_url=f"sqlite:///{max_database}", products=PRODUCTS,
                           auth=GatewayAuth(username=MAX_USER, password=MAX_PASSWORD))
    with run_gateway(config) as gateway:
        monkeypatch.setenv("AIRFLOW_CONN_SHOPIFY_DEFAULT", json.dumps({
            "conn_type": "http", "host": shop.host, "port": shop.port, "schema": "http", "password": token,
            "extra": {"api_version": "2026-07"}}))
        monkeypatch.setenv("AIRFLOW_CONN_EXACTMAX_DEFAULT", json.dumps({
            "conn_type": "http", "host": gateway.host, "port": gateway.port, "schema": "http",
            "login": MAX_USER, "password": MAX_PASSWORD, "extra": {"timeout": 5, "write_attempts": 3}}))
        monkeypatch.setenv("AIRFLOW_CONN_SYNC_STORE_DEFAULT", json.dumps(
            {"conn_type": "sqlite", "extra": {"sqlalchemy_url": database_url}}))
        gateway_admin = httpx.Client(base_url=gateway.base_url, auth=(MAX_USER, MAX_PASSWORD), timeout=30)
        try:
            yield Sandboxes(shop_admin, gateway_admin, store)
        finally:
            gateway_admin.close()
            shop_admin.close()
            store.dispose()


def sync_store_rows(store: SyncStore) -> dict[str, list[tuple]]:
    """Every row of every table of the sync store (stage, error queue, audit log, watermarks, id_map, inbox…),
    in a stable order: two snapshots are equal only when nothing was written in between."""
    metadata = sa.MetaData()
    metadata.reflect(store.engine)
    rows = {}
    with store.engine.connect() as conn:
        for name, table in sorted(metadata.tables.items()):
            rows[name] = sorted(tuple(str(value) for value in row) for row in conn.execute(sa.select(table)))
    return rows


def delta(after: dict[str, Any], before: dict[str, Any]) -> dict[str, int]:
    """What MAX's write log counted between two reads, by kind."""
    return {kind: after["max"]["counts"].get(kind, 0) - before["max"]["counts"].get(kind, 0)
            for kind in after["max"]["counts"]}
