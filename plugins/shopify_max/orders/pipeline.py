"""The orders flow, step by step: capture → map → validate → export → cancellations → summary.

Each function is the body of one task of the ``orders_to_max`` DAG and works on the sync store's
``order_stage`` table, so tasks pass only small summaries through XCom, a retried task picks up where
it stopped, and every order read by a run ends exported, skipped or failed (with a reason).

Exactly once (DESIGN.md):
- Before writing an order to MAX the export takes the order's **write lease** (``take_write_lease``): only the
  holder of an unexpired lease writes, and it renews the lease right before each send. A lease expires after
  ``write_lease`` (a writer that died or hung); only then may another attempt or run take the order over, and
  taking over settles it first: ``id_map``, then a MAX lookup by ``CUSTPO``.
- The MAX key is recorded the moment it is learnt. The gateway refuses a second order for one CUSTPO (409),
  which the hook reads as "already there": a writer frozen past its lease cannot create a second order.
- **Versions only move forward.** An order older than the version held (a late retry of ``orders/create``
  after ``orders/cancelled``) is recorded as stale and changes nothing; work done on an older version is not
  written over a newer one (map, validate and export are conditional on the version they read); a newer
  version that arrives while a MAX write is under way waits in ``deferred_json`` until that write settles.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError

from shopify_max.clock import utcnow
from shopify_max.exactmax.errors import ExactMaxDuplicateCustpo, ExactMaxRejected
from shopify_max.exactmax.models import Customer, SalesOrder
from shopify_max.exactmax.xml_builder import build_sales_order_xml
from shopify_max.mappings.loader import Mappings
from shopify_max.orders.field_limits import MAX_IDENTIFIER_CHARS
from shopify_max.orders.mapper import map_order_to_sales_order
from shopify_max.orders.outcome import XML_ILLEGAL_CHARACTERS, MappedOrder, MappingError, recordable_text
from shopify_max.orders.webhook_payload import order_from_webhook_body
from shopify_max.run_summary import RunSummary, SummaryDoesNotAddUp
from shopify_max.shopify.models import Order
from shopify_max.sync_store import AuditEntry, StagedOrder, SyncStore
from shopify_max.sync_store.store import WRITING_STATUSES
from shopify_max.webhooks import ORDER_TOPICS

log = logging.getLogger(__name__)

POLL_WATERMARK = "orders.poll.updated_at"
CANCELLED_IN_MAX = "cancelled_in_max"
# How long a writer may hold an order before another attempt or run may take it over (it renews before each send,
# and one send is bounded by the gateway connection's timeout, far below this).
DEFAULT_WRITE_LEASE = timedelta(minutes=5)
# A delivery claimed longer ago than this, and not finished, goes back to the inbox (its worker died).
DEFAULT_INBOX_CLAIM_TIMEOUT = timedelta(minutes=15)
MAX_INBOX_CLAIMS = 3  # a delivery whose every claim dies is a poison message: failed, on the error queue
_STAGING_ATTEMPTS = 5


class OrderSource(Protocol):
    def iter_orders_updated(self, updated_at_min: datetime, updated_at_max: datetime | None = None) -> Iterable[Order]:
        ...


class WriteLeaseHeld(RuntimeError):
    """Another attempt still holds the write lease of an order this run must finish: retry the task later."""


class WriteLeaseLost(RuntimeError):
    """The lease expired before a send (the writer was too slow or paused): nothing was sent."""


class StagingConflict(RuntimeError):
    """Other workers kept changing an order while it was being staged."""


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def order_digests(order: Order) -> tuple[str, str]:
    """(payload digest, material digest). The material digest covers what an export carries: lines,
    quantities, prices, discounts, shipping, taxes, addresses, customer and total; not tags or statuses."""
    payload = _sha256(order.model_dump_json())
    material = {
        "lines": [(i.sku, i.quantity, str(i.original_unit_price_set.shop_money.amount),
                   [str(a.allocated_amount_set.shop_money.amount) for a in i.discount_allocations],
                   [(t.title, str(t.price_set.shop_money.amount)) for t in i.tax_lines]) for i in order.line_items],
        "shipping": [(s.title, str(s.discounted_price_set.shop_money.amount)) for s in order.shipping_lines],
        "total": str(order.total_price_set.shop_money.amount),
        "ship_to": order.shipping_address.model_dump() if order.shipping_address else None,
        "bill_to": order.billing_address.model_dump() if order.billing_address else None,
        "customer": order.customer.id if order.customer else None,
    }
    return payload, _sha256(json.dumps(material, sort_keys=True, default=str))


# ---------------------------------------------------------------------------------------------- versions

VersionKey = tuple[datetime, bool]


def version_key(order: Order) -> VersionKey:
    """Which of two versions of one order is newer: ``updated_at``, and on a tie the cancelled one wins
    (a cancellation is never undone by a delivery carrying the same timestamp)."""
    return order.updated_at, order.cancelled_at is not None


def _stored_version_key(updated_at: datetime | None, order_json: str | None) -> VersionKey | None:
    if updated_at is None:
        return None
    cancelled = False
    if order_json:
        try:
            cancelled = json.loads(order_json).get("cancelled_at") is not None
        except ValueError:
            cancelled = False
    return updated_at, cancelled


def _newest_held(staged: StagedOrder) -> VersionKey | None:
    keys = [key for key in (_stored_version_key(staged.shopify_updated_at, staged.order_json),
                            _stored_version_key(staged.deferred_updated_at, staged.deferred_json)) if key]
    return max(keys) if keys else None


# ---------------------------------------------------------------------------------------------- capture


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


def _stage(store: SyncStore, order: Order, source: str, run_id: str, status: str, *, digests: tuple[str, str],
           previous: StagedOrder | None = None, outcome: str = "pending", reason: str | None = None) -> bool:
    """Write the order's newest version; False when the row changed since ``previous`` was read."""
    return store.stage_order(StagedOrder(
        order_gid=order.id, order_name=order.name, source=source, shopify_updated_at=order.updated_at,
        payload_digest=digests[0], material_digest=digests[1], order_json=order.model_dump_json(), status=status,
        detail=previous.detail if previous else None, run_id=run_id, run_outcome=outcome,
        run_outcome_reason=reason), expected_version=previous.row_version if previous else None)


