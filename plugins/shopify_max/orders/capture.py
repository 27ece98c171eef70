"""``capture_orders``: read the inbox's order webhooks and poll Shopify; stage each order once, deciding at once
what needs no further work (unchanged, stale, edited or cancelled after export)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError

from shopify_max.orders.field_limits import MAX_IDENTIFIER_CHARS
from shopify_max.orders.outcome import XML_ILLEGAL_CHARACTERS, recordable_text
from shopify_max.orders.stage_versions import newest_held_version, order_digests, version_key
from shopify_max.orders.webhook_payload import order_from_webhook_body
from shopify_max.redaction import redact_text
from shopify_max.shopify.models import Order
from shopify_max.sync_store import AuditEntry, StagedOrder, SyncStore
from shopify_max.sync_store.run_outcome_log import RunOutcomeEntry
from shopify_max.sync_store.states import (
    WRITING_STATUSES,
    ErrorEntity,
    InboxStatus,
    OrderErrorStage,
    OrderStageStatus,
    RunOutcome,
    RunOutcomeCode,
)
from shopify_max.webhooks import ORDER_TOPICS

log = logging.getLogger(__name__)

POLL_WATERMARK = "orders.poll.updated_at"
CANCELLED_IN_MAX = "cancelled_in_max"
# A delivery claimed longer ago than this, and not finished, goes back to the inbox (its worker died).
DEFAULT_INBOX_CLAIM_TIMEOUT = timedelta(minutes=15)
MAX_INBOX_CLAIMS = 3  # a delivery whose every claim dies is a poison message: failed, on the error queue
_STAGING_ATTEMPTS = 5


class OrderSource(Protocol):
    def iter_orders_updated(self, updated_at_min: datetime, updated_at_max: datetime | None = None) -> Iterable[Order]:
        ...


class StagingConflict(RuntimeError):
    """Other workers kept changing an order while it was being staged."""


@dataclass
class CaptureReport:
    read_from_webhooks: int = 0
    read_from_poll: int = 0
    read_from_deferred: int = 0
    orders_read: int = 0
    adopted_from_earlier_runs: int = 0
    requeued_deliveries: int = 0
    bad_payloads: int = 0
    bad_payload_error_ids: list[int] = field(default_factory=list)
    stale_deliveries: int = 0
    decided: dict[str, int] = field(default_factory=dict)
    poll_window: list[str] | None = None

    def as_xcom(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class _Candidate:
    """The newest version of one order seen by this capture, and every delivery that carried a version."""

    order: Order
    origin: str
    delivery_ids: list[int] = field(default_factory=list)


def _stage(store: SyncStore, order: Order, source: str, run_id: str, status: OrderStageStatus, *,
           digests: tuple[str, str], previous: StagedOrder | None = None, outcome: RunOutcome = RunOutcome.PENDING,
           code: RunOutcomeCode | None = None, reason: str | None = None) -> bool:
    """Write the order's newest version; False when the row changed since ``previous`` was read."""
    return store.stage_order(StagedOrder(
        order_gid=order.id, order_name=order.name, source=source, shopify_updated_at=order.updated_at,
        payload_digest=digests[0], material_digest=digests[1], order_json=order.model_dump_json(), status=status,
        detail=previous.detail if previous else None, run_id=run_id, run_outcome=outcome,
        run_outcome_reason=reason, run_outcome_code=code), expected_version=previous.row_version if previous else None)


