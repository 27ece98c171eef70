"""The refunds dry run (``refund_tasks.refunds_dry_run``) against both sandboxes over HTTP and a real sync store
(SQLite and PostgreSQL), after real ``orders_to_max`` task runs exported the orders and MAX invoiced them: it writes
nothing anywhere (every sync-store row, both sandboxes' write logs), and the credit memos it says a real run would
write, refund by refund, are the ones the next real run writes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from sandboxes.shopify.app import SandboxConfig
from sandboxes.shopify.app import run_in_thread as run_shop
from shopify_max.airflow_glue import order_tasks, refund_tasks
from shopify_max.clock import utcnow
from tests.orders.dry_run_stack import PRODUCTS, delta, sandboxes, sync_store_rows

MAIN = "gid://shopify/Location/64001001"


@pytest.fixture(scope="module")
def shop():
    with run_shop(SandboxConfig(products=PRODUCTS, orders=0, plan="plus")) as running:
        yield running


@pytest.fixture
def stack(shop, database_url, tmp_path, monkeypatch):
    with sandboxes(shop, database_url, str(tmp_path / "max.sqlite"), monkeypatch, orders=0) as running:
        yield running


def params_of(window) -> dict:
    return {"window_start": window[0].isoformat(), "window_end": window[1].isoformat()}


def export_orders(run_id: str, window) -> dict:
    """One orders_to_max run over ``window``: its task bodies, in the DAG's order."""
    params = params_of(window)
    order_tasks.capture_orders(run_id, params, None, None, "capture_orders")
    order_tasks.map_orders(run_id, params)
    order_tasks.validate_orders(run_id, "validate_sales_orders", params)
    order_tasks.export_orders(run_id, "export_sales_orders_to_max", params)
    return order_tasks.summarise(run_id, params)


def refunds_run(run_id: str, window) -> dict:
    """One refunds_to_max run over ``window``: its task bodies, in the DAG's order."""
    params = params_of(window)
    capture = refund_tasks.capture_refunds(run_id, params, None, None)
    export = refund_tasks.export_credit_memos(run_id, "export_credit_memos", params)
    return refund_tasks.summarise(run_id, capture, export, params)


def ship_and_invoice(stack, ordnum: str) -> str:
    stack.gateway_admin.post("/_sandbox/ship", json={"ORDNUM": ordnum, "SHPVIA": "UP", "carrier": "UPS",
                                                     "tracking_number": f"1Z{ordnum}"}).raise_for_status()
    invoice = stack.gateway_admin.post("/_sandbox/invoice", json={"ORDNUM": ordnum})
    invoice.raise_for_status()
    return invoice.json()["INVCE"]


def as_dry_run_outcome(row) -> str:
    """A real run's outcome of one refund, as the dry run names it."""
    if row.status == "failed" or row.status == "waiting" and row.error_queue_id:
        return "would_fail"
    if row.status == "exported":
        return "would_export" if row.outcome_code == "exported" else "already_exported"
    return "skipped"


def test_a_refunds_dry_run_writes_nothing_and_the_next_run_writes_the_memos_it_said(stack):
    now = utcnow()
    window = (now - timedelta(hours=1), now + timedelta(minutes=30))
    split = stack.new_order([{"sku": "SKU-00001", "quantity": 3}])
    whole = stack.new_order([{"sku": "SKU-00002", "quantity": 2}])
    not_invoiced = stack.new_order([{"sku": "SKU-00003", "quantity": 1}])
    early = stack.new_order([{"sku": "SKU-00004", "quantity": 2}])
    # Refunded before its order reached MAX: a real run stages it, and it waits in the sync store, open.
    early_refund = stack.order_action(early, "refund", lines=[{"line_item_id": early["lineItems"][0], "quantity": 1,
                                                               "restock_type": "NO_RESTOCK"}])
    assert refunds_run("waits", window)["waiting"] == 1
    assert export_orders("orders", window)["exported"] == 4
    for order in (split, whole, early):
        ship_and_invoice(stack, stack.store.max_key_for("order", order["id"]))
    returned = stack.order_action(split, "refund", lines=[{"line_item_id": split["lineItems"][0], "quantity": 1,
                                                           "restock_type": "RETURN", "location_id": MAIN}])
    off = stack.order_action(split, "refund", lines=[{"line_item_id": split["lineItems"][0], "quantity": 1,
                                                      "restock_type": "NO_RESTOCK"}], amount="1.00")
    full = stack.order_action(whole, "refund", lines=[{"line_item_id": whole["lineItems"][0], "quantity": 2,
                                                       "restock_type": "NO_RESTOCK"}], shipping={"full": True})
    uninvoiced = stack.order_action(not_invoiced, "refund", lines=[
        {"line_item_id": not_invoiced["lineItems"][0], "quantity": 1, "restock_type": "NO_RESTOCK"}])
    rows_before, writes_before = sync_store_rows(stack.store), stack.writes()

    report = refund_tasks.refunds_dry_run(*window)

    assert sync_store_rows(stack.store) == rows_before  # nothing staged, no item, no lease, the watermark stays
    assert stack.writes() == writes_before  # neither sandbox received a write
    assert report.would_write == {"credit_memos": 3}
    outcomes = {row["refund"]: (row["outcome"], row["source"]) for row in report.tables["refunds"]}
    assert outcomes == {early_refund["id"]: ("would_export", "sync store"), returned["id"]: ("would_export", "poll"),
                        full["id"]: ("would_export", "poll"), off["id"]: ("would_fail", "poll"),
                        uninvoiced["id"]: ("skipped", "poll")}
    [failure] = report.would_fail
    assert (failure.record, failure.field, failure.reason) == (
        f"refund {off['id']} of order {split['id']}", "transactions", "totals_differ")
    assert "difference" in failure.message
    waiting = next(row for row in report.tables["refunds"] if row["refund"] == uninvoiced["id"])
    assert waiting["reason"].startswith("waiting_for_invoice")

    writes_before = stack.writes()
    summary = refunds_run("real", window)

    written = delta(stack.writes(), writes_before)
    assert written == {"sales_orders": 0, "customers": 0, "cancellations": 0, "credit_memos": 3}
    taken_up = stack.store.refund_outcomes("real")
    assert {row.refund_gid: as_dry_run_outcome(row) for row in taken_up} == {
        refund: outcome for refund, (outcome, _source) in outcomes.items()}
    memo_totals = {row["refund"]: row["credit_memo_total"] for row in report.tables["refunds"]
                   if row["outcome"] == "would_export"}
    assert {row.refund_gid: str(row.credit_memo_total) for row in taken_up if row.status == "exported"} == memo_totals
    assert sum(Decimal(total) for total in memo_totals.values()) > 0
    [item] = stack.store.list_errors(entity="refund")
    assert summary["error_queue_ids"] == [item.id] and item.stage == "totals"
    assert failure.message == item.reason  # what the dry run said is what the error queue then holds
