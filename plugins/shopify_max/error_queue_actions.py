"""What an on-call engineer does to error-queue items, for every entity: the ``error_replay`` DAG's ``action``.

Each action works on the items the selection matches (item ids, entity, stage, status, text in the reason,
record keys: every filter given applies). It claims them first (``claim_errors``), so a running replay and a
person's resolve never act on the same item; an item another worker claimed less than :data:`STALE_CLAIM` ago
is left to it, and reported. Every item acted on gets an ``audit_log`` entry (direction
``error_queue_action``, outcome ``resolved``, ``ignored``, ``replayed`` or ``refetched``) on its record's audit
trail, and its ``note``, ``acted_by`` and ``acted_at`` columns.

- ``resolve`` (note required): the cause is fixed by hand (a MAX order changed, a compliance request answered);
  any entity, any stage.
- ``ignore`` (note required): the item needs nothing; it stays ignored when the problem is seen again.
- ``replay``: do the work again, now.
  - ``order`` at ``map``, ``validate``, ``export``: map → validate → export with the current mapping files
    (:func:`shopify_max.orders.replay.replay_claimed_order_items`), exactly once;
  - ``order`` at ``capture`` (a webhook that could not be read): use ``refetch``; at ``update_after_export`` or
    ``cancel``: a person changes MAX by hand, then resolves the item;
  - ``inventory``: each check runs in full in every ``inventory_to_shopify`` run, which resolves what it no
    longer finds; there is nothing to replay here: resolve or ignore the item;
  - ``privacy`` at ``read_request``: the compliance webhook is read again; when it is readable now, its inbox
    delivery goes back to ``new`` and ``sync_store_maintenance`` acts on it at its next run.
- ``refetch`` (``order`` items at ``capture``, ``map``, ``validate``, ``export``): the order's id is found (the
  item's detail, its record key, or the delivery's body, even a cut one), the order is re-read from Shopify by
  id, staged through the normal capture decisions (versions, digests), then mapped, validated and exported in
  this run like a replay. A capture item is resolved only when its order exported or was skipped by a rule.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError

from shopify_max.clock import utcnow
from shopify_max.ids import is_shopify_gid, shopify_gid
from shopify_max.sync_store import AuditEntry, ErrorItem, SyncStore
from shopify_max.sync_store.states import (
    ERROR_STAGES,
    ErrorEntity,
    ErrorStatus,
    InboxStatus,
    OrderErrorStage,
    RefundErrorStage,
    parse_state,
)

log = logging.getLogger(__name__)

ACTIONS = ("replay", "resolve", "ignore", "refetch")
NOTE_REQUIRED = ("resolve", "ignore")
AUDIT_DIRECTION = "error_queue_action"
AUDIT_OUTCOME = {"replay": "replayed", "resolve": "resolved", "ignore": "ignored", "refetch": "refetched"}
# A claim older than this belongs to a worker that died (tasks time out after 2 h: dag_defaults).
STALE_CLAIM = timedelta(hours=3)
REFETCHABLE_STAGES = (OrderErrorStage.CAPTURE, OrderErrorStage.MAP, OrderErrorStage.VALIDATE, OrderErrorStage.EXPORT)

INVENTORY_ANSWER = ("re-checked by every inventory_to_shopify run, which resolves it once the check no longer "
                    "finds it (fix the mapping or the stock, then wait for the next run); resolve or ignore it here")
MASTER_DATA_ANSWER = ("re-checked by every master_data_sync run, which resolves it once the check no longer finds it "
                      "(fix the mapping, MAX or Shopify, then trigger master_data_sync); resolve or ignore it here")
NEEDS_A_PERSON = "needs a person: change MAX by hand as the reason says, then resolve it"
CAPTURE_ANSWER = "a webhook that could not be read cannot be replayed: refetch re-reads the order from Shopify by id"

_GID_IN_BODY = re.compile(r'"admin_graphql_api_id"\s*:\s*"(gid://shopify/Order/\d+)"')
_ID_IN_BODY = re.compile(r'"id"\s*:\s*"?(\d{1,20})\b')


class ActionRefused(ValueError):
    """The request cannot be acted on as given (an unknown action, a missing note, an unknown entity or stage):
    nothing was changed; the run fails at once."""


class OrderReader(Protocol):
    def get_order(self, order_id: str) -> Any: ...


@dataclass(frozen=True)
class Selection:
    """Which items: every filter given applies (AND)."""

    item_ids: tuple[int, ...] = ()
    entity: str | None = None
    stage: str | None = None
    status: str = ErrorStatus.OPEN
    reason_contains: str | None = None
    record_keys: tuple[str, ...] = ()

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Selection:
        """The selection of the ``error_replay`` params, checked: an unknown entity, stage or status is refused."""
        entity = params.get("entity") or None
        stage = params.get("stage") or None
        status = params.get("status") or ErrorStatus.OPEN
        try:
            status = parse_state(ErrorStatus, status, "error-queue status")
            if entity is not None:
                entity = parse_state(ErrorEntity, entity, "error-queue entity")
        except ValueError as exc:
            raise ActionRefused(str(exc)) from None
        known = {s for e, stages in ERROR_STAGES.items() if entity in (None, e) for s in stages}
        if stage is not None and stage not in known:
            raise ActionRefused(f"stage {stage!r} is not a stage of {entity or 'any entity'}; "
                                f"one of: {', '.join(sorted(known))}")
        try:
            item_ids = tuple(int(i) for i in params.get("item_ids") or ())
        except (TypeError, ValueError):
            raise ActionRefused(f"item_ids must be whole numbers, got {params.get('item_ids')!r}") from None
        return cls(item_ids, entity, stage, status, params.get("reason_contains") or None,
                   tuple(str(k) for k in params.get("record_keys") or ()))

    def filters(self) -> dict[str, Any]:
        return {"item_ids": list(self.item_ids) or None, "entity": self.entity, "stage": self.stage,
                "statuses": [self.status], "reason_contains": self.reason_contains,
                "record_keys": list(self.record_keys) or None}

    def describe(self) -> dict[str, Any]:
        return {"item_ids": list(self.item_ids), "entity": self.entity, "stage": self.stage, "status": self.status,
                "reason_contains": self.reason_contains, "record_keys": list(self.record_keys)}


@dataclass(frozen=True)
class Actor:
    """Who acts: the DAG run, its task, and the user who triggered it when Airflow knows."""

    run_id: str
    task_id: str | None = None
    user: str | None = None

    @property
    def acted_by(self) -> str:
        return f"{self.user} (run {self.run_id})" if self.user else f"run {self.run_id}"

    @property
    def worker(self) -> str:
        return f"error_replay/{self.run_id}"


def check_request(action: str | None, note: str | None) -> tuple[str, str | None]:
    """The action and note, or :class:`ActionRefused` saying what is missing."""
    action = (action or "replay").strip().lower()
    if action not in ACTIONS:
        raise ActionRefused(f"unknown action {action!r}: one of {', '.join(ACTIONS)}")
    note = note.strip() if isinstance(note, str) and note.strip() else None
    if action in NOTE_REQUIRED and note is None:
        raise ActionRefused(f"{action} needs a note: say why (what was fixed, or why the item needs nothing)")
    return action, note


class _Run:
    """One action over the selected items: claims, settles each item (status, note, audit), and reports."""

    def __init__(self, store: SyncStore, action: str, note: str | None, actor: Actor) -> None:
        self.store, self.action, self.note, self.actor = store, action, note, actor
        self.items: list[dict[str, Any]] = []
        self.prior: dict[int, ErrorStatus] = {}

    def report(self, item: ErrorItem, result: str, why: str) -> None:
        self.items.append({"id": item.id, "entity": item.entity, "stage": item.stage, "record_key": item.record_key,
                           "result": result, "why": why})
        log.info("error queue item %d (%s %s, %s): %s: %s", item.id, item.entity, item.record_key, item.stage,
                 result, why)

    def audit(self, item: ErrorItem, result: str, why: str) -> AuditEntry:
        return AuditEntry(
            entity=item.entity, record_key=item.record_key, direction=AUDIT_DIRECTION,
            outcome=AUDIT_OUTCOME[self.action], run_id=self.actor.run_id, task_id=self.actor.task_id,
            request={"item_id": item.id, "stage": item.stage, "action": self.action, "note": self.note,
                     "acted_by": self.actor.acted_by},
            response={"result": result, "why": why}, contains_pii=False)

    def resolve(self, item: ErrorItem, why: str, result: str = "resolved") -> None:
        self.store.resolve_error(item.id, self.note, self.actor.acted_by, audit=self.audit(item, result, why))
        self.report(item, result, why)

    def ignore(self, item: ErrorItem) -> None:
        why = "ignored by a person"
        self.store.ignore_error(item.id, self.note, self.actor.acted_by, audit=self.audit(item, "ignored", why))
        self.report(item, "ignored", why)

    def still_failing(self, item: ErrorItem, why: str, *, reopened: bool = False) -> None:
        """Tried and failed: back to ``open`` with the new reason (unless the pipeline already reopened it)."""
        audit = self.audit(item, "still_failing", why)
        if reopened:
            self.store.note_error_action(item.id, self.note, self.actor.acted_by, audit=audit)
        else:
            self.store.release_error(item.id, reason=f"{item.reason} ({self.action} {self.actor.run_id}: {why})",
                                     note=self.note, acted_by=self.actor.acted_by, audit=audit)
        self.report(item, "still_failing", why)

    def leave(self, item: ErrorItem, why: str) -> None:
        """Claimed but not changed (another run finishes the order): back to its status before the claim."""
        self.store.unclaim_error(item.id, self.prior.get(item.id, ErrorStatus.OPEN),
                                 audit=self.audit(item, "left", why))
        self.report(item, "left", why)


def act_on_error_queue(store: SyncStore, action: str | None, selection: Selection, *, actor: Actor,
                       note: str | None = None, order_flow: Callable[[], Any] | None = None,
                       shopify: Callable[[], OrderReader] | None = None, limit: int = 500) -> dict[str, Any]:
    """Apply ``action`` to the items ``selection`` matches; returns a JSON-safe report: one entry per item (its
    id, what was done or why it was left), and counts by result.

    ``order_flow`` builds the :class:`~shopify_max.orders.replay.OrderFlow` (mappings, MAX codes, gateway) and
    ``shopify`` the Shopify reader; each is called only when an order item needs it.
    Raises :class:`ActionRefused` before anything changes when the request is incomplete.
    """
    action, note = check_request(action, note)
    run = _Run(store, action, note, actor)
    claim_cutoff = utcnow() - STALE_CLAIM
    candidates = []
    for item in store.select_errors(limit=limit, **selection.filters()):
        why_not = _why_not(action, item, claim_cutoff)
        if why_not:
            run.report(item, "left", why_not)
        else:
            candidates.append(item)
            run.prior[item.id] = item.status
    claimed = store.claim_errors(actor.worker, item_ids=[i.id for i in candidates], statuses=[selection.status],
                                 claimed_before=claim_cutoff, limit=len(candidates)) if candidates else []
    claimed_ids = {item.id for item in claimed}
    for item in candidates:
        if item.id not in claimed_ids:
            run.report(item, "left", "another worker claimed it meanwhile")
    if action == "resolve":
        for item in claimed:
            run.resolve(item, "resolved by a person")
    elif action == "ignore":
        for item in claimed:
            run.ignore(item)
    elif action == "replay":
        _replay(run, claimed, order_flow)
    else:
        _refetch(run, claimed, order_flow, shopify)
    counts = Counter(entry["result"] for entry in run.items)
    items, left_in_bulk = _listed_and_left_in_bulk(run.items)
    report = {"action": action, "note": note, "acted_by": actor.acted_by, "selection": selection.describe(),
              "matched": len(run.items), "claimed": len(claimed), "counts": dict(sorted(counts.items())),
              "items": items}
    if left_in_bulk:
        report["left_in_bulk"] = left_in_bulk
    return report


LISTED_PER_REASON = 10  # more items left for one reason than this are reported as a count and their ids


def _listed_and_left_in_bulk(items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The report's items, with the items left for one same reason grouped once there are many of them (the
    hourly replay would otherwise repeat one sentence for every open inventory item)."""
    by_reason: dict[str, list[dict[str, Any]]] = {}
    for entry in items:
        if entry["result"] == "left":
            by_reason.setdefault(entry["why"], []).append(entry)
    bulky = {why for why, entries in by_reason.items() if len(entries) > LISTED_PER_REASON}
    listed = [entry for entry in items if not (entry["result"] == "left" and entry["why"] in bulky)]
    grouped = [{"why": why, "count": len(by_reason[why]), "ids": [entry["id"] for entry in by_reason[why]]}
               for why in sorted(bulky)]
    return listed, grouped


