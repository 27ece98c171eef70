"""A new MAX account named after the Shopify customer (the bill-to names no one) gets a name MAX can hold, by a
named rule: abbreviated by the table, the rest in the contact field CNTCT, or a named error. Never a pydantic
failure of the Customer model (the code review's "unexpected"/"invalid" item)."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from shopify_max.exactmax_limits import FIELD_LENGTHS
from shopify_max.orders.mapper import map_order_to_sales_order
from shopify_max.orders.webhook_payload import order_from_webhook_payload

NAME, CNTCT = FIELD_LENGTHS["NAME"], FIELD_LENGTHS["CNTCT"]


def customer_without_a_named_address(payload, display_name):
    """The order as the GraphQL poll reads it: a customer with a display name, no address naming anyone."""
    payload.update(billing_address=None, shipping_address=None)
    payload["customer"].update(default_address=None, first_name=None, last_name=None)
    order = order_from_webhook_payload(payload)
    return order.model_copy(update={"customer": order.customer.model_copy(update={"display_name": display_name})})


def mapped_under(order, mappings, text_overflow):
    rules = dataclasses.replace(mappings.rules, customer_strategy="per_customer", text_overflow=text_overflow)
    return map_order_to_sales_order(order, dataclasses.replace(mappings, rules=rules))


def rules_on_the_name(result):
    return [(r.rule, r.before, r.after) for r in result.rules_applied if r.field == "bill_to.NAME"]


def test_a_long_display_name_is_abbreviated_by_the_table_when_that_makes_it_fit(example_payload, mappings):
    long_name = "Acme Manufacturing International"  # 32 characters
    result = mapped_under(customer_without_a_named_address(example_payload, long_name), mappings, "abbreviate")
    assert result.outcome == "mapped", result.errors
    assert (result.new_customer.NAME, result.new_customer.CNTCT) == ("Acme Mfg Intl", None)
    assert rules_on_the_name(result) == [("abbreviate", long_name, "Acme Mfg Intl")]


def test_a_long_display_name_puts_the_words_past_name_in_the_contact_field(example_payload, mappings):
    long_name = "Bartholomew Featherstonehaugh Worthington"  # 41 characters, nothing to abbreviate
    result = mapped_under(customer_without_a_named_address(example_payload, long_name), mappings, "abbreviate")
    assert result.outcome == "mapped", result.errors
    customer = result.new_customer
    assert (customer.NAME, customer.CNTCT) == ("Bartholomew Featherstonehaugh", "Worthington")
    assert len(customer.NAME) <= NAME and len(customer.CNTCT) <= CNTCT and customer.ADDR1 is None
    assert rules_on_the_name(result) == [("customer_name_overflow_to_contact", long_name,
                                          "Bartholomew Featherstonehaugh | Worthington")]


def test_abbreviation_comes_before_the_contact_field_and_both_are_recorded(example_payload, mappings):
    long_name = "Featherstonehaugh Manufacturing International Holdings"
    result = mapped_under(customer_without_a_named_address(example_payload, long_name), mappings, "abbreviate")
    assert (result.new_customer.NAME, result.new_customer.CNTCT) == ("Featherstonehaugh Mfg Intl", "Holdings")
    assert [rule for rule, _, _ in rules_on_the_name(result)] == ["abbreviate", "customer_name_overflow_to_contact"]


def test_under_continue_the_table_is_not_used(example_payload, mappings):
    long_name = "Acme Manufacturing International"
    result = mapped_under(customer_without_a_named_address(example_payload, long_name), mappings, "continue")
    assert (result.new_customer.NAME, result.new_customer.CNTCT) == ("Acme Manufacturing", "International")
    assert [rule for rule, _, _ in rules_on_the_name(result)] == ["customer_name_overflow_to_contact"]


def test_a_name_too_long_for_name_and_contact_continues_into_the_address_lines(example_payload, mappings):
    long_name = "Maximiliana Alexandrina Konstantina Featherstonehaugh-Cholmondeley"
    result = mapped_under(customer_without_a_named_address(example_payload, long_name), mappings, "continue")
    assert result.outcome == "mapped", result.errors
    customer = result.new_customer
    assert customer.CNTCT is None
    assert f"{customer.NAME} {customer.ADDR1} {customer.ADDR2 or ''}".split() == long_name.split()
    assert {rule for rule, _, _ in rules_on_the_name(result)} == {"continue_into_next_line"}


def test_under_overflow_error_a_long_display_name_is_a_named_too_long_error(example_payload, mappings):
    long_name = "Bartholomew Featherstonehaugh Worthington"
    result = mapped_under(customer_without_a_named_address(example_payload, long_name), mappings, "error")
    assert result.outcome == "failed" and result.new_customer is None
    assert [(e.field, e.rule) for e in result.errors] == [("bill_to.NAME", "too_long")]
    assert "customer's name has 41 characters" in result.errors[0].message


@pytest.mark.parametrize("text_overflow", ["continue", "abbreviate", "error"])
def test_no_display_name_ever_ends_as_an_invalid_or_unexpected_error(example_payload, mappings, text_overflow):
    for long_name in ("X" * 45, "Word " * 12, "Zoë Ångström-Öberg Featherstonehaugh", "a" * 31):
        result = mapped_under(customer_without_a_named_address(copy.deepcopy(example_payload), long_name), mappings,
                              text_overflow)
        assert not [e for e in result.errors if e.rule in ("invalid", "unexpected")], result.errors
        if result.new_customer is not None:
            assert len(result.new_customer.NAME) <= NAME
