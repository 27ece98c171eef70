"""Push what differs: ``inventorySetQuantities`` (name "available") in batches of ≤ 250, paced to the cost budget.

- **Only what differs** from the shadow (after a full reconcile's read, the shadow *is* Shopify's levels).
- **Compare-and-set:** ``changeFromQuantity`` is the last known quantity. On ``CHANGE_FROM_QUANTITY_STALE``
  the item is read again and decided: already right → recorded; else retried once with the level just read.
  A second stale goes to the error queue; the rest of the batch goes on.
- **Exactly once:** each batch's ``@idempotent`` key is derived from the run id and the batch content, so a
  resent request (a dropped connection, a retried task) replays Shopify's first answer instead of applying
  twice. Across runs, compare-and-set keeps a stale run from overwriting a newer level.
- **Pacing:** the cost of the whole push is computed before the first batch (batches × mutation cost, against
  the bucket's level and restore rate), so the run can report the lower bound Shopify's budget allows. Several
  senders share one :class:`~shopify_max.shopify.pacing.CostPacer`: the bucket stays busy (latency is hidden)
  and is never overdrawn.
- The shadow is written as each batch lands, so a run killed half-way loses nothing: the re-run pushes the
  rest, and compare-and-set sorts out the batch that was in flight.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from shopify_max.inventory import ENTITY, level_key
from shopify_max.inventory.plan import batches, plan_quantities
from shopify_max.inventory.problems import Problems
from shopify_max.inventory.push_settings import PushSettings
from shopify_max.shopify.api import ShopifyAdminApi, idempotency_key_for
from shopify_max.shopify.errors import ShopifyError
from shopify_max.shopify.models import InventoryQuantity, SetQuantitiesResult
from shopify_max.shopify.pacing import MUTATION_COST
from shopify_max.sync_store import AuditEntry, InventoryItemRow, InventoryTarget, SyncStore
from shopify_max.sync_store.states import InventoryErrorStage

log = logging.getLogger(__name__)

OPERATION = "InventorySetQuantities"
STALE = "CHANGE_FROM_QUANTITY_STALE"
REFERENCE_URI_PREFIX = "gid://shopify-max/InventorySync/"

Key = tuple[str, str]  # (inventory item gid, location gid)


class InventoryPushError(ShopifyError):
    """Shopify refused a whole batch (not one quantity of it): a configuration problem, so the task fails."""


@dataclass
class BatchOutcome:
    applied: dict[Key, int] = field(default_factory=dict)  # now in Shopify: pushed, or found already right
    found_equal: int = 0
    stale_retried: int = 0
    failed: list[tuple[InventoryQuantity, str]] = field(default_factory=list)  # (quantity, reason)
    audit: list[AuditEntry] = field(default_factory=list)
    mutations: int = 0


def reference_document_uri(run_id: str) -> str:
    return REFERENCE_URI_PREFIX + quote(run_id, safe="")


class BatchSender:
    """Sends one batch to the end: applied, or each quantity it could not set named with its reason."""

    def __init__(self, api: ShopifyAdminApi, settings: PushSettings, *, run_id: str, task_id: str | None) -> None:
        self.api, self.settings, self.run_id, self.task_id = api, settings, run_id, task_id
        self.reference = reference_document_uri(run_id)

    def send(self, batch: list[InventoryQuantity]) -> BatchOutcome:
        outcome = BatchOutcome()
        pending = list(batch)
        stale_seen: set[Key] = set()
        while pending:
            result = self._set(pending, outcome)
            if result.ok:
                outcome.applied.update({_key(q): q.quantity for q in pending})
                return outcome
            pending = self._after_user_errors(pending, result, stale_seen, outcome)
        return outcome

    def _set(self, pending: list[InventoryQuantity], outcome: BatchOutcome) -> SetQuantitiesResult:
        wire = [[q.inventory_item_id, q.location_id, q.quantity, q.change_from_quantity] for q in pending]
        key = idempotency_key_for(OPERATION, self.run_id, self.settings.reason, self.reference, wire)
        started = time.perf_counter()
        result = self.api.set_available_quantities(pending, self.settings.reason, self.reference, key)
        outcome.mutations += 1
        outcome.audit.append(AuditEntry(
            entity=ENTITY, direction="max_to_shopify", outcome="applied" if result.ok else "refused",
            record_key=key, run_id=self.run_id, task_id=self.task_id, contains_pii=False,
            duration_ms=int((time.perf_counter() - started) * 1000),
            request={"name": "available", "reason": self.settings.reason, "referenceDocumentUri": self.reference,
                     # one compact text, not 1,000 values: the audit log is redacted value by value
                     "quantities[item,location,quantity,changeFromQuantity]": json.dumps(wire, separators=(",", ":"))},
            response={"adjustment_group_id": result.adjustment_group_id,
                      "user_errors": [e.model_dump() for e in result.user_errors]}))
        return result

    def _after_user_errors(self, pending: list[InventoryQuantity], result: SetQuantitiesResult, stale_seen: set[Key],
                           outcome: BatchOutcome) -> list[InventoryQuantity]:
        """Shopify applies a batch all or nothing: set aside what it refused, decide the stale, resend the rest."""
        by_index: dict[int, list] = {}
        for error in result.user_errors:
            index = error.quantity_index
            if index is None or index >= len(pending):
                raise InventoryPushError(
                    f"{OPERATION}: Shopify refused the whole batch ({error.code}: {error.message}, field "
                    f"{error.field}); check the reason {self.settings.reason!r} in inventory_rules.yaml",
                    operation=OPERATION)
            by_index.setdefault(index, []).append(error)
        to_reread: list[InventoryQuantity] = []
        untouched: list[InventoryQuantity] = []
        for index, quantity in enumerate(pending):
            errors = by_index.get(index)
            if not errors:
                untouched.append(quantity)
            elif any(e.code != STALE for e in errors):
                refused = "; ".join(f"{e.code}: {e.message}" for e in errors if e.code != STALE)
                outcome.failed.append((quantity, f"Shopify refused it ({refused}, field {errors[0].field})"))
            elif _key(quantity) in stale_seen:
                outcome.failed.append((quantity, f"changeFromQuantity was stale twice ({STALE}): the level keeps "
                                                 "changing in Shopify while we set it; the next run tries again"))
            else:
                stale_seen.add(_key(quantity))
                to_reread.append(quantity)
        return untouched + self._decide_stale(to_reread, outcome)

    def _decide_stale(self, stale: list[InventoryQuantity], outcome: BatchOutcome) -> list[InventoryQuantity]:
        if not stale:
            return []
        locations = sorted({q.location_id for q in stale})
        current = {(level.inventory_item_id, level.location_id): level.available
                   for level in self.api.inventory_levels(sorted({q.inventory_item_id for q in stale}), locations)}
        retry = []
        for quantity in stale:
            now = current.get(_key(quantity))
            if now is None:
                outcome.failed.append((quantity, "the item is no longer stocked at the location in Shopify"))
            elif now == quantity.quantity:
                outcome.applied[_key(quantity)] = now  # someone (or an earlier try) already set it
                outcome.found_equal += 1
            else:
                outcome.stale_retried += 1
                retry.append(quantity.model_copy(update={"change_from_quantity": now}))
        return retry


def _key(quantity: InventoryQuantity) -> Key:
    return quantity.inventory_item_id, quantity.location_id


@dataclass
class TargetMatch:
    """This run's targets against Shopify's items and the known levels: what can be set, and what cannot."""

    wanted: dict[Key, int] = field(default_factory=dict)  # (item, location) -> target
    names: dict[Key, tuple[str, str]] = field(default_factory=dict)  # key -> (sku, part number), for messages
    not_stocked: Problems = field(default_factory=lambda: Problems(InventoryErrorStage.NOT_STOCKED))
    unmatched: int = 0  # targets of SKUs not in Shopify, or duplicated there (the Shopify-side step reports them)


def match_targets(targets: list[InventoryTarget], items: dict[str, InventoryItemRow],
                  known: dict[Key, int]) -> TargetMatch:
    """Each target to its inventory item and location. ``known`` holds the levels Shopify has (the shadow): a
    target with no level there is an item not stocked at that location, reported and not set."""
    matched = TargetMatch()
    for target in targets:
        row = items.get(target.sku)
        if row is None or row.inventory_item_gid is None:
            matched.unmatched += 1
            continue
        key = (row.inventory_item_gid, target.location_gid)
        if key not in known:
            matched.not_stocked.add(
                level_key(target.sku, target.location_gid),
                f"SKU {target.sku!r} (inventory item {key[0]}) is not stocked at Shopify location "
                f"{target.location_gid}, where MAX would show {target.quantity}: activate it there in "
                "Shopify, or take the location's stockrooms out of locations.csv",
                sku=target.sku, part_number=target.part_number, location=target.location_gid,
                inventory_item=key[0], quantity=target.quantity)
            continue
        matched.wanted[key] = target.quantity
        matched.names[key] = (target.sku, target.part_number)
    return matched


def push_quantities(store: SyncStore, api_for_sender: Callable[[], ShopifyAdminApi], *, run_id: str,
                    task_id: str | None = None, settings: PushSettings | None = None) -> dict[str, Any]:
    """Push this run's targets that differ from the shadow; return the run-summary entry."""
    settings = settings or PushSettings()
    began = time.perf_counter()
    targets = store.inventory_targets(run_id=run_id)
    if targets is None:
        raise RuntimeError(f"no inventory targets were computed by run {run_id!r}: run compute_available_quantities "
                           "of this run first (clear it together with this task)")
    shadow = store.shadow_quantities()
    matched = match_targets(targets, store.inventory_items(), shadow)
    wanted, names, not_stocked, unmatched = matched.wanted, matched.names, matched.not_stocked, matched.unmatched
    planned = plan_quantities(wanted, {key: shadow[key] for key in wanted})
    planned_batches = batches(planned, settings.batch_size)
    probe = api_for_sender()
    probe.client.pacer.safety_margin = float(settings.spare_points)  # the pacer every sender shares
    budget = _plan_budget(probe, len(planned_batches), settings.spare_points)
    log.info("push plan: %d of %d quantities differ from the shadow, in %d batch(es) of ≤ %d; ~%.0f points; %s",
             len(planned), len(wanted), len(planned_batches), settings.batch_size, budget["points_planned"],
             budget["note"])

    started = time.perf_counter()
    totals, failures = send_batches(store, api_for_sender, planned_batches, settings, run_id=run_id, task_id=task_id)
    push_seconds = time.perf_counter() - started

    push_problems = Problems(InventoryErrorStage.PUSH)
    for quantity, reason in failures:
        sku, part = names[_key(quantity)]
        push_problems.add(level_key(sku, quantity.location_id),
                          f"SKU {sku!r} at {quantity.location_id}: available {quantity.quantity} (from MAX part "
                          f"{part}) was not set: {reason}",
                          sku=sku, part_number=part, location=quantity.location_id,
                          inventory_item=quantity.inventory_item_id, quantity=quantity.quantity,
                          change_from_quantity=quantity.change_from_quantity)
    restore_rate = budget.get("restore_rate") or 0
    lower_bound = max(0.0, totals["points_spent"] - budget.get("available_at_start", 0)) / restore_rate \
        if restore_rate else None
    summary = {
        "targets": len(targets), "matched": len(wanted), "unchanged": len(wanted) - len(planned),
        "planned": len(planned), "batches": len(planned_batches), "batch_size": settings.batch_size,
        "pushed": totals["pushed"], "found_already_right": totals["found_equal"],
        "stale_retried": totals["stale_retried"], "failed": len(failures), "mutations": totals["mutations"],
        "unmatched_skus_skipped": unmatched, "not_stocked": not_stocked.record(store),
        "push_errors": push_problems.record(store),
        "points_planned": budget["points_planned"], "points_spent": totals["points_spent"],
        "restore_rate": restore_rate or None, "planning_seconds": round(started - began, 3),
        "push_seconds": round(push_seconds, 3),
        "lower_bound_seconds": None if lower_bound is None else round(lower_bound, 3),
        "ratio_to_lower_bound": round(push_seconds / lower_bound, 3) if lower_bound else None,
        "throttled_retries": totals["throttled_retries"], "transient_retries": totals["transient_retries"],
        "waited_seconds": round(totals["waited_seconds"], 3), "senders": settings.senders,
    }
    log.info("pushed %(pushed)d of %(planned)d planned quantities (%(found_already_right)d already right, "
             "%(stale_retried)d stale retried, %(failed)d failed) in %(mutations)d mutations, %(push_seconds).1f s",
             summary)
    return summary