def capture_orders(store: SyncStore, source: OrderSource | None, *, run_id: str,
                   window: tuple[datetime, datetime] | None, overlap: timedelta = timedelta(minutes=10),
                   inbox_limit: int = 5000, inbox_claim_timeout: timedelta = DEFAULT_INBOX_CLAIM_TIMEOUT,
                   task_id: str | None = None) -> CaptureReport:
    """Read new webhook deliveries and poll Shopify for orders updated in ``window`` (widened by ``overlap``,
    because webhooks get lost); stage each order once, deciding at once what needs no further work.

    Each delivery and each order fails on its own (an error-queue item); deliveries claimed by a worker that
    died return to the inbox after ``inbox_claim_timeout``, and one that keeps killing its workers is failed.
    """
    report = CaptureReport()
    report.requeued_deliveries, poisoned = store.requeue_stale_inbox(
        inbox_claim_timeout, max_claims=MAX_INBOX_CLAIMS, topics=ORDER_TOPICS)
    for delivery in poisoned:
        _bad_delivery(store, report, delivery, f"it was claimed {delivery.claims} times and never finished: each "
                      "worker that took it died or was killed (a poison message)")
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
            _refuse_unusable_identity(order)
        except Exception as exc:  # noqa: BLE001 - any unreadable delivery is one error-queue item, not a crash
            _bad_delivery(store, report, delivery, f"it is not a readable order: {_problem(exc)}")
            continue
        keep(order, "webhook", delivery.id)
        report.read_from_webhooks += 1
    if source is not None and window is not None:
        start, end = window[0] - overlap, window[1]
        report.poll_window = [start.isoformat(), end.isoformat()]
        for order in source.iter_orders_updated(start, end):
            report.read_from_poll += 1
            try:
                _refuse_unusable_identity(order)
            except ValueError as exc:
                error_id = store.record_error(
                    entity="order", record_key=recordable_text(order.id, MAX_IDENTIFIER_CHARS) or "", stage="capture",
                    reason=f"order {recordable_text(order.id, 80)} read by the poll cannot be staged: {exc}",
                    payload=_safe_json(order), detail={"origin": "poll"})
                report.bad_payloads += 1
                report.bad_payload_error_ids.append(error_id)
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
                entity="order", record_key=order.name, stage="capture",
                reason=f"order {order.name} ({gid}) could not be staged: {_problem(exc)}",
                payload=_safe_json(order), detail={"order_gid": gid, "origin": candidate.origin})
            store.mark_inbox(candidate.delivery_ids, "failed")
            report.bad_payloads += 1
            report.bad_payload_error_ids.append(error_id)
            decided["failed at capture: error queue"] += 1
            log.exception("order %s: staging failed; error queue item %d", order.name, error_id)
            continue
        decided[decision] += 1
        if decision.startswith("stale"):
            report.stale_deliveries += len(candidate.delivery_ids)
        store.mark_inbox(candidate.delivery_ids, "ignored" if decision.startswith("stale") else "processed")
        log.info("order %s (%s, from %s): %s", order.name, gid, candidate.origin, decision)
    if window is not None:
        store.set_watermark(POLL_WATERMARK, window[1].isoformat(), run_id=run_id)
    report.orders_read = len(latest)
    report.decided = dict(decided)
    return report


