"""Refunds: the sandbox's refundCreate and refunds/create behave as Shopify's (2026-07), and the client reads a refund
the same way from the Admin API and from the webhook body."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from shopify_helpers import TOKEN

from sandboxes.shopify import cost
from sandboxes.shopify.schema import admin_schema
from shopify_max.clock import utcnow
from shopify_max.paths import INCLUDE_DIR
from shopify_max.shopify import refund_documents
from shopify_max.shopify.refund_payload import UnreadableRefundPayload, refund_from_webhook_payload

MAIN = "gid://shopify/Location/64001001"
EXAMPLE = json.loads((INCLUDE_DIR / "vendor" / "shopify" / "webhooks" / "refunds.create.json").read_text())["response"]


def new_order(admin, *lines: tuple[str, int], **extra) -> dict:
    return admin.post("orders", {"lines": [{"sku": sku, "quantity": q} for sku, q in lines], **extra})


def refund(admin, order: dict, **body) -> dict:
    return admin.post(f"orders/{order['id'].rsplit('/', 1)[1]}/refund", body)


def refund_refused(admin, order: dict, **body):
    response = admin.session.post(f"{admin.running.base_url}/_sandbox/orders/{order['id'].rsplit('/', 1)[1]}/refund",
                                  json=body, timeout=30)
    assert response.status_code == 422, response.text
    return response.json()["errors"]


def available(admin, sku: str, location: str = MAIN) -> int:
    return next(level["available"] for level in admin.get("inventory", sku=sku)["levels"]
                if level["location_id"] == location)


def line(order: dict, index: int, quantity: int, restock: str = "NO_RESTOCK", **extra) -> dict:
    return {"line_item_id": order["lineItems"][index], "quantity": quantity, "restock_type": restock, **extra}


def store_order(sandbox, order: dict) -> dict:
    return sandbox.sandbox.store.orders[order["id"]]


# ----- the kinds of refund -----
def test_a_partial_refund_with_return_restock_puts_the_units_back_at_that_location(admin, api, sandbox):
    order = new_order(admin, ("SKU-00001", 3), ("SKU-00002", 1))
    before = available(admin, "SKU-00001")
    made = refund(admin, order, lines=[line(order, 0, 2, "RETURN", location_id=MAIN)], note="Wrong size")

    assert available(admin, "SKU-00001") == before + 2
    [read] = api.refunds_of_order(order["id"])
    assert read.id == made["id"] and read.note == "Wrong size" and read.currency == "USD"
    [refunded] = read.lines
    assert (refunded.quantity, refunded.restock_type, refunded.location_id, refunded.sku) == (2, "RETURN", MAIN,
                                                                                             "SKU-00001")
    source = store_order(sandbox, order)["lineItems"][0]
    assert refunded.subtotal == (source["_net"] * 2 / 3).quantize(Decimal("0.01"))
    assert read.total_refunded == refunded.subtotal + refunded.total_tax == Decimal(made["totalRefunded"])
    assert made["displayFinancialStatus"] == "PARTIALLY_REFUNDED" and read.adjustments == []


def test_return_without_a_location_restocks_where_the_line_was_assigned(admin, api):
    order = new_order(admin, ("SKU-00003", 2))
    before = available(admin, "SKU-00003")
    refund(admin, order, lines=[line(order, 0, 1, "RETURN")])
    assert available(admin, "SKU-00003") == before + 1
    assert api.refunds_of_order(order["id"])[0].lines[0].location_id == MAIN


def test_a_full_refund_without_restock_refunds_everything_and_moves_no_stock(admin, api, sandbox):
    order = new_order(admin, ("SKU-00004", 2))
    before = available(admin, "SKU-00004")
    made = refund(admin, order, lines=[line(order, 0, 2)], shipping={"full": True})

    assert available(admin, "SKU-00004") == before
    assert made["displayFinancialStatus"] == "REFUNDED"
    assert Decimal(made["totalRefunded"]) == store_order(sandbox, order)["_total"]
    [read] = api.refunds_of_order(order["id"])
    assert [s.subtotal for s in read.shipping] == [Decimal("7.50")] and read.shipping[0].title == "Standard Shipping"
    assert read.shipping[0].tax == Decimal("0.47")  # 6.25 % of 7.50, to the cent


def test_a_shipping_only_refund_has_no_lines(admin, api):
    order = new_order(admin, ("SKU-00005", 1))
    made = refund(admin, order, shipping={"amount": "5.00"})
    [read] = api.refunds_of_order(order["id"])
    assert read.lines == [] and [(s.subtotal, s.tax) for s in read.shipping] == [(Decimal("5.00"), Decimal("0.31"))]
    assert read.total_refunded == Decimal("5.31") == Decimal(made["totalRefunded"])
    assert "greater than the refundable shipping" in refund_refused(admin, order, shipping={"amount": "2.51"})


def test_two_refunds_of_one_line_add_up_to_the_line_to_the_cent(admin, api, sandbox):
    order = new_order(admin, ("SKU-00006", 3))
    refund(admin, order, lines=[line(order, 0, 1)])
    refund(admin, order, lines=[line(order, 0, 2)])
    refunds = api.refunds_of_order(order["id"])
    assert len(refunds) == 2
    source = store_order(sandbox, order)["lineItems"][0]
    assert sum(r.lines[0].subtotal for r in refunds) == source["_net"]
    assert sum(r.lines[0].total_tax for r in refunds) == sum(t["_amount"] for t in source["taxLines"])
    assert "more items than were purchased" in refund_refused(admin, order, lines=[line(order, 0, 1)])


def test_an_adjustment_records_money_refunded_beyond_the_lines(admin, api):
    order = new_order(admin, ("SKU-00007", 2))
    made = refund(admin, order, lines=[line(order, 0, 1)],
                  adjustment={"amount": "5.00", "reason": "REFUND_DISCREPANCY"})
    assert made["adjustments"] == ["-5.00"]  # Shopify's sign: calculated minus refunded
    [read] = api.refunds_of_order(order["id"])
    assert [(a.amount, a.tax, a.reason) for a in read.adjustments] == [(Decimal("5.00"), Decimal(0),
                                                                        "REFUND_DISCREPANCY")]
    parts = sum(x.subtotal + x.total_tax for x in read.lines) + sum(a.amount for a in read.adjustments)
    assert parts == read.total_refunded == Decimal(made["calculated"]) + 5


def test_an_amount_that_does_not_reconcile_records_no_adjustment(admin, api):
    order = new_order(admin, ("SKU-00008", 1))
    refund(admin, order, lines=[line(order, 0, 1)], amount="1.00")
    [read] = api.refunds_of_order(order["id"])
    assert read.total_refunded == Decimal("1.00") and read.adjustments == []


# ----- refundCreate and its refusals -----
def _input(order: dict, **values) -> dict:
    return {"orderId": order["id"], **values}


def test_refund_create_refuses_what_shopify_refuses(admin, api):
    order = new_order(admin, ("SKU-00009", 2))
    item = order["lineItems"][0]
    cases = {
        "more items than were purchased": _input(order, refundLineItems=[{"lineItemId": item, "quantity": 3}]),
        "does not exist on the order": _input(order, refundLineItems=[
            {"lineItemId": "gid://shopify/LineItem/1", "quantity": 1}]),
        "greater than net payment received": _input(order, transactions=[
            {"orderId": order["id"], "gateway": "shopify_payments", "kind": "REFUND", "amount": "100000.00"}]),
        "not accepted when creating new refunds": _input(order, refundLineItems=[
            {"lineItemId": item, "quantity": 1, "restockType": "LEGACY_RESTOCK"}]),
        "Location does not exist": _input(order, refundLineItems=[
            {"lineItemId": item, "quantity": 1, "restockType": "RETURN", "locationId": "gid://shopify/Location/9"}]),
    }
    for expected, refund_input in cases.items():
        result = api.create_refund(refund_input)
        assert not result.ok and expected in result.user_errors[0].message, (expected, result)
    assert api.refunds_of_order(order["id"]) == []


def test_refund_create_costs_ten_and_needs_an_idempotency_key(admin, client):
    order = new_order(admin, ("SKU-00010", 1))
    refund_input = _input(order, refundLineItems=[{"lineItemId": order["lineItems"][0], "quantity": 1}],
                          transactions=[{"orderId": order["id"], "gateway": "shopify_payments", "kind": "REFUND",
                                         "amount": "1.00"}])
    response = client.execute(refund_documents.REFUND_CREATE, {"input": refund_input, "idempotencyKey": "k-cost"})
    assert response.data["refundCreate"]["order"]["displayFinancialStatus"] == "PARTIALLY_REFUNDED"
    assert response.requested_cost == 10
    unkeyed = requests.post(client.endpoint, headers={"X-Shopify-Access-Token": TOKEN}, timeout=30, json={
        "query": "mutation R($i: RefundInput!) { refundCreate(input: $i) { userErrors { message } } }",
        "variables": {"i": _input(order)}}).json()
    assert "@idempotent directive is required" in unkeyed["errors"][0]["message"]


def test_a_dropped_answer_to_refund_create_leaves_exactly_one_refund(admin, api):
    order = new_order(admin, ("SKU-00011", 2))
    admin.post("faults", {"drop_after_commit_field": "refundCreate", "drop_after_commit_count": 1})
    result = api.create_refund(_input(order, refundLineItems=[{"lineItemId": order["lineItems"][0], "quantity": 1}],
                                      transactions=[{"orderId": order["id"], "gateway": "shopify_payments",
                                                     "kind": "REFUND", "amount": "3.00"}]))
    assert result.ok  # the resend with the same key replays the first result
    assert admin.get("state")["faults"]["drop_after_commit_count"] == 0
    assert len(api.refunds_of_order(order["id"])) == 1


# ----- reading -----
def test_refunds_of_an_unknown_order_is_none(api):
    assert api.refunds_of_order("gid://shopify/Order/1") is None


def test_refunds_of_order_pages_every_nested_connection(admin, api):
    order = new_order(admin, *[(f"SKU-{n:05d}", 1) for n in range(12, 40)])
    refund(admin, order, lines=[line(order, n, 1) for n in range(len(order["lineItems"]))])
    [read] = api.refunds_of_order(order["id"])
    assert len(read.lines) == len(order["lineItems"]) > 20


def test_one_refunds_read_asks_for_less_than_the_single_query_limit():
    from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

    from shopify_max.shopify import refund_api
    variables = {"ids": ["x"] * refund_api.REFUNDS_PER_READ, "linesFirst": refund_api.LINES_PER_REFUND_READ,
                 "shippingFirst": refund_api.SHIPPING_LINES_PER_REFUND_READ,
                 "adjustmentsFirst": refund_api.ADJUSTMENTS_PER_REFUND_READ,
                 "transactionsFirst": refund_api.TRANSACTIONS_PER_REFUND_READ, "first": refund_api.CONNECTION_PAGE,
                 "id": "x"}
    for document in (refund_documents.REFUNDS_BY_ID, refund_documents.REFUND_CONNECTIONS_PAGE,
                     refund_documents.ORDER_RETURNS, refund_documents.REFUNDED_ORDERS):
        parsed = parse(document.text)
        operation = next(d for d in parsed.definitions if isinstance(d, OperationDefinitionNode))
        fragments = {d.name.value: d for d in parsed.definitions if isinstance(d, FragmentDefinitionNode)}
        extra = {"first": refund_api.RETURNS_PER_READ, "linesFirst": refund_api.LINES_PER_RETURN_READ} \
            if document is refund_documents.ORDER_RETURNS else {"first": refund_api.REFUNDED_ORDERS_PAGE} \
            if document is refund_documents.REFUNDED_ORDERS else {}
        requested = cost.requested_cost(admin_schema(), operation, fragments, {**variables, **extra})
        assert requested <= cost.SINGLE_QUERY_MAX_COST, (document.operation_name, requested)


def test_iter_refunded_orders_finds_refunded_orders_updated_in_the_window(admin, api):
    start = utcnow() - timedelta(seconds=1)
    plain = new_order(admin, ("SKU-00012", 1))
    refunded = new_order(admin, ("SKU-00013", 2))
    made = refund(admin, refunded, lines=[line(refunded, 0, 1)])
    found = {o.order_gid: o for o in api.iter_refunded_orders(start, utcnow() + timedelta(seconds=2))}
    assert refunded["id"] in found and plain["id"] not in found
    assert found[refunded["id"]].refund_ids == [made["id"]] and found[refunded["id"]].name.startswith("#")
    assert not [o for o in api.iter_refunded_orders(start - timedelta(days=400), start - timedelta(days=300))]


def test_a_return_opened_without_a_refund_is_read_back(admin, api):
    order = new_order(admin, ("SKU-00014", 2))
    [fulfillment_order] = order["fulfillmentOrders"]
    assert api.create_fulfillment({fulfillment_order: None}).ok
    opened = admin.post(f"orders/{order['id'].rsplit('/', 1)[1]}/return",
                        {"lines": [{"line_item_id": order["lineItems"][0], "quantity": 1}]})
    [read] = api.order_returns(order["id"])
    assert (read["id"], read["status"]) == (opened["id"], "OPEN")
    assert read["lines"][0]["quantity"] == 1 and read["lines"][0]["line_item_id"] == order["lineItems"][0]
    assert api.refunds_of_order(order["id"]) == []


# ----- the webhook -----
def _verify(secret: str, received) -> bool:
    digest = base64.b64encode(hmac.new(secret.encode(), received.body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(digest, received.headers["X-Shopify-Hmac-Sha256"])


def test_the_signed_webhook_reads_as_the_admin_api_reads_the_same_refund(admin, api, webhook_receiver):
    admin.post("webhooks", {"url": webhook_receiver.url, "secret": "whsec-refund", "duplicate_rate": 0, "drop_rate": 0,
                            "delay_seconds": 0, "reorder_window_seconds": 0})
    try:
        order = new_order(admin, ("SKU-00015", 3), ("SKU-00016", 1))
        made = refund(admin, order, lines=[line(order, 0, 2, "RETURN", location_id=MAIN), line(order, 1, 1)],
                      shipping={"amount": "2.00"}, adjustment={"amount": "1.25", "reason": "CUSTOMER"}, note="Damaged")
        received = [r for r in webhook_receiver.wait_for(3) if r.headers["X-Shopify-Topic"] == "refunds/create"]
        assert received and _verify("whsec-refund", received[0])
    finally:
        admin.post("webhooks", {"url": ""})
    body = received[0].payload
    assert set(EXAMPLE) <= set(body)
    assert set(EXAMPLE["refund_line_items"][0]) <= set(body["refund_line_items"][0])
    assert body["refund_line_items"][0]["restock_type"] == "return" and body["admin_graphql_api_id"] == made["id"]
    from_webhook = refund_from_webhook_payload(body)
    [from_api] = api.refunds_of_order(order["id"])
    assert from_api.updated_at is not None
    assert from_webhook == from_api.model_copy(update={"updated_at": None})


def test_seeded_refunds_read_back_whole(api, sandbox):
    seeded = [o for o in sandbox.sandbox.store.orders.values() if o["refunds"] and o["name"] in ("#1012", "#1013")]
    for order in seeded:
        [read] = api.refunds_of_order(order["id"])
        assert read.total_refunded == Decimal(order["totalRefundedSet"]["shopMoney"]["amount"])


# ----- the webhook payload parser (pure) -----
def test_shopifys_example_refund_body_reads_in_shop_money():
    refund_ = refund_from_webhook_payload(EXAMPLE)
    assert refund_.id == "gid://shopify/Refund/890088186047892319" and refund_.legacy_id == "890088186047892319"
    assert refund_.order_id == f"gid://shopify/Order/{EXAMPLE['order_id']}"
    assert refund_.lines[0].line_item_id == "gid://shopify/LineItem/487817672276298554"  # the exact gid, not rounded
    assert [(x.sku, x.quantity, x.restock_type, x.subtotal) for x in refund_.lines][:1] == [
        ("SKU2006-001", 1, "NO_RESTOCK", Decimal("89.99"))]
    assert refund_.total_refunded == Decimal("85.00") and refund_.currency == "USD"
    assert [(t.kind, t.status, t.gateway) for t in refund_.transactions] == [("REFUND", "SUCCESS", "bogus")] * 2
    assert refund_.transactions[0].id == "gid://shopify/OrderTransaction/245135271310201194"
    again = type(refund_).model_validate(refund_.model_dump(mode="json"))
    assert again == refund_


def _broken(path: list, value) -> dict:
    body = copy.deepcopy(EXAMPLE)
    target = body
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


@pytest.mark.parametrize(("path", "value", "field"), [
    (["refund_line_items", 2, "quantity"], "one", "refund_line_items[2].quantity"),
    (["refund_line_items", 0, "subtotal_set", "shop_money", "amount"], 89.99,
     "refund_line_items[0].subtotal_set.shop_money.amount"),
    (["refund_line_items", 1, "total_tax_set"], KeyError, "refund_line_items[1].total_tax_set"),
    (["refund_line_items"], {"not": "a list"}, "refund_line_items"),
    (["transactions", 0, "amount"], "lots", "transactions[0].amount"),
    (["transactions", 1, "currency"], "EUR", "transactions[1].amount"),
    (["order_id"], KeyError, "order_id"),
    (["created_at"], "yesterday", "created_at"),
    (["admin_graphql_api_id"], "gid://shopify/Order/1", "admin_graphql_api_id"),
])
def test_a_broken_body_names_the_refund_the_field_and_the_rule(path, value, field):
    with pytest.raises(UnreadableRefundPayload) as raised:
        refund_from_webhook_payload(_broken(path, value))
    assert raised.value.field == field
    if field != "admin_graphql_api_id":
        assert "gid://shopify/Refund/890088186047892319" in str(raised.value)
    assert field in str(raised.value)


@pytest.mark.parametrize("body", [None, [], "refund", 7])
def test_a_body_that_is_not_an_object_is_unreadable(body):
    with pytest.raises(UnreadableRefundPayload, match="must be an object"):
        refund_from_webhook_payload(body)
