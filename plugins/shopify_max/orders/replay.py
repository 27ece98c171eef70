"""``replay_order_errors``: the error queue's order items, mapped, validated and exported again after a fix."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from shopify_max.mappings.loader import Mappings
from shopify_max.orders.export import MaxGateway, export_staged_orders
from shopify_max.orders.map_and_validate import map_staged_orders, validate_staged_orders
from shopify_max.orders.write_lease import DEFAULT_WRITE_LEASE
from shopify_max.sync_store import SyncStore
from shopify_max.sync_store.states import ErrorEntity, ErrorStatus, OrderErrorStage, OrderStageStatus, RunOutcome

log = logging.getLogger(__name__)

REPLAYABLE_STAGES = (OrderErrorStage.MAP, OrderErrorStage.VALIDATE, OrderErrorStage.EXPORT)


def replay_order_errors(store: SyncStore, mappings: Mappings, codes: Any, gateway: MaxGateway, *, run_id: str,
                        worker: str, statuses: Iterable[ErrorStatus | str] = (ErrorStatus.OPEN,),
                        stage: str | None = None,
                        reason_contains: str | None = None, record_keys: Iterable[str] | None = None,
                        limit: int = 500, task_id: str | None = None,
                        write_lease: timedelta = DEFAULT_WRITE_LEASE) -> dict[str, Any]:
    """Re-run orders from the error queue with the current mappings: map → validate → export.

    Items whose order now exports (or is skipped by a rule) are resolved; an order that fails again at the
    same stage reopens its item with the new reason; one that gets further resolves the old item and opens
    one for the stage where it now stops. Capture errors and changes after export need a person, not a replay.

    Only an order still ``failed`` is replayed, from the newest version held: one exported since is resolved, one
    another run is working on (or with a newer version waiting) is left to that run, and its item stays open.
    """
    stages = [stage] if stage else list(REPLAYABLE_STAGES)
    if any(s not in REPLAYABLE_STAGES for s in stages):
        raise ValueError(f"only stages {tuple(s.value for s in REPLAYABLE_STAGES)} can be replayed, not {stage!r}")
    claimed = []
    for one_stage in stages:
        claimed += store.claim_errors(worker, entity=ErrorEntity.ORDER, stage=one_stage, statuses=list(statuses),
                                      reason_contains=reason_contains, record_keys=list(record_keys or []) or None,
                                      limit=limit)
    order_gids: dict[int, str] = {}
    resolved, failing, left = [], [], []
    for item in claimed:
        gid = item.detail.get("order_gid")
        staged = store.staged_orders([gid]).get(gid) if gid else None
        if staged is None or not staged.order_json:
            store.release_error(item.id, reason=f"{item.reason} (replay: no staged copy of the order is left; "
                                                "re-read it with a backfill window)")
            failing.append(item.record_key)
            continue
        if staged.status in (OrderStageStatus.EXPORTED, OrderStageStatus.SKIPPED) and not staged.deferred_json:
            store.resolve_error(item.id)
            resolved.append(item.record_key)
            log.info("error queue item %d (%s, %s): resolved, the order is %s since: %s", item.id, item.record_key,
                     item.stage, staged.status, staged.run_outcome_reason)
            continue
        if staged.status != OrderStageStatus.FAILED or staged.deferred_json or not store.set_stage_status(
                gid, OrderStageStatus.CAPTURED, expected=[OrderStageStatus.FAILED],
                expected_digest=staged.payload_digest, run_id=run_id, run_outcome=RunOutcome.PENDING,
                run_outcome_reason=None, run_outcome_code=None, error_queue_id=None, mapped_json=None):
            store.release_error(item.id)
            left.append(item.record_key)
            log.info("error queue item %d (%s, %s): left open, the order is in flight elsewhere (%s, run %s)",
                     item.id, item.record_key, item.stage, staged.status, staged.run_id)
            continue
        order_gids[item.id] = gid
    map_staged_orders(store, mappings, run_id=run_id)
    validate_staged_orders(store, codes, run_id=run_id, task_id=task_id)
    export_staged_orders(store, gateway, run_id=run_id, task_id=task_id, write_lease=write_lease)

    staged_now = store.staged_orders(order_gids.values())
    still_open = {(item.record_key, item.stage)
                  for item in store.list_errors(entity=ErrorEntity.ORDER, status=ErrorStatus.OPEN)}
    for item in claimed:
        gid = order_gids.get(item.id)
        if gid is None:
            continue
        row = staged_now[gid]
        if row.run_id != run_id:
            store.release_error(item.id)
            left.append(item.record_key)
            log.info("error queue item %d (%s, %s): the order was taken over by run %s meanwhile; left open",
                     item.id, item.record_key, item.stage, row.run_id)
        elif (row.run_outcome in (RunOutcome.EXPORTED, RunOutcome.SKIPPED)
              or (item.record_key, item.stage) not in still_open):
            store.resolve_error(item.id)
            resolved.append(item.record_key)
            log.info("error queue item %d (%s, %s): resolved by replay: %s", item.id, item.record_key, item.stage,
                     row.run_outcome_reason)
        else:
            failing.append(item.record_key)
            log.info("error queue item %d (%s, %s): still failing: %s", item.id, item.record_key, item.stage,
                     row.run_outcome_reason)
    return {"claimed": len(claimed), "replayed": len(order_gids), "resolved": resolved, "still_failing": failing,
            "left_in_flight": left}