def _why_not(action: str, item: ErrorItem, claim_cutoff: datetime) -> str | None:
    """Why ``action`` cannot act on ``item`` (None when it can)."""
    if item.status == ErrorStatus.RETRYING and item.claimed_at is not None and item.claimed_at >= claim_cutoff:
        return (f"claimed by {item.claimed_by} at {item.claimed_at.isoformat(timespec='seconds')}: that worker is "
                "acting on it; try again when it is done")
    if action in NOTE_REQUIRED:
        return None
    if item.entity == ErrorEntity.ORDER:
        if action == "refetch" and item.stage in REFETCHABLE_STAGES:
            return None
        if action == "replay" and item.stage not in (OrderErrorStage.CAPTURE, *REFETCHABLE_STAGES):
            return NEEDS_A_PERSON
        if action == "replay":
            return None if item.stage != OrderErrorStage.CAPTURE else CAPTURE_ANSWER
        return f"refetch re-reads orders that failed at capture, map, validate or export; {NEEDS_A_PERSON}"
    if item.entity == ErrorEntity.INVENTORY:
        return INVENTORY_ANSWER
    if item.entity in (ErrorEntity.CUSTOMER, ErrorEntity.ITEM, ErrorEntity.CODE):
        return MASTER_DATA_ANSWER
    if item.entity in (ErrorEntity.PRIVACY, ErrorEntity.SHIPMENT, ErrorEntity.INVOICE,
                       ErrorEntity.REFUND) and action == "replay":
        return None
    return f"refetch re-reads Shopify orders only, not {item.entity} items; use replay, resolve or ignore"


