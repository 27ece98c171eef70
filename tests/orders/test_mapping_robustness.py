"""Odd orders end as typed, named reasons: each case here once raised an untyped exception, hid another error,
or reached MAX in a form MAX (or its XML) cannot hold. Every error names a field and a rule."""

from __future__ import annotations

import copy
import json

import pytest
from order_payloads import EXAMPLE_ORDER, money

from max_gateway.xml_rules import SO_MASTER_FIELDS, parse_document, parse_record
from shopify_max.exactmax.xml_builder import build_sales_order_xml
from shopify_max.orders.mapper import map_order_to_sales_order
from shopify_max.orders.webhook_payload import order_from_webhook_payload
from shopify_max.shopify.models import Order


def mapped(payload, mappings, **kwargs):
    return map_order_to_sales_order(order_from_webhook_payload(payload), mappings, **kwargs)


def errors_by_rule(result):
    return {(error.field, error.rule) for error in result.errors}


# ---------------------------------------------------------------- once untyped exceptions, now named errors


def test_a_customer_gid_that_does_not_end_in_a_number_is_a_bad_customer_id_error(example_payload, mappings):
    example_payload["customer"]["admin_graphql_api_id"] = "gid://shopify/Customer/abc"
    assert errors_by_rule(mapped(example_payload, mappings)) == {("customer.id", "bad_customer_id")}


def test_a_customer_id_with_unicode_digits_is_a_bad_customer_id_error_not_a_crash(example_payload, mappings):
    example_payload["customer"]["admin_graphql_api_id"] = "gid://shopify/Customer/12²"
    assert errors_by_rule(mapped(example_payload, mappings)) == {("customer.id", "bad_customer_id")}


def test_a_customer_id_too_long_for_custid_is_a_customer_id_too_long_error(example_payload, mappings):
    example_payload["customer"]["admin_graphql_api_id"] = "gid://shopify/Customer/" + "9" * 60
    assert errors_by_rule(mapped(example_payload, mappings)) == {("customer.id", "customer_id_too_long")}


def test_a_discount_on_an_order_without_lines_is_a_discount_without_lines_error(example_payload, mappings):
    example_payload["line_items"] = []
    result = mapped(example_payload, mappings)
    assert ("total_discounts", "discount_without_lines") in errors_by_rule(result)
    assert not [e for e in result.errors if e.rule == "totals_mismatch"]  # the figures mean nothing: no check


def test_a_unit_price_beyond_maxs_12_digits_is_an_amount_out_of_range_error(example_payload, mappings):
    example_payload["line_items"][0]["price_set"] = money("1e30")
    result = mapped(example_payload, mappings)
    assert errors_by_rule(result) == {("line_items[0].price", "amount_out_of_range")}


def test_a_sub_cent_discount_allocation_is_a_bad_money_error_naming_the_allocation(example_payload, mappings):
    example_payload["line_items"][0]["discount_allocations"] = [
        {"amount_set": money("0.005"), "discount_application_index": 0}]
    result = mapped(example_payload, mappings)
    assert errors_by_rule(result) == {("line_items[0].discount_allocations[0].amount", "bad_money")}


def test_a_sub_cent_order_discount_is_a_bad_money_error_naming_total_discounts(example_payload, mappings):
    example_payload["total_discounts_set"] = money("20.001")
    assert errors_by_rule(mapped(example_payload, mappings)) == {("total_discounts", "bad_money")}


def test_a_long_customer_name_without_an_address_continues_into_the_address_lines(example_payload, mappings):
    example_payload.update(billing_address=None, shipping_address=None)
    example_payload["customer"].update(default_address=None, first_name="Maximiliana Alexandrina Konstantina",
                                       last_name="Featherstonehaugh-Cholmondeley")
    result = mapped(example_payload, mappings)
    assert result.outcome == "mapped", result.errors
    customer = result.new_customer
    assert len(customer.NAME) <= 30 and customer.ADDR1
    assert f"{customer.NAME} {customer.ADDR1} {customer.ADDR2 or ''}".split() == (
        "Maximiliana Alexandrina Konstantina Featherstonehaugh-Cholmondeley".split())
    assert any(r.rule == "continue_into_next_line" and r.field == "bill_to.NAME" for r in result.rules_applied)


