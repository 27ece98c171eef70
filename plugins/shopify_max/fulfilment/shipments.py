"""MAX shipments → Shopify fulfilments: read since the cursor, then fulfil order by order (docs/fulfilment.md).

``read_shipments`` stages every shipment (and every tracking change) before its cursor moves, so a crash loses
nothing. ``fulfil_shipments`` takes each order's fulfilment lease, reads the order's fulfilments and fulfillment
orders once, and for each shipment part decides (``match.decide_part``) whether it is already in Shopify (ours
with a lost answer, or made by hand), must be created, moved first, or waits. Every fulfilment is recorded the
moment it is learned; a send whose answer is lost is settled by re-reading Shopify before anything is sent again.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shopify_max.fulfilment.match import OrderClaims, PartDecision, decide_part
from shopify_max.fulfilment.plan import plan_shipment
from shopify_max.fulfilment.rules import FulfilmentRules
from shopify_max.shopify.errors import (
    ShopifyConnectionError,
    ShopifyOutcomeUnknownError,
    ShopifyRetryExhaustedError,
    ShopifyUnavailableError,
)
from shopify_max.sync_store import AuditEntry, SyncStore
from shopify_max.sync_store.shipment_sync import OPEN_SHIPMENT_STATUSES, ShipmentRow
from shopify_max.sync_store.states import ErrorEntity, ShipmentErrorStage, ShipmentOutcomeCode, ShipmentStatus

log = logging.getLogger(__name__)

SHIPMENTS_WATERMARK = "fulfilment.max_shipments"
TRACKING_WATERMARK = "fulfilment.max_tracking_changes"
ORDER_ENTITY = "order"
BY_HAND = "by_hand"
DEFAULT_LEASE = timedelta(minutes=5)
# Errors after which a mutation may or may not have applied: re-read Shopify before sending again.
OUTCOME_UNKNOWN = (ShopifyOutcomeUnknownError, ShopifyConnectionError, ShopifyUnavailableError,
                   ShopifyRetryExhaustedError)
SENDS_PER_PART = 3


class LeaseLost(RuntimeError):
    """The order's fulfilment lease expired or was taken over before a send: nothing was sent."""


def _later(a: str, b: str) -> str:
    """The later of two numeric cursors (a backfill never moves a watermark backwards)."""
    try:
        return a if int(a) >= int(b) else b
    except ValueError:
        return max(a, b)


def read_shipments(store: SyncStore, hook: Any, *, run_id: str, since: str | None = None,
                   page: int = 200) -> dict[str, Any]:
    """Stage shipments after the cursor (or after ``since``, a backfill) and tracking changes after theirs."""
    stored = store.get_watermark(SHIPMENTS_WATERMARK) or "0"
    start = str(since) if since not in (None, "") else stored
    read = staged = 0
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal staged, stored
        if batch:
            staged += store.stage_shipments(batch, run_id=run_id)
            stored = _later(batch[-1]["shipment_id"], stored)
            store.set_watermark(SHIPMENTS_WATERMARK, stored, run_id=run_id)
            batch.clear()

    for shipment in hook.iter_shipments(start, page_size=page):
        batch.append(shipment.model_dump(mode="json"))
        read += 1
        if len(batch) >= page:
            flush()
    flush()
    changes = noted = 0
    tracking_cursor = store.get_watermark(TRACKING_WATERMARK) or "0"
    for shipment in hook.iter_tracking_changes(tracking_cursor, page_size=page):
        changes += 1
        tracking = [t.model_dump(mode="json") for t in shipment.tracking]
        if store.note_tracking_change(shipment.shipment_id, tracking):
            noted += 1
        tracking_cursor = _later(str(shipment.change_seq), tracking_cursor)
        store.set_watermark(TRACKING_WATERMARK, tracking_cursor, run_id=run_id)
    log.info("read %d shipment(s) after %s (%d new), %d tracking change(s) (%d of shipments held)", read, start,
             staged, changes, noted)
    return {"read": read, "new": staged, "from_cursor": start, "cursor": stored, "tracking_changes": changes,
            "tracking_changes_held": noted}


