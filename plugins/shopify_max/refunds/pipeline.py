"""Shopify refunds → Exact MAX credit memos, exactly once (docs/refunds.md).

1. ``capture_refunds``: ``refunds/create`` deliveries from the inbox, then an overlapping poll of orders whose
   refunds changed in the window (webhooks get lost); each refund staged once, whatever its deliveries.
2. ``RefundExport.run`` (the ``export_credit_memos`` task): for each open refund, under its write lease: wait while
   the order is not in MAX or not invoiced; skip when MAX cancelled the order before shipping; otherwise map
   (``mapper``), check the order's cap, validate (Great Expectations, as sales orders), and write the credit memo.
   A refund taken over from a writer that died is looked up by its CUSTPO first; a lost answer is settled by the
   hook's CUSTPO lookup; the refund ⇄ memo pair goes to ``id_map`` (entity ``refund``) at once.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from shopify_max.clock import utcnow
from shopify_max.money import CENT
from shopify_max.refunds.mapper import MappedRefund, RefundProblem, map_refund
from shopify_max.refunds.rules import RefundRules
from shopify_max.shopify.refund_api import OPEN_RETURN_STATUSES
from shopify_max.sync_store import AuditEntry, SyncStore
from shopify_max.sync_store.refund_stage import StagedRefund
from shopify_max.sync_store.states import (
    ErrorEntity,
    InboxStatus,
    RefundErrorStage,
    RefundOutcomeCode,
    RefundStatus,
)

log = logging.getLogger(__name__)

REFUNDS_TOPIC = "refunds/create"
POLL_WATERMARK = "refunds.poll"
REFUND_ENTITY = "refund"
ORDER_ENTITY = "order"
DEFAULT_LEASE = timedelta(minutes=5)
INBOX_CLAIM_TIMEOUT = timedelta(minutes=15)  # a claimed delivery whose worker died goes back to the inbox after this


class RefundLeaseLost(RuntimeError):
    """The refund's write lease expired before the send: nothing was sent; the next run takes it up."""


def staged_refund_body(refund: Any) -> dict[str, Any]:
    """The refund as staged: without its note (free text a person typed: personal data the flow does not need)."""
    return {**refund.model_dump(mode="json"), "note": None}


