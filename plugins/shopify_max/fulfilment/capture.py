"""Capture on invoice: the invoiced amount of an authorised payment, at most once per MAX invoice.

``orderCapture`` takes no idempotency key, so the invoice row says ``capturing`` (with the time) before the send.
When the answer is lost, the next attempt looks for a successful capture of that amount, made after the send
began and recorded for no other invoice of the order, before it sends anything again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from shopify_max.clock import utcnow
from shopify_max.sync_store.order_status_sync import InvoiceRow
from shopify_max.sync_store.states import ErrorEntity, InvoiceErrorStage

log = logging.getLogger(__name__)

CLOCK_SLACK = timedelta(minutes=2)


def _outcome_unknown() -> tuple[type[Exception], ...]:
    from shopify_max.fulfilment.shipments import OUTCOME_UNKNOWN

    return OUTCOME_UNKNOWN


def find_lost_capture(taken: set[str], inv: InvoiceRow, amount: Decimal, shopify: Any) -> Any | None:
    """A successful capture of ``amount`` made after our send began, recorded for no other invoice (``taken``)."""
    for transaction in shopify.transactions:
        if (transaction.kind == "CAPTURE" and transaction.status == "SUCCESS" and transaction.id not in taken
                and Decimal(transaction.amount) == amount
                and (transaction.created_at is None or inv.capture_started_at is None
                     or transaction.created_at >= inv.capture_started_at - CLOCK_SLACK)):
            return transaction
    return None


@dataclass(frozen=True)
class CaptureDecision:
    """What one invoice's capture comes to, given Shopify's order now (pure: see :func:`decide_capture`)."""

    kind: str  # capture, found, not_needed, not_capturable, no_order
    reason: str = ""  # for not_capturable and no_order: what a person reads on the error queue
    detail: dict[str, Any] = field(default_factory=dict)
    found: Any = None  # the capture found in Shopify (an answer lost before)
    authorisation: Any = None  # the transaction to capture from


def decide_capture(inv: InvoiceRow, amount: Decimal, shopify: Any, taken: set[str]) -> CaptureDecision:
    if shopify is None:
        return CaptureDecision("no_order", "Shopify has no such order")
    if inv.capture_status == "capturing":
        found = find_lost_capture(taken, inv, amount, shopify)
        if found is not None:
            return CaptureDecision("found", found=found)
    if shopify.presentment_currency_code not in (None, shopify.currency_code):
        return CaptureDecision("not_capturable", (
            f"the order was paid in {shopify.presentment_currency_code}, the invoice is in {shopify.currency_code}: "
            "a capture takes the customer's currency, so capture it by hand in Shopify and resolve the item"),
            {"amount": str(amount)})
    authorisations = [t for t in shopify.transactions if t.kind == "AUTHORIZATION" and t.status == "SUCCESS"]
    if not authorisations:  # paid at checkout (a sale), or on payment terms: nothing to capture
        return CaptureDecision("not_needed")
    if not shopify.capturable or Decimal(shopify.total_capturable) < amount:
        return CaptureDecision("not_capturable", (
            f"cannot capture {amount} {shopify.currency_code}: the authorisation leaves {shopify.total_capturable} "
            "capturable (captured already, or expired); capture it by hand or resolve the item"),
            {"amount": str(amount), "capturable": str(shopify.total_capturable)})
    return CaptureDecision("capture", authorisation=authorisations[0])


def _refuse(writer: Any, inv: InvoiceRow, status: str, reason: str, detail: dict[str, Any]) -> None:
    item = writer.store.record_error(entity=ErrorEntity.INVOICE, record_key=inv.invce, stage=InvoiceErrorStage.CAPTURE,
                                     reason=f"MAX invoice {inv.invce} of order {writer.ordnum}: {reason}",
                                     detail={"ordnum": writer.ordnum, "order_gid": writer.order_gid, **detail})
    writer.store.update_invoice(inv.invce, capture_status=status, error_queue_id=item)


def capture_invoice(writer: Any, inv: InvoiceRow, amount: Decimal, shopify: Any, counts: dict[str, int]) -> Any:
    """Capture ``amount`` for one invoice; returns Shopify's order state after it (None: unchanged)."""
    taken = {other.capture_transaction_gid for other in writer.store.invoices_of_order(writer.ordnum)
             if other.capture_transaction_gid}
    decision = decide_capture(inv, amount, shopify, taken)
    if decision.kind == "no_order":
        _refuse(writer, inv, "failed", decision.reason, {})
        return None
    if decision.kind == "found":
        writer.store.update_invoice(inv.invce, capture_status="captured", capture_transaction_gid=decision.found.id)
        counts["captures_found"] += 1
        log.info("invoice %s: capture %s found in Shopify (sent before, its answer lost)", inv.invce,
                 decision.found.id)
        return None
    if decision.kind == "not_capturable":
        _refuse(writer, inv, "not_capturable", decision.reason, decision.detail)
        counts["captures_not_possible"] += 1
        return None
    if decision.kind == "not_needed":
        writer.store.update_invoice(inv.invce, capture_status="not_needed")
        counts["captures_not_needed"] += 1
        return None
    authorisation = decision.authorisation
    writer.guard()
    writer.store.update_invoice(inv.invce, capture_status="capturing", capture_started_at=utcnow())
    started = time.monotonic()
    request = {"order": writer.order_gid, "parent_transaction": authorisation.id, "amount": str(amount),
               "currency": shopify.currency_code}
    try:
        result = writer.api.capture_payment(writer.order_gid, authorisation.id, amount, shopify.currency_code)
    except _outcome_unknown() as exc:
        writer.audit(inv.invce, "outcome_unknown", request, str(exc), started, entity="invoice")
        counts["capture_answers_lost"] += 1
        return None  # still ``capturing``: the next run looks for it before sending again
    writer.audit(inv.invce, "captured" if result.ok else "capture_refused", request, result.model_dump(mode="json"),
                 started, entity="invoice")
    if not result.ok:
        _refuse(writer, inv, "failed", "Shopify refused the capture: " + "; ".join(e.message for e in
                                                                                   result.user_errors),
                {"amount": str(amount)})
        return None
    writer.store.update_invoice(inv.invce, capture_status="captured", capture_transaction_gid=result.transaction.id)
    counts["captured"] += 1
    return writer.api.order_fulfilment_state(writer.order_gid)
