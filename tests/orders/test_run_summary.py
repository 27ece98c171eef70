"""The run summary: every order read ends exported, skipped or failed; skips are counted by their kind, and each
failure names its error-queue item, read from ``order_stage.error_queue_id`` (never out of the reason text).

The orders go through the real capture and mapping steps; the sync store is real (SQLite and PostgreSQL).
"""

from __future__ import annotations

import copy

from order_payloads import EXAMPLE_ORDER, ListSource

from shopify_max.orders.pipeline import capture_orders, map_staged_orders, order_digests, summarise_orders_run
from shopify_max.orders.webhook_payload import order_from_webhook_payload
from shopify_max.sync_store import RunOutcome, RunOutcomeCode, StagedOrder

LATER = "2022-01-02T10:00:00-05:00"


def _payload(number: int = 9999, **changes) -> dict:
    payload = copy.deepcopy(EXAMPLE_ORDER)
    payload.update({"cancelled_at": None, "test": False, "name": f"#{number}",
                    "admin_graphql_api_id": f"gid://shopify/Order/{820982911946150000 + number}", **changes})
    return payload


def _exported(store, payload: dict, ordnum: str):
    """An order an earlier run exported to MAX as ``ordnum``."""
    order = order_from_webhook_payload(payload)
    payload_digest, material_digest = order_digests(order)
    store.stage_order(StagedOrder(order_gid=order.id, order_name=order.name, source="poll",
                                  shopify_updated_at=order.updated_at, payload_digest=payload_digest,
                                  material_digest=material_digest, order_json=order.model_dump_json(),
                                  status="exported", run_id="earlier", run_outcome="exported"))
    store.set_stage_status(order.id, "exported", max_ordnum=ordnum, exported_material_digest=material_digest)
    return order


def _capture(store, run_id: str, *payloads: dict):
    orders = [order_from_webhook_payload(payload) for payload in payloads]
    window = (orders[0].updated_at, orders[0].updated_at)
    return capture_orders(store, ListSource(*orders), run_id=run_id, window=window).as_xcom()


def test_an_order_edited_after_export_is_summarised_with_its_error_queue_item(sync_store):
    original = _exported(sync_store, _payload(), "00100042")
    edited = _payload(updated_at=LATER)
    edited["line_items"][0]["quantity"] = 3

    _capture(sync_store, "r1", edited)
    summary = summarise_orders_run(sync_store, run_id="r1")

    [item] = sync_store.list_errors(stage="update_after_export")
    row = sync_store.staged_orders([original.id])[original.id]
    assert (row.run_outcome, row.run_outcome_code, row.error_queue_id) == (
        RunOutcome.FAILED, RunOutcomeCode.EDITED_AFTER_EXPORT, item.id)
    assert f"error queue item {item.id}" in row.run_outcome_reason  # the text a person reads stays
    assert (summary["read"], summary["failed"], summary["error_queue_ids"]) == (1, 1, [item.id])


def test_orders_exported_earlier_are_one_kind_of_skip_whatever_their_ordnum(sync_store):
    retagged = []
    for number, ordnum in ((1001, "00100001"), (1002, "00100002")):
        _exported(sync_store, _payload(number), ordnum)
        retagged.append(_payload(number, tags="vip", updated_at=LATER))
    _exported(sync_store, _payload(1003), "00100003")

    _capture(sync_store, "r1", *retagged, _payload(1003))
    summary = summarise_orders_run(sync_store, run_id="r1")

    assert summary["skip_reasons"] == {"exported_earlier": 2, "unchanged": 1}
    assert (summary["read"], summary["skipped"], summary["error_queue_ids"]) == (3, 3, [])


def test_mapping_skips_and_failures_are_counted_by_kind_with_their_error_queue_items(sync_store, mappings):
    cancelled = _payload(2001, cancelled_at=LATER, updated_at=LATER)  # the reason holds a timestamp: 10:00:00
    test_order = _payload(2002, test=True)
    unknown_sku = _payload(2003)
    unknown_sku["line_items"][0]["sku"] = "NOT-IN-MAX"

    _capture(sync_store, "r1", cancelled, test_order, unknown_sku)
    map_staged_orders(sync_store, mappings, run_id="r1")
    summary = summarise_orders_run(sync_store, run_id="r1")

    [item] = sync_store.list_errors(stage="map")
    assert item.record_key == "#2003"
    assert summary["skip_reasons"] == {"cancelled_before_export": 1, "test_order": 1}
    assert (summary["read"], summary["skipped"], summary["failed"], summary["error_queue_ids"]) == (3, 2, 1, [item.id])
    row = sync_store.staged_orders([unknown_sku["admin_graphql_api_id"]])[unknown_sku["admin_graphql_api_id"]]
    assert (row.run_outcome_code, row.error_queue_id) == (RunOutcomeCode.MAPPING_FAILED, item.id)


def test_the_summary_reads_error_queue_ids_from_the_column_not_from_the_reason(sync_store):
    order = _exported(sync_store, _payload(), "00100042")
    linked = sync_store.record_error(entity="order", record_key=order.name, stage="export", reason="MAX refused it")
    sync_store.set_stage_status(order.id, "failed", run_id="r1", run_outcome="failed", error_queue_id=linked,
                                run_outcome_code=RunOutcomeCode.REJECTED_BY_MAX,
                                run_outcome_reason="MAX refused it; error queue item 999 was an older attempt")

    summary = summarise_orders_run(sync_store, run_id="r1")

    assert summary["error_queue_ids"] == [linked]
