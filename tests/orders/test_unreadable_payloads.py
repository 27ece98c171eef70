"""A webhook body that does not make an order raises one typed exception, UnreadableOrderPayload, whose reason
names the order (as far as the body tells) and each field: never a Python internal such as KeyError: 'currency'."""

from __future__ import annotations

import copy
import json

import pytest
from order_payloads import EXAMPLE_ORDER

from shopify_max.orders.field_limits import MAX_IDENTIFIER_CHARS, MAX_NUMBER_DIGITS, MAX_TEXT_CHARS
from shopify_max.orders.outcome import RECORDED_TEXT_CHARS
from shopify_max.orders.webhook_payload import (
    OrderFieldTooLong,
    UnreadableOrderPayload,
    order_from_webhook_body,
    order_from_webhook_payload,
)

ORDER_REF = "#9999 (gid://shopify/Order/820982911946154508)"


def unreadable(payload) -> UnreadableOrderPayload:
    with pytest.raises(UnreadableOrderPayload) as caught:
        order_from_webhook_payload(payload)
    return caught.value


@pytest.fixture
def payload():
    return copy.deepcopy(EXAMPLE_ORDER)


def test_a_missing_field_names_the_order_and_the_field_not_a_python_exception(payload):
    del payload["currency"]
    exc = unreadable(payload)
    assert (exc.order_ref, exc.field, exc.rule) == (ORDER_REF, "currency", "missing_field")
    assert exc.reason == f"order {ORDER_REF} cannot be read: currency is missing"
    assert "KeyError" not in exc.reason and isinstance(exc, ValueError)


def test_a_missing_nested_field_is_named_by_its_path(payload):
    del payload["line_items"][3]["price_set"]["shop_money"]
    exc = unreadable(payload)
    assert (exc.field, exc.rule) == ("line_items[3].price_set.shop_money", "missing_field")


def test_a_wrong_typed_field_is_translated_from_pydantic_field_by_field(payload):
    payload["line_items"][0]["quantity"] = "two"
    payload["total_price_set"]["shop_money"]["amount"] = "a lot"
    exc = unreadable(payload)
    assert {(p.field, p.rule) for p in exc.problems} == {
        ("line_items[0].quantity", "invalid_value"), ("total_price_set.shop_money.amount", "invalid_value")}
    assert "line_items[0].quantity should be a valid integer" in exc.reason and "'two'" in exc.reason
    assert "ValidationError" not in exc.reason and "validation error" not in exc.reason


@pytest.mark.parametrize(("path", "value", "field"), [
    (("shipping_address",), ["not", "an", "address"], "shipping_address"),
    (("line_items",), {"not": "a list"}, "line_items"),
    (("line_items", 1), "a line", "line_items[1]"),
    (("customer", "admin_graphql_api_id"), 115310627314723954, "customer.admin_graphql_api_id"),
    (("financial_status",), 7, "financial_status"),
    (("discount_applications",), [{"type": ["discount_code"]}], "discount_applications[0].type"),
])
def test_a_value_of_the_wrong_json_type_is_a_wrong_type_naming_the_field(payload, path, value, field):
    target = payload
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    exc = unreadable(payload)
    assert (exc.field, exc.rule) == (field, "wrong_type")


@pytest.mark.parametrize("body", [None, [], "an order", 42])
def test_a_body_that_is_not_a_json_object_is_unreadable_with_a_reason(body):
    exc = unreadable(body)
    assert (exc.field, exc.rule) == ("(body)", "wrong_type") and "not a JSON object" in exc.reason


def test_an_order_without_name_or_gid_is_named_by_its_numeric_id(payload):
    del payload["name"], payload["admin_graphql_api_id"]
    assert unreadable(payload).order_ref == f"id {EXAMPLE_ORDER['id']}"


