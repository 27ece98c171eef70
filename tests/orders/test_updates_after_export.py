"""After export, Shopify changes are decided at capture: cancel in MAX, a person for edits, else nothing.

The orders come from a list (the capture step's source interface); the sync store is real.
"""

from __future__ import annotations

import copy
from decimal import Decimal

from order_payloads import EXAMPLE_ORDER, ListSource

from shopify_max.orders.pipeline import capture_orders, order_digests
from shopify_max.orders.webhook_payload import order_from_webhook_payload
from shopify_max.sync_store import OrderOutcome, RunOutcomeCode, StagedOrder


def _order(**changes):
    payload = copy.deepcopy(EXAMPLE_ORDER)
    payload.update({"cancelled_at": None, "test": False, **changes})
    return order_from_webhook_payload(payload)


def _exported(store, order):
    payload_digest, material_digest = order_digests(order)
    store.stage_order(StagedOrder(order_gid=order.id, order_name=order.name, source="poll",
                                  shopify_updated_at=order.updated_at, payload_digest=payload_digest,
                                  material_digest=material_digest, order_json=order.model_dump_json(),
                                  status="exported", run_id="earlier", run_outcome="exported"))
    store.set_stage_status(order.id, "exported", max_ordnum="00100042", exported_material_digest=material_digest)


WINDOW = (order_from_webhook_payload(EXAMPLE_ORDER).updated_at, order_from_webhook_payload(EXAMPLE_ORDER).updated_at)


def test_an_edit_to_lines_after_export_goes_to_the_error_queue_once(sync_store):
    original = _order()
    _exported(sync_store, original)
    edited = copy.deepcopy(EXAMPLE_ORDER)
    edited.update(cancelled_at=None, test=False, updated_at="2022-01-02T10:00:00-05:00")
    edited["line_items"][0]["quantity"] = 3
    edited_order = order_from_webhook_payload(edited)

    report = capture_orders(sync_store, ListSource(edited_order), run_id="r1", window=WINDOW)
    again = capture_orders(sync_store, ListSource(edited_order), run_id="r2", window=WINDOW)

    [item] = sync_store.list_errors(stage="update_after_export")
    assert "00100042" in item.reason and item.attempts == 1  # the unchanged re-read does not bump it
    assert report.decided == {"edited after export: error queue": 1}
    assert again.decided == {"unchanged": 1}


def test_a_tag_change_after_export_needs_nothing(sync_store):
    original = _order()
    _exported(sync_store, original)
    retagged = _order(tags="vip, wholesale", updated_at="2022-01-02T10:00:00-05:00")
    report = capture_orders(sync_store, ListSource(retagged), run_id="r1", window=WINDOW)
    assert report.decided == {"exported earlier, nothing to change": 1}
    assert sync_store.list_errors() == []
    assert sync_store.run_outcomes("r1") == {"skipped": [OrderOutcome(original.name, sync_store.staged_orders(
        [original.id])[original.id].run_outcome_reason, RunOutcomeCode.EXPORTED_EARLIER)]}


def test_a_cancellation_after_export_is_queued_for_the_max_cancel_step(sync_store):
    _exported(sync_store, _order())
    cancelled = _order(cancelled_at="2022-01-02T10:00:00-05:00", updated_at="2022-01-02T10:00:00-05:00")
    report = capture_orders(sync_store, ListSource(cancelled), run_id="r1", window=WINDOW)
    assert report.decided == {"cancelled after export: cancel in MAX": 1}
    assert sync_store.staged_orders([cancelled.id])[cancelled.id].status == "cancel_pending"
    assert Decimal(cancelled.total_price_set.shop_money.amount) == Decimal("404.95")


def test_an_order_caught_mid_export_keeps_its_document_when_read_again(sync_store):
    order = _order()
    payload_digest, material_digest = order_digests(order)
    sync_store.stage_order(StagedOrder(order_gid=order.id, order_name=order.name, source="poll",
                                       shopify_updated_at=order.updated_at, payload_digest=payload_digest,
                                       material_digest=material_digest, order_json=order.model_dump_json(),
                                       status="exporting", mapped_json='{"sales_order": {"CUSTPO": "SHOP#9999"}}',
                                       run_id="killed-run", run_outcome="pending"))
    report = capture_orders(sync_store, ListSource(_order(note="touched")), run_id="next-run", window=WINDOW)
    row = sync_store.staged_orders([order.id])[order.id]
    assert report.adopted_from_earlier_runs == 1
    assert (row.status, row.run_id, row.mapped_json) == ("exporting", "next-run",
                                                         '{"sales_order": {"CUSTPO": "SHOP#9999"}}')