def capture_orders(store: SyncStore, source: OrderSource | None, *, run_id: str,
                   window: tuple[datetime, datetime] | None, overlap: timedelta = timedelta(minutes=10),
                   inbox_limit: int = 5000, inbox_claim_timeout: timedelta = DEFAULT_INBOX_CLAIM_TIMEOUT,
                   task_id: str | None = None, advance_watermark: bool = True) -> CaptureReport:
    """Read new webhook deliveries and poll Shopify for orders updated in ``window`` (widened by ``overlap``,
    because webhooks get lost); stage each order once, deciding at once what needs no further work.

    ``advance_watermark``: the poll watermark moves forward to the window's end (never back). A backfill window
    (params) leaves it alone: it says where the regular polls got to, and a backfill of the past is not one.

    Each delivery and each order fails on its own (an error-queue item); deliveries claimed by a worker that
    died return to the inbox after ``inbox_claim_timeout``, and one that keeps killing its workers is failed.
    """
    report = CaptureReport()
    report.requeued_deliveries, poisoned = store.requeue_stale_inbox(
        inbox_claim_timeout, max_claims=MAX_INBOX_CLAIMS, topics=ORDER_TOPICS)
    for delivery in poisoned:
        _bad_delivery(store, report, delivery, f"it was claimed {delivery.claims} times and never finished: each "
                      "worker that took it died or was killed (a poison message)", run_id)
    report.adopted_from_earlier_runs = store.adopt_unfinished_orders(run_id)
    latest: dict[str, _Candidate] = {}

    def keep(order: Order, origin: str, delivery_id: int | None = None) -> None:
        current = latest.get(order.id)
        if current is None:
            current = latest[order.id] = _Candidate(order, origin)
        elif version_key(order) >= version_key(current.order):
            current.order, current.origin = order, origin
        if delivery_id is not None:
            current.delivery_ids.append(delivery_id)

    for staged in store.orders_with_settled_deferred_versions():
        try:
            keep(Order.model_validate_json(staged.deferred_json or ""), "deferred")
            report.read_from_deferred += 1
        except ValueError as exc:  # written by this code from a valid Order: only a bug gets here
            log.error("order %s: the deferred version cannot be read (%s); the next poll re-reads it",
                      staged.order_name, exc)
    for delivery in store.claim_inbox(topics=ORDER_TOPICS, limit=inbox_limit, worker=f"{run_id}/capture"):
        try:
            order = order_from_webhook_body(delivery.payload)
            order.model_dump_json()  # an order that cannot be serialised cannot be staged: refuse it here
            refuse_unusable_identity(order)
        except Exception as exc:  # noqa: BLE001 - any unreadable delivery is one error-queue item, not a crash
            _bad_delivery(store, report, delivery, f"it is not a readable order: {problem_text(exc)}", run_id)
            continue
        keep(order, "webhook", delivery.id)
        report.read_from_webhooks += 1
    if source is not None and window is not None:
        start, end = window[0] - overlap, window[1]
        report.poll_window = [start.isoformat(), end.isoformat()]
        for order in source.iter_orders_updated(start, end):
            report.read_from_poll += 1
            try:
                refuse_unusable_identity(order)
            except ValueError as exc:
                error_id = store.record_error(
                    entity=ErrorEntity.ORDER, record_key=recordable_text(order.id, MAX_IDENTIFIER_CHARS) or "",
                    stage=OrderErrorStage.CAPTURE,
                    reason=f"order {recordable_text(order.id, 80)} read by the poll cannot be staged: {exc}",
                    payload=_safe_json(order), detail={"origin": "poll"})
                _capture_failed(store, report, run_id, recordable_text(order.id, MAX_IDENTIFIER_CHARS) or "",
                                None, error_id)
                log.warning("order %s read by the poll cannot be staged: %s; error queue item %d",
                            recordable_text(order.id, 80), exc, error_id)
                continue
            keep(order, "poll")

    staged_rows = store.staged_orders(latest)
    decided: Counter[str] = Counter()
    for gid, candidate in latest.items():
        order = candidate.order
        try:
            decision = _decide_and_stage(store, candidate, run_id, staged_rows.get(gid), task_id)
        except SQLAlchemyError:
            raise  # the sync store itself failed: the task fails and Airflow retries it
        except Exception as exc:  # noqa: BLE001 - one order's surprise must not stop the batch
            error_id = store.record_error(
                entity=ErrorEntity.ORDER, record_key=order.name, stage=OrderErrorStage.CAPTURE,
                reason=f"order {order.name} ({gid}) could not be staged: {problem_text(exc)}",
                payload=_safe_json(order), detail={"order_gid": gid, "origin": candidate.origin})
            store.mark_inbox(candidate.delivery_ids, InboxStatus.FAILED)
            _capture_failed(store, report, run_id, order.name, gid, error_id)
            decided["failed at capture: error queue"] += 1
            log.exception("order %s: staging failed; error queue item %d", order.name, error_id)
            continue
        decided[decision] += 1
        if decision.startswith("stale"):
            report.stale_deliveries += len(candidate.delivery_ids)
        store.mark_inbox(candidate.delivery_ids,
                         InboxStatus.IGNORED if decision.startswith("stale") else InboxStatus.PROCESSED)
        log.info("order %s (%s, from %s): %s", order.name, gid, candidate.origin, decision)
    if window is not None and advance_watermark:
        store.advance_time_watermark(POLL_WATERMARK, window[1], run_id=run_id)
    report.orders_read = len(latest)
    report.decided = dict(decided)
    return report