def _problem(exc: BaseException) -> str:
    """A person-readable cause: the typed reason when the error carries one, else its first line."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and reason:
        return reason[:500]
    text = str(exc).splitlines()[0][:300] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"


def _refuse_unusable_identity(order: Order) -> None:
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


def _bad_delivery(store: SyncStore, report: CaptureReport, delivery: Any, why: str) -> None:
    error_id = store.record_error(
        entity="order", record_key=delivery.resource_gid or f"webhook {delivery.webhook_id}", stage="capture",
        reason=f"webhook {delivery.webhook_id} ({delivery.topic}) was not processed: {why}", payload=delivery.payload,
        detail={"webhook_id": delivery.webhook_id, "topic": delivery.topic, "inbox_id": delivery.id,
                "claims": delivery.claims})
    store.mark_inbox([delivery.id], "failed")
    report.bad_payloads += 1
    report.bad_payload_error_ids.append(error_id)
    log.warning("webhook %s: %s; error queue item %d", delivery.webhook_id, why, error_id)


def _decide_and_stage(store: SyncStore, candidate: _Candidate, run_id: str, staged: StagedOrder | None,
                      task_id: str | None) -> str:
    """Decide and write, again on a fresh read whenever another worker changed the row in between."""
    for _attempt in range(_STAGING_ATTEMPTS):
        decision = _capture_decision(store, candidate.order, candidate.origin, run_id, staged, task_id)
        if decision is not None:
            return decision
        staged = store.staged_orders([candidate.order.id]).get(candidate.order.id)
    raise StagingConflict(f"the staged row changed under {_STAGING_ATTEMPTS} attempts to stage it")


def _capture_decision(store: SyncStore, order: Order, origin: str, run_id: str, staged: StagedOrder | None,
                      task_id: str | None) -> str | None:
    """Stage one order; returns a short label of what was decided (for the log and the XCom), or None when the
    row changed since ``staged`` was read (the caller reads it again and decides again)."""
    digests = order_digests(order)
    if staged is None:
        return "new" if _stage(store, order, origin, run_id, "captured", digests=digests) else None
    held = _newest_held(staged)
    if held is not None and version_key(order) < held:
        store.write_audit([AuditEntry(
            entity="order", record_key=order.name, direction="shopify_read", outcome="stale_ignored",
            request={"order_gid": order.id, "origin": origin, "updated_at": order.updated_at.isoformat()},
            response={"held_updated_at": held[0].isoformat(), "held_status": staged.status},
            run_id=run_id, task_id=task_id, contains_pii=False)])
        return f"stale: older than the version held ({staged.status}), ignored"
    same_version = staged.payload_digest == digests[0] and not staged.deferred_json
    if staged.status in WRITING_STATUSES:
        # A write to MAX may be under way with the document of the version held: it settles first.
        if same_version:
            return f"in flight ({staged.status}), " + ("continued" if staged.run_id == run_id else "left to its writer")
        deferred = store.defer_newer_version(staged, order_json=order.model_dump_json(), updated_at=order.updated_at,
                                             adopt_run_id=run_id)
        return f"in flight ({staged.status}): newer version waits until the MAX write settles" if deferred else None
    if staged.status in ("captured", "mapped", "validated"):
        if same_version and staged.run_id == run_id:
            return f"in flight ({staged.status}), continued"
        written = _stage(store, order, origin, run_id, "captured", digests=digests, previous=staged)
        return (f"in flight ({staged.status}), " + ("taken over" if same_version else "newer version: mapped again")
                if written else None)
    if staged.payload_digest == digests[0]:
        written = _stage(store, order, origin, run_id, staged.status, digests=digests, previous=staged,
                         outcome="skipped", reason=f"unchanged since last read ({staged.status})")
        return "unchanged" if written else None
    if staged.status in ("skipped", "failed"):
        written = _stage(store, order, origin, run_id, "captured", digests=digests, previous=staged)
        return f"changed since it was {staged.status}: mapped again" if written else None
    # Exported before, and Shopify changed it since.
    already_cancelled = CANCELLED_IN_MAX in (staged.detail or "")
    if order.cancelled_at is not None and not already_cancelled:
        written = _stage(store, order, origin, run_id, "cancel_pending", digests=digests, previous=staged)
        return "cancelled after export: cancel in MAX" if written else None
    if digests[1] not in (staged.exported_material_digest, staged.material_digest):
        if not _stage(store, order, origin, run_id, "exported", digests=digests, previous=staged, outcome="failed",
                      reason="edited after export: see the error queue"):
            return None
        error_id = store.record_error(
            entity="order", record_key=order.name, stage="update_after_export",
            reason=f"order {order.name} ({order.id}) was edited in Shopify after its export to MAX as ORDNUM "
                   f"{staged.max_ordnum}: lines, prices, addresses or total changed. Change MAX order "
                   f"{staged.max_ordnum} by hand, then resolve this item.",
            payload=order.model_dump_json(), detail={"ordnum": staged.max_ordnum, "order_gid": order.id})
        store.set_stage_status(order.id, "exported", owned_by=run_id, expected_digest=digests[0],
                               run_outcome_reason=f"error queue item {error_id}: edited after export")
        return "edited after export: error queue"
    written = _stage(store, order, origin, run_id, "exported", digests=digests, previous=staged, outcome="skipped",
                     reason=f"already exported as ORDNUM {staged.max_ordnum}; changes since do not touch the MAX order")
    return "exported earlier, nothing to change" if written else None


def map_staged_orders(store: SyncStore, mappings: Mappings, *, run_id: str) -> dict[str, int]:
    """Map every captured order of the run; failures go to the error queue with each field and rule.

    Each result is written only while the run still owns the order and the row still holds the version that was
    mapped (a newer version captured meanwhile is mapped by whoever captured it)."""
    counts: Counter[str] = Counter()
    for staged in store.orders_in_stage(run_id=run_id, statuses=["captured"]):
        counts[_map_one(store, mappings, staged, run_id)] += 1
    return dict(counts)


def _map_one(store: SyncStore, mappings: Mappings, staged: StagedOrder, run_id: str) -> str:
    def move(status: str, **values: Any) -> bool:
        moved = store.set_stage_status(staged.order_gid, status, expected=["captured"], owned_by=run_id,
                                       expected_digest=staged.payload_digest, **values)
        if not moved:
            log.info("order %s: changed or taken over by another run while mapping; its result is dropped",
                     staged.order_name)
        return moved

    try:
        order = Order.model_validate_json(staged.order_json or "{}")
        known_custid = store.max_key_for("customer", order.customer.id) if order.customer else None
        result = map_order_to_sales_order(order, mappings, known_custid=known_custid)
    except SQLAlchemyError:
        raise
    except Exception as exc:  # noqa: BLE001 - one order's surprise must not stop the batch
        result = MappedOrder(order_gid=staged.order_gid, order_name=staged.order_name, custpo="")
        result.errors.append(MappingError("order", "unexpected", f"mapping raised {_problem(exc)}"))
        log.exception("order %s: mapping raised; sent to the error queue", staged.order_name)
    rules = [rule.as_dict() for rule in result.rules_applied]
    if result.outcome == "failed":
        error_id = store.record_error(
            entity="order", record_key=staged.order_name, stage="map", reason=result.error_reason(),
            payload=staged.order_json, detail={"order_gid": staged.order_gid,
                                               "errors": [e.as_dict() for e in result.errors], "rules_applied": rules})
        if move("failed", run_outcome="failed",
                run_outcome_reason=f"error queue item {error_id}: {result.error_reason()}"[:2000]):
            log.info("order %s: mapping failed (%d problem(s)), error queue item %d: %s", staged.order_name,
                     len(result.errors), error_id, result.error_reason()[:500])
    elif result.outcome == "skipped":
        if move("skipped", run_outcome="skipped", run_outcome_reason=result.skip_reason):
            log.info("order %s: skipped: %s", staged.order_name, result.skip_reason)
    else:
        mapped = {
            "sales_order": result.sales_order.model_dump(mode="json"),
            "new_customer": result.new_customer.model_dump(mode="json") if result.new_customer else None,
            "customer_gid": result.customer_gid,
            "rules_applied": rules,
        }
        if move("mapped", mapped_json=json.dumps(mapped)):
            log.info("order %s: mapped to CUSTPO %s with %d line row(s), %d rule(s) applied", staged.order_name,
                     result.custpo, len(result.sales_order.lines), len(rules))
    return result.outcome


def validate_staged_orders(store: SyncStore, codes: Any, *, run_id: str, task_id: str | None = None) -> dict[str, Any]:
    """Run the Great Expectations suite over the run's mapped orders; failing orders go to the error queue."""
    from shopify_max.validation.sales_orders import validate_sales_orders

    staged = store.orders_in_stage(run_id=run_id, statuses=["mapped"])
    by_custpo: dict[str, StagedOrder] = {}
    orders = []
    for row in staged:
        sales_order = SalesOrder.model_validate(json.loads(row.mapped_json or "{}")["sales_order"])
        by_custpo[sales_order.CUSTPO] = row
        orders.append(sales_order)
    report = validate_sales_orders(orders, codes)
    for custpo, row in by_custpo.items():
        conditions = {"expected": ["mapped"], "owned_by": run_id, "expected_digest": row.payload_digest}
        failures = report.failures_by_order.get(custpo)
        if not failures:
            store.set_stage_status(row.order_gid, "validated", **conditions)
            continue
        reason = (f"order {row.order_name} ({row.order_gid}) fails validation: "
                  + "; ".join(f.message() for f in failures))
        error_id = store.record_error(entity="order", record_key=row.order_name, stage="validate", reason=reason,
                                      payload=row.mapped_json,
                                      detail={"failures": [f.__dict__ for f in failures], "order_gid": row.order_gid})
        store.set_stage_status(row.order_gid, "failed", run_outcome="failed",
                               run_outcome_reason=f"error queue item {error_id}: {reason}"[:2000], **conditions)
        log.info("order %s: validation failed: %s", row.order_name, reason)
    summary = report.summary()
    store.write_audit([AuditEntry(entity="order_batch", record_key=run_id, direction="validation",
                                  outcome="passed" if not report.failures_by_order else "some_failed",
                                  request={"orders": len(orders)}, response=summary, run_id=run_id,
                                  task_id=task_id, contains_pii=False)])
    return summary


