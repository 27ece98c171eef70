"""End to end: real ``fulfilment_to_shopify`` DAG runs against both sandboxes and the sync store (SQLite and
PostgreSQL), after a real ``orders_to_max`` run exported the orders (docs/fulfilment.md, "Done when")."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from decimal import Decimal

import pytest
import yaml
from conftest import run_dag

from shopify_max.paths import MAPPINGS_DIR
from shopify_max.shopify.hook import ShopifyHook

pytestmark = pytest.mark.e2e
NAMESPACE = "exact_max"


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """The shipped mappings, with capture on invoice, mark paid and close-when-MAX-closes switched on."""
    directory = tmp_path / "mappings"
    shutil.copytree(MAPPINGS_DIR, directory)
    rules = yaml.safe_load((directory / "fulfilment_rules.yaml").read_text())
    rules.update(capture_on_invoice=True, close_when_max_closes=True, mark_paid_on_payment=True)
    (directory / "fulfilment_rules.yaml").write_text(yaml.safe_dump(rules))
    monkeypatch.setenv("SHOPIFY_MAX_MAPPINGS_DIR", str(directory))
    return directory


def new_order(stack, lines, payment="paid") -> dict:
    response = stack.shop_admin.post("/_sandbox/orders", json={"lines": lines, "payment": payment})
    response.raise_for_status()
    return response.json()


def ship(stack, ordnum, lines, numbers, ship_via="UP") -> str:
    body = {"ORDNUM": ordnum, "SHPVIA": ship_via, "carrier": "UPS", "tracking_number": numbers[0],
            "tracking": [{"tracking_number": n, "carrier": "UPS"} for n in numbers[1:]]}
    if lines is not None:
        body["lines"] = [{"LINNUM": linnum, "DELNUM": "01", "quantity": qty} for linnum, qty in lines]
    response = stack.gateway_admin.post("/_sandbox/ship", json=body)
    response.raise_for_status()
    return response.json()["shipment_id"]


def shipped_by_item(state) -> dict[str, int]:
    totals: dict[str, int] = {}
    for fulfillment in state.fulfillments:
        for line in fulfillment.lines:
            totals[line.line_item_id] = totals.get(line.line_item_id, 0) + line.quantity
    return totals


def numbers_of(fulfillment) -> set[str]:
    return {info.number for info in fulfillment.tracking}


def test_partial_shipments_hand_changes_holds_faults_tracking_status_and_capture(
        airflow_metadata_db, dag_bag, stack, settings):
    stack.shop_admin.post("/_sandbox/reset", json={"products": 40, "orders": 0}).raise_for_status()
    three = new_order(stack, [{"sku": "SKU-00001", "quantity": 3}, {"sku": "SKU-00010-CS12", "quantity": 2},
                              {"sku": "SKU-00003", "quantity": 1}], payment="authorized")
    by_hand = new_order(stack, [{"sku": "SKU-00004", "quantity": 1}])
    held = new_order(stack, [{"sku": "SKU-00005", "quantity": 2}])
    orders = run_dag(dag_bag, "orders_to_max")
    assert orders["exported"] == 3
    ordnum = {name: stack.store.max_key_for("order", order["id"])
              for name, order in (("three", three), ("by_hand", by_hand), ("held", held))}

    # MAX ships 2 of the 3 lines, one of them partly (2 of 3), with 2 tracking numbers; the 2 cases go out as 24 EA.
    first = ship(stack, ordnum["three"], [("01", 2), ("02", 24)], ["1Z999AA10000000001", "1Z999AA10000000002"])
    # A person fulfils an order in Shopify by hand, then MAX ships the same goods.
    api = ShopifyHook()
    [fo] = api.order_fulfilment_state(by_hand["id"]).fulfillment_orders
    assert api.create_fulfillment({fo.id: None}).ok
    ship(stack, ordnum["by_hand"], None, ["1Z999AA10000000003"])
    # An order held in Shopify, shipped by MAX.
    stack.shop_admin.post(f"/_sandbox/fulfillment_orders/{held['fulfillmentOrders'][0].rsplit('/', 1)[1]}/hold",
                          json={"reason": "INCORRECT_ADDRESS"}).raise_for_status()
    ship(stack, ordnum["held"], None, ["1Z999AA10000000004"])
    # The first fulfillmentCreate commits, and its answer is lost.
    stack.shop_admin.post("/_sandbox/faults", json={"drop_after_commit_field": "fulfillmentCreate",
                                                   "drop_after_commit_count": 1}).raise_for_status()

    summary = run_dag(dag_bag, "fulfilment_to_shopify")

    assert (summary["shipments"], summary["fulfilled"], summary["skipped"], summary["failed"]) == (3, 2, 0, 1)
    assert summary["fulfilments"]["answers_lost"] == 1
    state = api.order_fulfilment_state(three["id"], NAMESPACE)
    [fulfilment] = state.fulfillments  # exactly one, though the first answer was lost
    assert numbers_of(fulfilment) == {"1Z999AA10000000001", "1Z999AA10000000002"}
    assert {info.company for info in fulfilment.tracking} == {"UPS"}
    items = three["lineItems"]
    assert shipped_by_item(state) == {items[0]: 2, items[1]: 2}
    assert state.display_fulfillment_status == "PARTIALLY_FULFILLED"
    assert state.metafields["order_number"] == ordnum["three"]
    assert state.metafields["status"] == "partially_shipped" and "MAX partially shipped" in state.tags
    hand_state = api.order_fulfilment_state(by_hand["id"])
    assert len(hand_state.fulfillments) == 1 and not hand_state.fulfillments[0].tracking  # the person's only
    [failed] = summary["failed_shipments"]
    assert failed["ordnum"] == ordnum["held"] and failed["code"] == "on_hold"
    [hold_item] = stack.store.list_errors(entity="shipment")
    assert summary["error_queue_ids"] == [hold_item.id] and hold_item.stage == "fulfillment_order"

    # A re-run changes nothing in Shopify; the held shipment is tried again and still waits.
    again = run_dag(dag_bag, "fulfilment_to_shopify")
    assert (again["shipments"], again["fulfilled"], again["failed"]) == (1, 0, 1)
    assert api.order_fulfilment_state(three["id"]).fulfillments == state.fulfillments

    # The hold is released; MAX ships the rest, changes the first shipment's tracking, invoices the order.
    stack.shop_admin.post(f"/_sandbox/fulfillment_orders/{held['fulfillmentOrders'][0].rsplit('/', 1)[1]}/release",
                          json={}).raise_for_status()
    ship(stack, ordnum["three"], None, ["1Z999AA10000000005"])
    stack.gateway_admin.post("/_sandbox/retrack", json={"shipment_id": first, "tracking": [
        {"carrier": "UPS", "tracking_number": "1Z999AA10000000009"}]}).raise_for_status()
    invoice = stack.gateway_admin.post("/_sandbox/invoice", json={"ORDNUM": ordnum["three"]}).json()
    stack.shop_admin.post("/_sandbox/faults", json={"drop_after_commit_field": "orderCapture",
                                                   "drop_after_commit_count": 1}).raise_for_status()

    final = run_dag(dag_bag, "fulfilment_to_shopify")

    assert (final["shipments"], final["fulfilled"], final["failed"]) == (2, 2, 0)
    assert stack.store.list_errors(entity="shipment")[0].status == "resolved"
    state = api.order_fulfilment_state(three["id"], NAMESPACE)
    assert state.display_fulfillment_status == "FULFILLED"
    assert shipped_by_item(state) == {items[0]: 3, items[1]: 2, items[2]: 1}
    assert numbers_of(state.fulfillments[0]) == {"1Z999AA10000000009"}  # the tracking change reached Shopify
    assert final["tracking_changes"]["updated"] == 1
    assert len(api.order_fulfilment_state(held["id"]).fulfillments) == 1
    invoices = yaml.safe_load(state.metafields["invoices"])
    assert [entry["number"] for entry in invoices] == [invoice["INVCE"]]
    # The capture's answer was lost: this run left it "capturing"; the next finds it and captures nothing more.
    # Meanwhile MAX removes every tracking number of the first shipment: Shopify cannot hold none, a person decides.
    stack.gateway_admin.post("/_sandbox/retrack", json={"shipment_id": first, "tracking": []}).raise_for_status()
    run_dag(dag_bag, "fulfilment_to_shopify")
    [removed] = [item for item in stack.store.list_errors(entity="shipment") if item.stage == "tracking"]
    assert removed.record_key == first and "removed in MAX" in removed.reason
    captures = [t for t in api.order_fulfilment_state(three["id"]).transactions if t.kind == "CAPTURE"]
    assert len(captures) == 1 and captures[0].amount == Decimal(invoices[0]["amount"])
    # Everything shipped and invoiced: MAX closed the order, and Shopify's (fully fulfilled) order is closed too.
    closed = api.order_fulfilment_state(three["id"], NAMESPACE)
    assert closed.metafields["status"] == "closed" and "MAX closed" in closed.tags and closed.closed


KILLED_AFTER_THE_FIRST_SEND = """
import os, sys
from datetime import timedelta
from shopify_max.airflow_glue.fulfilment_tasks import line_map_source
from shopify_max.fulfilment.rules import load_fulfilment_rules
from shopify_max.fulfilment.shipments import fulfil_shipments
from shopify_max.shopify.hook import ShopifyHook
from shopify_max.sync_store import SyncStore

