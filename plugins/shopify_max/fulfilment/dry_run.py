"""Fulfilment dry run: what a ``fulfilment_to_shopify`` run would send to Shopify now, with nothing sent or stored.

The run is followed step by step, reading what a real run reads (MAX from the stored cursors, or from
``since_shipment``; Shopify's orders; the sync store) and deciding by the same code:

1. **Shipments**: those a run would take up (open in the sync store, or new after the cursor), order by order, through
   :func:`.shipments.fulfil_order` itself, with a :class:`DryRunOrderWriter` in place of the real writer: a create
   or a move is counted and applied to an in-memory copy of the order, so the next shipment of the same order is
   decided against what Shopify would then hold.
2. **Tracking changes**: :func:`.tracking_updates.tracking_change` on each shipment with a change (held, or read now).
3. **Order status, invoices, payments**: orders that would be enrolled or due, and those due for a re-check; each
   invoice checked (:func:`.order_state.check_invoice`), the status metafields and tag compared with what was last
   written (:func:`.status.status_update`), capture (:func:`.capture.decide_capture`), mark paid and close.

``would_write`` counts the Shopify writes by kind (``fulfilments``, ``fulfillment_order_moves``,
``tracking_updates``, ``order_updates`` (status metafields and tag of one order), ``captures``,
``orders_marked_paid``, ``orders_closed``); ``would_fail`` lists what would go to the error queue. What only Shopify
can answer (a refusal, a lost answer) is not foreseen.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from shopify_max.clock import utcnow
from shopify_max.dry_run import DryRunReport
from shopify_max.fulfilment.capture import decide_capture
from shopify_max.fulfilment.dry_run_writer import DryRunOrderWriter, shipment_record
from shopify_max.fulfilment.order_state import check_invoice, invoice_entry, max_state
from shopify_max.fulfilment.rules import FulfilmentRules
from shopify_max.fulfilment.shipments import (
    ORDER_ENTITY,
    SHIPMENTS_WATERMARK,
    TRACKING_WATERMARK,
    fulfil_order,
)
from shopify_max.fulfilment.status import (
    INVOICES_WATERMARK,
    PAYABLE_STATUSES,
    PAYMENTS_WATERMARK,
    invoice_mismatch_reason,
    shopify_can_close,
    status_update,
    wants_close,
    wants_mark_paid,
)
from shopify_max.fulfilment.tracking_updates import removed_in_max_reason, tracking_change
from shopify_max.sync_store import SyncStore
from shopify_max.sync_store.order_status_sync import InvoiceRow, OrderStatusRow
from shopify_max.sync_store.shipment_sync import ShipmentRow
from shopify_max.sync_store.states import ShipmentOutcomeCode, ShipmentStatus

FLOW = "fulfilment"
WRITES = ("fulfilments", "fulfillment_order_moves", "tracking_updates", "order_updates", "captures",
          "orders_marked_paid", "orders_closed")
OPEN_SHIPMENTS_LIMIT = 5000  # as SyncStore.open_shipments: at most this many shipments a run
ENROL_LIMIT = 1000  # as SyncStore.enrol_exported_orders
PAGE = 200
# The field at fault, for outcomes decided against Shopify's order (a mapping problem names its own field).


def in_chunks(read: Callable[[list[str]], dict[str, Any]], keys: list[str], size: int = 500) -> dict[str, Any]:
    """A sync-store read by keys, a few hundred keys a query (a database limits the parameters of one statement)."""
    found: dict[str, Any] = {}
    for start in range(0, len(keys), size):
        found.update(read(keys[start:start + size]))
    return found


# ----- 1. shipments --------------------------------------------------------------------------------------------
@dataclass
class ShipmentsRead:
    open_rows: list[ShipmentRow]  # what create_shopify_fulfilments would take up, in its order
    changed: dict[str, list[dict[str, str]]]  # shipment id -> its newest tracking from the tracking-changes read
    new: dict[str, ShipmentRow]  # read now, not yet in the sync store


def _staged(shipment: dict[str, Any]) -> ShipmentRow:
    """A shipment as staging would hold it (status pending), without staging it."""
    stored = json.loads(json.dumps(shipment, sort_keys=True, default=str))
    return ShipmentRow(str(shipment["shipment_id"]), str(shipment["ORDNUM"]).strip(), None, stored,
                       ShipmentStatus.PENDING, None, None, {}, [], None, None, None, 0, None)


def with_tracking_change(row: ShipmentRow, tracking: list[dict[str, str]]) -> ShipmentRow:
    """As ``SyncStore.note_tracking_change`` leaves the row: the change pending and the staged copy's numbers new."""
    first = tracking[0] if tracking else {}
    shipment = {**row.shipment, "tracking": tracking, "tracking_number": first.get("tracking_number", ""),
                "carrier": first.get("carrier", "")}
    return replace(row, shipment=shipment, tracking_pending=tracking)