def _settle_orders(run: _Run, targets: list[tuple[ErrorItem, str]], order_flow: Callable[[], Any] | None) -> None:
    from shopify_max.orders.replay import LEFT_IN_FLIGHT, RESOLVED, replay_claimed_order_items

    if not targets:
        return
    if order_flow is None:
        raise ValueError("replaying orders needs the order flow (mappings, MAX codes, gateway)")
    outcomes = replay_claimed_order_items(run.store, list(targets), order_flow(), run_id=run.actor.run_id,
                                          task_id=run.actor.task_id)
    for item, _gid in targets:
        outcome = outcomes[item.id]
        if outcome.result == RESOLVED:
            run.resolve(item, outcome.why)
        elif outcome.result == LEFT_IN_FLIGHT:
            run.leave(item, outcome.why)
        else:
            run.still_failing(item, outcome.why, reopened=outcome.reopened)


def _replay(run: _Run, claimed: Sequence[ErrorItem], order_flow: Callable[[], Any] | None) -> None:
    orders = []
    for item in claimed:
        if item.entity == ErrorEntity.PRIVACY:
            _replay_privacy(run, item)
        elif item.entity in (ErrorEntity.SHIPMENT, ErrorEntity.INVOICE, ErrorEntity.REFUND):
            _hand_back_to_fulfilment(run, item)
        else:
            orders.append((item, item.detail.get("order_gid")))
    _settle_orders(run, orders, order_flow)