class KilledAfterTheFirstSend(ShopifyHook):
    def create_fulfillment(self, *args, **kwargs):
        super().create_fulfillment(*args, **kwargs)
        os._exit(137)  # the process dies here: Shopify has the fulfilment, the sync store only that it was sending

fulfil_shipments(SyncStore.from_url(sys.argv[1]), KilledAfterTheFirstSend, load_fulfilment_rules(), run_id="killed",
                 task_id="create_shopify_fulfilments", lease=timedelta(seconds=3), line_map_source=line_map_source())
"""


def test_a_killed_writer_two_workers_a_fault_storm_and_an_old_order_give_one_fulfilment_per_shipment(
        airflow_metadata_db, dag_bag, stack, settings, database_url):
    from datetime import timedelta
    from threading import Thread

    from sqlalchemy import delete

    from shopify_max.airflow_glue.fulfilment_tasks import line_map_source
    from shopify_max.fulfilment.rules import load_fulfilment_rules
    from shopify_max.fulfilment.shipments import fulfil_shipments, read_shipments
    from shopify_max.sync_store.tables import order_line_map

    stack.shop_admin.post("/_sandbox/reset", json={"products": 40, "orders": 0}).raise_for_status()
    orders = [new_order(stack, [{"sku": f"SKU-0000{n}", "quantity": 2}, {"sku": "SKU-00011", "quantity": 1}],
                        payment="pending" if n == 6 else "paid") for n in range(1, 7)]
    assert run_dag(dag_bag, "orders_to_max")["exported"] == 6
    ordnums = [stack.store.max_key_for("order", order["id"]) for order in orders]
    recorded_at_export = stack.store.order_line_map(ordnums[0])
    with stack.store.engine.begin() as conn:  # the first order was exported before line maps were recorded
        conn.execute(delete(order_line_map).where(order_line_map.c.ordnum == ordnums[0]))
    numbers = {ordnum: [f"1Z999AA1{ordnum}{n}" for n in range(1, 3)] for ordnum in ordnums}
    for ordnum in ordnums:
        ship(stack, ordnum, None, numbers[ordnum])
    read_shipments(stack.store, stack.max_hook(), run_id="read")

    # 1. A writer is killed between Shopify's answer and recording it (its lease is left behind, for 3 s).
    killed = subprocess.run([sys.executable, "-c", KILLED_AFTER_THE_FIRST_SEND, database_url], capture_output=True,
                            text=True, timeout=120, env={**os.environ, "PYTHONPATH": "plugins"})
    assert killed.returncode == 137, killed.stderr[-2000:]
    # 2. Two workers then take up the same shipments at once (an Airflow retry beside a second run).
    results = []

    def worker(name: str) -> None:
        results.append(fulfil_shipments(stack.store, ShopifyHook, load_fulfilment_rules(), run_id=name,
                                        task_id="create_shopify_fulfilments", lease=timedelta(seconds=30),
                                        line_map_source=line_map_source()))

    threads = [Thread(target=worker, args=(f"worker-{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(result.get("left_to_another_writer", 0) for result in results) >= 1  # never two at one order
    # 3. A fault storm: 5xx, dropped connections and throttling, with Airflow-like retries (runs that fail are run
    # again) until a run succeeds.
    time.sleep(3)  # the killed writer's lease expires
    stack.shop_admin.post("/_sandbox/faults", json={"error_5xx_rate": 0.25, "drop_rate": 0.1,
                                                   "throttle_429_rate": 0.1, "retry_after_seconds": 0.05}
                          ).raise_for_status()
    for _attempt in range(8):
        dag = dag_bag.dags["fulfilment_to_shopify"]
        for task in dag.tasks:
            task.retries = 0
        if dag.test().state == "success" and not stack.store.open_shipments():
            break
    stack.shop_admin.post("/_sandbox/faults", json={"error_5xx_rate": 0, "drop_rate": 0, "throttle_429_rate": 0}
                          ).raise_for_status()
    # 4. MAX invoices the payment-terms order and records it paid: the next run marks it paid in Shopify.
    invoice = stack.gateway_admin.post("/_sandbox/invoice", json={"ORDNUM": ordnums[5]}).json()
    stack.gateway_admin.post("/_sandbox/pay", json={"invoice": invoice["INVCE"]}).raise_for_status()
    summary = run_dag(dag_bag, "fulfilment_to_shopify")
    assert summary["order_status"].get("marked_paid") == 1

    api = ShopifyHook()
    for order, ordnum in zip(orders, ordnums, strict=True):
        state = api.order_fulfilment_state(order["id"])
        [fulfilment] = state.fulfillments  # exactly one per shipment: none lost, none twice
        assert numbers_of(fulfilment) == set(numbers[ordnum]), ordnum
        assert state.display_fulfillment_status == "FULFILLED"
    assert stack.store.order_line_map(ordnums[0]) == recorded_at_export  # rebuilt from MAX and Shopify, the same
    assert api.order_fulfilment_state(orders[5]["id"]).display_financial_status == "PAID"
    assert not stack.store.list_errors(entity="shipment")
