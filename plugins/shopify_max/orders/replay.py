"""Error-queue order items, mapped, validated and exported again after a fix (``replay``), or after re-reading
the order from Shopify by id (``refetch``: ``shopify_max.error_queue_actions``)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from shopify_max.mappings.loader import Mappings
from shopify_max.orders.export import MaxGateway, export_staged_orders
from shopify_max.orders.map_and_validate import map_staged_orders, validate_staged_orders
from shopify_max.orders.write_lease import DEFAULT_WRITE_LEASE
from shopify_max.sync_store import ErrorItem, SyncStore
from shopify_max.sync_store.states import ErrorEntity, ErrorStatus, OrderErrorStage, OrderStageStatus, RunOutcome

log = logging.getLogger(__name__)

REPLAYABLE_STAGES = (OrderErrorStage.MAP, OrderErrorStage.VALIDATE, OrderErrorStage.EXPORT)

RESOLVED, STILL_FAILING, LEFT_IN_FLIGHT = "resolved", "still_failing", "left_in_flight"


@dataclass(frozen=True)
class ReplayOutcome:
    """What a replay made of one claimed item. ``result``: resolved, still_failing or left_in_flight; ``why``:
    one sentence for a person; ``reopened``: the pipeline already put the item back to ``open`` (it failed at
    the same stage again and ``record_error`` bumped it), so the caller must not release it again."""

    result: str
    why: str
    reopened: bool = False


@dataclass(frozen=True)
class OrderFlow:
    """What map → validate → export need: the mapping files, MAX's codes, the gateway and the write lease."""

    mappings: Mappings
    codes: Any
    gateway: MaxGateway
    write_lease: timedelta = DEFAULT_WRITE_LEASE


def replay_order_errors(store: SyncStore, mappings: Mappings, codes: Any, gateway: MaxGateway, *, run_id: str,
                        worker: str, statuses: Iterable[ErrorStatus | str] = (ErrorStatus.OPEN,),
                        stage: str | None = None,
                        reason_contains: str | None = None, record_keys: Iterable[str] | None = None,
                        limit: int = 500, task_id: str | None = None,
                        write_lease: timedelta = DEFAULT_WRITE_LEASE) -> dict[str, Any]:
    """Claim the order items of ``stage`` (default: map, validate and export) and replay them; see
    :func:`replay_claimed_order_items`. Items that now succeed are resolved; the others are back to ``open``."""
    stages = [stage] if stage else list(REPLAYABLE_STAGES)
    if any(s not in REPLAYABLE_STAGES for s in stages):
        raise ValueError(f"only stages {tuple(s.value for s in REPLAYABLE_STAGES)} can be replayed, not {stage!r}")
    claimed: list[ErrorItem] = []
    for one_stage in stages:
        claimed += store.claim_errors(worker, entity=ErrorEntity.ORDER, stage=one_stage, statuses=list(statuses),
                                      reason_contains=reason_contains, record_keys=list(record_keys or []) or None,
                                      limit=limit)
    outcomes = replay_claimed_order_items(store, [(item, item.detail.get("order_gid")) for item in claimed],
                                          OrderFlow(mappings, codes, gateway, write_lease), run_id=run_id,
                                          task_id=task_id)
    report: dict[str, Any] = {"claimed": len(claimed), "replayed": 0, RESOLVED: [], STILL_FAILING: [],
                              LEFT_IN_FLIGHT: []}
    for item in claimed:
        outcome = outcomes[item.id]
        report[outcome.result].append(item.record_key)
        report["replayed"] += outcome.result != LEFT_IN_FLIGHT
        if outcome.result == RESOLVED:
            store.resolve_error(item.id)
        elif not outcome.reopened:
            store.release_error(item.id)
    return report


