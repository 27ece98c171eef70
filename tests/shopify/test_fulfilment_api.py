"""The fulfilment side of ShopifyAdminApi against the sandbox over HTTP: what the fulfilment flow reads
(``order_fulfilment_state``) and every operation it calls, with Shopify's answers as typed results."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shopify_max.shopify.api import ShopifyAdminApi
from shopify_max.shopify.client import GraphQLResponse
from shopify_max.shopify.errors import ShopifyOutcomeUnknownError
from shopify_max.shopify.fulfilment_api import (
    FULFILLMENT_ORDERS_PER_READ,
    LINES_PER_FULFILLMENT_ORDER_READ,
    LINES_PER_FULFILLMENT_READ,
    METAFIELDS_PER_READ,
)
from shopify_max.shopify.models import FulfillmentOrder, OrderFulfilmentState, TrackingInfo

UPS_NUMBERS = ["1Z999AA10000000001", "1Z999AA10000000002"]
UPS_URLS = [f"https://track.example/{number}" for number in UPS_NUMBERS]


@pytest.fixture
def locations(admin) -> list[str]:
    return [location["id"] for location in admin.get("state")["locations"]]


@pytest.fixture
def responses(api: ShopifyAdminApi) -> list[GraphQLResponse]:
    """Every response the api's client receives, to read the cost Shopify reported for each request."""
    seen: list[GraphQLResponse] = []
    execute = api.client.execute

    def recording(document, variables=None):
        response = execute(document, variables)
        seen.append(response)
        return response

    api.client.execute = recording  # type: ignore[method-assign]
    return seen


def _state(api: ShopifyAdminApi, order_id: str, namespace: str | None = None) -> OrderFulfilmentState:
    state = api.order_fulfilment_state(order_id, namespace)
    assert state is not None
    return state


def _at(state: OrderFulfilmentState, location_id: str) -> FulfillmentOrder:
    [fulfillment_order] = [fo for fo in state.fulfillment_orders if fo.location_id == location_id]
    return fulfillment_order


def _remaining(fulfillment_order: FulfillmentOrder) -> dict[str | None, int]:
    return {line.sku: line.remaining_quantity for line in fulfillment_order.line_items}


def test_an_order_that_does_not_exist_has_no_state(api):
    assert api.order_fulfilment_state("gid://shopify/Order/999999999") is None


def test_partial_fulfilment_with_two_tracking_numbers_reads_back_lines_tracking_and_what_remains(
        api, admin, locations):
    created = admin.post("orders", {"lines": [
        {"sku": "SKU-00030", "quantity": 3}, {"sku": "SKU-00031", "quantity": 2},
        {"sku": "SKU-00032", "quantity": 1, "location_id": locations[1]}]})
    before = _state(api, created["id"])
    assert before.display_fulfillment_status == "UNFULFILLED" and before.fulfillments == []
    assert [fo.location_id for fo in before.fulfillment_orders] == locations[:2]
    warehouse = _at(before, locations[0])
    first, second = warehouse.line_items

    result = api.create_fulfillment({warehouse.id: [(first.id, 2), (second.id, 2)]},
                                    TrackingInfo(company="UPS", numbers=UPS_NUMBERS, urls=UPS_URLS))

    assert result.ok and result.order_fulfillment_status == "PARTIALLY_FULFILLED"
    assert [(t.company, t.number, t.url) for t in result.tracking] == [
        ("UPS", UPS_NUMBERS[0], UPS_URLS[0]), ("UPS", UPS_NUMBERS[1], UPS_URLS[1])]
    after = _state(api, created["id"])
    assert after.display_fulfillment_status == "PARTIALLY_FULFILLED"
    [fulfillment] = after.fulfillments
    assert fulfillment.id == result.fulfillment_id and fulfillment.status == "SUCCESS"
    assert fulfillment.location_id == locations[0] and fulfillment.name.startswith(created["name"])
    assert [(line.line_item_id, line.sku, line.quantity) for line in fulfillment.lines] == [
        (first.line_item_id, "SKU-00030", 2), (second.line_item_id, "SKU-00031", 2)]
    assert [t.number for t in fulfillment.tracking] == UPS_NUMBERS
    assert {t.company for t in fulfillment.tracking} == {"UPS"}
    assert _remaining(_at(after, locations[0])) == {"SKU-00030": 1, "SKU-00031": 0}
    assert _at(after, locations[0]).status == "IN_PROGRESS"
    assert _remaining(_at(after, locations[1])) == {"SKU-00032": 1} and _at(after, locations[1]).status == "OPEN"