def test_a_long_customer_name_without_an_address_under_overflow_error_is_a_too_long_error(example_payload, mappings):
    mappings.rules.__dict__["text_overflow"] = "error"
    example_payload.update(billing_address=None, shipping_address=None)
    example_payload["customer"].update(default_address=None, first_name="Maximiliana Alexandrina Konstantina")
    assert ("bill_to.NAME", "too_long") in errors_by_rule(mapped(example_payload, mappings))


# ---------------------------------------------------------------- one error no longer masks another


def test_an_address_error_neither_hides_an_unmapped_sku_nor_invents_a_totals_mismatch(example_payload, mappings):
    example_payload["shipping_address"]["zip"] = "9" * 31  # ZIPCD holds 30 and never continues: an error
    example_payload["line_items"][2]["sku"] = "NOT-IN-MAX"
    assert errors_by_rule(mapped(example_payload, mappings)) == {
        ("ship_to.ZIPCD", "too_long"), ("line_items[2].sku", "unmapped_sku")}


def test_a_bad_price_still_lets_every_lines_sku_be_checked(example_payload, mappings):
    example_payload["line_items"][0]["price_set"] = money("-1.00")
    example_payload["line_items"][3]["sku"] = "NOT-IN-MAX"
    assert errors_by_rule(mapped(example_payload, mappings)) == {
        ("line_items[0].price", "bad_money"), ("line_items[3].sku", "unmapped_sku")}


def test_a_customer_error_and_a_ship_to_error_are_both_reported(example_payload, mappings):
    example_payload["customer"]["admin_graphql_api_id"] = "gid://shopify/Customer/abc"
    example_payload["shipping_address"]["zip"] = "9" * 31
    assert errors_by_rule(mapped(example_payload, mappings)) == {
        ("customer.id", "bad_customer_id"), ("ship_to.ZIPCD", "too_long")}


# ---------------------------------------------------------------- what MAX and its XML can carry


@pytest.mark.parametrize("character", ["\x00", "\x08", "\x1b", "\ufffe", "\uffff"])
def test_a_character_xml_cannot_carry_is_an_xml_illegal_character_error_naming_the_field(example_payload, mappings,
                                                                                          character):
    example_payload["shipping_address"]["address1"] = f"123 Shipping{character} Street"
    result = mapped(example_payload, mappings)
    assert errors_by_rule(result) == {("ship_to.address1", "xml_illegal_character")}
    assert "\\x" in result.errors[0].value or "\\u" in result.errors[0].value  # stored as an escape, never raw


def test_tab_newline_and_carriage_return_are_whitespace_not_errors(example_payload, mappings):
    example_payload["shipping_address"]["address1"] = "123 Shipping\tStreet\r\n"
    result = mapped(example_payload, mappings)
    assert result.outcome == "mapped" and result.sales_order.ADDR2 == "123 Shipping Street"
    parse_document(build_sales_order_xml(result.sales_order).xml, "SO_Master_Table", "SO_Master")


def test_the_order_name_is_transliterated_in_custpo_and_comnt1_when_transliteration_is_on(example_payload, mappings):
    example_payload["name"] = "#Zoë9999"
    result = mapped(example_payload, mappings)
    assert (result.sales_order.CUSTPO, result.sales_order.COMNT1) == ("SHOP#Zoe9999", "Shopify order #Zoe9999")
    assert result.custpo == "SHOP#Zoe9999"
    assert [(r.field, r.before, r.after) for r in result.rules_applied if r.rule == "transliterate"] == [
        ("name", "#Zoë9999", "#Zoe9999")]


def test_a_non_ascii_order_name_under_flag_is_a_non_ascii_error(example_payload, mappings):
    mappings.rules.__dict__["transliteration"] = "flag"
    example_payload["name"] = "#Zoë9999"
    assert errors_by_rule(mapped(example_payload, mappings)) == {("name", "non_ascii")}


