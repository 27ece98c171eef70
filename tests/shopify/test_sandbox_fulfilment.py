"""Fulfillment orders, fulfilments and order writes in the sandbox, over real HTTP with the project's documents:
Shopify's state machine (OPEN → IN_PROGRESS → CLOSED, ON_HOLD), its refusals, moves, faults and webhooks."""

from __future__ import annotations

import pytest
import requests
from shopify_helpers import TOKEN

from shopify_max.shopify import documents, fulfilment_documents

HOLD = """mutation Hold($id: ID!) { fulfillmentOrderHold(id: $id, fulfillmentHold: {reason: INCORRECT_ADDRESS,
  reasonNotes: "check the street"}) { fulfillmentHold { id reason } fulfillmentOrder { id status
  supportedActions { action } } userErrors { field message } } }"""
RELEASE = """mutation Release($id: ID!) { fulfillmentOrderReleaseHold(id: $id) {
  fulfillmentOrder { id status supportedActions { action } } userErrors { field message } } }"""


def _call(sandbox, document, variables=None) -> dict:
    text = document if isinstance(document, str) else document.text
    response = requests.post(sandbox.graphql_url, json={"query": text, "variables": variables or {}},
                             headers={"X-Shopify-Access-Token": TOKEN}, timeout=10)
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body


def _data(sandbox, document, variables=None) -> dict:
    return _call(sandbox, document, variables)["data"]


def _fulfillment_orders(sandbox, order_id: str) -> tuple[str, list[dict]]:
    order = _data(sandbox, fulfilment_documents.FULFILLMENT_ORDERS, {"id": order_id, "first": 5, "linesFirst": 20})["order"]
    return order["displayFulfillmentStatus"], order["fulfillmentOrders"]["nodes"]


def _fulfilment_state(sandbox, order_id: str) -> dict:
    return _data(sandbox, fulfilment_documents.ORDER_FULFILMENT_STATE, {
        "id": order_id, "fulfillmentOrdersFirst": 5, "fulfillmentOrderLinesFirst": 20, "fulfillmentLinesFirst": 20,
        "metafieldsFirst": 5, "withMetafields": False})["order"]


def _actions(fulfillment_order: dict) -> set[str]:
    return {a["action"] for a in fulfillment_order["supportedActions"]}


def _create(sandbox, groups: list[tuple[str, list[tuple[str, int]] | None]], tracking=None) -> dict:
    fulfillment = {"notifyCustomer": False, "lineItemsByFulfillmentOrder": [
        {"fulfillmentOrderId": fo_id, **({} if lines is None else {
            "fulfillmentOrderLineItems": [{"id": line_id, "quantity": qty} for line_id, qty in lines]})}
        for fo_id, lines in groups]}
    if tracking:
        fulfillment["trackingInfo"] = tracking
    return _data(sandbox, fulfilment_documents.FULFILLMENT_CREATE, {"fulfillment": fulfillment})["fulfillmentCreate"]


@pytest.fixture
def locations(admin) -> list[str]:
    return [location["id"] for location in admin.get("state")["locations"]]


