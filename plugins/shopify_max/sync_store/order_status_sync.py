"""``order_status_sync`` and ``invoice_sync``: what Shopify was last told about each exported MAX order (status,
invoices, payment), and each MAX invoice's amount check and capture (docs/fulfilment.md).

Rules:

- every order in ``id_map`` is enrolled once; a shipment, invoice or payment marks it due, and orders not yet final
  are re-checked after a while (a MAX status can change with nothing else to say so);
- an invoice is staged once; its capture is made at most once: ``capture_started_at`` is written before the send,
  and a capture that may have committed without its answer is looked for in Shopify before anything is sent again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update

from shopify_max.clock import utcnow
from shopify_max.sync_store.common import TableAccess, insert_for
from shopify_max.sync_store.tables import id_map, invoice_sync, order_status_sync

ORDER_ENTITY = "order"


@dataclass(frozen=True)
class OrderStatusRow:
    ordnum: str
    order_gid: str
    max_status: str | None
    pushed_digest: str | None
    due: bool
    final: bool
    closed_in_shopify: bool
    marked_paid: bool
    error_queue_id: int | None
    checked_at: datetime | None


@dataclass(frozen=True)
class InvoiceRow:
    invce: str
    ordnum: str
    order_gid: str | None
    invoice: dict[str, Any]
    check_status: str  # pending, ok, mismatch
    difference: str | None
    capture_status: str  # not_wanted, pending, capturing, captured, not_needed, not_capturable, blocked, failed
    capture_transaction_gid: str | None
    capture_started_at: datetime | None
    paid_total: str | None
    error_queue_id: int | None


def _status_row(r: Any) -> OrderStatusRow:
    return OrderStatusRow(r.ordnum, r.order_gid, r.max_status, r.pushed_digest, bool(r.due), bool(r.final),
                          bool(r.closed_in_shopify), bool(r.marked_paid), r.error_queue_id, r.checked_at)


def _invoice_row(r: Any) -> InvoiceRow:
    return InvoiceRow(r.invce, r.ordnum, r.order_gid, json.loads(r.invoice_json), r.check_status, r.difference,
                      r.capture_status, r.capture_transaction_gid, r.capture_started_at, r.paid_total,
                      r.error_queue_id)


class OrderStatusSync(TableAccess):
    def enrol_exported_orders(self, *, run_id: str | None = None, limit: int = 1000) -> int:
        """Orders exported to MAX (``id_map``) that this table does not hold yet, enrolled as due."""
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(id_map.c.max_key, id_map.c.shopify_gid)
                .outerjoin(order_status_sync, order_status_sync.c.ordnum == id_map.c.max_key)
                .where(id_map.c.entity == ORDER_ENTITY, order_status_sync.c.ordnum.is_(None))
                .order_by(id_map.c.id).limit(limit)).all()
            insert = insert_for(conn)(order_status_sync)
            for ordnum, gid in rows:
                conn.execute(insert.values(ordnum=ordnum, order_gid=gid, due=True, final=False, closed_in_shopify=False,
                                           marked_paid=False, run_id=run_id)
                             .on_conflict_do_nothing(index_elements=[order_status_sync.c.ordnum]))
        return len(rows)

    def mark_order_status_due(self, ordnums: Iterable[str]) -> int:
        keys = sorted({str(o).strip() for o in ordnums})
        if not keys:
            return 0
        with self.engine.begin() as conn:
            return conn.execute(update(order_status_sync).where(order_status_sync.c.ordnum.in_(keys))
                                .values(due=True)).rowcount

    def order_status_candidates(self, *, checked_before: datetime, limit: int) -> list[OrderStatusRow]:
        """Due orders first, then orders not yet final whose last check is older than ``checked_before``."""
        with self.engine.begin() as conn:
            rows = conn.execute(select(order_status_sync).where(or_(
                order_status_sync.c.due.is_(True),
                and_(order_status_sync.c.final.is_(False),
                     or_(order_status_sync.c.checked_at.is_(None), order_status_sync.c.checked_at < checked_before))))
                .order_by(order_status_sync.c.due.desc(), order_status_sync.c.checked_at.is_not(None),
                          order_status_sync.c.checked_at, order_status_sync.c.ordnum).limit(limit)).all()
        return [_status_row(r) for r in rows]

    def order_status_rows(self, ordnums: Iterable[str]) -> dict[str, OrderStatusRow]:
        keys = [str(o) for o in ordnums]
        with self.engine.begin() as conn:
            rows = conn.execute(select(order_status_sync).where(order_status_sync.c.ordnum.in_(keys))).all() \
                if keys else []
        return {r.ordnum: _status_row(r) for r in rows}

    def record_order_status(self, ordnum: str, *, max_status: str | None, run_id: str,
                            pushed_digest: str | None = None, final: bool | None = None,
                            closed_in_shopify: bool | None = None, marked_paid: bool | None = None,
                            still_due: bool = False, error_queue_id: int | None = None) -> None:
        now = utcnow()
        values: dict[str, Any] = {"max_status": max_status, "due": still_due, "checked_at": now, "run_id": run_id,
                                  "error_queue_id": error_queue_id}
        if pushed_digest is not None:
            values.update(pushed_digest=pushed_digest, pushed_at=now)
        for name, value in (("final", final), ("closed_in_shopify", closed_in_shopify), ("marked_paid", marked_paid)):
            if value is not None:
                values[name] = value
        with self.engine.begin() as conn:
            conn.execute(update(order_status_sync).where(order_status_sync.c.ordnum == ordnum).values(**values))

    # ----- invoices -----
    def stage_invoice(self, invce: str, ordnum: str, order_gid: str | None, invoice: dict[str, Any], *,
                      capture_wanted: bool, run_id: str | None = None) -> bool:
        """Record a MAX invoice once; True when it is new."""
        now = utcnow()
        with self.engine.begin() as conn:
            return conn.execute(insert_for(conn)(invoice_sync).values(
                invce=invce, ordnum=ordnum, order_gid=order_gid,
                invoice_json=json.dumps(invoice, sort_keys=True, default=str), check_status="pending",
                capture_status="pending" if capture_wanted else "not_wanted", run_id=run_id, first_seen=now,
                updated_at=now).on_conflict_do_nothing(index_elements=[invoice_sync.c.invce])).rowcount == 1

    def invoices_of_order(self, ordnum: str) -> list[InvoiceRow]:
        with self.engine.begin() as conn:
            rows = conn.execute(select(invoice_sync).where(invoice_sync.c.ordnum == ordnum)
                                .order_by(invoice_sync.c.invce)).all()
        return [_invoice_row(r) for r in rows]

    def invoice_rows(self, invces: Iterable[str]) -> dict[str, InvoiceRow]:
        keys = [str(i) for i in invces]
        with self.engine.begin() as conn:
            rows = conn.execute(select(invoice_sync).where(invoice_sync.c.invce.in_(keys))).all() if keys else []
        return {r.invce: _invoice_row(r) for r in rows}

    def update_invoice(self, invce: str, **values: Any) -> None:
        """Set the check, capture or payment columns of one invoice (names as in ``invoice_sync``)."""
        with self.engine.begin() as conn:
            conn.execute(update(invoice_sync).where(invoice_sync.c.invce == invce)
                         .values(**values, updated_at=utcnow()))

    def record_invoice_payment(self, invce: str, paid_total: str) -> str | None:
        """What MAX has recorded as paid on an invoice; returns its order number (None: not an invoice held)."""
        with self.engine.begin() as conn:
            row = conn.execute(select(invoice_sync.c.ordnum).where(invoice_sync.c.invce == invce)).first()
            if row is None:
                return None
            conn.execute(update(invoice_sync).where(invoice_sync.c.invce == invce)
                         .values(paid_total=paid_total, updated_at=utcnow()))
            return row.ordnum

    def reopen_invoice(self, invce: str) -> bool:
        """A person fixed an invoice's cause (a replay): check it again, and capture it if the capture was wanted;
        its order is due."""
        with self.engine.begin() as conn:
            row = conn.execute(select(invoice_sync.c.ordnum, invoice_sync.c.capture_status)
                               .where(invoice_sync.c.invce == str(invce))).first()
            if row is None:
                return False
            capture = "pending" if row.capture_status in ("blocked", "failed", "not_capturable") else row.capture_status
            conn.execute(update(invoice_sync).where(invoice_sync.c.invce == str(invce)).values(
                check_status="pending", capture_status=capture, error_queue_id=None, updated_at=utcnow()))
            conn.execute(update(order_status_sync).where(order_status_sync.c.ordnum == row.ordnum).values(due=True))
            return True
