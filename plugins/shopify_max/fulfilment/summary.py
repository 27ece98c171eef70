"""The fulfilment run's summary: every shipment the run took up is fulfilled, skipped or failed, and the figures
add up (``shipments = fulfilled + skipped + failed``), with the error-queue items of the failed ones."""

from __future__ import annotations

from collections import Counter
from typing import Any

from shopify_max.sync_store import SyncStore
from shopify_max.sync_store.states import ShipmentStatus

LISTED = 50  # shipments listed per bucket (the error queue and the sync store hold them all)


def bucket_of(row: Any) -> str:
    if row.status == ShipmentStatus.FULFILLED:
        return "fulfilled"
    if row.status == ShipmentStatus.FAILED or (row.status == ShipmentStatus.WAITING and row.error_queue_id):
        return "failed"
    return "skipped"  # nothing to send, waiting by rule, or left to another writer: the next run takes it up


def summarise_fulfilment_run(store: SyncStore, *, run_id: str, read: dict[str, Any], fulfil: dict[str, Any],
                             tracking: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    rows = store.shipment_outcomes(run_id)
    buckets: dict[str, list[Any]] = {"fulfilled": [], "skipped": [], "failed": []}
    for row in rows:
        buckets[bucket_of(row)].append(row)
    failed = buckets["failed"]
    summary = {
        "shipments": len(rows), "read_from_max": read.get("read", 0), "new": read.get("new", 0),
        "carried_over": len(rows) - read.get("new", 0),
        "fulfilled": len(buckets["fulfilled"]), "skipped": len(buckets["skipped"]), "failed": len(failed),
        "by_outcome": dict(sorted(Counter(str(row.outcome_code) for row in rows).items())),
        "error_queue_ids": [row.error_queue_id for row in failed if row.error_queue_id][:LISTED],
        "failed_shipments": [{"shipment_id": row.shipment_id, "ordnum": row.ordnum, "code": str(row.outcome_code),
                              "error_queue_id": row.error_queue_id, "reason": row.reason} for row in failed[:LISTED]],
        "skipped_shipments": [{"shipment_id": row.shipment_id, "ordnum": row.ordnum, "code": str(row.outcome_code),
                               "reason": row.reason} for row in buckets["skipped"][:LISTED]],
        "fulfilments": fulfil, "tracking_changes": tracking, "order_status": status,
        "cursor": read.get("cursor"),
    }
    return summary