def read_shipments(store: SyncStore, hook: Any, report: DryRunReport, since: str | None) -> ShipmentsRead:
    start = str(since) if since not in (None, "") else store.get_watermark(SHIPMENTS_WATERMARK) or "0"
    read = [shipment.model_dump(mode="json") for shipment in hook.iter_shipments(start, page_size=PAGE)]
    held = in_chunks(store.shipments, [str(s["shipment_id"]) for s in read])
    new = {str(s["shipment_id"]): _staged(s) for s in read if str(s["shipment_id"]) not in held}
    changed: dict[str, list[dict[str, str]]] = {}
    tracking_read = 0
    for shipment in hook.iter_tracking_changes(store.get_watermark(TRACKING_WATERMARK) or "0", page_size=PAGE):
        tracking_read += 1
        changed[shipment.shipment_id] = [t.model_dump(mode="json") for t in shipment.tracking]
    rows = {row.shipment_id: row for row in store.open_shipments(limit=OPEN_SHIPMENTS_LIMIT)}
    rows.update(new)
    for shipment_id, tracking in changed.items():
        if shipment_id in rows:
            rows[shipment_id] = with_tracking_change(rows[shipment_id], tracking)
    open_rows = sorted(rows.values(), key=lambda row: (row.ordnum, row.shipment_id))[:OPEN_SHIPMENTS_LIMIT]
    report.read.update({"shipments_from": int(start) if start.isdigit() else 0, "shipments": len(read),
                        "shipments_new": len(new), "shipments_taken_up": len(open_rows),
                        "tracking_changes": tracking_read})
    return ShipmentsRead(open_rows, changed, new)


def fulfil(store: SyncStore, api: Any, rules: FulfilmentRules, rows: list[ShipmentRow], report: DryRunReport,
           line_map_source: Callable[[str, str], list | None] | None) -> dict[str, DryRunOrderWriter]:
    """Every shipment a run would take up, order by order, as ``fulfil_shipments`` takes them; the writers by order."""
    by_order: dict[str, list[ShipmentRow]] = defaultdict(list)
    for row in rows:
        by_order[row.ordnum].append(row)
    writers: dict[str, DryRunOrderWriter] = {}
    counts: dict[str, int] = defaultdict(int)
    names = {location.id: location.name for location in api.list_locations()} if by_order else {}
    for ordnum, order_rows in by_order.items():
        order_gid = store.shopify_gid_for(ORDER_ENTITY, ordnum)
        if order_gid is None:
            for row in order_rows:
                report.tables.setdefault("fulfilments", []).append({
                    "shipment_id": row.shipment_id, "ordnum": ordnum, "order_gid": None, "outcome": "skipped",
                    "code": str(ShipmentOutcomeCode.NOT_FROM_SHOPIFY), "would_send": "", "ship_via": "",
                    "tracking": "", "reason": f"MAX order {ordnum} was not exported from Shopify by this integration"})
            continue
        writers[ordnum] = writer = DryRunOrderWriter(store, api, ordnum, order_gid, rules, report, line_map_source,
                                                     names)
        fulfil_order(writer, order_rows, counts)
    report.read["orders_with_shipments"] = len(writers)
    if counts.get("unknown_ship_via"):
        report.notes.append(f"{counts['unknown_ship_via']} shipment(s) have a ship-via not in carriers.csv: their "
                            "tracking numbers would go without a carrier")
    return writers


# ----- 2. tracking changes ---------------------------------------------------------------------------------------
def update_tracking(store: SyncStore, rules: FulfilmentRules, shipments: ShipmentsRead, report: DryRunReport) -> None:
    rows = {row.shipment_id: row for row in store.shipments_with_tracking_changes()}
    held = in_chunks(store.shipments, [shipment_id for shipment_id in shipments.changed if shipment_id not in rows])
    for shipment_id, tracking in shipments.changed.items():
        row = rows.get(shipment_id) or held.get(shipment_id) or shipments.new.get(shipment_id)
        if row is not None:  # never staged: the shipments read brings it with the new numbers
            rows[shipment_id] = with_tracking_change(row, tracking)
    table = report.tables.setdefault("tracking_updates", [])
    for row in rows.values():
        change = tracking_change(row, rules)
        if change.kind == "update":
            report.add_write("tracking_updates", len(change.fulfilments))
            table.append({"shipment_id": row.shipment_id, "ordnum": row.ordnum, "fulfilments": len(change.fulfilments),
                          "from": ", ".join(row.tracking), "to": ", ".join(change.numbers)})
        elif change.kind == "removed_in_max":
            report.fail(shipment_record(row), "tracking", "tracking_removed_in_max", removed_in_max_reason(row))