def test_a_comment_longer_than_comnt1_is_shortened_by_a_recorded_rule(example_payload, mappings):
    example_payload["name"] = "#W-2026-000123456"  # "Shopify order #W-2026-000123456" is 31 characters
    result = mapped(example_payload, mappings)
    assert result.sales_order.COMNT1 == "Shopify order #W-2026-00012345"
    [rule] = [r for r in result.rules_applied if r.rule == "comment_shortened"]
    assert (rule.field, rule.before, rule.after) == ("COMNT1", "Shopify order #W-2026-000123456",
                                                     "Shopify order #W-2026-00012345")


def test_an_order_id_longer_than_udfref_is_left_blank_by_a_recorded_rule(example_payload, mappings):
    example_payload["admin_graphql_api_id"] = "gid://shopify/Order/" + "1" * 26
    result = mapped(example_payload, mappings)
    assert result.sales_order.UDFREF is None
    assert [(r.field, r.rule) for r in result.rules_applied if r.field == "UDFREF"] == [
        ("UDFREF", "udfref_left_blank_too_long")]


@pytest.mark.parametrize("processed_at", ["1968-12-31T12:00:00Z", "2069-01-01T12:00:00Z", "0999-06-01T00:00:00Z"])
def test_an_order_date_outside_1969_to_2068_is_a_date_out_of_range_error(example_payload, mappings, processed_at):
    example_payload["processed_at"] = processed_at
    assert errors_by_rule(mapped(example_payload, mappings)) == {("processed_at", "date_out_of_range")}


@pytest.mark.parametrize("processed_at", ["1969-01-01T12:00:00Z", "2068-12-31T12:00:00Z"])
def test_order_dates_at_the_edges_of_yymmdd_travel_and_read_back_in_the_same_century(example_payload, mappings,
                                                                                     processed_at):
    example_payload["processed_at"] = processed_at
    so = mapped(example_payload, mappings).sales_order
    errors = []
    header = parse_record(parse_document(build_sales_order_xml(so).xml, "SO_Master_Table", "SO_Master"),
                          SO_MASTER_FIELDS, errors, child_tags=("SO_Detail",))
    assert not errors and header.values["ORDDTE_27"] == so.ORDDTE


# ---------------------------------------------------------------- lone surrogates at the boundary


def test_a_lone_surrogate_is_replaced_so_the_order_always_serialises_and_the_rule_is_recorded(example_payload,
                                                                                              mappings):
    example_payload["shipping_address"]["address1"] = "123 Shipping \ud800 Street"
    body = json.dumps(example_payload)  # what Shopify would sign: the escape "\ud800" in ASCII JSON
    order = order_from_webhook_payload(json.loads(body))
    assert order.shipping_address.address1 == "123 Shipping \ufffd Street"
    assert Order.model_validate_json(order.model_dump_json()) == order  # stored and read back, repairs included
    result = map_order_to_sales_order(Order.model_validate_json(order.model_dump_json()), mappings)
    [rule] = [r for r in result.rules_applied if r.rule == "lone_surrogate_replaced"]
    assert (rule.field, rule.before, rule.after) == ("shipping_address.address1", "123 Shipping \\ud800 Street",
                                                     "123 Shipping \ufffd Street")


def test_a_lone_surrogate_in_a_graphql_order_is_replaced_too(example_payload):
    order = order_from_webhook_payload(copy.deepcopy(example_payload))
    graphql_shaped = json.loads(order.model_dump_json(by_alias=True))
    graphql_shaped["shippingAddress"]["city"] = "Shipping\udc00ton"
    repaired = Order.model_validate(graphql_shaped)
    assert repaired.shipping_address.city == "Shipping\ufffdton"
    assert [(r.field, r.count) for r in repaired.text_repairs] == [("shippingAddress.city", 1)]
    repaired.model_dump_json().encode("utf-8")
    assert graphql_shaped["shippingAddress"]["city"] == "Shipping\udc00ton"  # the caller's data is not changed


def test_an_order_without_lone_surrogates_records_no_text_repair():
    order = order_from_webhook_payload(copy.deepcopy(EXAMPLE_ORDER))
    assert order.text_repairs == []
    assert Order.model_validate_json(order.model_dump_json()) == order