def _replay_privacy(run: _Run, item: ErrorItem) -> None:
    from shopify_max.privacy.requests import UnreadableRequest, read_compliance_request

    inbox_id, topic = item.detail.get("inbox_id"), item.detail.get("topic")
    if inbox_id is None or not item.payload:
        run.still_failing(item, "the delivery's body is no longer held (purged after the retention period): "
                                "act on the request by hand, then resolve it")
        return
    try:
        read_compliance_request(topic=topic or "", inbox_id=int(inbox_id), webhook_id=item.detail.get("webhook_id")
                                or "", payload=item.payload)
    except UnreadableRequest as exc:
        run.still_failing(item, f"still unreadable: {exc}")
        return
    run.store.mark_inbox([int(inbox_id)], InboxStatus.NEW)
    run.resolve(item, f"readable now: inbox delivery {inbox_id} is back to new, and sync_store_maintenance acts on "
                      "it at its next run (a new item opens if it fails again)", result="handed_back")


def _hand_back_to_fulfilment(run: _Run, item: ErrorItem) -> None:
    """A shipment, invoice or refund whose cause a person fixed: the next ``fulfilment_to_shopify`` (or
    ``refunds_to_max``) run tries it again (a new failure reopens this item)."""
    if item.entity == ErrorEntity.REFUND and item.stage == RefundErrorStage.CAPTURE:
        staged = run.store.staged_refunds([item.record_key]).get(item.record_key)
        if staged is None:
            run.still_failing(item, "the refund is not staged yet: the poll stages it from its order (backfill the "
                                    "window it was made in), or resolve the item")
        else:
            run.resolve(item, f"the refund was staged by the poll ({staged.status})", result="handed_back")
        return
    if item.entity == ErrorEntity.REFUND:
        done = run.store.reopen_refund(item.record_key, run_id=run.actor.run_id)
        if done:
            run.resolve(item, f"refund {item.record_key} is open again; the next refunds_to_max run maps and exports "
                              "it (a new item opens if it fails again)", result="handed_back")
        else:
            run.still_failing(item, f"refund {item.record_key} is not waiting for a replay (exported, waiting, or "
                                    "never staged: the poll stages it): resolve or ignore the item")
        return
    if item.entity == ErrorEntity.SHIPMENT:
        done = run.store.reopen_shipment(item.record_key, run_id=run.actor.run_id)
        what = f"shipment {item.record_key} is pending again"
    else:
        done = run.store.reopen_invoice(item.record_key)
        what = f"invoice {item.record_key} is checked again (and captured, when that setting is on)"
    if not done:
        run.still_failing(item, f"{item.entity} {item.record_key} is not waiting for a replay (fulfilled, or not "
                                "held by the sync store): resolve or ignore the item")
        return
    run.resolve(item, f"{what}; the next fulfilment_to_shopify run acts on it (a new item opens if it fails again)",
                result="handed_back")