def test_a_fulfilment_across_locations_comes_back_as_a_user_error_not_an_exception(api, admin, locations):
    created = admin.post("orders", {"lines": [{"sku": "SKU-00033", "quantity": 1},
                                              {"sku": "SKU-00034", "quantity": 1, "location_id": locations[1]}]})
    state = _state(api, created["id"])
    result = api.create_fulfillment({fo.id: None for fo in state.fulfillment_orders})
    assert not result.ok and "same location" in result.user_errors[0].message


def test_tracking_update_replaces_the_tracking_with_one_number_and_url(api, admin):
    created = admin.post("orders", {"lines": [{"sku": "SKU-00035", "quantity": 1}]})
    [fulfillment_order] = _state(api, created["id"]).fulfillment_orders
    created_fulfilment = api.create_fulfillment({fulfillment_order.id: None},
                                                TrackingInfo(company="UPS", numbers=UPS_NUMBERS))
    updated = api.update_tracking(created_fulfilment.fulfillment_id,
                                  TrackingInfo(company="FedEx", number="FX1", url="https://t.example/FX1"))
    assert updated.ok and updated.order_fulfillment_status == "FULFILLED"
    assert updated.tracking == [TrackingInfo(company="FedEx", number="FX1", url="https://t.example/FX1")]
    [fulfillment] = _state(api, created["id"]).fulfillments
    assert [(t.company, t.number) for t in fulfillment.tracking] == [("FedEx", "FX1")]
    missing = api.update_tracking("gid://shopify/Fulfillment/1", TrackingInfo(number="x"))
    assert not missing.ok and missing.user_errors[0].message == "Fulfillment does not exist."


def test_move_whole_then_part_of_a_fulfillment_order_to_another_location(api, admin, locations):
    created = admin.post("orders", {"lines": [{"sku": "SKU-00036", "quantity": 4}, {"sku": "SKU-00037", "quantity": 1}]})
    [fulfillment_order] = _state(api, created["id"]).fulfillment_orders
    whole = api.move_fulfillment_order(fulfillment_order.id, locations[1])
    assert whole.ok and whole.moved.id == fulfillment_order.id and whole.moved.location_id == locations[1]
    first = fulfillment_order.line_items[0]
    assert api.create_fulfillment({fulfillment_order.id: [(first.id, 1)]}).ok
    part = api.move_fulfillment_order(fulfillment_order.id, locations[2], [(first.id, 2)])
    assert part.ok and part.original_id == fulfillment_order.id and part.original_status == "IN_PROGRESS"
    assert part.moved.id != fulfillment_order.id and part.moved.location_id == locations[2]
    assert _remaining(part.moved) == {"SKU-00036": 2}
    state = _state(api, created["id"])
    assert _remaining(_at(state, locations[1])) == {"SKU-00036": 1, "SKU-00037": 1}
    assert _remaining(_at(state, locations[2])) == {"SKU-00036": 2}
    refused = api.move_fulfillment_order(part.moved.id, locations[2])
    assert not refused.ok and refused.moved is None and "already assigned" in refused.user_errors[0].message


def test_a_held_fulfillment_order_does_not_offer_create_fulfillment(api, admin):
    created = admin.post("orders", {"lines": [{"sku": "SKU-00038", "quantity": 2}]})
    [fulfillment_order] = _state(api, created["id"]).fulfillment_orders
    assert fulfillment_order.can_create_fulfillment
    legacy_id = fulfillment_order.id.rsplit("/", 1)[1]
    admin.post(f"fulfillment_orders/{legacy_id}/hold", {"reason": "AWAITING_PAYMENT"})
    state = _state(api, created["id"])
    [held] = state.fulfillment_orders
    assert state.display_fulfillment_status == "ON_HOLD" and held.status == "ON_HOLD"
    assert "CREATE_FULFILLMENT" not in held.supported_actions and not held.can_create_fulfillment
    admin.post(f"fulfillment_orders/{legacy_id}/release")
    assert _state(api, created["id"]).fulfillment_orders[0].can_create_fulfillment