# ----- 3. order status, invoices and payments ---------------------------------------------------------------------
@dataclass
class InvoicesRead:
    by_order: dict[str, list[InvoiceRow]]  # ordnum -> its invoices as the run would hold them (staged and read now)
    due: set[str]


def read_invoices_and_payments(store: SyncStore, hook: Any, rules: FulfilmentRules,
                               report: DryRunReport) -> InvoicesRead:
    new: dict[str, InvoiceRow] = {}
    due: set[str] = set()
    counts: dict[str, int] = defaultdict(int)
    for invoice in hook.iter_invoices(store.get_watermark(INVOICES_WATERMARK) or ""):
        if invoice.kind != "invoice":
            counts["credit_memos_left_to_refunds"] += 1
        elif (order_gid := store.shopify_gid_for(ORDER_ENTITY, invoice.ORDNUM)) is None:
            counts["invoices_not_from_shopify"] += 1
        else:
            if invoice.INVCE not in store.invoice_rows([invoice.INVCE]):
                counts["invoices_new"] += 1
                new[invoice.INVCE] = InvoiceRow(
                    invoice.INVCE, invoice.ORDNUM, order_gid,
                    json.loads(json.dumps(invoice.model_dump(mode="json"), sort_keys=True, default=str)), "pending",
                    None, "pending" if rules.capture_on_invoice else "not_wanted", None, None, None, None)
            due.add(invoice.ORDNUM)
    paid: dict[str, str] = {}
    for payment in hook.iter_payments(store.get_watermark(PAYMENTS_WATERMARK) or "0"):
        held = new.get(payment.INVCE) or store.invoice_rows([payment.INVCE]).get(payment.INVCE)
        if held is not None:
            counts["payments"] += 1
            paid[payment.INVCE] = str(payment.paid_total)
            due.add(held.ordnum)
    report.read.update(counts)
    by_order: dict[str, list[InvoiceRow]] = defaultdict(list)
    for ordnum in due | {inv.ordnum for inv in new.values()}:
        invoices = {inv.invce: inv for inv in store.invoices_of_order(ordnum)}
        invoices.update({invce: inv for invce, inv in new.items() if inv.ordnum == ordnum})
        by_order[ordnum] = [replace(inv, paid_total=paid.get(invce, inv.paid_total))
                            for invce, inv in sorted(invoices.items())]
    return InvoicesRead(by_order, due)


def status_candidates(store: SyncStore, rules: FulfilmentRules, due: set[str], report: DryRunReport) -> list[OrderStatusRow]:
    """The orders ``sync_order_status`` would check: enrolled now or due first, then the oldest checks."""
    exported = {ordnum: gid for gid, ordnum in store.id_mappings(ORDER_ENTITY).items()}
    enrolled = in_chunks(store.order_status_rows, list(exported))
    to_enrol = [ordnum for ordnum in exported if ordnum not in enrolled][:ENROL_LIMIT]
    rows = {row.ordnum: row for row in store.order_status_candidates(
        checked_before=utcnow() - timedelta(minutes=rules.status_recheck_minutes), limit=rules.status_batch)}
    rows.update({ordnum: replace(row, due=True) for ordnum, row in enrolled.items() if ordnum in due})
    rows.update({ordnum: OrderStatusRow(ordnum, exported[ordnum], None, None, True, False, False, False, None, None)
                 for ordnum in to_enrol})
    report.read["orders_to_enrol"] = len(to_enrol)
    return sorted(rows.values(), key=lambda row: (not row.due, row.checked_at is not None, row.checked_at,
                                                  row.ordnum))[:rules.status_batch]


