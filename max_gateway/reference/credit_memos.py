"""Credit memos (``SO_Master`` ``STYPE_27`` CR, ``APPINV_27`` = the invoice credited): the stock effect of their
lines and the views that read them back.

Stock effect: the contract element ``RESTCK_28`` (not a MAX column; see ``schema.py``) on a credit line says whether
the goods come back to stock. ``Y`` on a stocked part writes a receipt (``Transaction_History`` ``TNXCDE_15`` R) of
``ORGQTY_28`` x the line's UOM factor, in stocking units, into the line's ``STK_28`` and raises ``Part_Stock``; a
non-stock part (``TYPE_01`` N: FREIGHT, MISC) never moves stock; ``N`` or absent moves nothing. The element is kept
in the extension table ``X_Credit_Restock`` with the receipt's ``TNXSEQ_15``. All of it is written inside the memo's
own transaction (``writes.create_sales_order``): a memo and its stock moves commit together, a rejected memo moves
nothing. On a CU order the element is refused (``credit_memo_only``, naming the line).

Views (``GET /credit-memos``, ``GET /credit-memos/{ordnum}``): header, lines with ``RESTCK``, ``stock_moves`` (the
receipts) and totals computed as invoicing the memo would (``ORGQTY x PRICE`` and ``TAX1..3`` of every line).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, and_, select, update

from max_gateway.reference import schema as t
from max_gateway.reference.reads import jsonable, line_factor, uom_factors
from max_gateway.reference.xml_rules import FieldError

CREDIT_MEMO_ONLY = "credit_memo_only"
RESTOCK_ELEMENT = "RESTCK_28"


def check_restock_element(values: dict, stype: str, errors: list[FieldError], line: str | None) -> None:
    """``RESTCK_28`` belongs on credit-memo lines only."""
    if stype != "CR" and RESTOCK_ELEMENT in values:
        errors.append(FieldError(RESTOCK_ELEMENT, CREDIT_MEMO_ONLY, "RESTCK_28 (goods back to stock) is valid only "
                                 "on credit memo lines (STYPE CR)", line))


def move_part_stock(conn: Connection, part: str, stk: str, delta: Decimal) -> None:
    """Change on hand in stocking units: ``Part_Stock.QTYOH_06`` of the stockroom and ``Part_Master.ONHAND_01``."""
    stock = t.part_stock
    found = conn.execute(update(stock).where(stock.c.PRTNUM_06 == part, stock.c.STK_06 == stk)
                         .values(QTYOH_06=stock.c.QTYOH_06 + delta)).rowcount
    if not found:
        conn.execute(stock.insert().values(PRTNUM_06=part, STK_06=stk, QTYOH_06=delta))
    conn.execute(update(t.part_master).where(t.part_master.c.PRTNUM_01 == part)
                 .values(ONHAND_01=t.part_master.c.ONHAND_01 + delta))


def record_stock_effect(conn: Connection, ordnum: str, receipt_date: date,
                        lines: list[tuple[dict, str | None]]) -> None:
    """For every ``SO_Detail`` row (``lines``: row, RESTCK) that states RESTCK: an ``X_Credit_Restock`` row; for ``Y``
    on a stocked part also the receipt and the stock it brings back. Runs inside the memo's transaction."""
    stated = [(row, restck) for row, restck in lines if restck is not None]
    if not stated:
        return
    pm, ps = t.part_master, t.part_sales
    parts = {r.PRTNUM_01: r for r in conn.execute(
        select(pm.c.PRTNUM_01, pm.c.TYPE_01, ps.c.SLSUOM_29, ps.c.SLSCNV_29).join(ps, ps.c.PRTNUM_29 == pm.c.PRTNUM_01)
        .where(pm.c.PRTNUM_01.in_({row["PRTNUM_28"] for row, _ in stated})))}
    factors = uom_factors(conn)
    for row, restck in stated:
        part, receipt = parts[row["PRTNUM_28"]], None
        if restck == "Y" and part.TYPE_01 != "N":
            quantity = Decimal(row["ORGQTY_28"]) * line_factor(row["SLSUOM_28"], part.SLSUOM_29, part.SLSCNV_29,
                                                               factors)
            receipt = conn.execute(t.transaction_history.insert().values(
                TNXCDE_15="R", TNXDTE_15=receipt_date, PRTNUM_15=row["PRTNUM_28"], STK_15=row["STK_28"],
                TNXQTY_15=quantity, ORDNUM_15=ordnum, LINNUM_15=row["LINNUM_28"], DELNUM_15=row["DELNUM_28"],
            )).inserted_primary_key[0]
            move_part_stock(conn, row["PRTNUM_28"], row["STK_28"], quantity)
        conn.execute(t.x_credit_restock.insert().values(ORDNUM_X=ordnum, LINNUM_X=row["LINNUM_28"],
                                                        DELNUM_X=row["DELNUM_28"], RESTCK_X=restck, TNXSEQ_X=receipt))