@dataclass
class OrderWriter:
    """One attempt writing one MAX order's fulfilments, under its lease.

    :func:`fulfil_order` decides; this class carries out what it decides (reads Shopify, sends, records in the sync
    store). A dry run hands :func:`fulfil_order` a writer with the same methods that sends and records nothing
    (``fulfilment.dry_run.DryRunOrderWriter``), so both follow the same rules."""

    store: SyncStore
    api: Any
    ordnum: str
    order_gid: str
    run_id: str
    task_id: str | None
    rules: FulfilmentRules
    lease: timedelta
    owner: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    # (ordnum, order gid) -> the order's line map rebuilt from MAX and Shopify, for orders exported without one
    line_map_source: Callable[[str, str], list | None] | None = None

    def guard(self) -> None:
        if not self.store.renew_fulfilment_lease(self.ordnum, owner=self.owner, ttl=self.lease):
            raise LeaseLost(f"MAX order {self.ordnum}: the fulfilment lease expired before a send; nothing was sent")

    def audit(self, record_key: str, outcome: str, request: Any, response: Any, started: float, *,
              entity: str = "shipment") -> None:
        self.store.write_audit([AuditEntry(
            entity=entity, record_key=record_key, direction="max_to_shopify", outcome=outcome, request=request,
            response=response, run_id=self.run_id, task_id=self.task_id, contains_pii=False,
            duration_ms=int((time.monotonic() - started) * 1000))])

    # ----- what fulfil_order reads -----
    def read_state(self) -> Any:
        """Shopify's fulfilments and fulfillment orders of the order now (None: no such order)."""
        return self.api.order_fulfilment_state(self.order_gid)

    def claims(self) -> OrderClaims:
        return claims_for(self.store, self.ordnum)

    def line_map(self, counts: dict[str, int]) -> list:
        """The order's line map; rebuilt from MAX and Shopify (and recorded) for an order exported without one."""
        line_map = self.store.order_line_map(self.ordnum)
        if not line_map and self.line_map_source is not None:
            rebuilt = self.line_map_source(self.ordnum, self.order_gid)
            if rebuilt:
                self.store.record_order_line_map(rebuilt, run_id=self.run_id)
                line_map = self.store.order_line_map(self.ordnum)
                counts["line_maps_rebuilt"] += 1
                log.info("MAX order %s: exported before line maps were recorded; its line map is rebuilt from MAX "
                         "and Shopify (%d row(s))", self.ordnum, len(line_map))
        return line_map

    def sending_since(self, row: ShipmentRow) -> datetime | None:
        return self.store.shipments([row.shipment_id])[row.shipment_id].sending_since

    # ----- what fulfil_order writes -----
    def fail(self, row: ShipmentRow, status: ShipmentStatus, code: ShipmentOutcomeCode,
             stage: ShipmentErrorStage | None, reason: str, detail: dict[str, Any] | None = None) -> None:
        item = None
        if stage is not None:
            item = self.store.record_error(
                entity=ErrorEntity.SHIPMENT, record_key=row.shipment_id, stage=stage,
                reason=f"MAX shipment {row.shipment_id} of order {row.ordnum}: {reason}", payload=row.shipment,
                detail={"ordnum": row.ordnum, "order_gid": self.order_gid, "code": str(code), **(detail or {})})
        self.store.settle_shipment(row.shipment_id, status, code, reason, run_id=self.run_id, error_queue_id=item,
                                   order_gid=self.order_gid)

    def skip(self, row: ShipmentRow, code: ShipmentOutcomeCode, reason: str) -> None:
        self.store.settle_shipment(row.shipment_id, ShipmentStatus.SKIPPED, code, reason, run_id=self.run_id,
                                   order_gid=self.order_gid)

    def record_part(self, row: ShipmentRow, location: str, decision: PartDecision, fulfillment_gid: str | None,
                    numbers: list[str]) -> None:
        self.store.record_shipment_fulfilment(row.shipment_id, location, fulfillment_gid or BY_HAND, numbers,
                                              order_gid=self.order_gid, by_hand=decision.by_hand)

    def move(self, row: ShipmentRow, decision: PartDecision, location: str) -> str | None:
        """``fulfillmentOrderMove`` of the decision's lines to ``location``; Shopify's refusal, or None when moved."""
        self.guard()
        fulfillment_order_id, lines = decision.move
        moved = self.api.move_fulfillment_order(fulfillment_order_id, location, lines)
        self.audit(row.shipment_id, "moved" if moved.ok else "move_refused",
                   {"fulfillment_order": fulfillment_order_id, "location": location, "lines": lines},
                   moved.model_dump(mode="json"), time.monotonic())
        return None if moved.ok else "; ".join(e.message for e in moved.user_errors)

    def send_fulfilment(self, row: ShipmentRow, location: str, decision: PartDecision, tracking: Any) -> str | None:
        """One fulfillmentCreate; the fulfilment gid, or None when the answer was lost (re-read, decide again)."""
        self.guard()
        self.store.mark_shipment_sending(row.shipment_id, run_id=self.run_id)
        started = time.monotonic()
        request = {"lines_by_fulfillment_order": decision.lines_by_fulfillment_order,
                   "tracking": tracking.model_dump(exclude_none=True) if tracking else None,
                   "notify_customer": self.rules.notify_customer}
        try:
            result = self.api.create_fulfillment(decision.lines_by_fulfillment_order, tracking=tracking,
                                                 notify_customer=self.rules.notify_customer)
        except OUTCOME_UNKNOWN as exc:
            self.audit(row.shipment_id, "outcome_unknown", request, str(exc), started)
            log.warning("shipment %s: fulfillmentCreate answer lost (%s); re-reading the order before anything else",
                        row.shipment_id, exc)
            return None
        self.audit(row.shipment_id, "fulfilled" if result.ok else "refused", request,
                   result.model_dump(mode="json"), started)
        if not result.ok:
            messages = "; ".join(f"{'.'.join(e.field or [])}: {e.message}" for e in result.user_errors) \
                or "no fulfilment"
            raise ShopifyRefused(messages)
        return result.fulfillment_id

    def settle_fulfilled(self, row: ShipmentRow, code: ShipmentOutcomeCode) -> None:
        self.store.settle_shipment(row.shipment_id, ShipmentStatus.FULFILLED, code, f"fulfilled in Shopify ({code})",
                                   run_id=self.run_id, order_gid=self.order_gid)
        if row.error_queue_id:
            self.store.resolve_error(row.error_queue_id, note=f"fulfilled by run {self.run_id}",
                                     acted_by="fulfilment_to_shopify")


