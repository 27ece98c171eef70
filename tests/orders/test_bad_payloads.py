"""Property: whatever a webhook delivers, the order ends with an outcome and a reason; nothing is lost,
nothing crashes the batch (DESIGN.md: nothing lost). Deliveries start from Shopify's own example payload."""

from __future__ import annotations

import copy
import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from order_payloads import EXAMPLE_ORDER

from shopify_max.orders.pipeline import capture_orders, map_staged_orders
from shopify_max.sync_store import InboxDelivery
from shopify_max.webhooks.receiver import storable_text

TOP_LEVEL_KEYS = ["name", "total_price_set", "line_items", "admin_graphql_api_id", "currency", "created_at",
                  "shipping_address", "customer", "shipping_lines"]


@st.composite
def bad_deliveries(draw) -> bytes:
    """A delivery body: the example order broken in one of the ways real payloads break."""
    payload = copy.deepcopy(EXAMPLE_ORDER)
    payload.update(cancelled_at=None, test=False, admin_graphql_api_id=f"gid://shopify/Order/{draw(st.integers(1, 10**15))}")
    kind = draw(st.sampled_from(["drop_key", "bad_money", "bad_quantity", "bad_type", "garbage", "long_text",
                                 "unicode_text", "unknown_sku"]))
    line = payload["line_items"][draw(st.integers(0, len(payload["line_items"]) - 1))]
    if kind == "garbage":
        return draw(st.binary(max_size=60))
    if kind == "drop_key":
        del payload[draw(st.sampled_from(TOP_LEVEL_KEYS))]
    elif kind == "bad_money":
        line["price_set"]["shop_money"]["amount"] = draw(st.one_of(st.text(max_size=6), st.none(), st.just("1e400")))
    elif kind == "bad_quantity":
        line["quantity"] = draw(st.one_of(st.integers(-5, 0), st.text(max_size=3), st.none()))
    elif kind == "bad_type":
        payload[draw(st.sampled_from(["line_items", "shipping_lines", "total_price_set"]))] = draw(
            st.one_of(st.none(), st.text(max_size=5), st.integers()))
    elif kind in ("long_text", "unicode_text"):
        text = draw(st.text(min_size=31, max_size=200) if kind == "long_text" else st.text(
            alphabet=st.characters(min_codepoint=0x80, max_codepoint=0x2FFF), min_size=1, max_size=40))
        payload["shipping_address"][draw(st.sampled_from(["name", "address1", "company", "city"]))] = text
    elif kind == "unknown_sku":
        line["sku"] = draw(st.text(min_size=1, max_size=40))
    return json.dumps(payload).encode()


@pytest.mark.slow  # 60 generated deliveries, each through the inbox, capture and mapping
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bad_deliveries())
def test_every_delivery_ends_exported_skipped_or_in_the_error_queue_with_a_reason(sync_store, mappings, body):
    run_id = f"run-{uuid.uuid4().hex[:8]}"
    webhook_id = f"wh-{uuid.uuid4().hex}"
    good = copy.deepcopy(EXAMPLE_ORDER)
    good.update(cancelled_at=None, test=False, admin_graphql_api_id=f"gid://shopify/Order/{uuid.uuid4().int % 10**15}",
                name=f"#G{uuid.uuid4().hex[:6]}")
    sync_store.add_inbox_delivery(InboxDelivery(webhook_id=webhook_id, topic="orders/create",
                                                payload=storable_text(body)))  # as the receiver stores it
    sync_store.add_inbox_delivery(InboxDelivery(webhook_id=webhook_id + "-good", topic="orders/create",
                                                payload=json.dumps(good)))

    report = capture_orders(sync_store, None, run_id=run_id, window=None)
    map_staged_orders(sync_store, mappings, run_id=run_id)

    # The good order in the same batch still maps: a bad record never stops the batch.
    good_row = sync_store.staged_orders([good["admin_graphql_api_id"]])[good["admin_graphql_api_id"]]
    assert good_row.status == "mapped"
    if report.bad_payloads:
        [item] = [i for i in sync_store.list_errors(stage="capture") if i.id in report.bad_payload_error_ids]
        assert webhook_id in item.reason and "is not a readable order" in item.reason
    else:
        assert report.orders_read == 2
        bad_rows = [row for row in sync_store.orders_in_stage(run_id=run_id, statuses=["mapped", "skipped", "failed"])
                    if row.order_gid != good["admin_graphql_api_id"]]
        assert len(bad_rows) == 1
        row = bad_rows[0]
        if row.run_outcome == "failed":
            assert "error queue item" in row.run_outcome_reason
        elif row.run_outcome == "skipped":
            assert row.run_outcome_reason
        else:
            assert (row.run_outcome, row.status) == ("pending", "mapped")
    # Leave nothing in flight: the next example's run would adopt it.
    for row in sync_store.orders_in_stage(run_id=run_id, statuses=["mapped"]):
        sync_store.set_stage_status(row.order_gid, "skipped", run_outcome="skipped", run_outcome_reason="test cleanup")
