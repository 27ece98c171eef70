"""End to end: a ``dry_run`` DAG run of ``orders_to_max`` and of ``refunds_to_max`` against both sandboxes, the
webhook receiver and the sync store (SQLite and PostgreSQL) writes nothing (both sandboxes' write logs, every
sync-store row), and the real run after it writes exactly what the dry run said it would (issue 15)."""

from __future__ import annotations

import time

import pytest
from conftest import declared_params_restored, run_dag, xcom_return

from tests.orders.dry_run_stack import Sandboxes, delta, sync_store_rows

pytestmark = pytest.mark.e2e
MAIN = "gid://shopify/Location/64001001"
ORDER_WRITE_TASKS = ("map_orders_to_sales_orders", "validate_sales_orders", "export_sales_orders_to_max",
                     "cancel_orders_cancelled_after_export")


# Every param the runs below set, each time (and conftest puts every DAG's params back after each run and test).
POLL_PARAMS = {"window_start": None, "window_end": None}


def dry_run_dag(dag_bag, dag_id: str):
    """One real run of ``dag_id`` with ``dry_run`` on; the run, and its summary's XCom."""
    dag = dag_bag.dags[dag_id]
    for task in dag.tasks:
        task.retries = 0
    with declared_params_restored(dag_bag, dag):
        dag_run = dag.test(run_conf={"dry_run": True, **POLL_PARAMS})
    assert dag_run.state == "success", f"{dag_id} dry run {dag_run.run_id} ended {dag_run.state}"
    return dag_run, xcom_return(dag_run, "summarise_run")


def real_run(dag_bag, dag_id: str) -> dict:
    return run_dag(dag_bag, dag_id, dry_run=False, **POLL_PARAMS)


def settled(stack) -> Sandboxes:
    """The stack once the shop has delivered every webhook it owes (so the inbox holds still), with its write logs."""
    deadline = time.monotonic() + 20
    while stack.shop_admin.get("/_sandbox/webhooks/deliveries").json()["pending"]:
        assert time.monotonic() < deadline, "the shop's webhooks did not land"
        time.sleep(0.1)
    return Sandboxes(stack.shop_admin, stack.gateway_admin, stack.store)


def test_a_dry_run_of_orders_to_max_writes_nothing_then_a_real_run_exports_what_it_said(
        airflow_metadata_db, dag_bag, stack):
    sandboxes = settled(stack)
    rows_before, writes_before = sync_store_rows(stack.store), sandboxes.writes()

    dag_run, report = dry_run_dag(dag_bag, "orders_to_max")

    assert sandboxes.writes() == writes_before  # no Shopify mutation, no MAX write request received
    assert sync_store_rows(stack.store) == rows_before  # nothing staged, no item, the watermark where it was
    assert report["dry_run"] and report == xcom_return(dag_run, "capture_orders")
    for task_id in ORDER_WRITE_TASKS:
        assert xcom_return(dag_run, task_id)["written"] == 0
    assert report["read"]["orders"] == 30 and report["would_write"]["sales_orders"] > 0
    assert report["would_fail"] == sum(group["count"] for group in report["would_fail_by_reason"].values()) > 0

    summary = real_run(dag_bag, "orders_to_max")

    written = delta(sandboxes.writes(), writes_before)
    assert {kind: written[kind] for kind in report["would_write"]} == report["would_write"]
    assert summary["exported"] == report["would_write"]["sales_orders"]
    assert (summary["read"], summary["failed"]) == (report["read"]["orders"], report["would_fail"])
    assert summary["skipped"] == report["read"]["skipped"] + report["read"]["unchanged"] + \
        report["read"]["already_exported"]


def test_a_dry_run_of_refunds_to_max_writes_nothing_then_a_real_run_credits_what_it_said(
        airflow_metadata_db, dag_bag, stack):
    stack.shop_admin.post("/_sandbox/reset", json={"products": 40, "orders": 0}).raise_for_status()
    sandboxes = settled(stack)
    credited = sandboxes.new_order([{"sku": "SKU-00001", "quantity": 2}])
    disputed = sandboxes.new_order([{"sku": "SKU-00002", "quantity": 1}])
    assert real_run(dag_bag, "orders_to_max")["exported"] == 2
    for order in (credited, disputed):
        ordnum = stack.store.max_key_for("order", order["id"])
        stack.gateway_admin.post("/_sandbox/ship", json={"ORDNUM": ordnum, "SHPVIA": "UP", "carrier": "UPS",
                                                         "tracking_number": f"1Z{ordnum}"}).raise_for_status()
        stack.gateway_admin.post("/_sandbox/invoice", json={"ORDNUM": ordnum}).raise_for_status()
    returned = sandboxes.order_action(credited, "refund", lines=[
        {"line_item_id": credited["lineItems"][0], "quantity": 1, "restock_type": "RETURN", "location_id": MAIN}])
    off = sandboxes.order_action(disputed, "refund", lines=[
        {"line_item_id": disputed["lineItems"][0], "quantity": 1, "restock_type": "NO_RESTOCK"}], amount="1.00")
    sandboxes = settled(stack)
    assert stack.store.inbox_counts()["new"] >= 2  # the refunds/create webhooks wait: a real run reads them too
    rows_before, writes_before = sync_store_rows(stack.store), sandboxes.writes()

    dag_run, report = dry_run_dag(dag_bag, "refunds_to_max")

    assert sandboxes.writes() == writes_before
    assert sync_store_rows(stack.store) == rows_before
    assert xcom_return(dag_run, "export_credit_memos")["written"] == 0
    assert report["would_write"] == {"credit_memos": 1}
    [example] = report["would_fail_by_reason"]["totals_differ"]["examples"]
    assert (example["record"], example["field"]) == (f"refund {off['id']} of order {disputed['id']}", "transactions")

    summary = real_run(dag_bag, "refunds_to_max")

    assert delta(sandboxes.writes(), writes_before)["credit_memos"] == report["would_write"]["credit_memos"]
    assert summary["by_outcome"] == {"exported": 1, "totals_differ": 1}
    assert [memo["refund"] for memo in summary["credit_memos"]] == [returned["id"]]
    assert [failure["refund"] for failure in summary["failed_refunds"]] == [off["id"]]