class MaxGateway(Protocol):
    def find_sales_order_by_custpo(self, custpo: str) -> SalesOrder | None: ...
    def create_sales_order(self, order: SalesOrder, *, before_send: Callable[[], None] | None = None) -> Any: ...
    def create_customer(self, customer: Customer, *, before_send: Callable[[], None] | None = None) -> Any: ...
    def get_sales_order(self, ordnum: str) -> SalesOrder | None: ...
    def cancel_sales_order(self, ordnum: str, reason: str | None = None, *,
                           before_send: Callable[[], None] | None = None) -> dict: ...


@dataclass(frozen=True)
class _Writer:
    """One attempt writing orders to MAX: its lease token and lease length."""

    run_id: str
    owner: str
    lease: timedelta
    lease_wait: timedelta
    task_id: str | None = None

    @classmethod
    def new(cls, run_id: str, task_id: str | None, lease: timedelta, lease_wait: timedelta | None) -> _Writer:
        owner = f"{run_id}/{task_id or 'task'}/{uuid.uuid4().hex[:12]}"
        return cls(run_id, owner, lease, lease_wait if lease_wait is not None else lease + timedelta(seconds=30),
                   task_id)

    def guard(self, store: SyncStore, order_gid: str, order_name: str) -> Callable[[], None]:
        """Called right before each send: renews the lease, or stops the send when it was lost."""
        def before_send() -> None:
            if not store.renew_write_lease(order_gid, owner=self.owner, ttl=self.lease):
                raise WriteLeaseLost(f"order {order_name}: the write lease expired before sending; nothing was sent")
        return before_send


