"""The fulfilment dry run against both sandboxes over HTTP and a real sync store (SQLite and PostgreSQL), after the
orders were exported by the real orders task bodies: it sends nothing and stores nothing (the sandboxes' write logs
and every table of the store say so), and the real run right after makes exactly the Shopify writes it reported,
kind by kind, and fails the shipment it said would fail."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace

import httpx
import pytest
import sqlalchemy as sa
import yaml

from max_gateway.app import GatewayAuth
from sandboxes.exactmax.server import GatewayConfig
from sandboxes.exactmax.server import run_in_thread as run_gateway
from sandboxes.shopify.app import RunningSandbox, SandboxConfig
from sandboxes.shopify.app import run_in_thread as run_shop
from shopify_max.airflow_glue import fulfilment_tasks, order_tasks
from shopify_max.clock import utcnow
from shopify_max.paths import MAPPINGS_DIR
from shopify_max.sync_store import SyncStore

PRODUCTS = 40
MAX_USER, MAX_PASSWORD = "max-dry-run", "max-dry-run-password"
STORE = "gid://shopify/Location/64001002"
# Each kind the report counts, and the Shopify mutation that makes it.
MUTATIONS = {"fulfilments": "fulfillmentCreate", "fulfillment_order_moves": "fulfillmentOrderMove",
             "tracking_updates": "fulfillmentTrackingInfoUpdate", "order_updates": "metafieldsSet",
             "captures": "orderCapture", "orders_marked_paid": "orderMarkAsPaid", "orders_closed": "orderClose"}


@pytest.fixture(scope="module")
def shop() -> Iterator[RunningSandbox]:
    with run_shop(SandboxConfig(products=PRODUCTS, orders=0, plan="plus")) as running:
        yield running


@pytest.fixture
def sides(shop, database_url, tmp_path, monkeypatch) -> Iterator[SimpleNamespace]:
    """A fresh shop without orders and a fresh MAX, an empty sync store, the shipped mappings with capture on
    invoice, mark paid and close switched on, and the Airflow connections the task bodies open."""
    mappings = tmp_path / "mappings"
    shutil.copytree(MAPPINGS_DIR, mappings)
    rules = yaml.safe_load((mappings / "fulfilment_rules.yaml").read_text())
    rules.update(capture_on_invoice=True, close_when_max_closes=True, mark_paid_on_payment=True)
    (mappings / "fulfilment_rules.yaml").write_text(yaml.safe_dump(rules))
    monkeypatch.setenv("SHOPIFY_MAX_MAPPINGS_DIR", str(mappings))
    token = shop.sandbox.config.token
    shop_admin = httpx.Client(base_url=shop.base_url, headers={"X-Shopify-Access-Token": token}, timeout=30)
    shop_admin.post("/_sandbox/reset", json={"products": PRODUCTS, "orders": 0}).raise_for_status()
    store = SyncStore.from_url(database_url)
    config = GatewayConfig(database_url=f"sqlite:///{tmp_path / 'max.sqlite'}", products=PRODUCTS,
                           auth=GatewayAuth(username=MAX_USER, password=MAX_PASSWORD))
    with run_gateway(config) as gateway, httpx.Client(base_url=gateway.base_url, auth=(MAX_USER, MAX_PASSWORD),
                                                      timeout=30) as max_admin:
        monkeypatch.setenv("AIRFLOW_CONN_SHOPIFY_DEFAULT", json.dumps({
            "conn_type": "http", "host": shop.host, "port": shop.port, "schema": "http", "password": token,
            "extra": {"api_version": "2026-07"}}))
        monkeypatch.setenv("AIRFLOW_CONN_EXACTMAX_DEFAULT", json.dumps({
            "conn_type": "http", "host": gateway.host, "port": gateway.port, "schema": "http", "login": MAX_USER,
            "password": MAX_PASSWORD, "extra": {"timeout": 5, "write_attempts": 3}}))
        monkeypatch.setenv("AIRFLOW_CONN_SYNC_STORE_DEFAULT", json.dumps(
            {"conn_type": "sqlite", "extra": {"sqlalchemy_url": database_url}}))
        yield SimpleNamespace(shop=shop_admin, max=max_admin, store=store)
    shop_admin.close()
    store.dispose()


def new_order(sides, lines, payment="paid") -> dict:
    response = sides.shop.post("/_sandbox/orders", json={"lines": lines, "payment": payment})
    response.raise_for_status()
    return response.json()


def export_orders(run_id: str) -> dict:
    """The orders_to_max task bodies: poll Shopify, map, validate, export to MAX."""
    # A window reaching past now: the poll's search is by whole seconds, and the orders were made this second.
    window = {"window_start": (utcnow() - timedelta(hours=1)).isoformat(),
              "window_end": (utcnow() + timedelta(minutes=1)).isoformat()}
    order_tasks.capture_orders(run_id, window, None, None, "capture_orders")
    order_tasks.map_orders(run_id)
    order_tasks.validate_orders(run_id, "validate_sales_orders")
    return order_tasks.export_orders(run_id, "export_to_max")


def ship(sides, ordnum: str, lines, numbers: list[str]) -> str:
    body = {"ORDNUM": ordnum, "SHPVIA": "UP", "carrier": "UPS", "tracking_number": numbers[0],
            "tracking": [{"tracking_number": n, "carrier": "UPS"} for n in numbers[1:]]}
    if lines is not None:
        body["lines"] = [{"LINNUM": linnum, "DELNUM": "01", "quantity": qty} for linnum, qty in lines]
    response = sides.max.post("/_sandbox/ship", json=body)
    response.raise_for_status()
    return response.json()["shipment_id"]


def fulfilment_run(run_id: str) -> dict:
    """A real run's task bodies, one after the other, as the DAG runs them."""
    read = fulfilment_tasks.read_max_shipments(run_id)
    fulfil = fulfilment_tasks.create_shopify_fulfilments(run_id, "create_shopify_fulfilments")
    tracking = fulfilment_tasks.update_changed_tracking(run_id, "update_changed_tracking")
    status = fulfilment_tasks.sync_order_status_and_invoices(run_id, "sync_order_status_and_invoices")
    return fulfilment_tasks.summarise(run_id, read, fulfil, tracking, status)