def test_remove_tags_and_close_show_in_the_state(api, admin):
    created = admin.post("orders", {"lines": [{"sku": "SKU-00039", "quantity": 1}],
                                    "tags": ["wholesale", "max-open"]})
    removed = api.remove_tags(created["id"], ["max-open"])
    assert removed.ok and removed.node_id == created["id"]
    closed = api.close_order(created["id"])
    assert closed.ok and closed.node_id == created["id"]
    state = _state(api, created["id"])
    assert state.tags == ["wholesale"] and state.closed
    assert not api.close_order("gid://shopify/Order/1").ok


def test_capture_part_of_an_authorisation_then_the_state_shows_the_capture_with_its_parent(api, admin):
    created = admin.post("orders", {"lines": [{"sku": "SKU-00040", "quantity": 2, "price": "50.00"}],
                                    "payment": "authorized"})
    before = _state(api, created["id"])
    [authorisation] = before.transactions
    assert (authorisation.kind, authorisation.status, authorisation.parent_id) == ("AUTHORIZATION", "SUCCESS", None)
    assert before.capturable and before.total_capturable == authorisation.amount > Decimal("40.00")
    assert before.display_financial_status == "AUTHORIZED"

    result = api.capture_payment(created["id"], authorisation.id, Decimal("40.00"), before.presentment_currency_code)

    assert result.ok and result.transaction.kind == "CAPTURE" and result.transaction.amount == Decimal("40.00")
    assert result.transaction.parent_id == authorisation.id
    after = _state(api, created["id"])
    assert after.display_financial_status == "PARTIALLY_PAID"
    assert after.total_capturable == authorisation.amount - Decimal("40.00") and after.capturable
    capture = next(t for t in after.transactions if t.kind == "CAPTURE")
    assert (capture.id, capture.parent_id, capture.amount, capture.currency) == (
        result.transaction.id, authorisation.id, Decimal("40.00"), after.currency_code)
    too_much = api.capture_payment(created["id"], authorisation.id, after.total_capturable + Decimal("0.01"),
                                   after.currency_code, final_capture=True)
    assert not too_much.ok and too_much.transaction is None
    assert "exceeds the capturable amount" in too_much.user_errors[0].message
    with pytest.raises(TypeError):
        api.capture_payment(created["id"], authorisation.id, 1.5, after.currency_code)  # type: ignore[arg-type]


def test_mark_as_paid_settles_a_pending_payment_order(api, admin):
    created = admin.post("orders", {"lines": [{"sku": "SKU-00041", "quantity": 1}], "payment": "pending"})
    assert _state(api, created["id"]).display_financial_status == "PENDING"
    paid = api.mark_as_paid(created["id"])
    assert paid.ok and paid.node_id == created["id"]
    state = _state(api, created["id"])
    assert state.display_financial_status == "PAID"
    assert any(t.kind == "SALE" and t.status == "SUCCESS" for t in state.transactions)
    again = api.mark_as_paid(created["id"])
    assert not again.ok and again.user_errors


def test_metafields_of_the_asked_namespace_are_read_back_after_set_metafields(api, admin, responses):
    order_id = admin.post("orders", {"lines": [{"sku": "SKU-00042", "quantity": 1}]})["id"]

    def metafield(key: str, value: str, namespace: str = "max") -> dict[str, str]:
        return {"ownerId": order_id, "namespace": namespace, "key": key, "type": "single_line_text_field",
                "value": value}

    assert api.set_metafields([metafield("sales_order", "SO-1001"), metafield("shipment", "SH-7"),
                               metafield("note", "elsewhere", namespace="other")]).ok
    responses.clear()
    assert _state(api, order_id, "max").metafields == {"sales_order": "SO-1001", "shipment": "SH-7"}
    [read] = responses  # an ordinary order is read in one request
    assert read.operation == "OrderFulfilmentState" and read.requested_cost <= 250  # asks little: waits little
    assert _state(api, order_id).metafields == {}
    assert _state(api, order_id, "nobody").metafields == {}