def _leased(store: SyncStore, staged: StagedOrder, writer: _Writer, from_status: str,
            to_status: str) -> StagedOrder | None:
    """Take the order's write lease, waiting while another attempt of this run holds a live one.

    None when the order no longer needs this run: another run owns it, or the other attempt settled it.
    Raises :class:`WriteLeaseHeld` when the other attempt still holds it after ``lease_wait``.
    """
    deadline = time.monotonic() + writer.lease_wait.total_seconds()
    while True:
        leased = store.take_write_lease(staged.order_gid, run_id=writer.run_id, owner=writer.owner,
                                        ttl=writer.lease, from_status=from_status, to_status=to_status)
        if leased is not None:
            return leased
        now_row = store.staged_orders([staged.order_gid]).get(staged.order_gid)
        if now_row is None or now_row.run_id != writer.run_id or now_row.status not in (from_status, to_status):
            log.info("order %s: settled or taken over elsewhere (%s, run %s); nothing to do here", staged.order_name,
                     now_row.status if now_row else "gone", now_row.run_id if now_row else "-")
            return None
        if time.monotonic() >= deadline:
            raise WriteLeaseHeld(f"order {staged.order_name}: another attempt ({now_row.lease_owner}) still holds the "
                                 f"write lease until {now_row.lease_expires_at}; retry after it ends or expires")
        remaining = (now_row.lease_expires_at - utcnow()).total_seconds() if now_row.lease_expires_at else 0
        log.info("order %s: write lease held by %s until %s; waiting", staged.order_name, now_row.lease_owner,
                 now_row.lease_expires_at)
        time.sleep(min(max(remaining, 0.05) + 0.05, 2.0))