def test_partial_fulfilment_moves_open_in_progress_closed(sandbox, admin):
    created = admin.post("orders", {"lines": [{"sku": "SKU-00005", "quantity": 3}, {"sku": "SKU-00006", "quantity": 2},
                                              {"sku": "SKU-00007", "quantity": 1}]})
    status, [fo] = _fulfillment_orders(sandbox, created["id"])
    assert status == "UNFULFILLED" and fo["status"] == "OPEN" and "CREATE_FULFILLMENT" in _actions(fo)
    first, second, _third = fo["lineItems"]["nodes"]
    partial = _create(sandbox, [(fo["id"], [(first["id"], 2), (second["id"], 2)])],
                      {"company": "UPS", "numbers": ["1Z999AA10000000001", "1Z999AA10000000002"]})
    assert partial["userErrors"] == []
    assert partial["fulfillment"]["order"]["displayFulfillmentStatus"] == "PARTIALLY_FULFILLED"
    assert [t["number"] for t in partial["fulfillment"]["trackingInfo"]] == ["1Z999AA10000000001",
                                                                             "1Z999AA10000000002"]
    status, [fo] = _fulfillment_orders(sandbox, created["id"])
    assert (status, fo["status"]) == ("PARTIALLY_FULFILLED", "IN_PROGRESS")
    assert [line["remainingQuantity"] for line in fo["lineItems"]["nodes"]] == [1, 0, 1]
    assert _create(sandbox, [(fo["id"], None)])["userErrors"] == []
    status, [fo] = _fulfillment_orders(sandbox, created["id"])
    assert (status, fo["status"], _actions(fo)) == ("FULFILLED", "CLOSED", set())
    refused = _create(sandbox, [(fo["id"], None)])
    assert refused["fulfillment"] is None and "unfulfillable status= closed" in refused["userErrors"][0]["message"]
    order = _fulfilment_state(sandbox, created["id"])
    assert [f["fulfillmentLineItems"]["nodes"][0]["quantity"] for f in order["fulfillments"]] == [2, 1]


def test_mixed_orders_mixed_locations_and_over_quantity_are_refused(sandbox, admin, locations):
    split = admin.post("orders", {"lines": [{"sku": "SKU-00010", "quantity": 2},
                                            {"sku": "SKU-00011", "quantity": 1, "location_id": locations[1]}]})
    other = admin.post("orders", {"lines": [{"sku": "SKU-00012", "quantity": 1}]})
    _, fulfillment_orders = _fulfillment_orders(sandbox, split["id"])
    assert [fo["assignedLocation"]["location"]["id"] for fo in fulfillment_orders] == locations[:2]
    _, [other_fo] = _fulfillment_orders(sandbox, other["id"])
    mixed_orders = _create(sandbox, [(fulfillment_orders[0]["id"], None), (other_fo["id"], None)])
    assert mixed_orders["userErrors"][0]["message"] == "All fulfillment orders must belong to the same order."
    mixed_locations = _create(sandbox, [(fo["id"], None) for fo in fulfillment_orders])
    assert "same location" in mixed_locations["userErrors"][0]["message"]
    line = fulfillment_orders[0]["lineItems"]["nodes"][0]
    too_many = _create(sandbox, [(fulfillment_orders[0]["id"], [(line["id"], 3)])])
    assert "remaining 2" in too_many["userErrors"][0]["message"]
    status, after = _fulfillment_orders(sandbox, split["id"])
    assert status == "UNFULFILLED" and [fo["status"] for fo in after] == ["OPEN", "OPEN"]  # nothing committed


def test_on_hold_refuses_fulfilment_until_released(sandbox, admin):
    created = admin.post("orders", {"lines": [{"sku": "SKU-00014", "quantity": 2}]})
    _, [fo] = _fulfillment_orders(sandbox, created["id"])
    held = admin.post(f"fulfillment_orders/{fo['id'].rsplit('/', 1)[1]}/hold", {"reason": "AWAITING_PAYMENT"})
    assert held["status"] == "ON_HOLD" and "CREATE_FULFILLMENT" not in held["supportedActions"]
    status, [fo] = _fulfillment_orders(sandbox, created["id"])
    assert status == "ON_HOLD" and _actions(fo) == {"RELEASE_HOLD", "HOLD"}
    refused = _create(sandbox, [(fo["id"], None)])
    assert "unfulfillable status= on_hold" in refused["userErrors"][0]["message"]
    admin.post(f"fulfillment_orders/{fo['id'].rsplit('/', 1)[1]}/release")
    assert _create(sandbox, [(fo["id"], None)])["userErrors"] == []
    # the real mutations do the same
    other = admin.post("orders", {"lines": [{"sku": "SKU-00015", "quantity": 1}]})
    _, [fo] = _fulfillment_orders(sandbox, other["id"])
    hold = _data(sandbox, HOLD, {"id": fo["id"]})["fulfillmentOrderHold"]
    assert hold["fulfillmentOrder"]["status"] == "ON_HOLD" and hold["fulfillmentHold"]["reason"] == "INCORRECT_ADDRESS"
    release = _data(sandbox, RELEASE, {"id": fo["id"]})["fulfillmentOrderReleaseHold"]
    assert release["fulfillmentOrder"]["status"] == "OPEN" and "CREATE_FULFILLMENT" in _actions(
        release["fulfillmentOrder"])