def replay_claimed_order_items(store: SyncStore, targets: list[tuple[ErrorItem, str | None]], flow: OrderFlow, *,
                               run_id: str, task_id: str | None = None) -> dict[int, ReplayOutcome]:
    """Re-run the orders behind claimed items with the current mappings: map → validate → export, in this run.

    ``targets`` pairs each item with its order's gid. Returns an outcome per item id; the caller resolves or
    releases the items (the outcome says which). An order exported (or skipped by a rule) since is resolved at
    once. Only an order still ``failed`` is replayed, from the newest version held, or one this run has just
    staged (``captured`` by ``run_id``: a refetch); one another run is working on (or with a newer version
    waiting) is left to that run.

    A map, validate or export item is resolved when its order now exports, is skipped by a rule, or gets
    further (the pipeline opens an item for the stage where it now stops); a capture item only when its order
    exports or is skipped.
    """
    outcomes: dict[int, ReplayOutcome] = {}
    order_gids: dict[int, str] = {}
    for item, gid in targets:
        staged = store.staged_orders([gid]).get(gid) if gid else None
        if staged is None or not staged.order_json:
            outcomes[item.id] = ReplayOutcome(STILL_FAILING, "no staged copy of the order is left: refetch it "
                                                             "(re-read from Shopify by id) or backfill its window")
            continue
        if staged.status in (OrderStageStatus.EXPORTED, OrderStageStatus.SKIPPED) and not staged.deferred_json:
            outcomes[item.id] = ReplayOutcome(RESOLVED, f"the order is {staged.status} since: "
                                                        f"{staged.run_outcome_reason}")
            log.info("error queue item %d (%s, %s): resolved, the order is %s since: %s", item.id, item.record_key,
                     item.stage, staged.status, staged.run_outcome_reason)
            continue
        ours = staged.status == OrderStageStatus.CAPTURED and staged.run_id == run_id and not staged.deferred_json
        if not ours and (staged.status != OrderStageStatus.FAILED or staged.deferred_json or not store.set_stage_status(
                gid, OrderStageStatus.CAPTURED, expected=[OrderStageStatus.FAILED],
                expected_digest=staged.payload_digest, run_id=run_id, run_outcome=RunOutcome.PENDING,
                run_outcome_reason=None, run_outcome_code=None, error_queue_id=None, mapped_json=None)):
            outcomes[item.id] = ReplayOutcome(LEFT_IN_FLIGHT, f"the order is in flight elsewhere ({staged.status}, "
                                                              f"run {staged.run_id}); that run finishes it")
            log.info("error queue item %d (%s, %s): left open, the order is in flight elsewhere (%s, run %s)",
                     item.id, item.record_key, item.stage, staged.status, staged.run_id)
            continue
        order_gids[item.id] = gid
    if not order_gids:
        return outcomes
    map_staged_orders(store, flow.mappings, run_id=run_id)
    validate_staged_orders(store, flow.codes, run_id=run_id, task_id=task_id)
    export_staged_orders(store, flow.gateway, run_id=run_id, task_id=task_id, write_lease=flow.write_lease)

    staged_now = store.staged_orders(order_gids.values())
    still_open = {(item.record_key, item.stage)
                  for item in store.list_errors(entity=ErrorEntity.ORDER, status=ErrorStatus.OPEN)}
    for item, _gid in targets:
        gid = order_gids.get(item.id)
        if gid is None:
            continue
        row = staged_now[gid]
        done = row.run_outcome in (RunOutcome.EXPORTED, RunOutcome.SKIPPED)
        if row.run_id != run_id:
            outcomes[item.id] = ReplayOutcome(LEFT_IN_FLIGHT, f"the order was taken over by run {row.run_id} "
                                                              "meanwhile; that run finishes it")
        elif done or (item.stage != OrderErrorStage.CAPTURE and (item.record_key, item.stage) not in still_open):
            outcomes[item.id] = ReplayOutcome(RESOLVED, f"{row.status}: {row.run_outcome_reason}")
        else:
            reopened = (item.record_key, item.stage) in still_open
            outcomes[item.id] = ReplayOutcome(STILL_FAILING, f"the order stops at {row.status}: "
                                                             f"{row.run_outcome_reason}", reopened=reopened)
        log.info("error queue item %d (%s, %s): %s: %s", item.id, item.record_key, item.stage,
                 outcomes[item.id].result, outcomes[item.id].why)
    return outcomes