def _with_lease(store: SyncStore, staged: StagedOrder, writer: _Writer, from_status: str, to_status: str,
                work: Callable[[StagedOrder], str]) -> str | None:
    """Run ``work`` on the leased row; when the lease was lost before a send, take it again and settle again."""
    for _attempt in range(3):
        leased = _leased(store, staged, writer, from_status, to_status)
        if leased is None:
            return None
        try:
            return work(leased)
        except WriteLeaseLost as lost:
            log.warning("%s; taking it again, and settling by lookup first", lost)
        except BaseException:
            # This attempt stops here (an outage, a bug): give the lease back so that the retry or the next run
            # can settle the order at once. A send still in flight is caught by the gateway's CUSTPO rule.
            store.release_write_lease(staged.order_gid, owner=writer.owner)
            raise
    raise WriteLeaseHeld(f"order {staged.order_name}: the write lease was lost three times in a row")


def export_staged_orders(store: SyncStore, gateway: MaxGateway, *, run_id: str, task_id: str | None = None,
                         write_lease: timedelta = DEFAULT_WRITE_LEASE,
                         lease_wait: timedelta | None = None) -> dict[str, int]:
    """Write the run's validated orders to MAX, exactly once each. Rejections are per-order outcomes;
    auth failures and outages raise, so Airflow retries the task, which resumes from ``exporting``.

    An order in ``exporting`` whose lease another attempt still holds (a zombie, or the attempt this one is a
    retry of) is waited for, up to ``lease_wait`` (default: the lease plus 30 s), then taken over."""
    writer = _Writer.new(run_id, task_id, write_lease, lease_wait)
    counts: Counter[str] = Counter()
    for staged in store.orders_in_stage(run_id=run_id, statuses=["validated", "exporting"]):
        outcome = _with_lease(store, staged, writer, "validated", "exporting",
                              lambda leased: _export_one(store, gateway, leased, writer))
        counts[outcome or "settled elsewhere"] += 1
    return dict(counts)


