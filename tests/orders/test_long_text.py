"""Long text costs bounded memory: fitting stops as soon as MAX's fields run out, text longer than any Shopify
field is refused before it is split, and rule records and error items store at most RECORDED_TEXT_CHARS."""

from __future__ import annotations

import copy
import json
import tracemalloc

import pytest
from order_payloads import EXAMPLE_ORDER

from shopify_max.orders.field_limits import MAX_TEXT_CHARS
from shopify_max.orders.mapper import map_order_to_sales_order
from shopify_max.orders.outcome import RECORDED_TEXT_CHARS, MappingError, RuleApplied
from shopify_max.orders.text_rules import TextRuleError, fit_lines
from shopify_max.orders.webhook_payload import OrderFieldTooLong, order_from_webhook_payload
from shopify_max.shopify.models import Order

TWO_MIB = 2 * 1024 * 1024


def test_fit_lines_stops_splitting_once_the_address_lines_run_out():
    applied: list[RuleApplied] = []
    words = "Word " * (MAX_TEXT_CHARS // 5)  # 200 words: 34 lines of 30 characters
    with pytest.raises(TextRuleError) as caught:
        fit_lines([("ship_to.address1", words)], 30, 6, "continue", {}, applied)
    assert len(applied) == 6  # one continuation per line filled, none for the lines that do not exist
    assert caught.value.error.rule == "too_long" and caught.value.error.field == "ship_to.address1"


def test_fit_lines_refuses_text_longer_than_any_shopify_field_before_splitting_it():
    applied: list[RuleApplied] = []
    with pytest.raises(TextRuleError) as caught:
        fit_lines([("ship_to.address1", "a " * 50_000)], 30, 6, "continue", {}, applied)
    assert applied == [] and caught.value.error.rule == "too_long"


def test_a_rule_record_stores_at_most_recorded_text_chars_of_before_and_after():
    rule = RuleApplied("ship_to.address1", "continue_into_next_line", "x" * 100_000, "y" * 100_000)
    assert len(rule.before) <= RECORDED_TEXT_CHARS and len(rule.after) <= RECORDED_TEXT_CHARS
    assert rule.before.endswith("[100,000 characters]")


def test_an_error_item_stores_at_most_recorded_text_chars_of_value_and_message():
    error = MappingError("ship_to.address1", "too_long", "m" * 100_000, "v" * 100_000)
    assert len(error.message) <= RECORDED_TEXT_CHARS and len(error.value) <= RECORDED_TEXT_CHARS


def test_rule_and_error_records_show_control_characters_as_escapes():
    assert RuleApplied("f", "r", "a\x00b", "\ud800").as_dict() == {"field": "f", "rule": "r", "before": "a\\x00b",
                                                                   "after": "\\ud800"}


def _poll_order(address1: str) -> Order:
    """An order as the GraphQL poll would give it: no capture limit in front of the mapping."""
    payload = copy.deepcopy(EXAMPLE_ORDER)
    payload.update(cancelled_at=None, test=False)
    data = json.loads(order_from_webhook_payload(payload).model_dump_json())
    data["shipping_address"]["address1"] = address1
    return Order.model_validate(data)


def test_a_100000_character_address_from_the_poll_path_is_one_bounded_too_long_error(mappings):
    result = map_order_to_sales_order(_poll_order("Long Street " * 8_334), mappings)
    assert [(e.field, e.rule) for e in result.errors] == [("ship_to.address1", "too_long")]
    stored = json.dumps([e.as_dict() for e in result.errors] + [r.as_dict() for r in result.rules_applied])
    assert len(stored) < 5 * RECORDED_TEXT_CHARS


def test_capturing_and_mapping_a_2_mib_webhook_peaks_under_100_mb(mappings):
    payload = copy.deepcopy(EXAMPLE_ORDER)
    payload.update(cancelled_at=None, test=False)
    payload["shipping_address"]["address1"] = "a " * (TWO_MIB // 2)
    body = json.dumps(payload)
    tracemalloc.start()
    try:
        with pytest.raises(OrderFieldTooLong):
            order_from_webhook_payload(json.loads(body))
        map_order_to_sales_order(_poll_order("a " * (TWO_MIB // 2)), mappings)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100 * 1024 * 1024
