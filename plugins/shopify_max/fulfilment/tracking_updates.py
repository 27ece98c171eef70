"""Tracking numbers changed in MAX after the shipment reached Shopify → ``fulfillmentTrackingInfoUpdate``.

A change read from MAX waits on the shipment's row (``tracking_pending``). A shipment not yet fulfilled simply
sends the new numbers when it is; a fulfilled one updates each fulfilment recorded for it. Setting the same numbers
twice changes nothing, so a lost answer is sent again by the next run. Fulfilments made by hand are not ours to
change: the change is reported and left.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from shopify_max.fulfilment.plan import tracking_for, tracking_numbers
from shopify_max.fulfilment.rules import FulfilmentRules
from shopify_max.fulfilment.shipments import BY_HAND, DEFAULT_LEASE, OUTCOME_UNKNOWN, LeaseLost, OrderWriter
from shopify_max.shopify.models import TrackingInfo
from shopify_max.sync_store import SyncStore
from shopify_max.sync_store.shipment_sync import ShipmentRow
from shopify_max.sync_store.states import ErrorEntity, ShipmentErrorStage, ShipmentStatus

log = logging.getLogger(__name__)


NOTHING_TO_SEND = ("unchanged", "not_ours_or_not_yet")


@dataclass(frozen=True)
class TrackingChange:
    """What a tracking change read from MAX asks of Shopify, for one shipment (pure: see :func:`tracking_change`)."""

    kind: str  # unchanged, not_ours_or_not_yet, removed_in_max, update
    numbers: list[str]
    tracking: TrackingInfo | None  # what Shopify gets (carrier, numbers, URLs); None when MAX removed every number
    fulfilments: list[str]  # the fulfilments this flow made for the shipment: each gets the new numbers


def tracking_change(row: ShipmentRow, rules: FulfilmentRules) -> TrackingChange:
    """A shipment not yet fulfilled sends the new numbers when it is (the create reads them); one fulfilled only by
    hand is not ours to change; the same numbers again change nothing; no numbers at all a person decides."""
    pending = row.tracking_pending or []
    numbers = tracking_numbers({"tracking": pending})
    ours = [gid for key, gid in row.fulfillments.items() if not key.startswith(f"{BY_HAND}:") and gid != BY_HAND]
    tracking, _unknown = tracking_for({**row.shipment, "tracking": pending}, rules)
    if row.status != ShipmentStatus.FULFILLED or not ours:
        kind = "not_ours_or_not_yet"
    elif sorted(set(numbers)) == sorted(set(row.tracking)):
        kind = "unchanged"
    elif tracking is None:
        kind = "removed_in_max"
    else:
        kind = "update"
    return TrackingChange(kind, numbers, tracking, ours)


def update_changed_tracking(store: SyncStore, api_factory: Callable[[], Any], rules: FulfilmentRules, *,
                            run_id: str, task_id: str | None = None,
                            lease: timedelta = DEFAULT_LEASE) -> dict[str, Any]:
    counts: dict[str, int] = defaultdict(int)
    rows = store.shipments_with_tracking_changes()
    api = api_factory() if rows else None
    for row in rows:
        change = tracking_change(row, rules)
        if change.kind in NOTHING_TO_SEND:
            # not in Shopify yet (the create sends the new numbers), already there, or only fulfilled by hand
            counts[change.kind] += 1
            store.clear_tracking_change(row.shipment_id)
            continue
        writer = OrderWriter(store, api, row.ordnum, row.order_gid or "", run_id, task_id, rules, lease,
                             owner=f"{run_id}/{task_id or 'task'}/{uuid.uuid4().hex[:12]}")
        if not store.take_fulfilment_lease(row.ordnum, owner=writer.owner, ttl=lease):
            counts["left_to_another_writer"] += 1
            continue
        try:
            row = store.shipments([row.shipment_id])[row.shipment_id]  # as it stands now that the lease is held
            if row.tracking_pending is None:  # sent by another attempt meanwhile ([] is a change: all removed)
                continue
            pending = row.tracking_pending
            change = tracking_change(row, rules)
            numbers, tracking = change.numbers, change.tracking
            if tracking is None:  # MAX removed every number: Shopify cannot hold none, so a person decides
                store.record_error(entity=ErrorEntity.SHIPMENT, record_key=row.shipment_id,
                                   stage=ShipmentErrorStage.TRACKING, payload={"tracking": pending},
                                   reason=removed_in_max_reason(row),
                                   detail={"ordnum": row.ordnum, "order_gid": row.order_gid})
                store.clear_tracking_change(row.shipment_id)
                counts["removed_in_max"] += 1
                continue
            refused = []
            for fulfillment_gid in change.fulfilments:
                writer.guard()
                started = time.monotonic()
                request = {"fulfillment": fulfillment_gid, "tracking": tracking.model_dump(exclude_none=True)
                           if tracking else None}
                try:
                    result = api.update_tracking(fulfillment_gid, tracking, notify_customer=rules.notify_customer)
                except OUTCOME_UNKNOWN as exc:
                    writer.audit(row.shipment_id, "outcome_unknown", request, str(exc), started)
                    counts["answers_lost"] += 1
                    refused = None  # unknown: the next run sends the same numbers again
                    break
                writer.audit(row.shipment_id, "tracking_updated" if not result.user_errors else "tracking_refused",
                             request, result.model_dump(mode="json"), started)
                if result.user_errors:
                    refused.append(f"{fulfillment_gid}: " + "; ".join(e.message for e in result.user_errors))
            if refused is None:
                continue
            if refused:
                store.record_error(entity=ErrorEntity.SHIPMENT, record_key=row.shipment_id,
                                   stage=ShipmentErrorStage.TRACKING, payload={"tracking": pending},
                                   reason=f"MAX shipment {row.shipment_id} of order {row.ordnum}: Shopify refused the "
                                          f"new tracking numbers {numbers}: {' | '.join(refused)}",
                                   detail={"ordnum": row.ordnum, "order_gid": row.order_gid})
                store.clear_tracking_change(row.shipment_id)
                counts["refused"] += 1
                continue
            store.record_tracking_sent(row.shipment_id, numbers, pending)
            counts["updated"] += 1
            log.info("shipment %s: tracking now %s in Shopify", row.shipment_id, numbers)
        except LeaseLost as lost:
            counts["lease_lost"] += 1
            log.warning("%s", lost)
        finally:
            store.release_fulfilment_lease(row.ordnum, owner=writer.owner)
    return {"changes": len(rows), **dict(counts)}


def removed_in_max_reason(row: ShipmentRow) -> str:
    return (f"MAX shipment {row.shipment_id} of order {row.ordnum}: its tracking numbers were removed in MAX; Shopify "
            f"still shows {row.tracking}. Correct the fulfilment in Shopify by hand, then resolve the item")
