"""``dry_run_refunds``: what ``refunds_to_max`` would do, with every read, mapping and Great Expectations check real
and nothing written (``shopify_max.dry_run``).

A real run stages the refunds its inbox and its poll find that the sync store does not hold yet, then takes up every
open refund (new, waiting, or left by a writer that died), oldest staged first. The dry run reads the same: the
``refunds/create`` deliveries waiting in the inbox (without claiming them), the poll over the window (orders with
refunds, then the refunds of those with a refund not staged), and the open refunds the sync store holds. Each refund
then goes through the export's decisions, with the same code
(``pipeline.RefundExport.export_one``): ``id_map``, MAX by CUSTPO for a write that was taken over, the MAX order
(:func:`~shopify_max.refunds.pipeline.order_gate`: wait or no memo), :func:`~shopify_max.refunds.mapper.map_refund`,
the order's cap (:func:`~shopify_max.refunds.pipeline.cap_problem`, counting the memos this dry run would write
before it), and the sales-order suite, run once for every memo. The sync store is only read: no stage row,
error-queue item, inbox claim, lease or watermark changes.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from shopify_max.clock import utcnow
from shopify_max.dry_run import DryRunReport
from shopify_max.orders.dry_run import waiting_deliveries
from shopify_max.redaction import redact_text
from shopify_max.refunds.mapper import MappedRefund, map_refund
from shopify_max.refunds.pipeline import (
    NOTHING_TO_CREDIT,
    ORDER_ENTITY,
    REFUND_ENTITY,
    REFUNDS_TOPIC,
    cap_problem,
    credit_memo_custpo,
    earlier_memos_total,
    order_gate,
    problem_code,
    staged_refund_body,
)
from shopify_max.refunds.rules import RefundRules
from shopify_max.shopify.refund_api import OPEN_RETURN_STATUSES
from shopify_max.sync_store import SyncStore
from shopify_max.sync_store.refund_stage import StagedRefund
from shopify_max.sync_store.states import RefundOutcomeCode, RefundStatus

log = logging.getLogger(__name__)

FLOW = "refunds_to_max"
OPEN_REFUNDS_PER_RUN = 2000  # what one export takes up (RefundStage.open_refunds' limit)
INBOX_CLAIMS_PER_RUN = 500  # the deliveries one capture claims (Inbox.claim_inbox's default)
EVERY_OPEN_REFUND = 10**9  # the dry run decides them all, and notes when one run would not take them all up


class RefundDryRunOutcome(StrEnum):
    """What a real run would do with one refund (the ``refunds`` table's ``outcome``)."""

    WOULD_EXPORT = "would_export"  # a new credit memo
    WOULD_FAIL = "would_fail"  # the error queue (a long wait included), with the reason in ``would_fail``
    ALREADY_EXPORTED = "already_exported"  # id_map holds its memo, or MAX holds one with its CUSTPO
    SKIPPED = "skipped"  # waits for its order or invoice, no memo (cancelled before shipping, nothing to credit)
    UNCHANGED = "unchanged"  # settled earlier (skipped or failed): a real run does not take it up again


class MaxReader(Protocol):
    def get_sales_order(self, ordnum: str) -> Any: ...
    def find_credit_memos_by_custpo(self, custpo: str) -> list[Any]: ...


@dataclass
class _Refund:
    """One refund a real run would take up or find settled (or a delivery holding none), and what it would do."""

    refund: Any  # ShopifyRefund, as the export reads it from the stage; None for an unreadable delivery
    source: str  # new ones, which a real run stages: "webhook" or "poll"; staged before: "sync store"
    staged: StagedRefund | None = None
    outcome: RefundDryRunOutcome | None = None
    reason: str = ""
    ordnum: str | None = None
    mapped: MappedRefund | None = None
    max_order: Any = None
    record_key: str | None = None  # an unreadable delivery's key: the refund gid, else ``inbox:<id>``

    @property
    def refund_gid(self) -> str:
        return self.refund.id if self.refund is not None else self.record_key or ""

    @property
    def order_gid(self) -> str | None:
        return self.refund.order_id if self.refund is not None else None


def _fail(report: DryRunReport, record: str, field_name: str, reason: str, message: str) -> None:
    """One record a real run would fail, with the reason its error-queue item would hold (secrets redacted)."""
    report.fail(record, field_name, reason, redact_text(message))


def record_of(refund_gid: str, order_gid: str) -> str:
    return f"refund {refund_gid} of order {order_gid}"


def dry_run_refunds(store: SyncStore, shopify: Any, max_reader: MaxReader, rules: RefundRules,
                    reference_codes: Callable[[], Any], *, window: tuple[datetime, datetime],
                    overlap: timedelta = timedelta(minutes=10)) -> DryRunReport:
    """What a real ``refunds_to_max`` run over ``window`` (widened by ``overlap`` at the start) would write, skip and
    send to the error queue, given the sync store as it is now. ``reference_codes`` reads MAX's codes for the suite
    (called once, and only when a memo is mapped)."""
    from shopify_max.shopify.models import ShopifyRefund

    report = DryRunReport(flow=FLOW)
    start, end = window[0] - overlap, window[1]
    report.notes.append(f"window: orders with refunds updated from {start.isoformat()} to {end.isoformat()} "
                        f"({window[0].isoformat()} less the {overlap} overlap)")
    found: dict[str, tuple[dict[str, Any], str]] = {}  # refund gid → (the refund as staged, source), in staging order
    unreadable = _unreadable_and_new_from_the_inbox(store, found, report)
    settled, orders_polled, returns = _poll(store, shopify, start, end, found)
    taken_up = [_Refund(ShopifyRefund.model_validate(row.refund), "sync store", row)
                for row in store.open_refunds(limit=EVERY_OPEN_REFUND)]
    taken_up += [_Refund(ShopifyRefund.model_validate(body), source) for body, source in found.values()]
    if len(taken_up) > OPEN_REFUNDS_PER_RUN:
        report.notes.append(f"{len(taken_up)} refunds to take up: a real run takes up {OPEN_REFUNDS_PER_RUN} "
                            "(oldest staged first); the next runs take the rest")
    if returns:
        report.notes.append(f"{len(returns)} order(s) with a return not refunded yet (reported, not credited): "
                            + ", ".join(returns[:20]))

    decider = _Decider(store, max_reader, rules)
    candidates = [item for item in taken_up if not decider.decide(item, report)]
    _validate_and_cap(store, candidates, reference_codes, report)

    everything = unreadable + taken_up + settled
    outcomes = Counter(item.outcome for item in everything)
    report.read = {"orders_polled": orders_polled, "refunds": len(taken_up) + len(settled),
                   "unreadable_deliveries": len(unreadable), "returns_awaiting_refund": len(returns),
                   **{str(outcome): outcomes.get(outcome, 0) for outcome in RefundDryRunOutcome}}
    report.would_write = {"credit_memos": outcomes.get(RefundDryRunOutcome.WOULD_EXPORT, 0)}
    report.tables["refunds"] = [
        {"refund": item.refund_gid, "order": item.order_gid, "source": item.source, "outcome": str(item.outcome),
         "reason": item.reason, "ordnum": item.ordnum,
         "credit_memo_total": str(item.mapped.total) if item.mapped and item.mapped.memo else None}
        for item in everything]
    for item in everything:
        log.info("dry run: %s: %s (%s)", record_of(item.refund_gid, item.order_gid), item.outcome,
                 redact_text(item.reason))
    return report


def _unreadable_and_new_from_the_inbox(store: SyncStore, found: dict[str, tuple[dict[str, Any], str]],
                                       report: DryRunReport) -> list[_Refund]:
    """As capture reads the ``refunds/create`` deliveries waiting in the inbox (without claiming them): the refunds
    the sync store does not hold yet go into ``found``; a body that makes no refund is a capture failure."""
    from shopify_max.shopify.refund_payload import UnreadableRefundPayload, refund_from_webhook_body

    unreadable = []
    for row in waiting_deliveries(store, [REFUNDS_TOPIC], INBOX_CLAIMS_PER_RUN):
        try:
            refund = refund_from_webhook_body(row.payload)
        except Exception as exc:  # noqa: BLE001 - as capture: whatever a body makes the reader raise is an item
            key = row.resource_gid or f"inbox:{row.id}"
            message = (f"refunds/create delivery {row.webhook_id} cannot be read: "
                       f"{exc if isinstance(exc, UnreadableRefundPayload) else repr(exc)[:500]}. The poll finds the "
                       "refund by its order; resolve the item once it is exported")
            unreadable.append(_Refund(None, "webhook", outcome=RefundDryRunOutcome.WOULD_FAIL,
                                      reason=f"capture_failed: {message}", record_key=key))
            _fail(report, f"refunds/create delivery {row.webhook_id} ({key})", "body", "capture_failed",
                  message)
            continue
        if refund.id not in found and not store.staged_refund_ids([refund.id]):
            found[refund.id] = (_as_staged(refund), "webhook")
    return unreadable


def _as_staged(refund: Any) -> dict[str, Any]:
    """The refund as the export reads it back from ``refund_stage``: note dropped, through JSON."""
    return json.loads(json.dumps(staged_refund_body(refund), sort_keys=True, default=str))


def _poll(store: SyncStore, shopify: Any, start: datetime, end: datetime,
          found: dict[str, tuple[dict[str, Any], str]]) -> tuple[list[_Refund], int, list[str]]:
    """As ``pipeline.capture_refunds`` polls: the refunds a real run would stage go into ``found``; returns the
    window's refunds staged before and settled, how many orders were read, and the orders with an open return."""
    from shopify_max.shopify.models import ShopifyRefund

    settled: dict[str, _Refund] = {}
    orders_polled, returns = 0, []
    for order in shopify.iter_refunded_orders(start, end):
        orders_polled += 1
        if order.return_status in OPEN_RETURN_STATUSES:
            returns.append(order.name)
        staged = store.staged_refunds(order.refund_ids)
        for row in staged.values():  # open ones are among the sync store's open refunds
            if row.status not in (RefundStatus.CAPTURED, RefundStatus.WAITING, RefundStatus.EXPORTING) or (
                    row.status == RefundStatus.EXPORTING and _lease_is_live(row)):
                settled[row.refund_gid] = _settled(ShopifyRefund.model_validate(row.refund), row)
        missing = set(order.refund_ids) - set(staged) - set(found)
        if not missing:
            continue
        for refund in shopify.refunds_of_order(order.order_gid) or []:
            if refund.id in missing:
                found[refund.id] = (_as_staged(refund), "poll")
    return list(settled.values()), orders_polled, returns


def _lease_is_live(row: StagedRefund) -> bool:
    return row.lease_expires_at is not None and row.lease_expires_at >= utcnow()


def _settled(refund: Any, row: StagedRefund) -> _Refund:
    """A refund of the window a real run does not take up: exported, settled earlier, or being written now."""
    if row.status == RefundStatus.EXPORTING:
        return _Refund(refund, "sync store", row, RefundDryRunOutcome.SKIPPED,
                       "in flight (exporting): another writer holds its lease and settles it")
    outcome = (RefundDryRunOutcome.ALREADY_EXPORTED if row.status == RefundStatus.EXPORTED
               else RefundDryRunOutcome.UNCHANGED)
    return _Refund(refund, "sync store", row, outcome, f"{row.status} earlier ({row.outcome_code}): {row.reason or ''}",
                   row.credit_memo_ordnum)


class _Decider:
    """The export's decisions up to the cap, for one refund at a time (``RefundExport.export_one``), with each MAX
    order and line map read once."""

    def __init__(self, store: SyncStore, max_reader: MaxReader, rules: RefundRules) -> None:
        self.store, self.max_reader, self.rules = store, max_reader, rules
        self.orders: dict[str, Any] = {}

    def max_order(self, ordnum: str | None) -> Any:
        if not ordnum:
            return None
        if ordnum not in self.orders:
            self.orders[ordnum] = self.max_reader.get_sales_order(ordnum)
        return self.orders[ordnum]

    def decide(self, item: _Refund, report: DryRunReport) -> bool:
        """True when the refund is decided; False when its memo is mapped and waits for the cap and the suite."""
        refund, store = item.refund, self.store

        def fail(code: RefundOutcomeCode, field_name: str, reason: str) -> bool:
            item.outcome, item.reason = RefundDryRunOutcome.WOULD_FAIL, f"{code}: {reason}"
            _fail(report, record_of(refund.id, refund.order_id), field_name, str(code),
                  f"refund {refund.id} of {refund.order_id}: {reason}")
            return True

        known = store.max_key_for(REFUND_ENTITY, refund.id)
        if known:
            item.outcome, item.ordnum = RefundDryRunOutcome.ALREADY_EXPORTED, known
            item.reason = f"credit memo {known} already in MAX (id_map)"
            return True
        if item.staged is not None and item.staged.status == RefundStatus.EXPORTING:  # a writer died: MAX decides
            custpo = credit_memo_custpo(refund, self.rules)
            memos = self.max_reader.find_credit_memos_by_custpo(custpo)
            if memos:
                item.outcome, item.ordnum = RefundDryRunOutcome.ALREADY_EXPORTED, memos[0].ORDNUM
                item.reason = f"credit memo {memos[0].ORDNUM} found in MAX by CUSTPO {custpo}"
                return True
        item.ordnum = store.max_key_for(ORDER_ENTITY, refund.order_id)
        item.max_order = self.max_order(item.ordnum)
        gate = order_gate(refund, item.ordnum, item.max_order, self.rules)
        if gate is not None and gate.error_stage is not None:
            return fail(gate.code, "order_id", gate.reason)
        if gate is not None:
            item.outcome, item.reason = RefundDryRunOutcome.SKIPPED, f"{gate.code}: {gate.reason}"
            return True
        try:
            item.mapped = map_refund(refund, item.max_order, store.order_line_map(item.ordnum), self.rules)
        except Exception as exc:  # noqa: BLE001 - as the export: one refund's surprise is its own failure
            return fail(RefundOutcomeCode.MAPPING_FAILED, "refund", f"cannot be made a credit memo: "
                        f"{type(exc).__name__}: {exc}")
        if not item.mapped.problems and item.mapped.memo is None:
            item.outcome = RefundDryRunOutcome.SKIPPED
            item.reason = f"{RefundOutcomeCode.NOTHING_TO_CREDIT}: {NOTHING_TO_CREDIT}"
            return True
        if item.mapped.problems:
            first = item.mapped.problems[0]
            return fail(problem_code(first), first.field, "; ".join(p.text() for p in item.mapped.problems))
        return False


def _validate_and_cap(store: SyncStore, candidates: list[_Refund], reference_codes: Callable[[], Any],
                      report: DryRunReport) -> None:
    """The suite once over every mapped memo, then, refund by refund in the export's order, the order's cap (with the
    memos this dry run would write before it) and the suite's verdict."""
    from shopify_max.validation.sales_orders import validate_sales_orders

    if not candidates:
        return
    suite = validate_sales_orders([item.mapped.memo for item in candidates], reference_codes())
    would_credit: dict[str, Decimal] = defaultdict(Decimal)
    for item in candidates:
        refund, mapped = item.refund, item.mapped
        earlier = earlier_memos_total(store, refund.order_id, refund.id) + would_credit[refund.order_id]
        problem = cap_problem(earlier, item.ordnum, item.max_order, mapped)
        failures = [failure.message() for failure in suite.failures_by_order.get(mapped.memo.CUSTPO, [])]
        if problem is not None:
            code, field_name, reason = RefundOutcomeCode.EXCEEDS_ORDER, problem.field, problem.text()
        elif failures:
            code, field_name = RefundOutcomeCode.VALIDATION_FAILED, suite.failures_by_order[mapped.memo.CUSTPO][0].column
            reason = "the credit memo fails validation: " + "; ".join(failures)
        else:
            would_credit[refund.order_id] += mapped.total
            item.outcome = RefundDryRunOutcome.WOULD_EXPORT
            item.reason = f"credit memo {mapped.memo.CUSTPO} for {mapped.total} against invoice {mapped.memo.APPINV}"
            continue
        item.outcome, item.reason = RefundDryRunOutcome.WOULD_FAIL, f"{code}: {reason}"
        _fail(report, record_of(refund.id, refund.order_id), field_name, str(code),
              f"refund {refund.id} of {refund.order_id}: {reason}")
