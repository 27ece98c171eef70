"""End to end: the error_replay DAG's actions against both sandboxes over real HTTP (SQLite and PostgreSQL).

A webhook with a valid HMAC whose body is cut in the middle lands as a capture error; `refetch` re-reads the
order from Shopify by id and exports it to MAX once; refetching it again and a normal orders run after it do not
make a second MAX order."""

from __future__ import annotations

import json

import httpx
import pytest
from conftest import WEBHOOK_SECRET, xcom_return

from shopify_max.orders.pipeline import capture_orders
from shopify_max.webhooks.receiver import shopify_hmac

pytestmark = pytest.mark.e2e
# dag.test() keeps the params of the DAG's previous test run: each run here states every param.
DEFAULTS = {"action": "replay", "item_ids": [], "entity": None, "stage": None, "status": "open",
            "reason_contains": None, "record_keys": [], "note": None}


def _run_error_replay(dag_bag, conf):
    dag = dag_bag.dags["error_replay"]
    for task in dag.tasks:
        task.retries = 0
    dag_run = dag.test(run_conf={**DEFAULTS, **conf})
    return dag_run, (xcom_return(dag_run, "act_on_error_queue") if dag_run.state == "success" else None)


def _orders_run(dag_bag):
    dag = dag_bag.dags["orders_to_max"]
    for task in dag.tasks:
        task.retries = 0
    dag_run = dag.test()
    assert dag_run.state == "success"
    return xcom_return(dag_run, "summarise_run")


def test_refetch_of_an_unreadable_webhook_exports_the_order_once(airflow_metadata_db, dag_bag, stack):
    stack.shop_admin.post("/_sandbox/webhooks", json={"drop_rate": 1.0}).raise_for_status()  # only our webhook
    created = stack.shop_admin.post("/_sandbox/orders", json={"lines": [{"sku": "SKU-00002", "quantity": 2}]}).json()
    gid, name = created["id"], created["name"]
    body = json.dumps({"id": int(gid.rsplit("/", 1)[-1]), "admin_graphql_api_id": gid, "name": name,
                       "line_items": [{"id": 1, "sku": "SKU-00002", "quantity": 2}]}).encode()[:-30]  # cut short
    answer = httpx.post(f"{stack.receiver_url}/webhooks/shopify", content=body, headers={
        "X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-Sha256": shopify_hmac(WEBHOOK_SECRET, body),
        "X-Shopify-Webhook-Id": "cut-1", "X-Shopify-Event-Id": "cut-event-1"})
    assert answer.status_code == 200 and answer.json()["stored"] is True
    capture_orders(stack.store, None, run_id="orders-before", window=None)  # the inbox only: no poll
    [item] = stack.store.list_errors(entity="order", stage="capture")
    assert "is not a readable order" in item.reason and item.record_key == "webhook cut-1"
    assert stack.max_hook().find_sales_orders_by_custpo(f"SHOP{name}") == []

    # resolve without a note fails the run at once and changes nothing
    refused, _ = _run_error_replay(dag_bag, {"action": "resolve", "item_ids": [item.id]})
    assert refused.state == "failed"
    assert stack.store.select_errors(item_ids=[item.id])[0].status == "open"

    run, report = _run_error_replay(dag_bag, {"action": "refetch", "entity": "order", "stage": "capture",
                                              "note": "webhook body cut by a proxy"})

    assert run.state == "success"
    [entry] = report["items"]
    assert (entry["id"], entry["result"]) == (item.id, "resolved"), entry
    ordnum = stack.store.max_key_for("order", gid)
    assert ordnum is not None
    assert [so.ORDNUM for so in stack.max_hook().find_sales_orders_by_custpo(f"SHOP{name}")] == [ordnum]
    [after] = stack.store.select_errors(item_ids=[item.id], statuses=["resolved"])
    assert (after.note, after.acted_by) == ("webhook body cut by a proxy", f"dag_test (run {run.run_id})")
    [audit] = [entry for entry in stack.store.audit_entries(entity="order", record_key="webhook cut-1")
               if entry["direction"] == "error_queue_action"]
    assert (audit["direction"], audit["outcome"]) == ("error_queue_action", "refetched")

    # again, on the resolved item: re-read, found unchanged and exported, nothing sent
    _run, again = _run_error_replay(dag_bag, {"action": "refetch", "item_ids": [item.id], "status": "resolved"})
    assert [e["result"] for e in again["items"]] == ["resolved"]
    # a normal orders run polls the order too: exported earlier, nothing sent
    _orders_run(dag_bag)
    assert [so.ORDNUM for so in stack.max_hook().find_sales_orders_by_custpo(f"SHOP{name}")] == [ordnum]
    assert stack.store.staged_orders([gid])[gid].max_ordnum == ordnum


def test_an_unreadable_webhook_without_an_order_id_stays_open_with_a_reason(airflow_metadata_db, dag_bag, stack):
    body = b'{"name": "#9999", "line_items": [{"id": 1, "qu'
    httpx.post(f"{stack.receiver_url}/webhooks/shopify", content=body, headers={
        "X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-Sha256": shopify_hmac(WEBHOOK_SECRET, body),
        "X-Shopify-Webhook-Id": "cut-2", "X-Shopify-Event-Id": "cut-event-2"}).raise_for_status()
    capture_orders(stack.store, None, run_id="orders-before", window=None)
    [item] = stack.store.list_errors(entity="order", stage="capture")

    _run, report = _run_error_replay(dag_bag, {"action": "refetch", "item_ids": [item.id]})

    [entry] = report["items"]
    assert entry["result"] == "still_failing" and "no Shopify order id could be recovered" in entry["why"]
    [after] = stack.store.select_errors(item_ids=[item.id])
    assert after.status == "open" and "no Shopify order id" in after.reason
