"""Sandbox operations: what happens inside MAX after an order is entered, written to the MAX tables the way
MAX writes them (``Transaction_History``, ``SO_Detail`` shipped/invoiced quantities, statuses, ``Part_Stock``).

These exist for the demo and the tests; a production gateway has no such endpoints.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, Engine, delete, func, select, update

from max_gateway.reference.credit_memos import move_part_stock
from max_gateway.reference.database import serialise_appends, take_next_number
from max_gateway.sql import tables as t
from max_gateway.sql.fulfilment_reads import invoice_total
from max_gateway.sql.reads import line_factor, uom_factors
from max_gateway.sql.write_checks import NOT_OPEN, NOT_POSITIVE, UNKNOWN_INVOICE, UNKNOWN_ORDER, UNKNOWN_PART
from max_gateway.xml_rules import FieldError, TransactionRejected
from shopify_max.clock import utcnow

OVER_SHIPPED = "over_shipped"
NOTHING_TO_INVOICE = "nothing_to_invoice"
INSUFFICIENT_STOCK = "insufficient_stock"
UNKNOWN_SHIPMENT = "unknown_shipment"
OVER_PAID = "over_paid"
NOT_PAYABLE = "not_payable"
CENT = Decimal("0.01")


def _open_order(conn: Connection, ordnum: str):  # noqa: ANN202 - a Row
    order = conn.execute(select(t.so_master).where(t.so_master.c.ORDNUM_27 == ordnum)).first()
    if order is None:
        raise TransactionRejected([FieldError("ORDNUM", UNKNOWN_ORDER, f"order {ordnum!r} is not in SO_Master")])
    if order.STATUS_27 != "3":
        raise TransactionRejected([FieldError("ORDNUM", NOT_OPEN, f"order {ordnum} has status {order.STATUS_27}")])
    return order


def _packages(carrier: str, tracking_number: str, tracking: list[dict] | None) -> list[tuple[str, str]]:
    """(carrier, tracking number) of each package: ``tracking_number`` first, then ``tracking``, in order."""
    packages = [(carrier, tracking_number)] if tracking_number else []
    packages += [(item.get("carrier") or carrier, item["tracking_number"]) for item in tracking or []]
    errors = []
    for index, (name, number) in enumerate(packages):
        if len(name) > 30 or len(number) > 60 or not number:
            errors.append(FieldError("tracking", "too_long" if number else "missing_required",
                                     f"package {index + 1}: carrier holds 30 characters, a tracking number 1 to 60"))
    numbers = [number for _, number in packages]
    if len(numbers) != len(set(numbers)):
        errors.append(FieldError("tracking", "duplicate_key", "a tracking number is given twice"))
    if errors:
        raise TransactionRejected(errors)
    return packages


def ship_order(engine: Engine, ordnum: str, lines: list[dict] | None = None, carrier: str = "",
               tracking_number: str = "", ship_via: str | None = None, ship_date: date | None = None,
               tracking: list[dict] | None = None) -> dict:
    """Ship the given lines (``{"LINNUM", "DELNUM", "quantity"}`` in sales units), or everything still due.

    Writes one ``S`` transaction per line, lowers ``Part_Stock`` (not for non-stock parts, ``TYPE_01`` N: freight),
    moves ``DUEQTY_28`` into ``SHPQTY_28`` and records ship via, carrier and tracking in the extension tables:
    ``X_Shipment_Tracking`` per transaction (the first package), ``X_Shipment_Package`` one row per tracking
    number (``tracking_number``, then each of ``tracking``: ``{"tracking_number", "carrier"}``).
    """
    ship_date = ship_date or utcnow().date()
    packages = _packages(carrier, tracking_number, tracking)
    with engine.begin() as conn:
        order = _open_order(conn, ordnum)
        sd, ps, pm = t.so_detail, t.part_sales, t.part_master
        details = {(r.LINNUM_28, r.DELNUM_28): r for r in conn.execute(
            select(sd, ps.c.SLSUOM_29, ps.c.SLSCNV_29, pm.c.TYPE_01).join(ps, ps.c.PRTNUM_29 == sd.c.PRTNUM_28)
            .join(pm, pm.c.PRTNUM_01 == sd.c.PRTNUM_28)
            .where(sd.c.ORDNUM_28 == ordnum, sd.c.STATUS_28 == "3"))}
        wanted = lines if lines is not None else [
            {"LINNUM": k[0], "DELNUM": k[1], "quantity": r.DUEQTY_28} for k, r in details.items() if r.DUEQTY_28 > 0]
        errors = []
        for item in wanted:
            key = (item["LINNUM"], item.get("DELNUM", "01"))
            qty = Decimal(str(item["quantity"]))
            if key not in details:
                errors.append(FieldError("LINNUM", UNKNOWN_ORDER, f"no open line {key[0]}/{key[1]}", key[0]))
            elif qty <= 0:
                errors.append(FieldError("quantity", NOT_POSITIVE, "ship a positive quantity", key[0]))
            elif qty > Decimal(details[key].DUEQTY_28):
                errors.append(FieldError("quantity", OVER_SHIPPED, f"{qty} exceeds the {details[key].DUEQTY_28} due",
                                         key[0]))
        if not wanted:
            errors.append(FieldError("lines", NOT_POSITIVE, "nothing is left to ship"))
        if errors:
            raise TransactionRejected(errors)
        shipment_id = int(take_next_number(conn, "SHIPID", width=1))
        factors = uom_factors(conn)
        shipped = []
        for item in wanted:
            line = details[(item["LINNUM"], item.get("DELNUM", "01"))]
            qty = Decimal(str(item["quantity"]))
            stock_qty = qty * line_factor(line.SLSUOM_28, line.SLSUOM_29, line.SLSCNV_29, factors)
            seq = conn.execute(t.transaction_history.insert().values(
                TNXCDE_15="S", TNXDTE_15=ship_date, PRTNUM_15=line.PRTNUM_28, STK_15=line.STK_28, TNXQTY_15=stock_qty,
                ORDNUM_15=ordnum, LINNUM_15=line.LINNUM_28, DELNUM_15=line.DELNUM_28)).inserted_primary_key[0]
            first = packages[0] if packages else (carrier[:30], "")
            conn.execute(t.x_shipment_tracking.insert().values(
                TNXSEQ_X=seq, SHIPID_X=shipment_id, SHPVIA_X=ship_via or order.SHPVIA_27, CARRIER_X=first[0],
                TRACKNO_X=first[1]))
            if line.TYPE_01 != "N":
                move_part_stock(conn, line.PRTNUM_28, line.STK_28, -stock_qty)
            conn.execute(update(sd).where(sd.c.ORDNUM_28 == ordnum, sd.c.LINNUM_28 == line.LINNUM_28,
                                          sd.c.DELNUM_28 == line.DELNUM_28)
                         .values(SHPQTY_28=sd.c.SHPQTY_28 + qty, DUEQTY_28=sd.c.DUEQTY_28 - qty, SHPDTE_28=ship_date))
            shipped.append({"LINNUM": line.LINNUM_28, "DELNUM": line.DELNUM_28, "quantity": format(qty, "f")})
        if packages:
            conn.execute(t.x_shipment_package.insert(), [
                {"SHIPID_X": shipment_id, "SEQNUM_X": n, "CARRIER_X": name, "TRACKNO_X": number}
                for n, (name, number) in enumerate(packages, start=1)])
        return {"shipment_id": str(shipment_id), "ORDNUM": ordnum, "lines": shipped,
                "tracking": [{"carrier": name, "tracking_number": number} for name, number in packages]}


def invoice_order(engine: Engine, ordnum: str, invoice_date: date | None = None) -> dict:
    """Invoice what has shipped and is not yet invoiced (CU), or every line of a credit memo (CR).

    Lines shipped and invoiced in full close (status 4); when every line is closed, the order closes.
    """
    invoice_date = invoice_date or utcnow().date()
    with engine.begin() as conn:
        order = _open_order(conn, ordnum)
        sd = t.so_detail
        lines = conn.execute(select(sd).where(sd.c.ORDNUM_28 == ordnum, sd.c.STATUS_28 == "3")).all()
        credit = order.STYPE_27 == "CR"
        to_invoice = [(r, Decimal(r.ORGQTY_28 if credit else r.SHPQTY_28) - Decimal(r.INVQTY_28)) for r in lines]
        to_invoice = [(r, qty) for r, qty in to_invoice if qty > 0]
        if not to_invoice:
            raise TransactionRejected([FieldError("ORDNUM", NOTHING_TO_INVOICE, f"order {ordnum} has nothing "
                                                  "shipped that is not yet invoiced")])
        invce = take_next_number(conn, "INVCE")
        total, total_tax, details = Decimal(0), Decimal(0), []
        for r, qty in to_invoice:
            share = qty / Decimal(r.ORGQTY_28)
            tax = sum((Decimal(getattr(r, f"TAX{n}_28")) for n in (1, 2, 3)), Decimal(0)) * share
            amount = qty * Decimal(r.PRICE_28)
            total, total_tax = total + amount, total_tax + tax
            details.append({"INVCE_32": invce, "ORDNUM_32": ordnum, "LINNUM_32": r.LINNUM_28, "DELNUM_32": r.DELNUM_28,
                            "PRTNUM_32": r.PRTNUM_28, "INVQTY_32": qty, "PRICE_32": r.PRICE_28,
                            "TAX1_32": tax.quantize(Decimal("0.01")), "TAXCDE1_32": r.TAXCDE1_28})
            invoiced = Decimal(r.INVQTY_28) + qty
            closed = invoiced >= Decimal(r.ORGQTY_28)
            conn.execute(update(sd).where(sd.c.ORDNUM_28 == ordnum, sd.c.LINNUM_28 == r.LINNUM_28,
                                          sd.c.DELNUM_28 == r.DELNUM_28)
                         .values(INVQTY_28=invoiced, STATUS_28="4" if closed else "3"))
        conn.execute(t.invoice_master.insert().values(
            INVCE_31=invce, ORDNUM_31=ordnum, CUSTID_31=order.CUSTID_27, STYPE_31=order.STYPE_27, INVDTE_31=invoice_date,
            TAX1_31=total_tax.quantize(Decimal("0.01")), LNETOT_31=total.quantize(Decimal("0.01")), ORDDSC_31=0,
            REASON_31=order.REASON_27))
        conn.execute(t.invoice_detail.insert(), details)
        still_open = conn.execute(select(sd.c.LINNUM_28).where(sd.c.ORDNUM_28 == ordnum, sd.c.STATUS_28 == "3")).first()
        conn.execute(update(t.so_master).where(t.so_master.c.ORDNUM_27 == ordnum)
                     .values(INVCE_27=invce, STATUS_27="3" if still_open else "4"))
        return {"INVCE": invce, "ORDNUM": ordnum, "kind": "credit_memo" if credit else "invoice",
                "order_status": "3" if still_open else "4"}


def move_stock(engine: Engine, part: str, stockroom: str, quantity: Decimal, kind: str) -> dict:
    """Receive (``R``) or issue (``I``) stock in stocking units: a Transaction_History row and Part_Stock."""
    if kind not in ("R", "I"):
        raise TransactionRejected([FieldError("kind", "bad_code", "kind is R (receive) or I (issue)")])
    if quantity <= 0:
        raise TransactionRejected([FieldError("quantity", NOT_POSITIVE, "move a positive quantity")])
    with engine.begin() as conn:
        if conn.execute(select(t.part_master.c.PRTNUM_01).where(t.part_master.c.PRTNUM_01 == part)).first() is None:
            raise TransactionRejected([FieldError("PRTNUM", UNKNOWN_PART, f"part {part!r} is not in Part_Master")])
        delta = quantity if kind == "R" else -quantity
        conn.execute(t.transaction_history.insert().values(
            TNXCDE_15=kind, TNXDTE_15=utcnow().date(), PRTNUM_15=part, STK_15=stockroom, TNXQTY_15=quantity))
        move_part_stock(conn, part, stockroom, delta)
        on_hand = conn.execute(select(t.part_stock.c.QTYOH_06).where(
            t.part_stock.c.PRTNUM_06 == part, t.part_stock.c.STK_06 == stockroom)).scalar_one()
        return {"PRTNUM": part, "STK": stockroom, "on_hand": format(Decimal(on_hand).normalize(), "f")}


def close_order(engine: Engine, ordnum: str) -> dict:
    """Close an open order and its lines (status 3 -> 4), whatever has shipped."""
    with engine.begin() as conn:
        _open_order(conn, ordnum)
        conn.execute(update(t.so_master).where(t.so_master.c.ORDNUM_27 == ordnum).values(STATUS_27="4"))
        conn.execute(update(t.so_detail).where(t.so_detail.c.ORDNUM_28 == ordnum).values(STATUS_28="4"))
        return {"ORDNUM": ordnum, "STATUS": "4"}


def retrack_shipment(engine: Engine, shipment_id: str, tracking: list[dict]) -> dict:
    """Replace a shipment's tracking numbers (``{"tracking_number", "carrier"}`` each, in order) after it shipped.

    ``X_Shipment_Package`` gets the new list, ``X_Shipment_Tracking`` the first (carrier and number; blank when the
    list is empty), and ``X_Tracking_Change`` one row, which ``GET /shipments/tracking-changes`` reads.
    """
    packages = _packages("", "", tracking)
    with engine.begin() as conn:
        serialise_appends(conn, "X_Tracking_Change")
        x = t.x_shipment_tracking
        shipid = int(shipment_id) if shipment_id.isdigit() else None
        found = shipid is not None and conn.execute(select(x.c.SHIPID_X).where(x.c.SHIPID_X == shipid)).first()
        if not found:
            raise TransactionRejected([FieldError("shipment_id", UNKNOWN_SHIPMENT,
                                                  f"shipment {shipment_id!r} is not in X_Shipment_Tracking")])
        conn.execute(delete(t.x_shipment_package).where(t.x_shipment_package.c.SHIPID_X == shipid))
        if packages:
            conn.execute(t.x_shipment_package.insert(), [
                {"SHIPID_X": shipid, "SEQNUM_X": n, "CARRIER_X": name, "TRACKNO_X": number}
                for n, (name, number) in enumerate(packages, start=1)])
        first = packages[0] if packages else ("", "")
        conn.execute(update(x).where(x.c.SHIPID_X == shipid).values(CARRIER_X=first[0], TRACKNO_X=first[1]))
        seq = conn.execute(t.x_tracking_change.insert().values(
            SHIPID_X=shipid, CHGDTE_X=utcnow().replace(tzinfo=None))).inserted_primary_key[0]
        return {"shipment_id": str(shipid), "change_seq": str(seq),
                "tracking": [{"carrier": name, "tracking_number": number} for name, number in packages]}


def pay_invoice(engine: Engine, invce: str, amount: Decimal | None = None, paid_date: date | None = None) -> dict:
    """Record a payment against an invoice (``X_Invoice_Payment``): ``amount``, or by default all that is unpaid.

    Refused: an unknown invoice, a credit memo (nothing is owed on it), a payment that is not positive, and one
    over what is still unpaid (``LNETOT + TAX1 - ORDDSC`` minus earlier payments)."""
    with engine.begin() as conn:
        serialise_appends(conn, "X_Invoice_Payment")
        im, pay = t.invoice_master, t.x_invoice_payment
        invoice = conn.execute(select(im).where(im.c.INVCE_31 == invce)).first()
        if invoice is None:
            raise TransactionRejected([FieldError("invoice", UNKNOWN_INVOICE, f"invoice {invce!r} is not in "
                                                  "Invoice_Master")])
        if invoice.STYPE_31 == "CR":
            raise TransactionRejected([FieldError("invoice", NOT_PAYABLE, f"{invce} is a credit memo; nothing is "
                                                  "owed on it")])
        paid = Decimal(conn.execute(select(func.coalesce(func.sum(pay.c.PAYAMT_X), 0))
                                    .where(pay.c.INVCE_X == invce)).scalar_one())
        unpaid = invoice_total(invoice.LNETOT_31, invoice.TAX1_31, invoice.ORDDSC_31) - paid
        amount = unpaid if amount is None else Decimal(amount)
        if amount != amount.quantize(CENT):
            raise TransactionRejected([FieldError("amount", "bad_number", f"{amount:f}: pay whole cents")])
        if amount <= 0:
            raise TransactionRejected([FieldError("amount", OVER_PAID if unpaid <= 0 else NOT_POSITIVE,
                                                  f"invoice {invce} is paid in full" if unpaid <= 0
                                                  else "pay a positive amount")])
        if amount > unpaid:
            raise TransactionRejected([FieldError("amount", OVER_PAID, f"{amount:f} exceeds the {unpaid:f} still "
                                                  f"unpaid on invoice {invce}")])
        seq = conn.execute(pay.insert().values(INVCE_X=invce, PAYDTE_X=paid_date or utcnow().date(),
                                               PAYAMT_X=amount)).inserted_primary_key[0]
        return {"payment_id": str(seq), "INVCE": invce, "amount": format(amount.normalize(), "f"),
                "paid_total": format((paid + amount).normalize(), "f"),
                "unpaid": format((unpaid - amount).normalize(), "f")}
