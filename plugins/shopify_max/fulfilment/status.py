"""MAX order status, invoices and payments → the Shopify order (docs/fulfilment.md, "Order status and invoices").

Each run: enrol newly exported orders; read invoices and payments since their cursors (staged before the cursors
move); then, for orders that are due (a shipment, invoice or payment touched them) and a batch of orders not yet
final whose last check is old, read MAX's status in one batch and bring Shopify in line:

- metafields ``order_number``, ``status`` and ``invoices`` (one ``metafieldsSet``) and the status tag (others of
  the configured tags removed), written only when they differ from what was last written;
- each invoice is checked against what Shopify expects for its lines; a difference goes to the error queue and
  blocks its capture;
- settings, off by default: capture the invoiced amount once per invoice, mark orders on payment terms paid when
  MAX records their invoices paid, close orders MAX closed that Shopify shows fulfilled.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from shopify_max.clock import utcnow
from shopify_max.fulfilment.capture import capture_invoice
from shopify_max.fulfilment.order_state import (
    InvoiceCheck,
    check_invoice,
    invoice_entry,
    max_state,
    pushed_digest,
    status_metafields,
)
from shopify_max.fulfilment.rules import FulfilmentRules
from shopify_max.fulfilment.shipments import DEFAULT_LEASE, ORDER_ENTITY, OUTCOME_UNKNOWN, LeaseLost, OrderWriter
from shopify_max.sync_store import SyncStore
from shopify_max.sync_store.order_status_sync import OrderStatusRow
from shopify_max.sync_store.states import ErrorEntity, InvoiceErrorStage, OrderErrorStage

log = logging.getLogger(__name__)

INVOICES_WATERMARK = "fulfilment.max_invoices"
PAYMENTS_WATERMARK = "fulfilment.max_payments"
FINAL_STATES = ("closed", "cancelled")
PAYABLE_STATUSES = ("PENDING", "PARTIALLY_PAID")  # orders on payment terms (or manual payment) not yet paid


def read_invoices_and_payments(store: SyncStore, hook: Any, rules: FulfilmentRules, *, run_id: str) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    cursor = store.get_watermark(INVOICES_WATERMARK) or ""
    for invoice in hook.iter_invoices(cursor):
        cursor = invoice.INVCE
        if invoice.kind != "invoice":
            counts["credit_memos_left_to_refunds"] += 1
        elif (order_gid := store.shopify_gid_for(ORDER_ENTITY, invoice.ORDNUM)) is None:
            counts["invoices_not_from_shopify"] += 1
        else:
            counts["invoices_new"] += store.stage_invoice(invoice.INVCE, invoice.ORDNUM, order_gid,
                                                          invoice.model_dump(mode="json"),
                                                          capture_wanted=rules.capture_on_invoice, run_id=run_id)
            store.mark_order_status_due([invoice.ORDNUM])
        store.set_watermark(INVOICES_WATERMARK, cursor, run_id=run_id)
    payments = store.get_watermark(PAYMENTS_WATERMARK) or "0"
    for payment in hook.iter_payments(payments):
        payments = str(payment.payment_id)
        ordnum = store.record_invoice_payment(payment.INVCE, str(payment.paid_total))
        if ordnum:
            counts["payments"] += 1
            store.mark_order_status_due([ordnum])
        store.set_watermark(PAYMENTS_WATERMARK, payments, run_id=run_id)
    return dict(counts)


def _invoice_problem(writer: OrderWriter, invce: str, stage: InvoiceErrorStage, reason: str,
                     detail: dict[str, Any]) -> int:
    return writer.store.record_error(entity=ErrorEntity.INVOICE, record_key=invce, stage=stage,
                                     reason=f"MAX invoice {invce} of order {writer.ordnum}: {reason}",
                                     detail={"ordnum": writer.ordnum, "order_gid": writer.order_gid, **detail})


def invoice_mismatch_reason(check: InvoiceCheck | None) -> str:
    """Why an invoice failed its check (None: Shopify has no such order)."""
    if check is None:
        return "Shopify has no such order"
    return "; ".join(check.problems) or (
        f"its total {check.invoiced} differs from what Shopify expects for those lines ({check.expected}) by "
        f"{check.difference}; nothing is captured for it. Correct the invoice in MAX or the order in Shopify, then "
        "replay")


def _check_invoices(writer: OrderWriter, counts: dict[str, int]) -> None:
    pending = [inv for inv in writer.store.invoices_of_order(writer.ordnum) if inv.check_status == "pending"]
    if not pending:
        return
    order = writer.api.get_order(writer.order_gid)
    line_map = writer.store.order_line_map(writer.ordnum)
    for inv in pending:
        check = check_invoice(inv.invoice, order, line_map, writer.rules.invoice_tolerance_per_line) if order else None
        if check is not None and check.ok:
            writer.store.update_invoice(inv.invce, check_status="ok", difference=str(check.difference))
            counts["invoices_checked"] += 1
            continue
        item = _invoice_problem(writer, inv.invce, InvoiceErrorStage.AMOUNT, invoice_mismatch_reason(check), {
            "expected": str(check.expected) if check else None, "invoiced": str(check.invoiced) if check else None,
            "difference": str(check.difference) if check else None})
        writer.store.update_invoice(inv.invce, check_status="mismatch", error_queue_id=item,
                                    difference=str(check.difference) if check else None,
                                    capture_status="blocked" if inv.capture_status == "pending" else inv.capture_status)
        counts["invoice_mismatches"] += 1


@dataclass(frozen=True)
class StatusUpdate:
    """The status metafields and tag an order should carry, and their digest (written only when it changed)."""

    metafields: list[dict[str, str]]
    tag: str | None
    digest: str


def status_update(order_gid: str, ordnum: str, state: str, entries: list[dict[str, str]],
                  rules: FulfilmentRules) -> StatusUpdate:
    metafields = status_metafields(order_gid, rules.metafield_namespace, ordnum, state, entries)
    tag = rules.status_tags.get(state)
    return StatusUpdate(metafields, tag, pushed_digest(metafields, tag))


def wants_mark_paid(rules: FulfilmentRules, row: OrderStatusRow, state: str, invoices: list[Any],
                    entries: list[dict[str, str]]) -> bool:
    """Switched on, not marked yet, invoiced in MAX, and MAX records every invoice of the order paid in full."""
    return bool(rules.mark_paid_on_payment and not row.marked_paid and invoices and state in ("invoiced", "closed")
                and all(Decimal(inv.paid_total or 0) >= Decimal(entry["amount"])
                        for inv, entry in zip(invoices, entries, strict=True)))


def wants_close(rules: FulfilmentRules, row: OrderStatusRow, state: str) -> bool:
    return rules.close_when_max_closes and state == "closed" and not row.closed_in_shopify


def shopify_can_close(shopify: Any) -> bool:
    """Only an order Shopify shows fully fulfilled, and not closed already."""
    return shopify.display_fulfillment_status == "FULFILLED" and not shopify.closed


def _push_status(writer: OrderWriter, row: OrderStatusRow, state: str, entries: list[dict[str, str]],
                 counts: dict[str, int]) -> str | None:
    """Metafields and the status tag, when they differ from what was last written; the new digest or None."""
    rules = writer.rules
    update = status_update(writer.order_gid, writer.ordnum, state, entries, rules)
    metafields, tag, digest = update.metafields, update.tag, update.digest
    if digest == row.pushed_digest:
        return None
    writer.guard()
    started = time.monotonic()
    result = _idempotent(lambda: writer.api.set_metafields(metafields))
    problems = [e.message for e in result.user_errors]
    if tag and not problems:
        problems += [e.message for e in _idempotent(lambda: writer.api.add_tags(writer.order_gid, [tag])).user_errors]
        others = sorted(set(rules.status_tags.values()) - {tag})
        if others and not problems:
            problems += [e.message for e in _idempotent(
                lambda: writer.api.remove_tags(writer.order_gid, others)).user_errors]
    writer.audit(writer.ordnum, "status_refused" if problems else "status_pushed",
                 {"metafields": metafields, "tag": tag}, problems or "ok", started, entity="order_status")
    if problems:
        raise StatusRefused("; ".join(problems))
    counts["statuses_pushed"] += 1
    return digest


def _idempotent(call: Callable[[], Any], attempts: int = 3) -> Any:
    """A write that sets values (metafields, tags, close, mark paid): sent again when its answer was lost, since a
    second send changes nothing. The last loss is raised: the order stays due for the next run."""
    for attempt in range(attempts):
        try:
            return call()
        except OUTCOME_UNKNOWN:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


class StatusRefused(Exception):
    """Shopify refused the status metafields or tags."""


def _sync_order(writer: OrderWriter, row: OrderStatusRow, status: Any, counts: dict[str, int]) -> dict[str, Any]:
    rules = writer.rules
    line_map = writer.store.order_line_map(writer.ordnum)
    freight = {(r.linnum, r.delnum) for r in line_map if r.line_kind == "shipping"}
    state = max_state(status, bool(getattr(status, "cancelled", False)), freight)
    _check_invoices(writer, counts)
    invoices = writer.store.invoices_of_order(writer.ordnum)
    entries = [invoice_entry(inv.invoice, rules.terms_due_days, inv.invoice.get("TERMS")) for inv in invoices]
    result: dict[str, Any] = {"max_status": state}
    digest = _push_status(writer, row, state, entries, counts)
    if digest:
        result["pushed_digest"] = digest
    capturing = [inv for inv in invoices if inv.check_status == "ok" and inv.capture_status in ("pending", "capturing")]
    closing = wants_close(rules, row, state)
    paying = wants_mark_paid(rules, row, state, invoices, entries)
    if capturing or closing or paying:
        shopify = writer.api.order_fulfilment_state(writer.order_gid)
        for inv, entry in ((i, e) for i, e in zip(invoices, entries, strict=True) if i in capturing):
            shopify = capture_invoice(writer, inv, Decimal(entry["amount"]), shopify, counts) or shopify
        if paying and shopify and shopify.display_financial_status in PAYABLE_STATUSES:
            writer.guard()
            started = time.monotonic()
            paid = _idempotent(lambda: writer.api.mark_as_paid(writer.order_gid))
            writer.audit(writer.ordnum, "marked_paid" if paid.ok else "mark_paid_refused",
                         {"order": writer.order_gid, "mark_as_paid": True}, paid.model_dump(mode="json"), started,
                         entity="order_status")
            if paid.ok:
                result["marked_paid"] = True
                counts["marked_paid"] += 1
            else:
                _invoice_problem(writer, invoices[-1].invce, InvoiceErrorStage.MARK_PAID, "Shopify refused to mark "
                                 "the order paid: " + "; ".join(e.message for e in paid.user_errors), {})
        elif paying and shopify:
            result["marked_paid"] = True  # Shopify has it paid already: nothing to mark
        if closing and shopify and shopify_can_close(shopify):
            writer.guard()
            started = time.monotonic()
            closed = _idempotent(lambda: writer.api.close_order(writer.order_gid))
            writer.audit(writer.ordnum, "closed" if closed.ok else "close_refused",
                         {"order": writer.order_gid, "close": True}, closed.model_dump(mode="json"), started,
                         entity="order_status")
            result["closed_in_shopify"] = closed.ok
            counts["closed_in_shopify"] += int(closed.ok)
            if not closed.ok:
                raise StatusRefused("Shopify refused to close the order (MAX closed it): "
                                    + "; ".join(e.message for e in closed.user_errors))
        elif closing and shopify and shopify.closed:
            result["closed_in_shopify"] = True
    still_open = any(inv.capture_status in ("pending", "capturing") for inv in writer.store.invoices_of_order(
        writer.ordnum) if inv.check_status == "ok")
    result["final"] = state in FINAL_STATES and not still_open
    return result


def sync_order_status(store: SyncStore, hook: Any, api_factory: Callable[[], Any], rules: FulfilmentRules, *,
                      run_id: str, task_id: str | None = None, lease: timedelta = DEFAULT_LEASE) -> dict[str, Any]:
    counts: dict[str, int] = defaultdict(int)
    counts["enrolled"] = store.enrol_exported_orders(run_id=run_id)
    store.mark_order_status_due(row.ordnum for row in store.shipment_outcomes(run_id))
    counts.update(read_invoices_and_payments(store, hook, rules, run_id=run_id))
    rows = store.order_status_candidates(checked_before=utcnow() - timedelta(minutes=rules.status_recheck_minutes),
                                         limit=rules.status_batch)
    statuses = hook.order_statuses([row.ordnum for row in rows]) if rows else {}
    api = api_factory() if rows else None
    for row in rows:
        status = statuses.get(row.ordnum)
        if status is None:
            counts["not_in_max"] += 1
            store.record_order_status(row.ordnum, max_status=row.max_status, run_id=run_id)
            continue
        writer = OrderWriter(store, api, row.ordnum, row.order_gid, run_id, task_id, rules, lease,
                             owner=f"{run_id}/{task_id or 'task'}/{uuid.uuid4().hex[:12]}")
        if not store.take_fulfilment_lease(row.ordnum, owner=writer.owner, ttl=lease):
            counts["left_to_another_writer"] += 1
            continue
        try:
            result = _sync_order(writer, row, status, counts)
            store.record_order_status(row.ordnum, run_id=run_id, **result)
            if row.error_queue_id:
                store.resolve_error(row.error_queue_id, note=f"status written by run {run_id}",
                                    acted_by="fulfilment_to_shopify")
        except StatusRefused as refused:
            item = store.record_error(entity=ErrorEntity.ORDER, record_key=row.order_gid,
                                      stage=OrderErrorStage.STATUS_TO_SHOPIFY,
                                      reason=f"MAX order {row.ordnum}: Shopify refused its status metafields or "
                                             f"tags: {refused}", detail={"ordnum": row.ordnum, "order_gid": row.order_gid})
            store.record_order_status(row.ordnum, max_status=row.max_status, run_id=run_id, error_queue_id=item)
            counts["status_refused"] += 1
        except (LeaseLost, *OUTCOME_UNKNOWN) as lost:  # nothing is lost: the order stays due for the next run
            counts["left_for_next_run"] += 1
            store.record_order_status(row.ordnum, max_status=row.max_status, run_id=run_id, still_due=True)
            log.warning("MAX order %s: left for the next run: %s", row.ordnum, lost)
        finally:
            store.release_fulfilment_lease(row.ordnum, owner=writer.owner)
    counts["checked"] = len(rows)
    return dict(counts)