def capture_refunds(store: SyncStore, shopify: Any, *, run_id: str, window: tuple[datetime, datetime],
                    overlap: timedelta, source: str = "poll") -> dict[str, Any]:
    from shopify_max.shopify.refund_payload import UnreadableRefundPayload, refund_from_webhook_body

    counts: dict[str, int] = defaultdict(int)
    requeued, poisoned = store.requeue_stale_inbox(INBOX_CLAIM_TIMEOUT, topics=[REFUNDS_TOPIC])
    counts["deliveries_requeued"], counts["deliveries_poisoned"] = requeued, len(poisoned)
    for row in poisoned:  # claimed again and again, and never finished: it kills whoever reads it
        store.record_error(entity=ErrorEntity.REFUND, record_key=row.resource_gid or f"inbox:{row.id}",
                           stage=RefundErrorStage.CAPTURE, payload=row.payload,
                           reason=f"refunds/create delivery {row.webhook_id} was claimed {row.claims} times and never "
                                  "finished (it stops whoever reads it); the poll finds the refund by its order",
                           detail={"inbox_id": row.id, "topic": row.topic, "webhook_id": row.webhook_id})
    for row in store.claim_inbox(topics=[REFUNDS_TOPIC], worker=run_id):
        counts["deliveries"] += 1
        try:
            refund = refund_from_webhook_body(row.payload)
        except Exception as exc:  # noqa: BLE001 - whatever a body makes the reader raise, it is the error queue's
            store.record_error(entity=ErrorEntity.REFUND, record_key=row.resource_gid or f"inbox:{row.id}",
                               stage=RefundErrorStage.CAPTURE, payload=row.payload,
                               reason=f"refunds/create delivery {row.webhook_id} cannot be read: "
                                      f"{exc if isinstance(exc, UnreadableRefundPayload) else repr(exc)[:500]}. The poll "
                                      "finds the refund by its order; resolve the item once it is exported",
                               detail={"inbox_id": row.id, "topic": row.topic, "webhook_id": row.webhook_id})
            store.mark_inbox([row.id], InboxStatus.FAILED)
            counts["unreadable"] += 1
            continue
        counts["staged"] += store.stage_refund(refund.id, refund.order_id, staged_refund_body(refund), source="webhook",
                                               run_id=run_id)
        store.mark_inbox([row.id], InboxStatus.PROCESSED)
    start, end = window
    returns: list[dict[str, str]] = []
    for order in shopify.iter_refunded_orders(start - overlap, end):
        counts["orders_polled"] += 1
        if order.return_status in OPEN_RETURN_STATUSES:  # reported, not credited: a refund is what reaches MAX
            returns.append({"order": order.order_gid, "name": order.name, "return_status": order.return_status})
        missing = set(order.refund_ids) - store.staged_refund_ids(order.refund_ids)
        if not missing:
            continue
        for refund in shopify.refunds_of_order(order.order_gid) or []:
            if refund.id in missing:
                counts["staged"] += store.stage_refund(refund.id, refund.order_id, staged_refund_body(refund),
                                                       source=source, run_id=run_id)
    if source != "backfill":  # forward only, and never by a backfill window (sync_store/watermarks.py)
        store.advance_time_watermark(POLL_WATERMARK, end, run_id=run_id)
    if returns:
        log.info("%d order(s) with a return not refunded yet (reported, not credited): %s", len(returns),
                 ", ".join(item["name"] for item in returns[:20]))
    return {**counts, "returns_awaiting_refund": returns[:50]}


def _cancelled_before_shipping(max_order: Any) -> bool:
    return str(max_order.STATUS).strip() == "4" and not max_order.INVCE and all(
        not (line.SHPQTY or 0) and not (line.INVQTY or 0) for line in max_order.lines)


def _order_total(max_order: Any) -> Decimal:
    return sum((line.PRICE * line.ORGQTY + sum(((getattr(line, f"TAX{n}") or Decimal(0)) for n in (1, 2, 3)),
                                               Decimal(0)) for line in max_order.lines), Decimal(0)).quantize(CENT)


NOTHING_TO_CREDIT = "the refund credits nothing (no amount on any line, shipping or adjustment)"


@dataclass(frozen=True)
class OrderGate:
    """A refund that is not credited now, because of its MAX order: it waits, or needs no credit memo."""

    status: RefundStatus
    code: RefundOutcomeCode
    reason: str
    error_stage: RefundErrorStage | None = None  # set once it has waited longer than ``max_wait_days``


def order_gate(refund: Any, ordnum: str | None, max_order: Any, rules: RefundRules) -> OrderGate | None:
    """Whether the refund waits (its order is not in MAX, or not invoiced) or needs no memo (MAX cancelled the order
    before anything shipped), from the MAX order as read; None: it is credited now. Reads and writes nothing."""
    waited = utcnow() - refund.created_at
    if max_order is None or not max_order.INVCE and not _cancelled_before_shipping(max_order):
        code = RefundOutcomeCode.WAITING_FOR_ORDER if max_order is None else RefundOutcomeCode.WAITING_FOR_INVOICE
        why = ("its order is not in MAX yet (not exported, or on the error queue): it is credited once the order "
               "is exported and invoiced" if max_order is None else
               f"MAX has not invoiced order {ordnum} yet: nothing to credit until it does")
        long_wait = waited > timedelta(days=rules.max_wait_days)
        return OrderGate(RefundStatus.WAITING, code, f"waiting {waited.days} day(s): {why}",
                         RefundErrorStage.EXPORT if long_wait else None)
    if _cancelled_before_shipping(max_order):
        return OrderGate(RefundStatus.SKIPPED, RefundOutcomeCode.CANCELLED_BEFORE_SHIPPING,
                         f"MAX order {ordnum} was cancelled before anything shipped (the orders flow cancels it): no "
                         "credit memo")
    return None


