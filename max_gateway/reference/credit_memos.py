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

from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, select, update

from max_gateway.sql import tables as t
from max_gateway.sql.reads import line_factor, uom_factors
from max_gateway.sql.write_checks import restock_reference


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
                REFDES_15=restock_reference(ordnum, row["LINNUM_28"], row["DELNUM_28"]),
            )).inserted_primary_key[0]
            move_part_stock(conn, row["PRTNUM_28"], row["STK_28"], quantity)
        conn.execute(t.x_credit_restock.insert().values(ORDNUM_X=ordnum, LINNUM_X=row["LINNUM_28"],
                                                        DELNUM_X=row["DELNUM_28"], RESTCK_X=restck, TNXSEQ_X=receipt))