def test_move_takes_the_remaining_quantities_to_a_new_fulfillment_order(sandbox, admin, locations):
    created = admin.post("orders", {"lines": [{"sku": "SKU-00016", "quantity": 4}, {"sku": "SKU-00017", "quantity": 1}]})
    _, [fo] = _fulfillment_orders(sandbox, created["id"])
    assert "MOVE" in _actions(fo)
    untouched = _data(sandbox, fulfilment_documents.FULFILLMENT_ORDER_MOVE, {"id": fo["id"], "newLocationId": locations[1]})
    moved = untouched["fulfillmentOrderMove"]["movedFulfillmentOrder"]
    assert moved["id"] == fo["id"] and moved["assignedLocation"]["location"]["id"] == locations[1]  # moved whole
    first = fo["lineItems"]["nodes"][0]
    assert _create(sandbox, [(fo["id"], [(first["id"], 1)])])["userErrors"] == []
    result = _data(sandbox, fulfilment_documents.FULFILLMENT_ORDER_MOVE,
                   {"id": fo["id"], "newLocationId": locations[2]})["fulfillmentOrderMove"]
    assert result["userErrors"] == [] and result["originalFulfillmentOrder"]["status"] == "CLOSED"
    new = result["movedFulfillmentOrder"]
    assert new["id"] != fo["id"] and new["assignedLocation"]["location"]["id"] == locations[2]
    assert [(line["sku"], line["remainingQuantity"]) for line in new["lineItems"]["nodes"]] == [
        ("SKU-00016", 3), ("SKU-00017", 1)]
    status, fulfillment_orders = _fulfillment_orders(sandbox, created["id"])
    assert status == "PARTIALLY_FULFILLED" and [f["status"] for f in fulfillment_orders] == ["CLOSED", "OPEN"]
    assert _create(sandbox, [(new["id"], None)])["fulfillment"]["order"]["displayFulfillmentStatus"] == "FULFILLED"


def test_commit_then_drop_leaves_the_fulfilment_committed(sandbox, admin):
    created = admin.post("orders", {"lines": [{"sku": "SKU-00018", "quantity": 2}]})
    _, [fo] = _fulfillment_orders(sandbox, created["id"])
    variables = {"fulfillment": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo["id"]}],
                                 "trackingInfo": {"company": "DHL Express", "number": "JD0001"}}}
    admin.post("faults", {"drop_after_commit_rate": 1.0})
    try:
        with pytest.raises(requests.exceptions.RequestException):
            requests.post(sandbox.graphql_url, json={"query": fulfilment_documents.FULFILLMENT_CREATE.text, "variables": variables},
                          headers={"X-Shopify-Access-Token": TOKEN}, timeout=10).json()
    finally:
        admin.post("faults", {"drop_after_commit_rate": 0.0})
    order = _fulfilment_state(sandbox, created["id"])
    assert order["displayFulfillmentStatus"] == "FULFILLED"
    [fulfillment] = order["fulfillments"]
    assert fulfillment["trackingInfo"] == [{"company": "DHL Express", "number": "JD0001", "url": None}]