def sync_order_status(store: SyncStore, hook: Any, api: Any, rules: FulfilmentRules, report: DryRunReport,
                      writers: dict[str, DryRunOrderWriter], taken_up: Iterable[str]) -> None:
    invoices = read_invoices_and_payments(store, hook, rules, report)
    rows = status_candidates(store, rules, invoices.due | set(taken_up), report)
    statuses = hook.order_statuses([row.ordnum for row in rows]) if rows else {}
    report.read.update({"orders_checked": len(rows), "orders_not_in_max": sum(1 for row in rows
                                                                               if row.ordnum not in statuses)})
    table = report.tables.setdefault("order_updates", [])
    for row in rows:
        status = statuses.get(row.ordnum)
        if status is None:
            continue
        writer = writers.get(row.ordnum)
        line_map = (writer.rebuilt_line_map if writer and writer.rebuilt_line_map
                    else store.order_line_map(row.ordnum))
        freight = {(r.linnum, r.delnum) for r in line_map if r.line_kind == "shipping"}
        state = max_state(status, bool(getattr(status, "cancelled", False)), freight)
        held = invoices.by_order.get(row.ordnum)
        order_invoices = _checked(api, row, held if held is not None else store.invoices_of_order(row.ordnum),
                                  line_map, rules, report)
        entries = [invoice_entry(inv.invoice, rules.terms_due_days, inv.invoice.get("TERMS")) for inv in order_invoices]
        writes = []
        update = status_update(row.order_gid, row.ordnum, state, entries, rules)
        if update.digest != row.pushed_digest:
            report.add_write("order_updates")
            writes.append(f"status {state}" + (f", tag {update.tag!r}" if update.tag else ""))
        capturing = [inv for inv in order_invoices if inv.check_status == "ok"
                     and inv.capture_status in ("pending", "capturing")]
        closing, paying = wants_close(rules, row, state), wants_mark_paid(rules, row, state, order_invoices, entries)
        if capturing or closing or paying:
            shopify = writer.state if writer and writer.read else api.order_fulfilment_state(row.order_gid)
            taken = {inv.capture_transaction_gid for inv in order_invoices if inv.capture_transaction_gid}
            for inv, entry in zip(order_invoices, entries, strict=True):
                if inv in capturing:
                    shopify = _capture(report, row, inv, Decimal(entry["amount"]), shopify, taken, writes)
            if paying and shopify and shopify.display_financial_status in PAYABLE_STATUSES:
                report.add_write("orders_marked_paid")
                writes.append("mark paid")
            if closing and shopify and shopify_can_close(shopify):
                report.add_write("orders_closed")
                writes.append("close")
        if writes:
            table.append({"ordnum": row.ordnum, "order_gid": row.order_gid, "max_state": state,
                          "would_write": "; ".join(writes)})


def _checked(api: Any, row: OrderStatusRow, invoices: list[InvoiceRow], line_map: list, rules: FulfilmentRules,
             report: DryRunReport) -> list[InvoiceRow]:
    """Each invoice not yet checked, checked against Shopify's order: the invoices as the check leaves them."""
    if not any(inv.check_status == "pending" for inv in invoices):
        return invoices
    order = api.get_order(row.order_gid)
    checked = []
    for inv in invoices:
        if inv.check_status == "pending":
            check = check_invoice(inv.invoice, order, line_map, rules.invoice_tolerance_per_line) if order else None
            if check is not None and check.ok:
                inv = replace(inv, check_status="ok")
            else:
                report.fail(f"MAX invoice {inv.invce} (order {row.ordnum})", "INVCE.total" if check and not
                            check.problems else "INVCE.lines", "invoice_amount", invoice_mismatch_reason(check))
                inv = replace(inv, check_status="mismatch",
                              capture_status="blocked" if inv.capture_status == "pending" else inv.capture_status)
        checked.append(inv)
    return checked


def _capture(report: DryRunReport, row: OrderStatusRow, inv: InvoiceRow, amount: Decimal, shopify: Any,
             taken: set[str], writes: list[str]) -> Any:
    decision = decide_capture(inv, amount, shopify, taken)
    if decision.kind == "capture":
        report.add_write("captures")
        writes.append(f"capture {amount} for invoice {inv.invce}")
        return shopify.model_copy(update={"total_capturable": Decimal(shopify.total_capturable) - amount})
    if decision.kind in ("not_capturable", "no_order"):
        report.fail(f"MAX invoice {inv.invce} (order {row.ordnum})", "capture", "not_capturable"
                    if decision.kind == "not_capturable" else "order_not_in_shopify", decision.reason)
    return shopify


# ----- the whole run ------------------------------------------------------------------------------------------------
def dry_run_fulfilment(store: SyncStore, hook: Any, api: Any, rules: FulfilmentRules, *, since: str | None = None,
                       line_map_source: Callable[[str, str], list | None] | None = None) -> DryRunReport:
    """What a run would send to Shopify now (``since``: a backfill from that MAX shipment id); nothing is sent or
    stored. ``hook`` reads MAX, ``api`` reads Shopify, ``store`` is only read."""
    report = DryRunReport(FLOW)
    for kind in WRITES:
        report.add_write(kind, 0)
    shipments = read_shipments(store, hook, report, since)
    writers = fulfil(store, api, rules, shipments.open_rows, report, line_map_source)
    update_tracking(store, rules, shipments, report)
    sync_order_status(store, hook, api, rules, report, writers, (row.ordnum for row in shipments.open_rows))
    outcomes = defaultdict(int)
    for row in report.tables.get("fulfilments", []):
        outcomes[row["outcome"]] += 1
    report.read.update({f"shipments_{outcome}": count for outcome, count in sorted(outcomes.items())})
    report.notes.append("Shopify's own answers (a refusal, a lost answer) and other writers are not foreseen; the "
                        "figures are what a run sends when Shopify accepts everything.")
    return report
