"""``export_staged_orders`` and ``apply_cancellations``: the MAX writes, each under the order's write lease.

Exactly once (DESIGN.md): ``id_map``, then a MAX lookup by ``CUSTPO``, then the write; the MAX key is recorded the
moment it is learnt, and the order's line map right after it, however the export settles (``orders/line_map.py``); the gateway refuses a second order per CUSTPO (409), read by the hook as "already there".
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, Protocol

from shopify_max.exactmax.errors import ExactMaxDuplicateCustpo, ExactMaxRejected
from shopify_max.exactmax.models import Customer, SalesOrder
from shopify_max.exactmax.xml_builder import BuiltDocument
from shopify_max.orders.capture import CANCELLED_IN_MAX
from shopify_max.orders.line_map import record_line_map
from shopify_max.orders.write_lease import DEFAULT_WRITE_LEASE, Writer, with_write_lease
from shopify_max.redaction import redact_text
from shopify_max.sync_store import AuditEntry, StagedOrder, SyncStore
from shopify_max.sync_store.states import (
    ErrorEntity,
    OrderErrorStage,
    OrderStageStatus,
    RunOutcome,
    RunOutcomeCode,
)

log = logging.getLogger(__name__)


class MaxGateway(Protocol):
    def find_sales_order_by_custpo(self, custpo: str) -> SalesOrder | None: ...
    def sales_order_document(self, order: SalesOrder) -> BuiltDocument: ...
    def create_sales_order(self, order: SalesOrder, *, document: BuiltDocument | None = None,
                           before_send: Callable[[], None] | None = None) -> Any: ...
    def create_customer(self, customer: Customer, *, before_send: Callable[[], None] | None = None) -> Any: ...
    def get_sales_order(self, ordnum: str) -> SalesOrder | None: ...
    def cancel_sales_order(self, ordnum: str, reason: str | None = None, *,
                           before_send: Callable[[], None] | None = None) -> dict: ...


def export_staged_orders(store: SyncStore, gateway: MaxGateway, *, run_id: str, task_id: str | None = None,
                         write_lease: timedelta = DEFAULT_WRITE_LEASE,
                         lease_wait: timedelta | None = None) -> dict[str, int]:
    """Write the run's validated orders to MAX, exactly once each. Rejections are per-order outcomes;
    auth failures and outages raise, so Airflow retries the task, which resumes from ``exporting``.

    An order in ``exporting`` whose lease another attempt still holds (a zombie, or the attempt this one is a
    retry of) is waited for, up to ``lease_wait`` (default: the lease plus 30 s), then taken over."""
    writer = Writer.new(run_id, task_id, write_lease, lease_wait)
    counts: Counter[str] = Counter()
    for staged in store.orders_in_stage(run_id=run_id,
                                        statuses=[OrderStageStatus.VALIDATED, OrderStageStatus.EXPORTING]):
        outcome = with_write_lease(store, staged, writer, OrderStageStatus.VALIDATED, OrderStageStatus.EXPORTING,
                                   lambda leased: _export_one(store, gateway, leased, writer))
        counts[str(outcome or "settled elsewhere")] += 1
    if not counts:
        log.info("run %s: no validated order waits for export", run_id)
    return dict(counts)


@dataclass(frozen=True)
class EarlierExport:
    """The MAX order an order was exported as before: known from ``id_map`` (``max_order`` None), or found in MAX
    by its CUSTPO (an export whose answer was lost, or whose ORDNUM was never recorded)."""

    ordnum: str
    max_order: SalesOrder | None = None


def earlier_export(store: SyncStore, gateway: MaxGateway, order_gid: str, custpo: str) -> EarlierExport | None:
    """What the export looks up before any write: ``id_map``, then MAX by CUSTPO. Writes nothing (the export
    records what it finds; a dry run reports it). Raises ``ExactMaxDuplicateCustpo`` when MAX holds the CUSTPO
    more than once."""
    known = store.max_key_for("order", order_gid)
    if known:
        return EarlierExport(known)
    existing = gateway.find_sales_order_by_custpo(custpo)
    if existing is not None and existing.ORDNUM:
        return EarlierExport(existing.ORDNUM, existing)
    return None


def duplicate_custpo_reason(order_name: str, order_gid: str, duplicate: ExactMaxDuplicateCustpo) -> str:
    return (f"order {order_name} ({order_gid}) was not exported: {duplicate}. Cancel the extra order(s) in MAX, "
            "keep one, then resolve this item and replay it.")


def _export_one(store: SyncStore, gateway: MaxGateway, staged: StagedOrder, writer: Writer) -> str:
    mapped = json.loads(staged.mapped_json or "{}")
    sales_order = SalesOrder.model_validate(mapped["sales_order"])
    run_id, task_id = writer.run_id, writer.task_id

    def finish(status: OrderStageStatus, outcome: RunOutcome, code: RunOutcomeCode, reason: str,
               **values: Any) -> str:
        if not store.set_stage_status(staged.order_gid, status, lease_owner=writer.owner, run_outcome=outcome,
                                      run_outcome_code=code, run_outcome_reason=reason, **values):
            log.warning("order %s: %s, but the write lease was taken over meanwhile; the run holding it records "
                        "the outcome", staged.order_name, redact_text(reason))
            return "settled elsewhere"
        log.info("order %s: %s (%s)", staged.order_name, redact_text(reason), code)
        return outcome

    def record_map(ordnum: str, max_lines: Any = None) -> None:
        record_line_map(store, order_gid=staged.order_gid, order_name=staged.order_name, ordnum=ordnum, mapped=mapped,
                        sales_order=sales_order, max_lines=max_lines, run_id=run_id)

    try:
        earlier = earlier_export(store, gateway, staged.order_gid, sales_order.CUSTPO)
    except ExactMaxDuplicateCustpo as duplicate:
        error_id = store.record_error(
            entity=ErrorEntity.ORDER, record_key=staged.order_name, stage=OrderErrorStage.EXPORT,
            reason=duplicate_custpo_reason(staged.order_name, staged.order_gid, duplicate),
            detail={"order_gid": staged.order_gid, "custpo": duplicate.custpo, "ordnums": duplicate.ordnums})
        return finish(OrderStageStatus.FAILED, RunOutcome.FAILED, RunOutcomeCode.DUPLICATE_CUSTPO,
                      f"error queue item {error_id}: {duplicate}", error_queue_id=error_id)
    if earlier is not None and earlier.max_order is None:
        record_map(earlier.ordnum)
        return finish(OrderStageStatus.EXPORTED, RunOutcome.SKIPPED, RunOutcomeCode.ALREADY_EXPORTED,
                      f"already exported as ORDNUM {earlier.ordnum} (id_map)", max_ordnum=earlier.ordnum,
                      exported_material_digest=staged.material_digest)
    if earlier is not None:
        store.record_id_mapping("order", staged.order_gid, earlier.ordnum, run_id=run_id)
        record_map(earlier.ordnum, earlier.max_order.lines)
        return finish(OrderStageStatus.EXPORTED, RunOutcome.SKIPPED, RunOutcomeCode.FOUND_IN_MAX,
                      f"already in MAX as ORDNUM {earlier.ordnum} (found by CUSTPO "
                      f"{sales_order.CUSTPO}); id_map recorded now", max_ordnum=earlier.ordnum,
                      exported_material_digest=staged.material_digest)

    document = gateway.sales_order_document(sales_order)  # the bytes sent: what the audit entry records
    before_send = writer.guard(store, staged.order_gid, staged.order_name)
    started = time.perf_counter()
    try:
        if mapped.get("new_customer") and mapped.get("customer_gid"):
            _ensure_customer(store, gateway, Customer.model_validate(mapped["new_customer"]), mapped["customer_gid"],
                             run_id, before_send)
        result = gateway.create_sales_order(sales_order, document=document, before_send=before_send)
    except ExactMaxRejected as rejected:
        reasons = "; ".join(str(e) for e in rejected.errors)
        error_id = store.record_error(
            entity=ErrorEntity.ORDER, record_key=staged.order_name, stage=OrderErrorStage.EXPORT,
            reason=f"MAX refused order {staged.order_name} ({staged.order_gid}): {reasons}", payload=document.xml,
            detail={"rejections": [e.__dict__ for e in rejected.errors], "order_gid": staged.order_gid})
        store.write_audit([AuditEntry(entity="order", record_key=staged.order_name, direction="shopify_to_max",
                                      outcome="rejected", request=document.xml, response={"errors": reasons},
                                      run_id=run_id, task_id=task_id,
                                      duration_ms=int((time.perf_counter() - started) * 1000))])
        return finish(OrderStageStatus.FAILED, RunOutcome.FAILED, RunOutcomeCode.REJECTED_BY_MAX,
                      f"error queue item {error_id}: MAX refused it: {reasons}"[:2000], error_queue_id=error_id)
    store.record_id_mapping("order", staged.order_gid, result.ORDNUM, run_id=run_id)
    record_map(result.ORDNUM, getattr(result, "lines", None))
    store.write_audit([AuditEntry(
        entity="order", record_key=staged.order_name, direction="shopify_to_max", outcome="exported",
        request=document.xml, response={**result.model_dump(mode="json"), "rules_applied": mapped["rules_applied"]},
        run_id=run_id, task_id=task_id, duration_ms=int((time.perf_counter() - started) * 1000))])
    how = ""
    if getattr(result, "already_existed", False):
        how = " (the gateway already held it for this CUSTPO: another writer's send landed first)"
    elif getattr(result, "recovered", False):
        how = " (recovered by CUSTPO lookup after a lost answer)"
    return finish(OrderStageStatus.EXPORTED, RunOutcome.EXPORTED, RunOutcomeCode.EXPORTED,
                  f"exported as ORDNUM {result.ORDNUM}{how}", max_ordnum=result.ORDNUM,
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
    writer = Writer.new(run_id, task_id, write_lease, lease_wait)
    counts: Counter[str] = Counter()
    for staged in store.orders_in_stage(run_id=run_id, statuses=[OrderStageStatus.CANCEL_PENDING]):
        outcome = with_write_lease(store, staged, writer, OrderStageStatus.CANCEL_PENDING,
                                   OrderStageStatus.CANCEL_PENDING,
                                   lambda leased: _cancel_one(store, gateway, leased, writer))
        counts[str(outcome or "settled elsewhere")] += 1
    return dict(counts)


class CancelAction(StrEnum):
    CANCEL = "cancel"  # open in MAX, nothing shipped: cancel it
    ALREADY_CANCELLED = "already_cancelled"  # status 4 already: nothing to send
    CANNOT = "cannot"  # not in MAX, or something shipped: a person acts (the error queue)


def cancellation_decision(max_order: SalesOrder | None) -> tuple[CancelAction, str]:
    """What cancelling an exported order in MAX comes to, from the MAX order as read (None: MAX has no such order),
    and why when it cannot be done."""
    if max_order is None:
        return CancelAction.CANNOT, "MAX has no such order"
    if any((line.SHPQTY or 0) > 0 for line in max_order.lines):
        return CancelAction.CANNOT, "MAX has already shipped part of it"
    if max_order.STATUS == "4":
        return CancelAction.ALREADY_CANCELLED, "already cancelled in MAX"
    return CancelAction.CANCEL, ""


def cannot_cancel_reason(order_name: str, ordnum: str, why: str) -> str:
    return (f"order {order_name} was cancelled in Shopify after export as ORDNUM {ordnum}, but {why}: cancel or "
            "return it in MAX by hand, then resolve this item.")


def _cancel_one(store: SyncStore, gateway: MaxGateway, staged: StagedOrder, writer: Writer) -> str:
    ordnum = staged.max_ordnum or ""

    def finish(outcome: RunOutcome, code: RunOutcomeCode, reason: str, **values: Any) -> str:
        if not store.set_stage_status(staged.order_gid, OrderStageStatus.EXPORTED, lease_owner=writer.owner,
                                      run_outcome=outcome, run_outcome_code=code, run_outcome_reason=reason,
                                      **values):
            log.warning("order %s: %s, but the write lease was taken over meanwhile", staged.order_name,
                        redact_text(reason))
            return "settled elsewhere"
        log.info("order %s: %s (%s)", staged.order_name, redact_text(reason), code)
        return outcome

    def cannot(why: str) -> str:
        error_id = store.record_error(
            entity=ErrorEntity.ORDER, record_key=staged.order_name, stage=OrderErrorStage.CANCEL,
            reason=cannot_cancel_reason(staged.order_name, ordnum, why),
            detail={"ordnum": ordnum, "order_gid": staged.order_gid})
        finish(RunOutcome.FAILED, RunOutcomeCode.CANNOT_CANCEL, f"error queue item {error_id}: cannot cancel, {why}",
               error_queue_id=error_id)
        return RunOutcome.FAILED

    action, why = cancellation_decision(gateway.get_sales_order(ordnum))
    if action == CancelAction.CANNOT:
        return cannot(why)
    if action == CancelAction.ALREADY_CANCELLED:
        finish(RunOutcome.EXPORTED, RunOutcomeCode.ALREADY_CANCELLED_IN_MAX,
               f"already cancelled in MAX: ORDNUM {ordnum} has status 4", detail=CANCELLED_IN_MAX)
        return "cancelled"
    try:
        gateway.cancel_sales_order(ordnum, reason=None,
                                   before_send=writer.guard(store, staged.order_gid, staged.order_name))
    except ExactMaxRejected as rejected:
        return cannot(f"MAX refused the cancellation: {rejected}")
    finish(RunOutcome.EXPORTED, RunOutcomeCode.CANCELLED_IN_MAX, f"cancelled in MAX: ORDNUM {ordnum} status 3 → 4",
           detail=CANCELLED_IN_MAX)
    return "cancelled"