def _export_one(store: SyncStore, gateway: MaxGateway, staged: StagedOrder, writer: _Writer) -> str:
    mapped = json.loads(staged.mapped_json or "{}")
    sales_order = SalesOrder.model_validate(mapped["sales_order"])
    run_id, task_id = writer.run_id, writer.task_id

    def finish(status: str, outcome: str, reason: str, **values: Any) -> str:
        if not store.set_stage_status(staged.order_gid, status, lease_owner=writer.owner, run_outcome=outcome,
                                      run_outcome_reason=reason, **values):
            log.warning("order %s: %s, but the write lease was taken over meanwhile; the run holding it records "
                        "the outcome", staged.order_name, reason)
            return "settled elsewhere"
        log.info("order %s: %s", staged.order_name, reason)
        return outcome

    known = store.max_key_for("order", staged.order_gid)
    if known:
        return finish("exported", "skipped", f"already exported as ORDNUM {known} (id_map)", max_ordnum=known,
                      exported_material_digest=staged.material_digest)
    try:
        existing = gateway.find_sales_order_by_custpo(sales_order.CUSTPO)
    except ExactMaxDuplicateCustpo as duplicate:
        error_id = store.record_error(
            entity="order", record_key=staged.order_name, stage="export",
            reason=f"order {staged.order_name} ({staged.order_gid}) was not exported: {duplicate}. Cancel the extra "
                   "order(s) in MAX, keep one, then resolve this item and replay it.",
            detail={"order_gid": staged.order_gid, "custpo": duplicate.custpo, "ordnums": duplicate.ordnums})
        return finish("failed", "failed", f"error queue item {error_id}: {duplicate}")
    if existing is not None and existing.ORDNUM:
        store.record_id_mapping("order", staged.order_gid, existing.ORDNUM, run_id=run_id)
        return finish("exported", "skipped", f"already in MAX as ORDNUM {existing.ORDNUM} (found by CUSTPO "
                      f"{sales_order.CUSTPO}); id_map recorded now", max_ordnum=existing.ORDNUM,
                      exported_material_digest=staged.material_digest)

    document = build_sales_order_xml(sales_order)
    before_send = writer.guard(store, staged.order_gid, staged.order_name)
    started = time.perf_counter()
    try:
        if mapped.get("new_customer") and mapped.get("customer_gid"):
            _ensure_customer(store, gateway, Customer.model_validate(mapped["new_customer"]), mapped["customer_gid"],
                             run_id, before_send)
        result = gateway.create_sales_order(sales_order, before_send=before_send)
    except ExactMaxRejected as rejected:
        reasons = "; ".join(str(e) for e in rejected.errors)
        error_id = store.record_error(
            entity="order", record_key=staged.order_name, stage="export",
            reason=f"MAX refused order {staged.order_name} ({staged.order_gid}): {reasons}", payload=document.xml,
            detail={"rejections": [e.__dict__ for e in rejected.errors], "order_gid": staged.order_gid})
        store.write_audit([AuditEntry(entity="order", record_key=staged.order_name, direction="shopify_to_max",
                                      outcome="rejected", request=document.xml, response={"errors": reasons},
                                      run_id=run_id, task_id=task_id,
                                      duration_ms=int((time.perf_counter() - started) * 1000))])
        return finish("failed", "failed", f"error queue item {error_id}: MAX refused it: {reasons}"[:2000])
    store.record_id_mapping("order", staged.order_gid, result.ORDNUM, run_id=run_id)
    store.write_audit([AuditEntry(
        entity="order", record_key=staged.order_name, direction="shopify_to_max", outcome="exported",
        request=document.xml, response={**result.model_dump(mode="json"), "rules_applied": mapped["rules_applied"]},
        run_id=run_id, task_id=task_id, duration_ms=int((time.perf_counter() - started) * 1000))])
    how = ""
    if getattr(result, "already_existed", False):
        how = " (the gateway already held it for this CUSTPO: another writer's send landed first)"
    elif getattr(result, "recovered", False):
        how = " (recovered by CUSTPO lookup after a lost answer)"
    return finish("exported", "exported", f"exported as ORDNUM {result.ORDNUM}{how}", max_ordnum=result.ORDNUM,
                  exported_material_digest=staged.material_digest)


def _ensure_customer(store: SyncStore, gateway: MaxGateway, customer: Customer, customer_gid: str, run_id: str,
                     before_send: Callable[[], None] | None = None) -> None:
    """Create the MAX account of a Shopify customer once; ``id_map`` remembers it."""
    if store.max_key_for("customer", customer_gid):
        return
    try:
        created = gateway.create_customer(customer, before_send=before_send)
        custid = created.CUSTID
    except ExactMaxRejected as rejected:
        if not rejected.has_rule("duplicate_key"):
            raise
        custid = customer.CUSTID  # created by an earlier attempt: the CUSTID is derived, so it is the same
    store.record_id_mapping("customer", customer_gid, custid, run_id=run_id)
    log.info("customer %s: MAX account %s", customer_gid, custid)


def apply_cancellations(store: SyncStore, gateway: MaxGateway, *, run_id: str, task_id: str | None = None,
                        write_lease: timedelta = DEFAULT_WRITE_LEASE,
                        lease_wait: timedelta | None = None) -> dict[str, int]:
    """Orders cancelled in Shopify after export: cancel in MAX when nothing shipped, else ask a person.
    The cancellation is written under the order's write lease, as exports are."""
    writer = _Writer.new(run_id, task_id, write_lease, lease_wait)
    counts: Counter[str] = Counter()
    for staged in store.orders_in_stage(run_id=run_id, statuses=["cancel_pending"]):
        outcome = _with_lease(store, staged, writer, "cancel_pending", "cancel_pending",
                              lambda leased: _cancel_one(store, gateway, leased, writer))
        counts[outcome or "settled elsewhere"] += 1
    return dict(counts)