def earlier_memos_total(store: SyncStore, order_gid: str, refund_gid: str) -> Decimal:
    """What the credit memos this flow exported for the order's other refunds credit (``refund_stage``)."""
    return sum((other.credit_memo_total or Decimal(0) for other in store.refunds_of_order(order_gid)
                if other.status == RefundStatus.EXPORTED and other.refund_gid != refund_gid), Decimal(0))


def cap_problem(earlier: Decimal, ordnum: str, max_order: Any, mapped: MappedRefund) -> RefundProblem | None:
    """An ``excess`` problem when ``earlier`` memos and this one together credit more than MAX holds for the order."""
    ordered = _order_total(max_order)
    if earlier + mapped.total <= ordered:
        return None
    return RefundProblem(RefundErrorStage.EXCESS, "total", (
        f"with this one, the order's credit memos would credit {earlier + mapped.total} (earlier memos "
        f"{earlier}, this {mapped.total}) but MAX order {ordnum} holds {ordered}: excess "
        f"{earlier + mapped.total - ordered}"))


def problem_code(first: RefundProblem) -> RefundOutcomeCode:
    """The outcome of a refund whose first problem is ``first``."""
    return {RefundErrorStage.TOTALS: RefundOutcomeCode.TOTALS_DIFFER,
            RefundErrorStage.EXCESS: RefundOutcomeCode.EXCEEDS_ORDER}.get(first.stage, RefundOutcomeCode.MAPPING_FAILED)


def credit_memo_custpo(refund: Any, rules: RefundRules) -> str:
    return rules.custpo_format.format(refund_id=refund.legacy_id)