def problem_text(exc: BaseException) -> str:
    """A person-readable cause: the typed reason when the error carries one, else its first line."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and reason:
        return reason[:500]
    text = str(exc).splitlines()[0][:300] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"


def refuse_unusable_identity(order: Order) -> None:
    """The order's id and name key every record of it (stage, error queue, audit): refuse ones no store can key
    by (too long, or with a character neither XML nor PostgreSQL text can hold)."""
    for name, value in (("admin_graphql_api_id", order.id), ("name", order.name)):
        if len(value) > MAX_IDENTIFIER_CHARS:
            raise ValueError(f"{name} is {len(value):,} characters; at most {MAX_IDENTIFIER_CHARS} are accepted")
        if XML_ILLEGAL_CHARACTERS.search(value):
            raise ValueError(f"{name} {recordable_text(value, 80)!r} holds a control character")


def _safe_json(order: Order) -> str | None:
    try:
        return order.model_dump_json()
    except ValueError:
        return None


def _capture_failed(store: SyncStore, report: CaptureReport, run_id: str, record_key: str, order_gid: str | None,
                    error_id: int) -> None:
    """Count one capture failure, and record it as the run's outcome (a cleared run's summary still has it)."""
    report.bad_payloads += 1
    report.bad_payload_error_ids.append(error_id)
    store.record_run_outcomes([RunOutcomeEntry(
        run_id=run_id, order_name=record_key, outcome=RunOutcome.FAILED, code=RunOutcomeCode.CAPTURE_FAILED,
        order_gid=order_gid, error_queue_id=error_id)])


def _bad_delivery(store: SyncStore, report: CaptureReport, delivery: Any, why: str, run_id: str) -> None:
    record_key = delivery.resource_gid or f"webhook {delivery.webhook_id}"
    error_id = store.record_error(
        entity=ErrorEntity.ORDER, record_key=record_key,
        stage=OrderErrorStage.CAPTURE,
        reason=f"webhook {delivery.webhook_id} ({delivery.topic}) was not processed: {why}", payload=delivery.payload,
        detail={"webhook_id": delivery.webhook_id, "topic": delivery.topic, "inbox_id": delivery.id,
                "claims": delivery.claims})
    store.mark_inbox([delivery.id], InboxStatus.FAILED)
    _capture_failed(store, report, run_id, record_key, delivery.resource_gid, error_id)
    log.warning("webhook %s: %s; error queue item %d", delivery.webhook_id, redact_text(why), error_id)


def _decide_and_stage(store: SyncStore, candidate: _Candidate, run_id: str, staged: StagedOrder | None,
                      task_id: str | None) -> str:
    """Decide and write, again on a fresh read whenever another worker changed the row in between."""
    for _attempt in range(_STAGING_ATTEMPTS):
        decision = _capture_decision(store, candidate.order, candidate.origin, run_id, staged, task_id)
        if decision is not None:
            return decision
        staged = store.staged_orders([candidate.order.id]).get(candidate.order.id)
    raise StagingConflict(f"the staged row changed under {_STAGING_ATTEMPTS} attempts to stage it")


class CaptureAction(StrEnum):
    """What capture does with one order read, given the row the sync store holds for it (:func:`decide_capture`)."""

    NEW = "new"  # never staged: stage it, then map it
    STALE = "stale"  # older than the version held: recorded, changes nothing
    WRITE_UNDER_WAY = "write_under_way"  # the same version, with a MAX write under way: left to its writer
    DEFER_BEHIND_WRITE = "defer_behind_write"  # a newer version, with a MAX write under way: waits until it settles
    TAKE_UP_AGAIN = "take_up_again"  # captured, mapped or validated by a run that did not finish: mapped again
    UNCHANGED = "unchanged"  # the version held, read again: nothing to do
    MAP_AGAIN = "map_again"  # changed since it was skipped or failed: mapped again
    CANCEL_IN_MAX = "cancel_in_max"  # cancelled in Shopify after export: cancel the MAX order
    EDITED_AFTER_EXPORT = "edited_after_export"  # what the MAX order carries changed after export: the error queue
    EXPORTED_EARLIER = "exported_earlier"  # changed after export in nothing the MAX order carries


def decide_capture(order: Order, staged: StagedOrder | None, digests: tuple[str, str]) -> CaptureAction:
    """What capture does with ``order`` given the row held (``None``: never staged). Reads nothing and writes
    nothing: :func:`_capture_decision` acts on it, and a dry run (``orders.dry_run``) reports it."""
    if staged is None:
        return CaptureAction.NEW
    held = newest_held_version(staged)
    if held is not None and version_key(order) < held:
        return CaptureAction.STALE
    same_version = staged.payload_digest == digests[0] and not staged.deferred_json
    if staged.status in WRITING_STATUSES:
        return CaptureAction.WRITE_UNDER_WAY if same_version else CaptureAction.DEFER_BEHIND_WRITE
    if staged.status in (OrderStageStatus.CAPTURED, OrderStageStatus.MAPPED, OrderStageStatus.VALIDATED):
        return CaptureAction.TAKE_UP_AGAIN
    if staged.payload_digest == digests[0]:
        return CaptureAction.UNCHANGED
    if staged.status in (OrderStageStatus.SKIPPED, OrderStageStatus.FAILED):
        return CaptureAction.MAP_AGAIN
    # Exported before, and Shopify changed it since.
    if order.cancelled_at is not None and CANCELLED_IN_MAX not in (staged.detail or ""):
        return CaptureAction.CANCEL_IN_MAX
    if digests[1] not in (staged.exported_material_digest, staged.material_digest):
        return CaptureAction.EDITED_AFTER_EXPORT
    return CaptureAction.EXPORTED_EARLIER


def edited_after_export_reason(order: Order, staged: StagedOrder) -> str:
    """The error-queue reason of an order edited in Shopify after its export (a person changes MAX by hand)."""
    return (f"order {order.name} ({order.id}) was edited in Shopify after its export to MAX as ORDNUM "
            f"{staged.max_ordnum}: lines, prices, addresses or total changed. Change MAX order "
            f"{staged.max_ordnum} by hand, then resolve this item.")


def _capture_decision(store: SyncStore, order: Order, origin: str, run_id: str, staged: StagedOrder | None,
                      task_id: str | None) -> str | None:
    """Stage one order as :func:`decide_capture` says; returns a short label of what was decided (for the log and
    the XCom), or None when the row changed since ``staged`` was read (the caller reads it again and decides
    again)."""
    digests = order_digests(order)
    action = decide_capture(order, staged, digests)
    if action == CaptureAction.NEW:
        return "new" if _stage(store, order, origin, run_id, OrderStageStatus.CAPTURED, digests=digests) else None
    if action == CaptureAction.STALE:
        held = newest_held_version(staged)
        store.write_audit([AuditEntry(
            entity="order", record_key=order.name, direction="shopify_read", outcome="stale_ignored",
            request={"order_gid": order.id, "origin": origin, "updated_at": order.updated_at.isoformat()},
            response={"held_updated_at": held[0].isoformat() if held else None, "held_status": staged.status},
            run_id=run_id, task_id=task_id, contains_pii=False)])
        return f"stale: older than the version held ({staged.status}), ignored"
    same_version = staged.payload_digest == digests[0] and not staged.deferred_json
    if action == CaptureAction.WRITE_UNDER_WAY:
        # A write to MAX may be under way with the document of the version held: it settles first.
        return f"in flight ({staged.status}), " + ("continued" if staged.run_id == run_id else "left to its writer")
    if action == CaptureAction.DEFER_BEHIND_WRITE:
        deferred = store.defer_newer_version(staged, order_json=order.model_dump_json(), updated_at=order.updated_at,
                                             adopt_run_id=run_id)
        return f"in flight ({staged.status}): newer version waits until the MAX write settles" if deferred else None
    if action == CaptureAction.TAKE_UP_AGAIN:
        if same_version and staged.run_id == run_id:
            return f"in flight ({staged.status}), continued"
        written = _stage(store, order, origin, run_id, OrderStageStatus.CAPTURED, digests=digests, previous=staged)
        return (f"in flight ({staged.status}), " + ("taken over" if same_version else "newer version: mapped again")
                if written else None)
    if action == CaptureAction.UNCHANGED:
        written = _stage(store, order, origin, run_id, staged.status, digests=digests,
                         previous=staged, outcome=RunOutcome.SKIPPED, code=RunOutcomeCode.UNCHANGED,
                         reason=f"unchanged since last read ({staged.status})")
        return "unchanged" if written else None
    if action == CaptureAction.MAP_AGAIN:
        written = _stage(store, order, origin, run_id, OrderStageStatus.CAPTURED, digests=digests, previous=staged)
        return f"changed since it was {staged.status}: mapped again" if written else None
    if action == CaptureAction.CANCEL_IN_MAX:
        written = _stage(store, order, origin, run_id, OrderStageStatus.CANCEL_PENDING, digests=digests,
                         previous=staged)
        return "cancelled after export: cancel in MAX" if written else None
    if action == CaptureAction.EDITED_AFTER_EXPORT:
        if not _stage(store, order, origin, run_id, OrderStageStatus.EXPORTED, digests=digests, previous=staged,
                      outcome=RunOutcome.FAILED, code=RunOutcomeCode.EDITED_AFTER_EXPORT,
                      reason="edited after export: see the error queue"):
            return None
        error_id = store.record_error(
            entity=ErrorEntity.ORDER, record_key=order.name, stage=OrderErrorStage.UPDATE_AFTER_EXPORT,
            reason=edited_after_export_reason(order, staged),
            payload=order.model_dump_json(), detail={"ordnum": staged.max_ordnum, "order_gid": order.id})
        store.set_stage_status(order.id, OrderStageStatus.EXPORTED, owned_by=run_id, expected_digest=digests[0],
                               run_outcome_reason=f"error queue item {error_id}: edited after export",
                               error_queue_id=error_id)
        return "edited after export: error queue"
    written = _stage(store, order, origin, run_id, OrderStageStatus.EXPORTED, digests=digests, previous=staged,
                     outcome=RunOutcome.SKIPPED, code=RunOutcomeCode.EXPORTED_EARLIER,
                     reason=f"already exported as ORDNUM {staged.max_ordnum}; changes since do not touch the MAX order")
    return "exported earlier, nothing to change" if written else None



def stage_order_read_by_id(store: SyncStore, order: Order, *, run_id: str, origin: str = "refetch",
                           task_id: str | None = None) -> str:
    """Stage one order re-read from Shopify by id (the error queue's ``refetch``) through the same decisions as
    a webhook or the poll: versions only move forward, an unchanged or exported order is not sent again.
    Returns the decision's label; raises ``ValueError`` for an order no store can key by."""
    refuse_unusable_identity(order)
    candidate = _Candidate(order, origin)
    return _decide_and_stage(store, candidate, run_id, store.staged_orders([order.id]).get(order.id), task_id)
