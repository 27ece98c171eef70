"""Credit memos as ``GET /credit-memos`` shows them (``SO_Master`` ``STYPE_27`` CR, ``APPINV_27`` = the invoice
credited): header, lines with ``RESTCK``, ``stock_moves`` (the receipts) and totals computed as invoicing the memo
would (``ORGQTY x PRICE`` and ``TAX1..3`` of every line). How a memo's stock effect is written: the reference
backend, ``max_gateway.reference.credit_memos``; the ``max`` backend, ``max_gateway.max.backend``.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import Connection, and_, null, select

from max_gateway.sql import tables as t
from max_gateway.sql.reads import jsonable
from max_gateway.sql.write_checks import restock_reference

_LINE_COLUMNS = ("LINNUM", "DELNUM", "PRTNUM", "SLSUOM", "ORGQTY", "PRICE", "STK", "STATUS", "INVQTY",
                 "TAXCDE1", "TAX1", "TAXCDE2", "TAX2", "TAXCDE3", "TAX3")


def credit_memos(conn: Connection, *, ordnum: str | None = None, custpo: str | None = None,
                 appinv: str | None = None, restock_from_extension: bool = True) -> list[dict]:
    """Credit memos (STYPE CR) matching every filter given, in ORDNUM order, each with lines, stock moves, totals.

    ``restock_from_extension``: each line's ``RESTCK`` and the memo's stock moves come from ``X_Credit_Restock``
    (the reference backend writes it). Without it (the ``max`` backend, whose database login cannot write), a
    line's ``RESTCK`` is ``Y`` when a receipt (``Transaction_History`` R) carries the line's reference
    (``write_checks.restock_reference``), else ``N``, and the stock moves are those receipts."""
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
    if restock_from_extension:
        lines_query = select(sd, xr.c.RESTCK_X).outerjoin(xr, restock_join)
        moves_query = select(th).join(xr, xr.c.TNXSEQ_X == th.c.TNXSEQ_15).where(xr.c.ORDNUM_X.in_(list(memos)))
    else:
        lines_query = select(sd, null().label("RESTCK_X"))
    references: dict[str, tuple[str, str, str]] = {}  # receipt reference -> (ORDNUM, LINNUM, DELNUM)
    for r in conn.execute(lines_query.where(sd.c.ORDNUM_28.in_(list(memos)))
                          .order_by(sd.c.ORDNUM_28, sd.c.LINNUM_28, sd.c.DELNUM_28)):
        line = {name: jsonable(getattr(r, f"{name}_28")) for name in _LINE_COLUMNS}
        memos[r.ORDNUM_28]["lines"].append(line | {"RESTCK": r.RESTCK_X})
        references[restock_reference(r.ORDNUM_28, r.LINNUM_28, r.DELNUM_28)] = (r.ORDNUM_28, r.LINNUM_28, r.DELNUM_28)
        totals[r.ORDNUM_28][0] += Decimal(r.ORGQTY_28) * Decimal(r.PRICE_28)
        totals[r.ORDNUM_28][1] += sum((Decimal(getattr(r, f"TAX{n}_28")) for n in (1, 2, 3)), Decimal(0))
    if not restock_from_extension:  # the receipts named by each line's reference are its restock
        moves_query = select(th).where(th.c.TNXCDE_15 == "R", th.c.REFDES_15.in_(list(references))) \
            if references else None
    received = set()
    for r in conn.execute(moves_query.order_by(th.c.TNXSEQ_15)) if moves_query is not None else ():
        received.add(r.REFDES_15)
        # an unplanned receipt names no order line: the line comes from its reference
        memo, linnum, delnum = (r.ORDNUM_15, r.LINNUM_15, r.DELNUM_15) if restock_from_extension \
            else references[r.REFDES_15]
        memos[memo]["stock_moves"].append({
            "LINNUM": linnum, "DELNUM": delnum, "PRTNUM": r.PRTNUM_15, "STK": r.STK_15,
            "quantity": jsonable(Decimal(r.TNXQTY_15)), "TNXCDE": r.TNXCDE_15, "TNXDTE": jsonable(r.TNXDTE_15)})
    if not restock_from_extension:
        for memo in memos.values():
            for line in memo["lines"]:
                line["RESTCK"] = "Y" if restock_reference(memo["ORDNUM"], line["LINNUM"], line["DELNUM"]) in received \
                    else "N"
    for number, memo in memos.items():
        lines_total, tax_total = totals[number]
        memo |= {"lines_total": jsonable(lines_total), "tax_total": jsonable(tax_total),
                 "total": jsonable(lines_total + tax_total)}
    return list(memos.values())