def test_a_field_far_longer_than_its_kind_allows_is_refused_at_capture_as_order_field_too_long(payload):
    payload["shipping_address"]["address1"] = "1 Main Street " * 10_000
    exc = unreadable(payload)
    assert isinstance(exc, OrderFieldTooLong)
    assert (exc.field, exc.rule, exc.kind, exc.length, exc.limit) == (
        "shipping_address.address1", "field_too_long", "text", 140_000, MAX_TEXT_CHARS)
    assert ORDER_REF in exc.reason and "shipping_address.address1 is 140,000 characters long" in exc.reason


def test_field_limits_depend_on_the_kind_of_field(payload):
    payload["line_items"][0]["sku"] = "S" * (MAX_IDENTIFIER_CHARS + 1)  # a SKU is an identifier
    payload["note"] = "a note " * 1_000  # 7,000 characters: a long text field allows it
    exc = unreadable(payload)
    assert [(p.field, p.rule) for p in exc.problems] == [("line_items[0].sku", "field_too_long")]


def test_a_huge_order_name_is_refused_and_the_reason_stays_bounded(payload):
    payload["name"] = "#" + "9" * 2_000_000
    exc = unreadable(payload)
    assert (exc.field, exc.rule) == ("name", "field_too_long")
    assert len(exc.reason) <= RECORDED_TEXT_CHARS and len(exc.order_ref) < 200


def test_a_control_character_in_the_order_name_is_refused_at_capture(payload):
    payload["name"] = "#99\x0099"
    exc = unreadable(payload)
    assert (exc.field, exc.rule) == ("name", "xml_illegal_character")
    assert "\x00" not in exc.reason and "\\x00" in exc.reason  # the reason itself is safe to store


def test_an_amount_with_absurdly_many_digits_is_refused_at_capture(payload):
    payload["line_items"][0]["price_set"]["shop_money"]["amount"] = f"1e{MAX_NUMBER_DIGITS + 5}"
    exc = unreadable(payload)
    assert (exc.field, exc.rule) == ("line_items[0].price_set.shop_money.amount", "number_too_large")


@pytest.mark.parametrize("body", [b"", b"{", b"\xff\xfe{}", "[" * 100_000, '{"order_number": ' + "9" * 5_000 + "}"])
def test_a_body_that_is_not_json_is_unreadable_with_a_reason(body):
    with pytest.raises(UnreadableOrderPayload) as caught:
        order_from_webhook_body(body)
    assert (caught.value.field, caught.value.rule) == ("(body)", "not_json")
    assert caught.value.reason.startswith("order (unnamed: the body is not JSON) cannot be read: (body) is not JSON")


def test_a_json_body_reads_the_same_as_its_decoded_payload():
    body = json.dumps(EXAMPLE_ORDER)
    assert order_from_webhook_body(body) == order_from_webhook_payload(json.loads(body))


# ---------------------------------------------------------------- money and ids at the boundary


@pytest.mark.parametrize(("path", "field"), [
    (("total_price_set", "shop_money", "amount"), "total_price_set.shop_money.amount"),
    (("line_items", 0, "price_set", "shop_money", "amount"), "line_items[0].price_set.shop_money.amount"),
])
def test_a_floating_point_amount_is_refused_as_wrong_type_naming_the_field(payload, path, field):
    target = payload
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = 12.5  # Shopify writes amounts as text; a float cannot hold cents exactly
    exc = unreadable(payload)
    assert (exc.field, exc.rule) == (field, "wrong_type")


def test_an_order_id_that_is_not_an_order_gid_is_refused_naming_the_field(payload):
    payload["admin_graphql_api_id"] = "gid://shopify/Customer/820982911946154508"
    exc = unreadable(payload)
    assert (exc.field, exc.rule) == ("admin_graphql_api_id", "invalid_value")


def test_a_variant_id_that_is_not_a_shopify_id_is_refused_naming_the_line(payload):
    payload["line_items"][2]["variant_id"] = "not-a-number"
    exc = unreadable(payload)
    assert (exc.field, exc.rule) == ("line_items[2].variant_id", "invalid_value")