def claims_for(store: SyncStore, ordnum: str) -> OrderClaims:
    claims = OrderClaims()
    by_hand: dict[str, int] = defaultdict(int)
    for row in store.shipments_of_order(ordnum):
        for key, value in row.fulfillments.items():
            if key.startswith(f"{BY_HAND}:"):
                by_hand[key.split(":", 1)[1]] += int(value)
            elif value != BY_HAND:
                claims.fulfillment_gids.add(value)
    claims.by_hand = dict(by_hand)
    return claims


class ShopifyRefused(Exception):
    """Shopify answered the fulfilment with userErrors."""


def fulfil_order(writer: OrderWriter, rows: list[ShipmentRow], counts: dict[str, int]) -> None:
    """Every open shipment of one order, oldest first, under the order's lease."""
    state = writer.read_state()
    if state is None:
        for row in rows:
            writer.fail(row, ShipmentStatus.FAILED, ShipmentOutcomeCode.ORDER_NOT_IN_SHOPIFY, ShipmentErrorStage.CREATE,
                        f"Shopify has no order {writer.order_gid} (deleted?)")
        return
    line_map = writer.line_map(counts)
    for row in rows:
        state = _fulfil_shipment(writer, row, state, line_map, counts)


def _fulfil_shipment(writer: OrderWriter, row: ShipmentRow, state: Any, line_map: list, counts: dict[str, int]) -> Any:
    """One shipment, part by part; returns Shopify's order state as this attempt knows it (None: read it again)."""
    plan = plan_shipment(row.shipment, line_map, writer.rules)
    if plan.problems:
        writer.fail(row, ShipmentStatus.FAILED, plan.problems[0].code, plan.problems[0].stage,
                    "; ".join(f"{p.field}: {p.message}" for p in plan.problems),
                    {"problems": [p.as_detail() for p in plan.problems]})
        return state
    if not plan.parts:
        writer.skip(row, ShipmentOutcomeCode.NOTHING_TO_FULFIL, "only freight rows shipped: nothing for Shopify to "
                                                                "fulfil")
        return state
    if plan.unknown_ship_via:
        counts["unknown_ship_via"] += 1
        log.warning("shipment %s: ship-via %s is not in carriers.csv; tracking numbers sent without a carrier",
                    row.shipment_id, plan.unknown_ship_via)
    codes: list[ShipmentOutcomeCode] = []
    done = dict(row.fulfillments)
    for location, want in sorted(plan.parts.items()):
        if location in done:
            continue
        sending_since = row.sending_since
        for _round in range(SENDS_PER_PART + 2):
            if state is None:  # changed by our last write: read it again, only now that it is needed
                state = writer.read_state()
                if state is None:
                    raise ShopifyConnectionError(f"order {writer.order_gid} vanished from Shopify mid-run")
            decision = decide_part(state, writer.claims(), location, want, numbers=plan.tracking_numbers,
                                   sending_since=sending_since, skus=plan.skus, rules=writer.rules, moves_left=2)
            if decision.kind == "adopt":
                writer.record_part(row, location, decision, decision.fulfillment_gid, plan.tracking_numbers)
                codes.append(decision.code)
                log.info("shipment %s at %s: %s", row.shipment_id, location, decision.message)
                break
            if decision.kind in ("wait", "problem"):
                status = ShipmentStatus.WAITING if decision.kind == "wait" else ShipmentStatus.FAILED
                writer.fail(row, status, decision.code, decision.stage, decision.message,
                            {"location_gid": location, "lines": {plan.skus.get(k) or k: v for k, v in want.items()}})
                return state
            if decision.kind == "move":
                refused = writer.move(row, decision, location)
                if refused is not None:
                    writer.fail(row, ShipmentStatus.WAITING, ShipmentOutcomeCode.OTHER_LOCATION,
                                ShipmentErrorStage.FULFILLMENT_ORDER, "Shopify refused to move the fulfillment order "
                                f"to {location}: {refused}")
                    return state
                counts["moved"] += 1
                state = None
                continue
            try:
                fulfillment_gid = writer.send_fulfilment(row, location, decision, plan.tracking)
            except ShopifyRefused as refused:
                writer.fail(row, ShipmentStatus.FAILED, ShipmentOutcomeCode.REFUSED_BY_SHOPIFY,
                            ShipmentErrorStage.CREATE, f"Shopify refused the fulfilment: {refused}")
                return state
            if fulfillment_gid is None:  # answer lost: what Shopify holds decides
                sending_since = writer.sending_since(row)
                state = None
                counts["answers_lost"] += 1
                continue
            writer.record_part(row, location, decision, fulfillment_gid, plan.tracking_numbers)
            codes.append(decision.code)
            counts["created"] += 1
            state = None
            break
        else:
            raise ShopifyConnectionError(f"shipment {row.shipment_id}: no settled answer after {SENDS_PER_PART} "
                                         "sends; the task fails and its retry re-reads Shopify first")
    code = (ShipmentOutcomeCode.FULFILLED if ShipmentOutcomeCode.FULFILLED in codes or not codes
            else codes[0])
    writer.settle_fulfilled(row, code)
    return state


