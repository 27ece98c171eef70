"""The orders flow, step by step: capture → map → validate → export → cancellations → summary.

Each function is the body of one task of the ``orders_to_max`` DAG and works on the sync store's
``order_stage`` table, so tasks pass only small summaries through XCom, a retried task picks up where
it stopped, and every order read by a run ends exported, skipped or failed (with a reason).

Exactly once (DESIGN.md): before writing an order to MAX the export looks it up in ``id_map``, then in MAX by
``CUSTPO``; the MAX key is recorded the moment it is learnt. The move from ``validated`` to ``exporting`` is a
conditional update, so two workers never export the same order.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from shopify_max.clock import utcnow
from shopify_max.exactmax.errors import ExactMaxRejected
from shopify_max.exactmax.models import Customer, SalesOrder
from shopify_max.exactmax.xml_builder import build_sales_order_xml
from shopify_max.mappings.loader import Mappings
from shopify_max.orders.mapper import map_order_to_sales_order
from shopify_max.orders.outcome import MappedOrder, MappingError
from shopify_max.orders.webhook_payload import order_from_webhook_payload
from shopify_max.run_summary import RunSummary, SummaryDoesNotAddUp
from shopify_max.shopify.models import Order
from shopify_max.sync_store import AuditEntry, StagedOrder, SyncStore
from shopify_max.webhooks import ORDER_TOPICS

log = logging.getLogger(__name__)

POLL_WATERMARK = "orders.poll.updated_at"
IN_FLIGHT = ("captured", "mapped", "validated", "exporting", "cancel_pending")
CANCELLED_IN_MAX = "cancelled_in_max"


class OrderSource(Protocol):
    def iter_orders_updated(self, updated_at_min: datetime, updated_at_max: datetime | None = None) -> Iterable[Order]:
        ...


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


@dataclass
class CaptureReport:
    read_from_webhooks: int = 0
    read_from_poll: int = 0
    orders_read: int = 0
    adopted_from_earlier_runs: int = 0
    bad_payloads: int = 0
    bad_payload_error_ids: list[int] = field(default_factory=list)
    decided: dict[str, int] = field(default_factory=dict)
    poll_window: list[str] | None = None

    def as_xcom(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _stage(store: SyncStore, order: Order, source: str, run_id: str, status: str, *, digests: tuple[str, str],
           previous: StagedOrder | None = None, outcome: str = "pending", reason: str | None = None) -> None:
    store.stage_order(StagedOrder(
        order_gid=order.id, order_name=order.name, source=source, shopify_updated_at=order.updated_at,
        payload_digest=digests[0], material_digest=digests[1], order_json=order.model_dump_json(), status=status,
        # An order caught mid-export keeps the document it was being exported with: the export step resumes
        # it (id_map, then CUSTPO lookup); a later edit is found by the next capture.
        mapped_json=previous.mapped_json if previous and status == "exporting" else None,
        detail=previous.detail if previous else None,
        exported_material_digest=previous.exported_material_digest if previous else None,
        max_ordnum=previous.max_ordnum if previous else None, run_id=run_id, run_outcome=outcome,
        run_outcome_reason=reason))


def capture_orders(store: SyncStore, source: OrderSource | None, *, run_id: str,
                   window: tuple[datetime, datetime] | None, overlap: timedelta = timedelta(minutes=10),
                   inbox_limit: int = 5000) -> CaptureReport:
    """Read new webhook deliveries and poll Shopify for orders updated in ``window`` (widened by ``overlap``,
    because webhooks get lost); stage each order once, deciding at once what needs no further work."""
    report = CaptureReport(adopted_from_earlier_runs=store.adopt_unfinished_orders(run_id))
    latest: dict[str, tuple[Order, str]] = {}

    def keep(order: Order, origin: str) -> None:
        current = latest.get(order.id)
        if current is None or order.updated_at >= current[0].updated_at:
            latest[order.id] = (order, origin)

    deliveries = store.claim_inbox(topics=ORDER_TOPICS, limit=inbox_limit)
    readable: list[int] = []
    for delivery in deliveries:
        try:
            keep(order_from_webhook_payload(json.loads(delivery.payload or "")), "webhook")
            report.read_from_webhooks += 1
            readable.append(delivery.id)
        except Exception as exc:  # noqa: BLE001 - any unreadable delivery is one error-queue item, not a crash
            problem = str(exc).splitlines()[0][:300]
            error_id = store.record_error(
                entity="order", record_key=delivery.resource_gid or f"webhook {delivery.webhook_id}", stage="capture",
                reason=f"webhook {delivery.webhook_id} ({delivery.topic}) is not a readable order: "
                       f"{type(exc).__name__}: {problem}", payload=delivery.payload,
                detail={"webhook_id": delivery.webhook_id, "topic": delivery.topic})
            store.mark_inbox([delivery.id], "failed")
            report.bad_payloads += 1
            report.bad_payload_error_ids.append(error_id)
            log.warning("webhook %s: unreadable order payload, sent to error queue item %d", delivery.webhook_id,
                        error_id)
    if source is not None and window is not None:
        start, end = window[0] - overlap, window[1]
        report.poll_window = [start.isoformat(), end.isoformat()]
        for order in source.iter_orders_updated(start, end):
            keep(order, "poll")
            report.read_from_poll += 1

    staged = store.staged_orders(latest)
    decided: Counter[str] = Counter()
    for gid, (order, origin) in latest.items():
        decision = _capture_decision(store, order, origin, run_id, staged.get(gid))
        decided[decision] += 1
        log.info("order %s (%s, from %s): %s", order.name, gid, origin, decision)
    store.mark_inbox(readable, "processed")
    if window is not None:
        store.set_watermark(POLL_WATERMARK, window[1].isoformat(), run_id=run_id)
    report.orders_read = len(latest)
    report.decided = dict(decided)
    return report


def _capture_decision(store: SyncStore, order: Order, origin: str, run_id: str, staged: StagedOrder | None) -> str:
    """Stage one order; returns a short label of what was decided (for the log and the XCom)."""
    digests = order_digests(order)
    if staged is None:
        _stage(store, order, origin, run_id, "captured", digests=digests)
        return "new"
    if staged.status in IN_FLIGHT:
        status = staged.status if staged.status in ("exporting", "cancel_pending") else "captured"
        _stage(store, order, origin, run_id, status, digests=digests, previous=staged)
        return f"in flight ({staged.status}), continued"
    if staged.payload_digest == digests[0]:
        _stage(store, order, origin, run_id, staged.status, digests=digests, previous=staged, outcome="skipped",
               reason=f"unchanged since last read ({staged.status})")
        return "unchanged"
    if staged.status in ("skipped", "failed"):
        _stage(store, order, origin, run_id, "captured", digests=digests, previous=staged)
        return f"changed since it was {staged.status}: mapped again"
    # Exported before, and Shopify changed it since.
    already_cancelled = CANCELLED_IN_MAX in (staged.detail or "")
    if order.cancelled_at is not None and not already_cancelled:
        _stage(store, order, origin, run_id, "cancel_pending", digests=digests, previous=staged)
        return "cancelled after export: cancel in MAX"
    if digests[1] not in (staged.exported_material_digest, staged.material_digest):
        error_id = store.record_error(
            entity="order", record_key=order.name, stage="update_after_export",
            reason=f"order {order.name} ({order.id}) was edited in Shopify after its export to MAX as ORDNUM "
                   f"{staged.max_ordnum}: lines, prices, addresses or total changed. Change MAX order "
                   f"{staged.max_ordnum} by hand, then resolve this item.",
            payload=order.model_dump_json(), detail={"ordnum": staged.max_ordnum})
        _stage(store, order, origin, run_id, "exported", digests=digests, previous=staged, outcome="failed",
               reason=f"edited after export: error queue item {error_id}")
        return "edited after export: error queue"
    _stage(store, order, origin, run_id, "exported", digests=digests, previous=staged, outcome="skipped",
           reason=f"already exported as ORDNUM {staged.max_ordnum}; changes since do not touch the MAX order")
    return "exported earlier, nothing to change"


def map_staged_orders(store: SyncStore, mappings: Mappings, *, run_id: str) -> dict[str, int]:
    """Map every captured order of the run; failures go to the error queue with each field and rule."""
    counts: Counter[str] = Counter()
    for staged in store.orders_in_stage(run_id=run_id, statuses=["captured"]):
        order = Order.model_validate_json(staged.order_json or "{}")
        known_custid = store.max_key_for("customer", order.customer.id) if order.customer else None
        try:
            result = map_order_to_sales_order(order, mappings, known_custid=known_custid)
        except Exception as exc:  # noqa: BLE001 - one order's surprise must not stop the batch
            result = MappedOrder(order_gid=order.id, order_name=order.name, custpo="")
            result.errors.append(MappingError("order", "unexpected", f"mapping raised {type(exc).__name__}: {exc}"))
            log.exception("order %s: mapping raised; sent to the error queue", order.name)
        rules = [rule.as_dict() for rule in result.rules_applied]
        if result.outcome == "failed":
            error_id = store.record_error(
                entity="order", record_key=order.name, stage="map", reason=result.error_reason(),
                payload=staged.order_json, detail={"order_gid": order.id, "errors": [e.as_dict() for e in result.errors],
                                                   "rules_applied": rules})
            store.set_stage_status(order.id, "failed", run_outcome="failed",
                                   run_outcome_reason=f"error queue item {error_id}: {result.error_reason()}"[:2000])
            log.info("order %s: mapping failed (%d problem(s)), error queue item %d", order.name, len(result.errors),
                     error_id)
        elif result.outcome == "skipped":
            store.set_stage_status(order.id, "skipped", run_outcome="skipped", run_outcome_reason=result.skip_reason)
            log.info("order %s: skipped: %s", order.name, result.skip_reason)
        else:
            mapped = {
                "sales_order": result.sales_order.model_dump(mode="json"),
                "new_customer": result.new_customer.model_dump(mode="json") if result.new_customer else None,
                "customer_gid": result.customer_gid,
                "rules_applied": rules,
            }
            store.set_stage_status(order.id, "mapped", mapped_json=json.dumps(mapped))
            log.info("order %s: mapped to CUSTPO %s with %d line row(s), %d rule(s) applied", order.name,
                     result.custpo, len(result.sales_order.lines), len(rules))
        counts[result.outcome] += 1
    return dict(counts)


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
        failures = report.failures_by_order.get(custpo)
        if not failures:
            store.set_stage_status(row.order_gid, "validated")
            continue
        reason = (f"order {row.order_name} ({row.order_gid}) fails validation: "
                  + "; ".join(f.message() for f in failures))
        error_id = store.record_error(entity="order", record_key=row.order_name, stage="validate", reason=reason,
                                      payload=row.mapped_json,
                                      detail={"failures": [f.__dict__ for f in failures], "order_gid": row.order_gid})
        store.set_stage_status(row.order_gid, "failed", run_outcome="failed",
                               run_outcome_reason=f"error queue item {error_id}: {reason}"[:2000])
        log.info("order %s: validation failed: %s", row.order_name, reason)
    summary = report.summary()
    store.write_audit([AuditEntry(entity="order_batch", record_key=run_id, direction="validation",
                                  outcome="passed" if not report.failures_by_order else "some_failed",
                                  request={"orders": len(orders)}, response=summary, run_id=run_id,
                                  task_id=task_id, contains_pii=False)])
    return summary


class MaxGateway(Protocol):
    def find_sales_order_by_custpo(self, custpo: str) -> SalesOrder | None: ...
    def create_sales_order(self, order: SalesOrder) -> Any: ...
    def create_customer(self, customer: Customer) -> Any: ...
    def get_sales_order(self, ordnum: str) -> SalesOrder | None: ...
    def cancel_sales_order(self, ordnum: str, reason: str | None = None) -> dict: ...


def export_staged_orders(store: SyncStore, gateway: MaxGateway, *, run_id: str,
                         task_id: str | None = None) -> dict[str, int]:
    """Write the run's validated orders to MAX, exactly once each. Rejections are per-order outcomes;
    auth failures and outages raise, so Airflow retries the task, which resumes from ``exporting``."""
    counts: Counter[str] = Counter()
    for staged in store.orders_in_stage(run_id=run_id, statuses=["validated", "exporting"]):
        if staged.status == "validated" and not store.set_stage_status(
                staged.order_gid, "exporting", expected=["validated"], claimed_at=utcnow()):
            continue  # another worker took it
        counts[_export_one(store, gateway, staged, run_id, task_id)] += 1
    return dict(counts)


def _export_one(store: SyncStore, gateway: MaxGateway, staged: StagedOrder, run_id: str, task_id: str | None) -> str:
    mapped = json.loads(staged.mapped_json or "{}")
    sales_order = SalesOrder.model_validate(mapped["sales_order"])

    def finish(status: str, outcome: str, reason: str, **values: Any) -> str:
        store.set_stage_status(staged.order_gid, status, run_outcome=outcome, run_outcome_reason=reason, **values)
        log.info("order %s: %s", staged.order_name, reason)
        return outcome

    known = store.max_key_for("order", staged.order_gid)
    if known:
        return finish("exported", "skipped", f"already exported as ORDNUM {known} (id_map)", max_ordnum=known,
                      exported_material_digest=staged.material_digest)
    existing = gateway.find_sales_order_by_custpo(sales_order.CUSTPO)
    if existing is not None and existing.ORDNUM:
        store.record_id_mapping("order", staged.order_gid, existing.ORDNUM, run_id=run_id)
        return finish("exported", "skipped", f"already in MAX as ORDNUM {existing.ORDNUM} (found by CUSTPO "
                      f"{sales_order.CUSTPO}); id_map recorded now", max_ordnum=existing.ORDNUM,
                      exported_material_digest=staged.material_digest)

    document = build_sales_order_xml(sales_order)
    started = time.perf_counter()
    try:
        if mapped.get("new_customer") and mapped.get("customer_gid"):
            _ensure_customer(store, gateway, Customer.model_validate(mapped["new_customer"]), mapped["customer_gid"],
                             run_id)
        result = gateway.create_sales_order(sales_order)
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
    how = " (recovered by CUSTPO lookup after a lost answer)" if getattr(result, "recovered", False) else ""
    return finish("exported", "exported", f"exported as ORDNUM {result.ORDNUM}{how}", max_ordnum=result.ORDNUM,
                  exported_material_digest=staged.material_digest)


def _ensure_customer(store: SyncStore, gateway: MaxGateway, customer: Customer, customer_gid: str, run_id: str) -> None:
    """Create the MAX account of a Shopify customer once; ``id_map`` remembers it."""
    if store.max_key_for("customer", customer_gid):
        return
    try:
        created = gateway.create_customer(customer)
        custid = created.CUSTID
    except ExactMaxRejected as rejected:
        if not rejected.has_rule("duplicate_key"):
            raise
        custid = customer.CUSTID  # created by an earlier attempt: the CUSTID is derived, so it is the same
    store.record_id_mapping("customer", customer_gid, custid, run_id=run_id)
    log.info("customer %s: MAX account %s", customer_gid, custid)


def apply_cancellations(store: SyncStore, gateway: MaxGateway, *, run_id: str) -> dict[str, int]:
    """Orders cancelled in Shopify after export: cancel in MAX when nothing shipped, else ask a person."""
    counts: Counter[str] = Counter()
    for staged in store.orders_in_stage(run_id=run_id, statuses=["cancel_pending"]):
        ordnum = staged.max_ordnum or ""
        max_order = gateway.get_sales_order(ordnum)
        shipped = max_order is not None and any((line.SHPQTY or 0) > 0 for line in max_order.lines)
        if max_order is None or shipped:
            why = "MAX has already shipped part of it" if shipped else "MAX has no such order"
            error_id = store.record_error(
                entity="order", record_key=staged.order_name, stage="cancel",
                reason=f"order {staged.order_name} was cancelled in Shopify after export as ORDNUM {ordnum}, but "
                       f"{why}: cancel or return it in MAX by hand, then resolve this item.",
                detail={"ordnum": ordnum, "order_gid": staged.order_gid})
            store.set_stage_status(staged.order_gid, "exported", run_outcome="failed",
                                   run_outcome_reason=f"error queue item {error_id}: cannot cancel, {why}")
            counts["failed"] += 1
            continue
        gateway.cancel_sales_order(ordnum, reason=None)
        store.set_stage_status(staged.order_gid, "exported", detail=CANCELLED_IN_MAX, run_outcome="exported",
                               run_outcome_reason=f"cancelled in MAX: ORDNUM {ordnum} status 3 → 4")
        log.info("order %s: cancelled in MAX (ORDNUM %s)", staged.order_name, ordnum)
        counts["cancelled"] += 1
    return dict(counts)


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
                        limit: int = 500, task_id: str | None = None) -> dict[str, Any]:
    """Re-run orders from the error queue with the current mappings: map → validate → export.

    Items whose order now exports (or is skipped by a rule) are resolved; an order that fails again at the
    same stage reopens its item with the new reason; one that gets further resolves the old item and opens
    one for the stage where it now stops. Capture errors and changes after export need a person, not a replay.
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
    for item in claimed:
        gid = item.detail.get("order_gid")
        staged = store.staged_orders([gid]).get(gid) if gid else None
        if staged is None or not staged.order_json:
            store.release_error(item.id, reason=f"{item.reason} (replay: no staged copy of the order is left; "
                                                "re-read it with a backfill window)")
            continue
        store.set_stage_status(gid, "captured", run_id=run_id, run_outcome="pending", run_outcome_reason=None,
                               mapped_json=None)
        order_gids[item.id] = gid
    map_staged_orders(store, mappings, run_id=run_id)
    validate_staged_orders(store, codes, run_id=run_id, task_id=task_id)
    export_staged_orders(store, gateway, run_id=run_id, task_id=task_id)

    staged_now = store.staged_orders(order_gids.values())
    still_open = {(item.record_key, item.stage) for item in store.list_errors(entity="order", status="open")}
    resolved, failing = [], []
    for item in claimed:
        gid = order_gids.get(item.id)
        if gid is None:
            continue
        row = staged_now[gid]
        if row.run_outcome in ("exported", "skipped") or (item.record_key, item.stage) not in still_open:
            store.resolve_error(item.id)
            resolved.append(item.record_key)
            log.info("error queue item %d (%s, %s): resolved by replay: %s", item.id, item.record_key, item.stage,
                     row.run_outcome_reason)
        else:
            failing.append(item.record_key)
            log.info("error queue item %d (%s, %s): still failing: %s", item.id, item.record_key, item.stage,
                     row.run_outcome_reason)
    return {"claimed": len(claimed), "replayed": len(order_gids), "resolved": resolved, "still_failing": failing}
