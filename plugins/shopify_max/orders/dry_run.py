"""``dry_run_orders``: what ``orders_to_max`` would do over a window, with every read, mapping and Great
Expectations check real and nothing written (``shopify_max.dry_run``).

Each order read goes through the decisions a real run takes, in the same order and with the same code:

1. capture: what capture reads (versions held back by a settled MAX write, the order webhooks waiting in the inbox,
   read without claiming them, and the poll of the window), then
   :func:`~shopify_max.orders.capture.decide_capture` on the row the sync store holds for each order (new,
   unchanged, stale, in flight, exported earlier, edited or cancelled after export);
2. map: :func:`~shopify_max.orders.map_and_validate.map_staged_copy`, with the customer accounts ``id_map`` holds;
3. validate: the sales-order suite, once for every mapped order (``validation.sales_orders``);
4. export: :func:`~shopify_max.orders.export.earlier_export` (``id_map``, then MAX by CUSTPO) and, for a new
   per-customer account, MAX by CUSTID (the export creates the account only when MAX has none);
5. cancellations: MAX's order as read, by :func:`~shopify_max.orders.export.cancellation_decision`.

The sync store is only read: no stage row, error-queue item, audit entry, inbox claim, watermark or lease changes.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import select

from shopify_max.dry_run import DryRunReport
from shopify_max.exactmax.errors import ExactMaxDuplicateCustpo
from shopify_max.exactmax.models import SalesOrder
from shopify_max.mappings.loader import Mappings
from shopify_max.orders.capture import (
    CaptureAction,
    OrderSource,
    decide_capture,
    edited_after_export_reason,
    problem_text,
    refuse_unusable_identity,
)
from shopify_max.orders.export import (
    CancelAction,
    cancellation_decision,
    cannot_cancel_reason,
    duplicate_custpo_reason,
    earlier_export,
)
from shopify_max.orders.map_and_validate import map_staged_copy, validation_failure_reason
from shopify_max.orders.outcome import MappedOrder, recordable_text
from shopify_max.orders.stage_versions import material_changes, order_digests, version_key
from shopify_max.orders.webhook_payload import order_from_webhook_body
from shopify_max.redaction import redact_text
from shopify_max.shopify.models import Order
from shopify_max.sync_store import StagedOrder, SyncStore
from shopify_max.sync_store.inbox import InboxRow
from shopify_max.sync_store.states import InboxStatus, OrderStageStatus
from shopify_max.sync_store.tables import inbox
from shopify_max.webhooks import ORDER_TOPICS

log = logging.getLogger(__name__)

FLOW = "orders_to_max"
INBOX_LIMIT = 5000  # the deliveries one capture claims (capture_orders' inbox_limit)
# The parts of an order the export carries (stage_versions.material_of) as Shopify names them.
_MATERIAL_FIELDS = {"lines": "line_items", "shipping": "shipping_lines", "total": "total_price",
                    "ship_to": "shipping_address", "bill_to": "billing_address", "customer": "customer"}


class DryRunOutcome(StrEnum):
    """What a real run would do with one order read (the ``orders`` table's ``outcome``)."""

    WOULD_EXPORT = "would_export"  # a new MAX sales order
    WOULD_CANCEL = "would_cancel"  # cancelled in Shopify after export: the MAX order would be cancelled
    WOULD_FAIL = "would_fail"  # the error queue, with the reason in ``would_fail``
    ALREADY_EXPORTED = "already_exported"  # in id_map, or found in MAX by its CUSTPO: nothing sent
    SKIPPED = "skipped"  # a rule skips it (cancelled before export, test order…) or another run is writing it
    UNCHANGED = "unchanged"  # read before, and not changed since: a real run does nothing with it


class MaxReader(Protocol):
    """The MAX reads a dry run makes (``ExactMaxHook``: each a GET)."""

    def find_sales_order_by_custpo(self, custpo: str) -> SalesOrder | None: ...
    def get_sales_order(self, ordnum: str) -> SalesOrder | None: ...
    def get_customer(self, custid: str) -> Any: ...


@dataclass
class _Decided:
    """One order read (or a delivery that holds no readable order), and what a real run would do with it."""

    order: Order | None
    name: str
    gid: str
    origin: str  # where capture would read it: "webhook", "poll" or "deferred" (a version held back by a write)
    outcome: DryRunOutcome | None = None
    reason: str = ""
    custid: str | None = None

    @classmethod
    def of(cls, order: Order, origin: str) -> _Decided:
        return cls(order, order.name, order.id, origin)


def _fail(report: DryRunReport, record: str, field_name: str, reason: str, message: str) -> None:
    """One record a real run would fail, with the reason its error-queue item would hold (secrets redacted)."""
    report.fail(record, field_name, reason, redact_text(message))


def waiting_deliveries(store: SyncStore, topics: Sequence[str], limit: int) -> list[InboxRow]:
    """The webhook deliveries a real run would claim (new, of ``topics``, oldest first), read without claiming them:
    the selection of ``Inbox.claim_inbox``, whose claim is a write."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(inbox).where(inbox.c.status == InboxStatus.NEW, inbox.c.topic.in_(list(topics)))
                            .order_by(inbox.c.id).limit(limit)).mappings().all()
    return [InboxRow(id=r["id"], webhook_id=r["webhook_id"], event_id=r["event_id"], topic=r["topic"],
                     resource_gid=r["resource_gid"], payload=r["payload"], status=InboxStatus(r["status"]),
                     received_at=r["received_at"], triggered_at=r["triggered_at"], claims=r["claims"]) for r in rows]


def record_of(order_name: str, order_gid: str) -> str:
    """How a person finds the order: ``order #1001 (gid://shopify/Order/…)``."""
    return f"order {order_name} ({order_gid})"


def dry_run_orders(store: SyncStore, source: OrderSource, max_reader: MaxReader, mappings: Mappings,
                   reference_codes: Callable[[], Any], *, window: tuple[datetime, datetime],
                   overlap: timedelta = timedelta(minutes=10)) -> DryRunReport:
    """What a real ``orders_to_max`` run over ``window`` (widened by ``overlap`` at the start, as the poll is) would
    write, skip and send to the error queue, given the sync store as it is now. ``reference_codes`` reads MAX's
    codes for the suite (called once, and only when an order is mapped)."""
    report = DryRunReport(flow=FLOW)
    start, end = window[0] - overlap, window[1]
    report.notes.append(f"window: orders updated from {start.isoformat()} to {end.isoformat()} "
                        f"({window[0].isoformat()} less the {overlap} overlap)")
    decided = _read_as_capture_does(store, source, start, end, report)
    staged_rows = store.staged_orders(gid for gid, item in decided.items() if item.order is not None)
    to_map: list[_Decided] = []
    to_cancel: list[tuple[_Decided, StagedOrder]] = []
    for gid, item in decided.items():
        if item.order is None or item.outcome is not None:
            continue  # refused at capture
        staged = staged_rows.get(gid)
        action = decide_capture(item.order, staged, order_digests(item.order))
        if action in (CaptureAction.NEW, CaptureAction.TAKE_UP_AGAIN, CaptureAction.MAP_AGAIN):
            to_map.append(item)
        elif action == CaptureAction.CANCEL_IN_MAX:
            to_cancel.append((item, staged))
        else:
            _settle_at_capture(report, item, action, staged)

    mapped = _map(store, mappings, to_map, report)
    validated = _validate(mapped, reference_codes, report)
    _export(store, max_reader, validated, report)
    _cancel(max_reader, to_cancel, report)

    outcomes = Counter(item.outcome for item in decided.values())
    report.read = {"orders": len(decided), **{str(outcome): outcomes.get(outcome, 0) for outcome in DryRunOutcome}}
    report.would_write = {"sales_orders": outcomes.get(DryRunOutcome.WOULD_EXPORT, 0),
                          "customers": len(report.tables.get("new_customers", [])),
                          "cancellations": outcomes.get(DryRunOutcome.WOULD_CANCEL, 0)}
    report.tables["orders"] = [
        {"order": item.name, "shopify_id": item.gid, "source": item.origin, "outcome": str(item.outcome),
         "reason": item.reason, "custid": item.custid,
         "total": str(item.order.total_price_set.shop_money.amount) if item.order else None}
        for item in decided.values()]
    report.tables.setdefault("rules_applied", [])
    report.tables.setdefault("new_customers", [])
    for item in decided.values():
        log.info("dry run: %s: %s%s", record_of(item.name, item.gid), item.outcome,
                 f" ({redact_text(item.reason)})" if item.reason else "")
    return report


def _read_as_capture_does(store: SyncStore, source: OrderSource, start: datetime, end: datetime,
                          report: DryRunReport) -> dict[str, _Decided]:
    """What capture reads, in its order, keeping the newest version of each order: the versions held back by a MAX
    write that has settled, the order webhooks waiting in the inbox (not claimed), then the poll of the window.
    A delivery or an order that capture would refuse is a ``capture_failed`` failure."""
    latest: dict[str, _Decided] = {}

    def keep(order: Order, origin: str) -> None:
        current = latest.get(order.id)
        if current is None or current.order is None or version_key(order) >= version_key(current.order):
            latest[order.id] = _Decided.of(order, origin)

    def refuse(key: str, name: str, gid: str, origin: str, record: str, field_name: str, message: str) -> None:
        latest[key] = _Decided(None, name, gid, origin, DryRunOutcome.WOULD_FAIL, f"capture_failed: {message}")
        _fail(report, record, field_name, "capture_failed", message)

    for staged in store.orders_with_settled_deferred_versions():
        try:
            keep(Order.model_validate_json(staged.deferred_json or ""), "deferred")
        except ValueError as exc:  # capture logs it and the next poll re-reads the order
            report.notes.append(f"order {staged.order_name}: the version held back cannot be read ({exc})")
    for delivery in waiting_deliveries(store, ORDER_TOPICS, INBOX_LIMIT):
        try:
            order = order_from_webhook_body(delivery.payload)
            order.model_dump_json()
            refuse_unusable_identity(order)
        except Exception as exc:  # noqa: BLE001 - as capture: any unreadable delivery is one failure
            key = delivery.resource_gid or f"webhook {delivery.webhook_id}"  # capture's record key
            refuse(f"inbox {delivery.id}", key, delivery.resource_gid or "", "webhook",
                   f"webhook {delivery.webhook_id} ({delivery.topic})"
                   + (f" of {delivery.resource_gid}" if delivery.resource_gid else ""), "body",
                   f"webhook {delivery.webhook_id} ({delivery.topic}) was not processed: it is not a readable "
                   f"order: {problem_text(exc)}")
            continue
        keep(order, "webhook")
    for order in source.iter_orders_updated(start, end):
        try:
            refuse_unusable_identity(order)
        except ValueError as exc:
            key = recordable_text(order.id, 80) or ""
            name = recordable_text(order.name, 80) or ""
            refuse(f"poll {len(latest)}: {key}", name, key, "poll", record_of(name, key), "admin_graphql_api_id",
                   f"order {key} read by the poll cannot be staged: {exc}")
            continue
        keep(order, "poll")
    return latest


def _settle_at_capture(report: DryRunReport, item: _Decided, action: CaptureAction, staged: StagedOrder) -> None:
    """Capture decides these orders itself: nothing is mapped or sent for them."""
    order = item.order
    if action == CaptureAction.UNCHANGED:
        item.outcome, item.reason = DryRunOutcome.UNCHANGED, f"unchanged since last read ({staged.status})"
    elif action == CaptureAction.EXPORTED_EARLIER:
        item.outcome = DryRunOutcome.ALREADY_EXPORTED
        item.reason = (f"already exported as ORDNUM {staged.max_ordnum}; changes since do not touch the MAX "
                       "order")
    elif action == CaptureAction.EDITED_AFTER_EXPORT:
        try:
            changed = material_changes(Order.model_validate_json(staged.order_json or ""), order)
        except ValueError:  # the copy held was erased (a privacy request): the fields cannot be named
            changed = []
        fields = ", ".join(_MATERIAL_FIELDS[part] for part in changed) or "order"
        message = edited_after_export_reason(order, staged)
        item.outcome, item.reason = DryRunOutcome.WOULD_FAIL, f"edited_after_export: {fields}"
        _fail(report, record_of(order.name, order.id), fields, "edited_after_export", message)
    elif action == CaptureAction.STALE:
        item.outcome, item.reason = DryRunOutcome.SKIPPED, f"stale: older than the version held ({staged.status})"
    elif action == CaptureAction.WRITE_UNDER_WAY:
        item.outcome = DryRunOutcome.SKIPPED
        item.reason = f"in flight ({staged.status}): a MAX write is under way; its writer settles it"
    else:  # CaptureAction.DEFER_BEHIND_WRITE
        item.outcome = DryRunOutcome.SKIPPED
        item.reason = f"in flight ({staged.status}): this newer version waits until the MAX write settles"


def _map(store: SyncStore, mappings: Mappings, items: list[_Decided],
         report: DryRunReport) -> list[tuple[_Decided, MappedOrder]]:
    mapped = []
    for item in items:
        order = item.order
        result = map_staged_copy(store, mappings, order.model_dump_json(), order_gid=order.id, order_name=order.name)
        if result.outcome == OrderStageStatus.FAILED:
            first = result.errors[0]
            item.outcome = DryRunOutcome.WOULD_FAIL
            item.reason = "mapping_failed: " + ", ".join(dict.fromkeys(error.rule for error in result.errors))
            _fail(report, record_of(order.name, order.id), first.field, first.rule, result.error_reason())
        elif result.outcome == OrderStageStatus.SKIPPED:
            item.outcome, item.reason = DryRunOutcome.SKIPPED, f"{result.skip_code}: {result.skip_reason}"
        else:
            item.custid = result.sales_order.CUSTID
            mapped.append((item, result))
    return mapped


def _validate(mapped: list[tuple[_Decided, MappedOrder]], reference_codes: Callable[[], Any],
              report: DryRunReport) -> list[tuple[_Decided, MappedOrder, SalesOrder]]:
    """One run of the suite over every mapped order, on the documents as the map step stores them."""
    from shopify_max.validation.sales_orders import validate_sales_orders

    documents = [SalesOrder.model_validate(result.sales_order.model_dump(mode="json")) for _item, result in mapped]
    if not documents:
        return []
    suite = validate_sales_orders(documents, reference_codes())
    passed = []
    for (item, result), document in zip(mapped, documents, strict=True):
        failures = suite.failures_by_order.get(document.CUSTPO)
        if not failures:
            passed.append((item, result, document))
            continue
        order = item.order
        item.outcome = DryRunOutcome.WOULD_FAIL
        item.reason = "validation_failed: " + ", ".join(dict.fromkeys(f.column for f in failures))
        _fail(report, record_of(order.name, order.id), failures[0].column, failures[0].expectation,
              validation_failure_reason(order.name, order.id, failures))
    return passed


def _export(store: SyncStore, max_reader: MaxReader, validated: list[tuple[_Decided, MappedOrder, SalesOrder]],
            report: DryRunReport) -> None:
    rules_applied = report.tables.setdefault("rules_applied", [])
    new_customers = report.tables.setdefault("new_customers", [])
    accounts_seen: set[str] = set()
    for item, result, document in validated:
        order = item.order
        try:
            earlier = earlier_export(store, max_reader, order.id, document.CUSTPO)
        except ExactMaxDuplicateCustpo as duplicate:
            item.outcome, item.reason = DryRunOutcome.WOULD_FAIL, f"duplicate_custpo: {document.CUSTPO}"
            _fail(report, record_of(order.name, order.id), "CUSTPO", "duplicate_custpo",
                  duplicate_custpo_reason(order.name, order.id, duplicate))
            continue
        if earlier is not None:
            item.outcome = DryRunOutcome.ALREADY_EXPORTED
            item.reason = (f"already exported as ORDNUM {earlier.ordnum} (id_map)" if earlier.max_order is None else
                           f"already in MAX as ORDNUM {earlier.ordnum} (found by CUSTPO {document.CUSTPO})")
            continue
        item.outcome, item.reason = DryRunOutcome.WOULD_EXPORT, f"CUSTPO {document.CUSTPO} on CUSTID {document.CUSTID}"
        rules_applied += [{"order": order.name, **rule.as_dict()} for rule in result.rules_applied
                          if rule.before != rule.after]
        customer, gid = result.new_customer, result.customer_gid
        # The export creates the account before the order, once per Shopify customer, unless id_map or MAX holds it.
        if customer is None or gid is None or gid in accounts_seen:
            continue
        accounts_seen.add(gid)
        if store.max_key_for("customer", gid) is None and max_reader.get_customer(customer.CUSTID) is None:
            new_customers.append({"shopify_customer_id": gid, "custid": customer.CUSTID, "name": customer.NAME})


def _cancel(max_reader: MaxReader, items: list[tuple[_Decided, StagedOrder]], report: DryRunReport) -> None:
    for item, staged in items:
        order, ordnum = item.order, staged.max_ordnum or ""
        action, why = cancellation_decision(max_reader.get_sales_order(ordnum))
        if action == CancelAction.CANNOT:
            item.outcome, item.reason = DryRunOutcome.WOULD_FAIL, f"cannot_cancel: {why}"
            _fail(report, record_of(order.name, order.id), "cancelled_at", "cannot_cancel",
                  cannot_cancel_reason(order.name, ordnum, why))
        elif action == CancelAction.ALREADY_CANCELLED:
            item.outcome, item.reason = DryRunOutcome.SKIPPED, f"already cancelled in MAX: ORDNUM {ordnum}"
        else:
            item.outcome, item.reason = DryRunOutcome.WOULD_CANCEL, f"cancel ORDNUM {ordnum} in MAX"