# ---------------------------------------------------------------- reads

_LINE_COLUMNS = ("LINNUM", "DELNUM", "PRTNUM", "SLSUOM", "ORGQTY", "PRICE", "STK", "STATUS", "INVQTY",
                 "TAXCDE1", "TAX1", "TAXCDE2", "TAX2", "TAXCDE3", "TAX3")


def credit_memos(conn: Connection, *, ordnum: str | None = None, custpo: str | None = None,
                 appinv: str | None = None) -> list[dict]:
    """Credit memos (STYPE CR) matching every filter given, in ORDNUM order, each with lines, stock moves, totals."""
    sm, sd, xr, th = t.so_master, t.so_detail, t.x_credit_restock, t.transaction_history
    query = select(sm.c.ORDNUM_27, sm.c.CUSTID_27, sm.c.CUSTPO_27, sm.c.APPINV_27, sm.c.ORDDTE_27, sm.c.STATUS_27,
                   sm.c.REASON_27, sm.c.INVCE_27, sm.c.CURR_27).where(sm.c.STYPE_27 == "CR").order_by(sm.c.ORDNUM_27)
    for column, value in ((sm.c.ORDNUM_27, ordnum), (sm.c.CUSTPO_27, custpo), (sm.c.APPINV_27, appinv)):
        if value is not None:
            query = query.where(column == value.strip())
    memos = {r.ORDNUM_27: {"ORDNUM": r.ORDNUM_27, "STYPE": "CR", "CUSTID": r.CUSTID_27, "CUSTPO": r.CUSTPO_27,
                           "APPINV": r.APPINV_27, "ORDDTE": jsonable(r.ORDDTE_27), "STATUS": r.STATUS_27,
                           "REASON": r.REASON_27, "INVCE": r.INVCE_27, "CURR": r.CURR_27, "lines": [],
                           "stock_moves": []}
             for r in conn.execute(query)}
    if not memos:
        return []
    totals: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    restock_join = and_(xr.c.ORDNUM_X == sd.c.ORDNUM_28, xr.c.LINNUM_X == sd.c.LINNUM_28,
                        xr.c.DELNUM_X == sd.c.DELNUM_28)
    for r in conn.execute(select(sd, xr.c.RESTCK_X).outerjoin(xr, restock_join)
                          .where(sd.c.ORDNUM_28.in_(list(memos)))
                          .order_by(sd.c.ORDNUM_28, sd.c.LINNUM_28, sd.c.DELNUM_28)):
        line = {name: jsonable(getattr(r, f"{name}_28")) for name in _LINE_COLUMNS}
        memos[r.ORDNUM_28]["lines"].append(line | {"RESTCK": r.RESTCK_X})
        totals[r.ORDNUM_28][0] += Decimal(r.ORGQTY_28) * Decimal(r.PRICE_28)
        totals[r.ORDNUM_28][1] += sum((Decimal(getattr(r, f"TAX{n}_28")) for n in (1, 2, 3)), Decimal(0))
    for r in conn.execute(select(th).join(xr, xr.c.TNXSEQ_X == th.c.TNXSEQ_15)
                          .where(xr.c.ORDNUM_X.in_(list(memos))).order_by(th.c.TNXSEQ_15)):
        memos[r.ORDNUM_15]["stock_moves"].append({
            "LINNUM": r.LINNUM_15, "DELNUM": r.DELNUM_15, "PRTNUM": r.PRTNUM_15, "STK": r.STK_15,
            "quantity": jsonable(Decimal(r.TNXQTY_15)), "TNXCDE": r.TNXCDE_15, "TNXDTE": jsonable(r.TNXDTE_15)})
    for number, memo in memos.items():
        lines_total, tax_total = totals[number]
        memo |= {"lines_total": jsonable(lines_total), "tax_total": jsonable(tax_total),
                 "total": jsonable(lines_total + tax_total)}
    return list(memos.values())