def store_rows(store: SyncStore) -> dict[str, list[str]]:
    """Every row of every table of the sync store."""
    with store.engine.connect() as conn:
        return {name: sorted(repr(tuple(row)) for row in conn.execute(sa.text(f'SELECT * FROM "{name}"')))
                for name in sa.inspect(conn).get_table_names()}


def writes(sides) -> tuple[dict, dict]:
    return sides.shop.get("/_sandbox/writes").json(), sides.max.get("/_sandbox/writes").json()


def test_a_dry_run_changes_nothing_and_the_next_run_writes_exactly_what_it_reported(sides):
    three = new_order(sides, [{"sku": "SKU-00001", "quantity": 3}, {"sku": "SKU-00010-CS12", "quantity": 2},
                              {"sku": "SKU-00003", "quantity": 1}], payment="authorized")
    held = new_order(sides, [{"sku": "SKU-00005", "quantity": 2}])
    on_terms = new_order(sides, [{"sku": "SKU-00004", "quantity": 1}], payment="pending")
    elsewhere = new_order(sides, [{"sku": "SKU-00006", "quantity": 1, "location_id": STORE}])
    assert export_orders("orders-1") == {"exported": 4}
    ordnum = {name: sides.store.max_key_for("order", order["id"])
              for name, order in (("three", three), ("held", held), ("on_terms", on_terms), ("elsewhere", elsewhere))}
    # A history: MAX shipped part of the first order, and a real run fulfilled it and enrolled every order.
    first = ship(sides, ordnum["three"], [("01", 2), ("02", 24)], ["1Z999AA10000000001", "1Z999AA10000000002"])
    assert fulfilment_run("fulfilment-1")["fulfilled"] == 1
    # Then, in MAX: the rest of the first order ships in two shipments, its first shipment's tracking number changes
    # and it is invoiced (capture on invoice); an order Shopify holds ships; the order on payment terms ships, is
    # invoiced and paid: MAX closes it (mark paid, and close once Shopify shows it fulfilled, in this same run).
    ship(sides, ordnum["three"], [("01", 1)], ["1Z999AA10000000003"])
    ship(sides, ordnum["three"], [("03", 1)], ["1Z999AA10000000004"])
    sides.max.post("/_sandbox/retrack", json={"shipment_id": first, "tracking": [
        {"carrier": "UPS", "tracking_number": "1Z999AA10000000009"}]}).raise_for_status()
    sides.max.post("/_sandbox/invoice", json={"ORDNUM": ordnum["three"]}).raise_for_status()
    sides.shop.post(f"/_sandbox/fulfillment_orders/{held['fulfillmentOrders'][0].rsplit('/', 1)[1]}/hold",
                    json={"reason": "INCORRECT_ADDRESS"}).raise_for_status()
    ship(sides, ordnum["held"], None, ["1Z999AA10000000005"])
    ship(sides, ordnum["on_terms"], None, ["1Z999AA10000000006"])
    ship(sides, ordnum["elsewhere"], None, ["1Z999AA10000000007"])  # from MAIN; Shopify assigned it to the store
    invoice = sides.max.post("/_sandbox/invoice", json={"ORDNUM": ordnum["on_terms"]}).json()
    sides.max.post("/_sandbox/pay", json={"invoice": invoice["INVCE"]}).raise_for_status()
    store_before, (shop_writes, max_writes) = store_rows(sides.store), writes(sides)

    report = fulfilment_tasks.fulfilment_dry_run()

    # Nothing stored (no stage row, no cursor, no item, no lease), nothing sent to either side.
    assert store_rows(sides.store) == store_before
    shop_after, max_after = writes(sides)
    assert shop_after["total"] == shop_writes["total"]
    assert (max_after["total"], max_after["received"]) == (max_writes["total"], max_writes["received"])
    assert report.would_write == {"fulfilments": 4, "fulfillment_order_moves": 1, "tracking_updates": 1,
                                  "order_updates": 4, "captures": 1, "orders_marked_paid": 1, "orders_closed": 1}
    [on_hold] = report.would_fail
    assert (on_hold.reason, on_hold.field) == ("on_hold", "fulfillmentOrder.status")
    assert on_hold.record.endswith(f"(order {ordnum['held']})") and "on hold" in on_hold.message
    outcomes = {(row["ordnum"], row["outcome"], row["would_send"]) for row in report.tables["fulfilments"]}
    assert outcomes == {
        (ordnum["three"], "fulfilled", "fulfil SKU-00001 x1 from Main Warehouse"),
        (ordnum["three"], "fulfilled", "fulfil SKU-00003 x1 from Main Warehouse"),  # after the first, in memory
        (ordnum["held"], "failed", ""), (ordnum["on_terms"], "fulfilled", "fulfil SKU-00004 x1 from Main Warehouse"),
        (ordnum["elsewhere"], "fulfilled", "move SKU-00006 x1 to Main Warehouse; fulfil SKU-00006 x1 from Main "
                                           "Warehouse")}
    assert report.read["shipments"] == 5 and report.read["shipments_taken_up"] == 5

    summary = fulfilment_run("fulfilment-2")

    # The real run writes to Shopify exactly what the dry run said, kind by kind, and nothing else.
    shop_real, _ = writes(sides)
    made = {kind: shop_real["counts"].get(mutation, 0) - shop_after["counts"].get(mutation, 0)
            for kind, mutation in MUTATIONS.items()}
    assert made == report.would_write
    assert summary["fulfilments"]["created"] == report.would_write["fulfilments"]
    assert summary["tracking_changes"]["updated"] == report.would_write["tracking_updates"]
    assert summary["order_status"]["statuses_pushed"] == report.would_write["order_updates"]
    assert [failed["ordnum"] for failed in summary["failed_shipments"]] == [ordnum["held"]]
    assert (summary["shipments"], summary["fulfilled"], summary["failed"]) == (5, 4, 1)


def test_a_dry_run_from_an_older_shipment_reads_again_and_sends_nothing_twice(sides):
    """``since_shipment``: shipments already fulfilled are read again and left; the cursor stays where it was."""
    order = new_order(sides, [{"sku": "SKU-00002", "quantity": 2}])
    assert export_orders("orders-1")["exported"] == 1
    ordnum = sides.store.max_key_for("order", order["id"])
    first = ship(sides, ordnum, [("01", 1)], ["1Z999AA10000000011"])
    fulfilment_run("fulfilment-1")
    ship(sides, ordnum, [("01", 1)], ["1Z999AA10000000012"])
    store_before = store_rows(sides.store)

    report = fulfilment_tasks.fulfilment_dry_run(since_shipment=int(first) - 1)

    assert store_rows(sides.store) == store_before
    assert report.read["shipments"] == 2 and report.read["shipments_new"] == 1
    assert report.would_write["fulfilments"] == 1
    assert fulfilment_run("fulfilment-2")["fulfilments"]["created"] == 1