def test_a_large_order_is_read_whole_and_no_request_asks_for_more_than_1000_points(api, admin, locations, responses):
    """More fulfillment orders, lines, fulfilment lines and metafields than one page holds: paged, never too dear."""
    line_count = LINES_PER_FULFILLMENT_READ + 10  # under the seed's 120-line order, which test_shopify_api expects biggest
    created = admin.post("orders", {"lines": [{"sku": f"BULK-{n:04d}", "quantity": 2} for n in range(line_count)]})
    [fulfillment_order] = _state(api, created["id"]).fulfillment_orders
    assert len(fulfillment_order.line_items) == line_count > LINES_PER_FULFILLMENT_ORDER_READ
    assert api.create_fulfillment({fulfillment_order.id: [(line.id, 1) for line in fulfillment_order.line_items]}).ok
    for line in fulfillment_order.line_items[:FULFILLMENT_ORDERS_PER_READ + 1]:  # each makes one more
        assert api.move_fulfillment_order(fulfillment_order.id, locations[1], [(line.id, 1)]).ok
    extra = [{"ownerId": created["id"], "namespace": "max", "key": f"key_{n:02d}", "type": "single_line_text_field",
              "value": str(n)} for n in range(METAFIELDS_PER_READ + 5)]
    assert api.set_metafields(extra[:25]).ok and api.set_metafields(extra[25:]).ok
    responses.clear()

    state = _state(api, created["id"], "max")

    operations = [response.operation for response in responses]
    assert operations[0] == "OrderFulfilmentState"
    assert {"FulfillmentOrdersOfOrder", "FulfillmentOrderLinesPage", "FulfillmentLinesPage",
            "OrderMetafieldsPage"} <= set(operations)
    assert all(0 < response.requested_cost <= 1000 for response in responses), [
        (r.operation, r.requested_cost) for r in responses]
    assert len(state.fulfillment_orders) > FULFILLMENT_ORDERS_PER_READ
    assert len({fo.id for fo in state.fulfillment_orders}) == len(state.fulfillment_orders)
    assert len(state.fulfillment_orders[0].line_items) == line_count
    [fulfillment] = state.fulfillments
    assert len(fulfillment.lines) == line_count and {line.quantity for line in fulfillment.lines} == {1}
    assert len({line.line_item_id for line in fulfillment.lines}) == line_count
    assert state.metafields == {f"key_{n:02d}": str(n) for n in range(METAFIELDS_PER_READ + 5)}


def test_a_dropped_answer_to_fulfillment_create_raises_yet_the_fulfilment_exists(api, admin):
    """Commit-then-drop: the client cannot know the outcome and does not resend; the caller re-reads the state."""
    created = admin.post("orders", {"lines": [{"sku": "SKU-00043", "quantity": 2}]})
    [fulfillment_order] = _state(api, created["id"]).fulfillment_orders
    admin.post("faults", {"drop_after_commit_rate": 1.0})
    try:
        with pytest.raises(ShopifyOutcomeUnknownError):
            api.create_fulfillment({fulfillment_order.id: None}, TrackingInfo(company="DHL Express", number="JD0001"))
    finally:
        admin.post("faults", {"drop_after_commit_rate": 0.0})
    state = _state(api, created["id"])
    assert state.display_fulfillment_status == "FULFILLED"
    [fulfillment] = state.fulfillments
    assert [(t.company, t.number) for t in fulfillment.tracking] == [("DHL Express", "JD0001")]
    assert [line.quantity for line in fulfillment.lines] == [2]


def test_tracking_input_sends_numbers_when_given_and_number_otherwise():
    several = TrackingInfo(company="UPS", number="ignored", numbers=UPS_NUMBERS, urls=UPS_URLS)
    assert several.as_input() == {"company": "UPS", "numbers": UPS_NUMBERS, "urls": UPS_URLS}
    assert TrackingInfo(company="UPS", number="1Z1", url="https://t.example/1Z1").as_input() == {
        "company": "UPS", "number": "1Z1", "url": "https://t.example/1Z1"}
    assert TrackingInfo(number="1Z1").as_input() == {"number": "1Z1"}