def _plan_budget(api: ShopifyAdminApi, batch_count: int, spare_points: int) -> dict[str, Any]:
    """The push's cost, computed ahead: batches × the mutation's cost, against the bucket as Shopify reports it
    (less the points left for other flows, which the shared pacer never spends)."""
    if batch_count == 0:
        return {"points_planned": 0.0, "note": "nothing to push"}
    state = api.bucket_state()
    points = batch_count * api.client.pacer.expected_cost(OPERATION, MUTATION_COST)
    if state is None:
        return {"points_planned": points, "note": "bucket state unknown"}
    usable = max(0.0, state.currently_available - spare_points)
    seconds = max(0.0, points - usable) / state.restore_rate
    return {"points_planned": points, "available_at_start": usable, "restore_rate": state.restore_rate,
            "note": f"{usable:.0f} of {state.maximum_available:.0f} points ours ({spare_points} left to other flows), "
                    f"restoring {state.restore_rate:.0f}/s: no faster than {seconds:.1f} s"}


def send_batches(store: SyncStore, api_for_sender: Callable[[], ShopifyAdminApi], planned: list[list[InventoryQuantity]],
                 settings: PushSettings, *, run_id: str, task_id: str | None) -> tuple[dict[str, Any], list]:
    """Send ``planned`` batches through ``settings.senders`` concurrent senders; record each as it lands."""
    totals: dict[str, Any] = {"pushed": 0, "found_equal": 0, "stale_retried": 0, "mutations": 0}
    failures: list[tuple[InventoryQuantity, str]] = []
    senders: list[ShopifyAdminApi] = []
    local = threading.local()

    def send(batch: list[InventoryQuantity]) -> BatchOutcome:
        if not hasattr(local, "sender"):
            local.api = api_for_sender()
            senders.append(local.api)
            local.sender = BatchSender(local.api, settings, run_id=run_id, task_id=task_id)
        return local.sender.send(batch)

    def record(outcome: BatchOutcome) -> None:
        store.record_pushed_quantities(outcome.applied, outcome.audit, run_id=run_id)  # at once: a kill loses nothing
        totals["pushed"] += len(outcome.applied) - outcome.found_equal
        totals["found_equal"] += outcome.found_equal
        totals["stale_retried"] += outcome.stale_retried
        totals["mutations"] += outcome.mutations
        failures.extend(outcome.failed)

    with ThreadPoolExecutor(max_workers=settings.senders, thread_name_prefix="inventory-push") as pool:
        queue = iter(planned)
        in_flight: set[Future] = set()

        def top_up() -> None:
            while len(in_flight) < settings.senders and (batch := next(queue, None)) is not None:
                in_flight.add(pool.submit(send, batch))

        try:
            top_up()
            while in_flight:
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                top_up()  # before recording: a sender never idles while the store writes
                for future in done:
                    record(future.result())
        except BaseException:
            for future in in_flight:  # let batches already sent finish and keep what they applied
                future.cancel()
            for future in in_flight:
                if not future.cancelled() and future.exception() is None:
                    record(future.result())
            raise
        finally:
            stats = [api.client.stats for api in senders]
            totals["points_spent"] = sum(s.actual_cost for s in stats)
            totals["throttled_retries"] = sum(s.throttled_retries + s.rate_limited_retries for s in stats)
            totals["transient_retries"] = sum(s.transient_retries for s in stats)
            totals["waited_seconds"] = sum(s.waited_seconds for s in stats)
    return totals, failures