class RefundExport:
    """One run's export of open refunds: the flow's connections, and what it decided, for the summary."""

    def __init__(self, store: SyncStore, max_hook: Any, rules: RefundRules, validate: Callable[[list], list[str]],
                 *, run_id: str, task_id: str | None, lease: timedelta) -> None:
        self.store, self.max_hook, self.rules, self.validate = store, max_hook, rules, validate
        self.run_id, self.task_id, self.lease = run_id, task_id, lease
        self.counts: dict[str, int] = defaultdict(int)

    def settle(self, staged: StagedRefund, status: RefundStatus, code: RefundOutcomeCode, reason: str, *,
               owner: str | None, stage: RefundErrorStage | None = None, detail: dict | None = None,
               memo: tuple[str, Decimal] | None = None) -> None:
        item = None
        if stage is not None:
            item = self.store.record_error(entity=ErrorEntity.REFUND, record_key=staged.refund_gid, stage=stage,
                                           reason=f"refund {staged.refund_gid} of {staged.order_gid}: {reason}",
                                           payload=staged.refund, detail={"order_gid": staged.order_gid,
                                                                          "code": str(code), **(detail or {})})
        elif staged.error_queue_id and status in (RefundStatus.EXPORTED, RefundStatus.SKIPPED):
            self.store.resolve_error(staged.error_queue_id, note=f"{code} by run {self.run_id}",
                                     acted_by="refunds_to_max")
        self.store.settle_refund(staged.refund_gid, status, code, reason, run_id=self.run_id, error_queue_id=item,
                                 owner=owner, credit_memo_ordnum=memo[0] if memo else None,
                                 credit_memo_total=memo[1] if memo else None)
        self.counts[str(code)] += 1

    def run(self) -> dict[str, int]:
        from shopify_max.shopify.models import ShopifyRefund

        for staged in self.store.open_refunds():
            owner = f"{self.run_id}/{self.task_id or 'task'}/{uuid.uuid4().hex[:12]}"
            leased = self.store.take_refund_lease(staged.refund_gid, owner=owner, ttl=self.lease)
            if leased is None:
                self.counts["left_to_another_writer"] += 1
                continue
            try:
                self.export_one(leased, ShopifyRefund.model_validate(leased.refund), owner, taken_over=(
                    staged.status == RefundStatus.EXPORTING))
            except RefundLeaseLost as lost:  # nothing sent: the next run takes it up
                self.counts["lease_lost"] += 1
                log.warning("%s", lost)
            except Exception:
                self.store.release_refund_lease(staged.refund_gid, owner=owner, status=RefundStatus.CAPTURED)
                raise
        return dict(self.counts)

    def export_one(self, staged: StagedRefund, refund: Any, owner: str, *, taken_over: bool = False) -> None:
        known = self.store.max_key_for(REFUND_ENTITY, staged.refund_gid)
        if known:  # recorded, its outcome perhaps not (a crash in between): MAX's memo gives the total
            memo = self.max_hook.get_credit_memo(known) if staged.credit_memo_total is None else None
            self.settle(staged, RefundStatus.EXPORTED, RefundOutcomeCode.ALREADY_EXPORTED,
                        f"credit memo {known} already in MAX (id_map)", owner=owner,
                        memo=(known, staged.credit_memo_total if memo is None else memo.total))
            return
        if taken_over:  # the writer before died with the memo perhaps on its way: MAX's memos by CUSTPO decide
            custpo = credit_memo_custpo(refund, self.rules)
            found = self.max_hook.find_credit_memos_by_custpo(custpo)
            if found:
                self.store.record_id_mapping(REFUND_ENTITY, staged.refund_gid, found[0].ORDNUM, run_id=self.run_id)
                self.settle(staged, RefundStatus.EXPORTED, RefundOutcomeCode.FOUND_IN_MAX,
                            f"credit memo {found[0].ORDNUM} found in MAX by CUSTPO {custpo} (written by an attempt "
                            "that died)", owner=owner, memo=(found[0].ORDNUM, found[0].total))
                return
        ordnum = self.store.max_key_for(ORDER_ENTITY, staged.order_gid)
        max_order = self.max_hook.get_sales_order(ordnum) if ordnum else None
        gate = order_gate(refund, ordnum, max_order, self.rules)
        if gate is not None:
            self.settle(staged, gate.status, gate.code, gate.reason, owner=owner, stage=gate.error_stage)
            return
        try:
            mapped = map_refund(refund, max_order, self.store.order_line_map(ordnum), self.rules)
        except Exception as exc:  # noqa: BLE001 - pure mapping: one refund's surprise must not stop the others
            self.settle(staged, RefundStatus.FAILED, RefundOutcomeCode.MAPPING_FAILED,
                        f"cannot be made a credit memo: {type(exc).__name__}: {exc}", owner=owner,
                        stage=RefundErrorStage.MAP, detail={"ordnum": ordnum})
            return
        if not mapped.problems and mapped.memo is None:
            self.settle(staged, RefundStatus.SKIPPED, RefundOutcomeCode.NOTHING_TO_CREDIT, NOTHING_TO_CREDIT,
                        owner=owner)
            return
        if not mapped.problems:
            self.check_cap(staged, ordnum, max_order, mapped)
        if mapped.problems:
            first = mapped.problems[0]
            self.settle(staged, RefundStatus.FAILED, problem_code(first), "; ".join(p.text() for p in mapped.problems),
                        owner=owner, stage=first.stage,
                        detail={"ordnum": ordnum, "difference": str(mapped.difference),
                                "memo_total": str(mapped.total), "refunded": str(mapped.refunded)})
            return
        failures = self.validate([mapped.memo])
        if failures:
            self.settle(staged, RefundStatus.FAILED, RefundOutcomeCode.VALIDATION_FAILED,
                        "the credit memo fails validation: " + "; ".join(failures), owner=owner,
                        stage=RefundErrorStage.VALIDATE, detail={"ordnum": ordnum})
            return
        self.write(staged, ordnum, mapped, owner)

    def check_cap(self, staged: StagedRefund, ordnum: str, max_order: Any, mapped: MappedRefund) -> None:
        """Every credit memo of the order together never exceeds what MAX holds for the order."""
        problem = cap_problem(earlier_memos_total(self.store, staged.order_gid, staged.refund_gid), ordnum, max_order,
                              mapped)
        if problem is not None:
            mapped.problems.append(problem)

    def write(self, staged: StagedRefund, ordnum: str, mapped: MappedRefund, owner: str) -> None:
        from shopify_max.exactmax.errors import ExactMaxRejected

        def before_send() -> None:
            if not self.store.renew_refund_lease(staged.refund_gid, owner=owner, ttl=self.lease):
                raise RefundLeaseLost(f"refund {staged.refund_gid}: the write lease expired before sending; nothing "
                                      "was sent")

        try:
            result = self.max_hook.create_credit_memo(mapped.memo, before_send=before_send)
        except ExactMaxRejected as rejected:
            self.settle(staged, RefundStatus.FAILED, RefundOutcomeCode.REJECTED_BY_MAX, f"MAX refused the credit memo: "
                        f"{rejected}", owner=owner, stage=RefundErrorStage.EXPORT, detail={"ordnum": ordnum})
            return
        self.store.record_id_mapping(REFUND_ENTITY, staged.refund_gid, result.ORDNUM, run_id=self.run_id)
        self.store.write_audit([AuditEntry(
            entity=REFUND_ENTITY, record_key=staged.refund_gid, direction="shopify_to_max", outcome="exported",
            request=mapped.memo.model_dump(mode="json"), response={**result.model_dump(mode="json"),
                                                                   "rules_applied": mapped.applied},
            run_id=self.run_id, task_id=self.task_id)])
        found = result.recovered or result.already_existed
        self.settle(staged, RefundStatus.EXPORTED,
                    RefundOutcomeCode.FOUND_IN_MAX if found else RefundOutcomeCode.EXPORTED,
                    f"credit memo {result.ORDNUM} for {mapped.total} against invoice {mapped.memo.APPINV}",
                    owner=owner, memo=(result.ORDNUM, mapped.total))