def test_tracking_update_and_mutation_cost(sandbox, admin):
    created = admin.post("orders", {"lines": [{"sku": "SKU-00019", "quantity": 1}]})
    _, [fo] = _fulfillment_orders(sandbox, created["id"])
    fulfillment = _create(sandbox, [(fo["id"], None)], {"company": "UPS", "number": "1Z-OLD"})["fulfillment"]
    body = _call(sandbox, fulfilment_documents.FULFILLMENT_TRACKING_INFO_UPDATE, {
        "fulfillmentId": fulfillment["id"], "notifyCustomer": False,
        "trackingInfoInput": {"company": "FedEx", "numbers": ["FX1", "FX2"],
                              "urls": ["https://t.example/FX1", "https://t.example/FX2"]}})
    assert body["extensions"]["cost"]["requestedQueryCost"] == 10
    updated = body["data"]["fulfillmentTrackingInfoUpdate"]["fulfillment"]
    assert [(t["company"], t["number"]) for t in updated["trackingInfo"]] == [("FedEx", "FX1"), ("FedEx", "FX2")]
    missing = _data(sandbox, fulfilment_documents.FULFILLMENT_TRACKING_INFO_UPDATE, {
        "fulfillmentId": "gid://shopify/Fulfillment/1", "trackingInfoInput": {"number": "x"}})
    assert missing["fulfillmentTrackingInfoUpdate"]["userErrors"][0]["message"] == "Fulfillment does not exist."


def _metafield(owner: str, key: str, value: str = "x", kind: str = "single_line_text_field", namespace="max"):
    return {"ownerId": owner, "namespace": namespace, "key": key, "type": kind, "value": value}


def test_metafields_set_validates_all_or_nothing_and_at_most_25(sandbox, admin):
    order_id = admin.post("orders", {"lines": [{"sku": "SKU-00020", "quantity": 1}]})["id"]
    bad = _data(sandbox, documents.METAFIELDS_SET, {"metafields": [
        _metafield(order_id, "status", "open"), _metafield(order_id, "k"), _metafield(order_id, "bad key!"),
        _metafield(order_id, "ok_key", namespace="m"), _metafield(order_id, "count", "many", "number_integer"),
        _metafield(order_id, "what", kind="no_such_type"), _metafield(order_id, "inv", "{", "json")]})["metafieldsSet"]
    assert bad["metafields"] is None
    assert [(e["elementIndex"], e["code"]) for e in bad["userErrors"]] == [
        (1, "TOO_SHORT"), (2, "INVALID"), (3, "TOO_SHORT"), (4, "INVALID_VALUE"), (5, "INVALID_TYPE"),
        (6, "INVALID_VALUE")]
    read = 'query Mf($id: ID!) { order(id: $id) { metafield(namespace: "max", key: "status") { value } } }'
    assert _data(sandbox, read, {"id": order_id})["order"]["metafield"] is None  # nor was the valid one written
    too_many = [_metafield(order_id, f"key_{n}") for n in range(26)]
    refused = _data(sandbox, documents.METAFIELDS_SET, {"metafields": too_many})["metafieldsSet"]
    assert refused["userErrors"][0]["code"] == "LESS_THAN_OR_EQUAL_TO" and refused["metafields"] is None
    written = _data(sandbox, documents.METAFIELDS_SET, {"metafields": too_many[:25]})["metafieldsSet"]
    assert written["userErrors"] == [] and len(written["metafields"]) == 25
    invoices = _metafield(order_id, "invoices", '[{"number": "INV-1", "amount": "10.00"}]', "json")
    assert _data(sandbox, documents.METAFIELDS_SET, {"metafields": [invoices]})["metafieldsSet"]["userErrors"] == []