def _cancel_one(store: SyncStore, gateway: MaxGateway, staged: StagedOrder, writer: _Writer) -> str:
    ordnum = staged.max_ordnum or ""

    def finish(outcome: str, reason: str, **values: Any) -> str:
        if not store.set_stage_status(staged.order_gid, "exported", lease_owner=writer.owner, run_outcome=outcome,
                                      run_outcome_reason=reason, **values):
            log.warning("order %s: %s, but the write lease was taken over meanwhile", staged.order_name, reason)
            return "settled elsewhere"
        log.info("order %s: %s", staged.order_name, reason)
        return outcome

    def cannot(why: str) -> str:
        error_id = store.record_error(
            entity="order", record_key=staged.order_name, stage="cancel",
            reason=f"order {staged.order_name} was cancelled in Shopify after export as ORDNUM {ordnum}, but "
                   f"{why}: cancel or return it in MAX by hand, then resolve this item.",
            detail={"ordnum": ordnum, "order_gid": staged.order_gid})
        finish("failed", f"error queue item {error_id}: cannot cancel, {why}")
        return "failed"

    max_order = gateway.get_sales_order(ordnum)
    shipped = max_order is not None and any((line.SHPQTY or 0) > 0 for line in max_order.lines)
    if max_order is None:
        return cannot("MAX has no such order")
    if shipped:
        return cannot("MAX has already shipped part of it")
    if max_order.STATUS == "4":
        finish("exported", f"already cancelled in MAX: ORDNUM {ordnum} has status 4", detail=CANCELLED_IN_MAX)
        return "cancelled"
    try:
        gateway.cancel_sales_order(ordnum, reason=None,
                                   before_send=writer.guard(store, staged.order_gid, staged.order_name))
    except ExactMaxRejected as rejected:
        return cannot(f"MAX refused the cancellation: {rejected}")
    finish("exported", f"cancelled in MAX: ORDNUM {ordnum} status 3 → 4", detail=CANCELLED_IN_MAX)
    return "cancelled"


def summarise_orders_run(store: SyncStore, *, run_id: str, capture: dict[str, Any]) -> dict[str, Any]:
    """The run's summary: every order read ends exported, skipped or failed, or the task fails."""
    outcomes = store.run_outcomes(run_id)
    summary = RunSummary(flow="orders_to_max")
    for outcome, orders in outcomes.items():
        summary.read += len(orders)
        if outcome == "exported":
            summary.exported += len(orders)
        elif outcome == "skipped":
            for _name, reason in orders:
                summary.skip((reason or "unspecified").split(":")[0].split(" (")[0][:80])
        elif outcome == "failed":
            summary.failed += len(orders)
    bad = int(capture.get("bad_payloads", 0))
    summary.read += bad
    summary.failed += bad
    summary.error_queue_ids = list(capture.get("bad_payload_error_ids", []))
    for outcome in ("failed",):
        for _name, reason in outcomes.get(outcome, []):
            if reason and reason.startswith("error queue item "):
                summary.error_queue_ids.append(int(reason.split()[3].rstrip(":")))
    pending = outcomes.get("pending", [])
    if pending:
        summary.notes.append(f"{len(pending)} order(s) still pending: " + ", ".join(name for name, _ in pending[:10]))
        raise SummaryDoesNotAddUp(f"orders_to_max run {run_id}: {summary.notes[-1]}")
    return summary.as_xcom()


REPLAYABLE_STAGES = ("map", "validate", "export")


def replay_order_errors(store: SyncStore, mappings: Mappings, codes: Any, gateway: MaxGateway, *, run_id: str,
                        worker: str, statuses: Iterable[str] = ("open",), stage: str | None = None,
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
        raise ValueError(f"only stages {REPLAYABLE_STAGES} can be replayed, not {stage!r}")
    claimed = []
    for one_stage in stages:
        claimed += store.claim_errors(worker, entity="order", stage=one_stage, statuses=list(statuses),
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
        if staged.status in ("exported", "skipped") and not staged.deferred_json:
            store.resolve_error(item.id)
            resolved.append(item.record_key)
            log.info("error queue item %d (%s, %s): resolved, the order is %s since: %s", item.id, item.record_key,
                     item.stage, staged.status, staged.run_outcome_reason)
            continue
        if staged.status != "failed" or staged.deferred_json or not store.set_stage_status(
                gid, "captured", expected=["failed"], expected_digest=staged.payload_digest, run_id=run_id,
                run_outcome="pending", run_outcome_reason=None, mapped_json=None):
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
    still_open = {(item.record_key, item.stage) for item in store.list_errors(entity="order", status="open")}
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
        elif row.run_outcome in ("exported", "skipped") or (item.record_key, item.stage) not in still_open:
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
