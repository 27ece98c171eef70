"""What the fulfilment flow reads besides new shipments and invoices: later tracking changes, order statuses by
ORDNUM, and payments. Same page shape and conventions as :mod:`max_gateway.sql.reads`.

How MAX records the end of an order (``SO_Master.STATUS_27``/``SO_Detail.STATUS_28``: 3 open, 4 closed,
EXACTMAX.md) and how a caller tells the cases apart in the status read:
- **cancelled** (``POST /cancellations``, ``writes.cancel_sales_order``): status 4 on the header and every line,
  ``REASON_27`` set to the reason given (blank when none was given), and only ever while nothing has shipped, so
  every line has ``SHPQTY`` 0 and ``INVQTY`` 0 and the order has no ``INVCE``. MAX keeps no separate cancel flag.
- **closed by invoicing**: status 4 once every line is invoiced in full (``INVQTY`` = ``ORGQTY``); ``INVCE`` names
  the last invoice.
- **closed by hand** (MAX's close screen; ``/_sandbox/close``): status 4 whatever shipped; ``REASON_27`` unchanged.
  A hand-closed order with nothing shipped looks exactly like a cancellation without a reason, and means the same
  for the shop: nothing more will ship.
``BCKQTY_28`` is returned as stored: the reference gateway's ship operation does not maintain it (it stays 0);
``ORGQTY - SHPQTY`` is what is still due on an open line.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Connection, func, select

from max_gateway.sql import tables as t
from max_gateway.sql.reads import jsonable, shipments_by_id

MAX_ORDNUMS_PER_STATUS_READ = 200


def list_tracking_changes(conn: Connection, since: int, limit: int) -> dict:
    """Shipments whose tracking numbers changed after ``since`` (a ``CHGSEQ_X``), oldest change first.

    ``limit`` counts changes (``X_Tracking_Change`` rows), not shipments: a shipment changed several times within
    one page appears once, as it is now, with ``change_seq`` its latest change of the page. Each item has exactly
    the shape of a ``/shipments`` item plus ``change_seq``. ``next_cursor`` is the page's last ``CHGSEQ_X`` (or
    ``since`` when the page is empty)."""
    ch = t.x_tracking_change
    rows = conn.execute(select(ch.c.CHGSEQ_X, ch.c.SHIPID_X).where(ch.c.CHGSEQ_X > since)
                        .order_by(ch.c.CHGSEQ_X).limit(limit + 1)).all()
    page = rows[:limit]
    latest = {r.SHIPID_X: r.CHGSEQ_X for r in page}  # later rows overwrite earlier ones
    shipments = shipments_by_id(conn, list(latest))
    items = [shipments[shipment_id] | {"change_seq": str(seq)}
             for shipment_id, seq in sorted(latest.items(), key=lambda item: item[1]) if shipment_id in shipments]
    return {"items": items, "next_cursor": str(page[-1].CHGSEQ_X) if page else str(since),
            "has_more": len(rows) > limit}


def order_statuses(conn: Connection, ordnums: list[str]) -> dict:
    """Status of each order named (``SO_Master`` + ``SO_Detail``), in ORDNUM order; unknown ORDNUMs are absent.

    How a cancellation differs from a closed order: see the module docstring."""
    sm, sd = t.so_master, t.so_detail
    wanted = sorted({ordnum.strip() for ordnum in ordnums})
    orders = {r.ORDNUM_27: {"ORDNUM": r.ORDNUM_27, "CUSTPO": r.CUSTPO_27, "STYPE": r.STYPE_27, "STATUS": r.STATUS_27,
                            "REASON": r.REASON_27, "INVCE": r.INVCE_27, "lines": []}
              for r in conn.execute(select(sm.c.ORDNUM_27, sm.c.CUSTPO_27, sm.c.STYPE_27, sm.c.STATUS_27,
                                           sm.c.REASON_27, sm.c.INVCE_27)
                                    .where(sm.c.ORDNUM_27.in_(wanted)).order_by(sm.c.ORDNUM_27))}
    if orders:
        for r in conn.execute(select(sd.c.ORDNUM_28, sd.c.LINNUM_28, sd.c.DELNUM_28, sd.c.PRTNUM_28, sd.c.STATUS_28,
                                     sd.c.ORGQTY_28, sd.c.SHPQTY_28, sd.c.BCKQTY_28, sd.c.INVQTY_28)
                              .where(sd.c.ORDNUM_28.in_(list(orders)))
                              .order_by(sd.c.ORDNUM_28, sd.c.LINNUM_28, sd.c.DELNUM_28)):
            orders[r.ORDNUM_28]["lines"].append({
                "LINNUM": r.LINNUM_28, "DELNUM": r.DELNUM_28, "PRTNUM": r.PRTNUM_28, "STATUS": r.STATUS_28,
                **{name: jsonable(Decimal(getattr(r, f"{name}_28"))) for name in ("ORGQTY", "SHPQTY", "BCKQTY",
                                                                                 "INVQTY")}})
    return {"items": list(orders.values())}


def list_payments(conn: Connection, since: int, limit: int) -> dict:
    """Payments (extension ``X_Invoice_Payment``) with PAYSEQ > since, oldest first, each with its invoice's
    total (``LNETOT + TAX1 - ORDDSC``) and ``paid_total``: every payment of that invoice up to this one."""
    pay, im, sm = t.x_invoice_payment, t.invoice_master, t.so_master
    earlier = pay.alias("earlier")
    paid_total = (select(func.sum(earlier.c.PAYAMT_X))
                  .where(earlier.c.INVCE_X == pay.c.INVCE_X, earlier.c.PAYSEQ_X <= pay.c.PAYSEQ_X).scalar_subquery())
    rows = conn.execute(
        select(pay.c.PAYSEQ_X, pay.c.INVCE_X, pay.c.PAYDTE_X, pay.c.PAYAMT_X, im.c.ORDNUM_31, im.c.LNETOT_31,
               im.c.TAX1_31, im.c.ORDDSC_31, sm.c.CUSTPO_27, paid_total.label("paid_total"))
        .join(im, im.c.INVCE_31 == pay.c.INVCE_X).join(sm, sm.c.ORDNUM_27 == im.c.ORDNUM_31)
        .where(pay.c.PAYSEQ_X > since).order_by(pay.c.PAYSEQ_X).limit(limit + 1)).all()
    items = [{"payment_id": str(r.PAYSEQ_X), "INVCE": r.INVCE_X, "ORDNUM": r.ORDNUM_31, "CUSTPO": r.CUSTPO_27,
              "amount": jsonable(Decimal(r.PAYAMT_X)), "paid_date": jsonable(r.PAYDTE_X),
              "invoice_total": jsonable(invoice_total(r.LNETOT_31, r.TAX1_31, r.ORDDSC_31)),
              "paid_total": jsonable(Decimal(r.paid_total))} for r in rows[:limit]]
    return {"items": items, "next_cursor": items[-1]["payment_id"] if items else str(since),
            "has_more": len(rows) > limit}


def invoice_total(lnetot: Decimal, tax: Decimal, discount: Decimal) -> Decimal:
    """What the customer owes on an invoice: lines net plus tax minus the order discount (``Invoice_Master``)."""
    return Decimal(lnetot) + Decimal(tax) - Decimal(discount)