def summarise_refunds_run(store: SyncStore, *, run_id: str, capture: dict[str, Any],
                          export: dict[str, Any]) -> dict[str, Any]:
    """Every refund this run took up is exported, skipped (waiting included) or failed: the figures add up."""
    rows = store.refund_outcomes(run_id)
    buckets: dict[str, list[StagedRefund]] = {"exported": [], "skipped": [], "failed": []}
    for row in rows:
        bucket = {RefundStatus.EXPORTED: "exported", RefundStatus.FAILED: "failed"}.get(row.status, "skipped")
        if row.status == RefundStatus.WAITING and row.error_queue_id:
            bucket = "failed"  # waited past max_wait_days: a person looks at it
        buckets[bucket].append(row)
    waiting = [row for row in rows if row.status == RefundStatus.WAITING]
    return {
        "refunds": len(rows), "exported": len(buckets["exported"]), "skipped": len(buckets["skipped"]),
        "failed": len(buckets["failed"]), "waiting": len(waiting),
        "by_outcome": dict(sorted(Counter(str(row.outcome_code) for row in rows).items())),
        "credit_memos": [{"refund": row.refund_gid, "ordnum": row.credit_memo_ordnum,
                          "total": str(row.credit_memo_total)} for row in buckets["exported"][:50]],
        "error_queue_ids": [row.error_queue_id for row in buckets["failed"] if row.error_queue_id][:50],
        "failed_refunds": [{"refund": row.refund_gid, "order": row.order_gid, "code": str(row.outcome_code),
                            "error_queue_id": row.error_queue_id, "reason": row.reason} for row in buckets["failed"][:50]],
        "waiting_refunds": [{"refund": row.refund_gid, "order": row.order_gid, "code": str(row.outcome_code),
                             "reason": row.reason} for row in waiting[:50]],
        "capture": capture, "export": export,
    }

