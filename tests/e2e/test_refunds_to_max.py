"""End to end: real ``refunds_to_max`` DAG runs against both sandboxes, the webhook receiver and the sync store
(SQLite and PostgreSQL), after real ``orders_to_max`` runs exported the orders and MAX shipped and invoiced them
(docs/refunds.md, "Done when")."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import run_dag

from shopify_max.refunds.rules import load_refund_rules
from shopify_max.shopify.hook import ShopifyHook

pytestmark = pytest.mark.e2e
MAIN = "gid://shopify/Location/64001001"


def new_order(stack, lines) -> dict:
    response = stack.shop_admin.post("/_sandbox/orders", json={"lines": lines})
    response.raise_for_status()
    return response.json()


def refund(stack, order, **body) -> dict:
    response = stack.shop_admin.post(f"/_sandbox/orders/{order['id'].rsplit('/', 1)[1]}/refund", json=body)
    response.raise_for_status()
    return response.json()


def ship_and_invoice(stack, ordnum) -> str:
    stack.gateway_admin.post("/_sandbox/ship", json={"ORDNUM": ordnum, "SHPVIA": "UP", "carrier": "UPS",
                                                     "tracking_number": f"1Z{ordnum}"}).raise_for_status()
    invoice = stack.gateway_admin.post("/_sandbox/invoice", json={"ORDNUM": ordnum})
    invoice.raise_for_status()
    return invoice.json()["INVCE"]


def on_hand(stack, part: str) -> Decimal:
    return sum((level.on_hand for level in stack.max_hook().iter_stock(parts=[part], stockrooms=["MAIN"])), Decimal(0))


def memo_of(stack, refund_id: str):
    custpo = load_refund_rules().custpo_format.format(refund_id=refund_id.rsplit("/", 1)[1])
    memos = stack.max_hook().find_credit_memos_by_custpo(custpo)
    assert len(memos) == 1, f"{custpo}: {len(memos)} credit memos"
    return memos[0]


def test_refund_kinds_become_credit_memos_exactly_once_to_the_cent(airflow_metadata_db, dag_bag, stack):
    stack.shop_admin.post("/_sandbox/reset", json={"products": 40, "orders": 0}).raise_for_status()
    two_refunds = new_order(stack, [{"sku": "SKU-00001", "quantity": 3}, {"sku": "SKU-00010-CS12", "quantity": 1}])
    full = new_order(stack, [{"sku": "SKU-00002", "quantity": 2}])
    shipping_only = new_order(stack, [{"sku": "SKU-00003", "quantity": 1}])
    early = new_order(stack, [{"sku": "SKU-00004", "quantity": 2}])
    # Refunded before the order reaches MAX: it waits, visibly, and is never lost.
    early_refund = refund(stack, early, lines=[{"line_item_id": early["lineItems"][0], "quantity": 1,
                                                "restock_type": "NO_RESTOCK"}])
    waiting = run_dag(dag_bag, "refunds_to_max")
    assert (waiting["refunds"], waiting["waiting"], waiting["exported"]) == (1, 1, 0)
    assert waiting["waiting_refunds"][0]["code"] == "waiting_for_order"

    assert run_dag(dag_bag, "orders_to_max")["exported"] == 4
    ordnums = {name: stack.store.max_key_for("order", order["id"]) for name, order in (
        ("two", two_refunds), ("full", full), ("shipping", shipping_only), ("early", early))}
    invoices = {name: ship_and_invoice(stack, ordnum) for name, ordnum in ordnums.items()}
    stock_before = {part: on_hand(stack, part) for part in ("PRT-00001", "PRT-00010", "PRT-00002")}

    # Every refunds/create webhook is delivered twice; the poll reads the same refunds a third time.
    stack.shop_admin.post("/_sandbox/webhooks", json={"duplicate_rate": 1.0}).raise_for_status()
    partial = refund(stack, two_refunds, lines=[{"line_item_id": two_refunds["lineItems"][0], "quantity": 1,
                                                 "restock_type": "RETURN", "location_id": MAIN}])
    second = refund(stack, two_refunds, lines=[{"line_item_id": two_refunds["lineItems"][1], "quantity": 1,
                                                "restock_type": "RETURN", "location_id": MAIN}])
    whole = refund(stack, full, lines=[{"line_item_id": full["lineItems"][0], "quantity": 2,
                                        "restock_type": "NO_RESTOCK"}], shipping={"full": True})
    freight = refund(stack, shipping_only, shipping={"amount": "7.50"})
    off = refund(stack, shipping_only, lines=[{"line_item_id": shipping_only["lineItems"][0], "quantity": 1,
                                               "restock_type": "NO_RESTOCK"}], amount="1.00")
    # MAX commits the first credit memo, and its answer is lost.
    stack.gateway_admin.put("/_sandbox/faults", json={"rules": [
        {"kind": "drop_after_commit", "method": "POST", "path": "/credit-memos", "count": 1}]}).raise_for_status()

    summary = run_dag(dag_bag, "refunds_to_max")

    assert stack.gateway_admin.get("/_sandbox/faults").json()["fired"] == {"drop_after_commit": 1}
    assert (summary["refunds"], summary["exported"], summary["skipped"], summary["failed"]) == (6, 5, 0, 1)
    [failed] = summary["failed_refunds"]
    assert failed["refund"] == off["id"] and failed["code"] == "totals_differ"
    [item] = stack.store.list_errors(entity="refund")
    assert item.stage == "totals" and "difference" in item.reason and summary["error_queue_ids"] == [item.id]

    # Field by field: the partial refund with restock credits one unit of the first line and puts it back in stock.
    first = memo_of(stack, partial["id"])
    assert (first.CUSTID, first.APPINV, first.STYPE) == (stack.max_hook().get_sales_order(ordnums["two"]).CUSTID,
                                                        invoices["two"], "CR")
    assert [(line.PRTNUM, line.ORGQTY, line.RESTCK) for line in first.lines] == [("PRT-00001", 1, "Y")]
    second_memo = memo_of(stack, second["id"])
    assert [(line.PRTNUM, line.ORGQTY) for line in second_memo.lines] == [("PRT-00010", 12)]  # a case is 12 EA
    assert on_hand(stack, "PRT-00001") == stock_before["PRT-00001"] + 1
    assert on_hand(stack, "PRT-00010") == stock_before["PRT-00010"] + 12
    # The full refund without restock moves no stock; its shipping is credited on the freight part.
    whole_memo = memo_of(stack, whole["id"])
    assert {line.PRTNUM for line in whole_memo.lines} == {"PRT-00002", "FREIGHT"}
    assert all(line.RESTCK != "Y" for line in whole_memo.lines)
    assert on_hand(stack, "PRT-00002") == stock_before["PRT-00002"]
    assert [(line.PRTNUM, line.PRICE) for line in memo_of(stack, freight["id"]).lines] == [("FREIGHT", Decimal("7.50"))]
    assert memo_of(stack, early_refund["id"]).APPINV == invoices["early"]
    # To the cent: every memo credits what its refund paid back.
    for row in summary["credit_memos"]:
        staged = stack.store.staged_refunds([row["refund"]])[row["refund"]]
        assert Decimal(row["total"]) == sum((Decimal(str(t["amount"])) for t in staged.refund["transactions"]),
                                            Decimal(0))

    # A return the customer opened, not refunded yet: reported, not credited.
    api = ShopifyHook()
    [fulfillment_order] = api.order_fulfilment_state(full["id"]).fulfillment_orders
    assert api.create_fulfillment({fulfillment_order.id: None}).ok
    refused = stack.shop_admin.post(f"/_sandbox/orders/{two_refunds['id'].rsplit('/', 1)[1]}/return", json={
        "lines": [{"line_item_id": two_refunds["lineItems"][0], "quantity": 1}]})
    assert refused.status_code == 422  # not fulfilled in Shopify: nothing to return
    stack.shop_admin.post(f"/_sandbox/orders/{full['id'].rsplit('/', 1)[1]}/return", json={"lines": [
        {"line_item_id": full["lineItems"][0], "quantity": 1}]}).raise_for_status()
    # A re-run and an overlapping backfill write nothing more.
    again = run_dag(dag_bag, "refunds_to_max")
    backfill = run_dag(dag_bag, "refunds_to_max", window_start="2020-01-01T00:00:00Z")  # its window reaches now
    assert [item["order"] for item in backfill["capture"]["returns_awaiting_refund"]] == [full["id"]]
    assert again["exported"] == backfill["exported"] == 0
    for refund_id in (partial["id"], second["id"], whole["id"], freight["id"], early_refund["id"]):
        memo_of(stack, refund_id)  # still exactly one each


def test_cancellation_and_refund_give_one_outcome_in_either_order(airflow_metadata_db, dag_bag, stack):
    stack.shop_admin.post("/_sandbox/reset", json={"products": 40, "orders": 0}).raise_for_status()
    refund_first = new_order(stack, [{"sku": "SKU-00005", "quantity": 1}])
    cancel_first = new_order(stack, [{"sku": "SKU-00006", "quantity": 1}])
    assert run_dag(dag_bag, "orders_to_max")["exported"] == 2

    def cancel_with_refund(order) -> None:  # before anything shipped
        refund(stack, order, lines=[{"line_item_id": order["lineItems"][0], "quantity": 1, "restock_type": "CANCEL"}],
               shipping={"full": True})

    def cancel(order) -> None:
        stack.shop_admin.post(f"/_sandbox/orders/{order['id'].rsplit('/', 1)[1]}/cancel", json={}).raise_for_status()

    # One refund is read before its cancellation reaches MAX: it waits (nothing invoiced to credit).
    cancel_with_refund(refund_first)
    assert run_dag(dag_bag, "refunds_to_max")["waiting"] == 1
    cancel(refund_first)
    # The other order's cancellation reaches MAX before its refund is read.
    cancel_with_refund(cancel_first)
    cancel(cancel_first)
    run_dag(dag_bag, "orders_to_max")  # the orders flow cancels both MAX orders
    settled = run_dag(dag_bag, "refunds_to_max")

    assert settled["by_outcome"] == {"cancelled_before_shipping": 2}
    assert not stack.store.list_errors(entity="refund")
    for order in (refund_first, cancel_first):
        [staged] = stack.store.refunds_of_order(order["id"])
        assert staged.credit_memo_ordnum is None and staged.status == "skipped"
    assert run_dag(dag_bag, "refunds_to_max")["refunds"] == 0  # settled: nothing taken up again