def order_gid_of(item: ErrorItem) -> str | None:
    """The Shopify order behind an order item: its detail, its record key, or the delivery's body (a body cut
    short or poisoned may still carry ``admin_graphql_api_id`` or the order's ``id`` before its lines)."""
    for value in (item.detail.get("order_gid"), item.record_key):
        if is_shopify_gid(value, "Order"):
            return value
    body = item.payload or ""
    if match := _GID_IN_BODY.search(body):
        return match.group(1)
    head = body.split('"line_items"', 1)[0]  # an "id" after the lines may be a line's
    if match := _ID_IN_BODY.search(head):
        return shopify_gid("Order", match.group(1))
    return None


def _refetch(run: _Run, claimed: Sequence[ErrorItem], order_flow: Callable[[], Any] | None,
             shopify: Callable[[], OrderReader] | None) -> None:
    from shopify_max.orders.capture import problem_text, stage_order_read_by_id

    targets = []
    reader = None
    for item in claimed:
        gid = order_gid_of(item)
        if gid is None:
            run.still_failing(item, "no Shopify order id could be recovered from the item (detail, record key or "
                                    "the delivery's body): backfill the window the order was updated in, or "
                                    "resolve it by hand")
            continue
        if reader is None:
            if shopify is None:
                raise ValueError("refetch needs a Shopify reader")
            reader = shopify()
        order = reader.get_order(gid)
        if order is None:
            run.still_failing(item, f"Shopify has no order {gid} (deleted, or another shop's)")
            continue
        try:
            decision = stage_order_read_by_id(run.store, order, run_id=run.actor.run_id, task_id=run.actor.task_id)
        except SQLAlchemyError:
            raise  # the sync store itself failed: the task fails and Airflow retries it
        except Exception as exc:  # noqa: BLE001 - one order's surprise must not stop the others
            run.still_failing(item, f"{order.name} ({gid}) was re-read but could not be staged: {problem_text(exc)}")
            continue
        log.info("error queue item %d: %s (%s) re-read from Shopify: %s", item.id, order.name, gid, decision)
        targets.append((item, gid))
    _settle_orders(run, targets, order_flow)