def fulfil_shipments(store: SyncStore, api_factory: Callable[[], Any], rules: FulfilmentRules, *, run_id: str,
                     task_id: str | None = None, lease: timedelta = DEFAULT_LEASE,
                     line_map_source: Callable[[str, str], list | None] | None = None) -> dict[str, Any]:
    """Every pending and waiting shipment, order by order; returns counts for the task's XCom. ``line_map_source``
    rebuilds the line map of an order exported before line maps were recorded (``line_map_backfill``)."""
    counts: dict[str, int] = defaultdict(int)
    by_order: dict[str, list[ShipmentRow]] = defaultdict(list)
    for row in store.open_shipments():
        by_order[row.ordnum].append(row)
    api = api_factory() if by_order else None
    for ordnum, rows in by_order.items():
        order_gid = store.shopify_gid_for(ORDER_ENTITY, ordnum)
        if order_gid is None:
            for row in rows:
                store.settle_shipment(row.shipment_id, ShipmentStatus.SKIPPED, ShipmentOutcomeCode.NOT_FROM_SHOPIFY,
                                      f"MAX order {ordnum} was not exported from Shopify by this integration",
                                      run_id=run_id)
            continue
        writer = OrderWriter(store, api, ordnum, order_gid, run_id, task_id, rules, lease,
                             owner=f"{run_id}/{task_id or 'task'}/{uuid.uuid4().hex[:12]}",
                             line_map_source=line_map_source)
        if not store.take_fulfilment_lease(ordnum, owner=writer.owner, ttl=lease):
            counts["left_to_another_writer"] += len(rows)
            log.info("MAX order %s: another attempt holds its fulfilment lease; its %d shipment(s) are left to it "
                     "(or to the next run, when it dies)", ordnum, len(rows))
            continue  # nothing written: that writer owns the rows now
        # What this attempt read before it held the lease may be stale: another writer may have settled them since.
        rows = [row for row in store.shipments_of_order(ordnum) if row.status in OPEN_SHIPMENT_STATUSES]
        try:
            fulfil_order(writer, rows, counts)
        except (LeaseLost, *OUTCOME_UNKNOWN) as lost:  # the order's rows stay open: the next run settles them first
            counts["left_for_next_run"] += 1
            log.warning("MAX order %s: left for the next run: %s", ordnum, lost)
        finally:
            store.release_fulfilment_lease(ordnum, owner=writer.owner)
    return {"orders": len(by_order), **dict(counts)}