def test_capture_at_most_what_is_capturable(sandbox, admin):
    created = admin.post("orders", {"lines": [{"sku": "SKU-00021", "quantity": 2, "price": "50.00"}],
                                    "payment": "authorized"})
    order = sandbox.sandbox.store.orders[created["id"]]
    [authorisation] = order["transactions"]
    total = order["totalCapturableSet"]["shopMoney"]["amount"]
    assert order["displayFinancialStatus"] == "AUTHORIZED" and order["capturable"]

    def capture(amount: str) -> dict:
        return _data(sandbox, fulfilment_documents.ORDER_CAPTURE, {"input": {
            "id": created["id"], "parentTransactionId": authorisation["id"], "amount": amount}})["orderCapture"]

    over = capture(str(float(total) + 0.01))
    assert over["transaction"] is None and "exceeds the capturable amount" in over["userErrors"][0]["message"]
    first = capture("40.00")["transaction"]
    assert first["kind"] == "CAPTURE" and first["parentTransaction"]["id"] == authorisation["id"]
    assert first["order"]["displayFinancialStatus"] == "PARTIALLY_PAID"
    rest = f"{float(total) - 40:.2f}"
    assert capture(rest)["transaction"]["order"]["displayFinancialStatus"] == "PAID"
    assert capture("0.01")["userErrors"]  # nothing left
    assert sandbox.sandbox.store.orders[created["id"]]["capturable"] is False


def test_mark_as_paid_close_and_tags(sandbox, admin):
    created = admin.post("orders", {"lines": [{"sku": "SKU-00022", "quantity": 1}], "payment": "pending",
                                    "tags": ["wholesale"]})
    paid = _data(sandbox, fulfilment_documents.ORDER_MARK_AS_PAID, {"input": {"id": created["id"]}})["orderMarkAsPaid"]
    assert paid["order"]["displayFinancialStatus"] == "PAID"
    assert paid["order"]["totalOutstandingSet"]["shopMoney"]["amount"] == "0.00"
    again = _data(sandbox, fulfilment_documents.ORDER_MARK_AS_PAID, {"input": {"id": created["id"]}})["orderMarkAsPaid"]
    assert again["order"] is None and again["userErrors"]
    assert _data(sandbox, documents.TAGS_ADD, {"id": created["id"], "tags": ["max-open", "MAX-SO-1"]})
    removed = _data(sandbox, documents.TAGS_REMOVE, {"id": created["id"], "tags": ["max-open"]})["tagsRemove"]
    assert removed["userErrors"] == [] and sandbox.sandbox.store.orders[created["id"]]["tags"] == ["wholesale",
                                                                                                   "MAX-SO-1"]
    closed = _data(sandbox, fulfilment_documents.ORDER_CLOSE, {"input": {"id": created["id"]}})["orderClose"]
    assert closed["order"]["closed"] and closed["order"]["closedAt"]


def test_fulfilment_mutations_send_their_webhooks(sandbox, admin, webhook_receiver):
    admin.post("webhooks", {"url": webhook_receiver.url, "delay_seconds": 0.0})
    try:
        created = admin.post("orders", {"lines": [{"sku": "SKU-00023", "quantity": 1}]})
        _, [fo] = _fulfillment_orders(sandbox, created["id"])
        fulfillment = _create(sandbox, [(fo["id"], None)], {"company": "UPS", "number": "1Z1"})["fulfillment"]
        _data(sandbox, fulfilment_documents.FULFILLMENT_TRACKING_INFO_UPDATE, {
            "fulfillmentId": fulfillment["id"], "trackingInfoInput": {"company": "UPS", "number": "1Z2"}})
        received = webhook_receiver.wait_for(4)
        topics = [r.headers["X-Shopify-Topic"] for r in received]
        assert {"orders/create", "fulfillments/create", "orders/updated", "fulfillments/update"} <= set(topics)
        update = next(r.payload for r in received if r.headers["X-Shopify-Topic"] == "fulfillments/update")
        assert update["tracking_numbers"] == ["1Z2"] and update["order_id"] == int(created["id"].rsplit("/", 1)[1])
    finally:
        admin.post("webhooks", {"url": None, "delay_seconds": 0.0})


def test_the_seed_has_multi_location_and_on_hold_fulfillment_orders(sandbox):
    orders = sandbox.sandbox.store.orders.values()
    assert any(len({fo["assignedLocation"]["location"]["id"] for fo in o["fulfillmentOrders"]}) > 1 for o in orders)
    assert any(fo["status"] == "ON_HOLD" for o in orders for fo in o["fulfillmentOrders"])
