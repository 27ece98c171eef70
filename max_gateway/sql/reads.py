"""JSON views of the MAX tables. Keyset pagination: ``cursor`` (parts, stock, customers, price lists) or ``since``
(shipments, invoices: a monotonic number that a flow stores as its watermark).

Every page answers ``{"items": [...], "next_cursor": str | None, "has_more": bool}``. Decimals travel as
strings, dates as ISO 8601 (``yyMMdd`` is only for the XML writes). Keys are trimmed strings.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, and_, or_, select

from max_gateway.sql import tables as t

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def jsonable(value: object) -> object:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _row_dict(row) -> dict:  # noqa: ANN001 - a SQLAlchemy Row
    return {key: jsonable(value) for key, value in row._mapping.items()}


def _page(items: list, limit: int, cursor_of) -> dict:  # noqa: ANN001
    has_more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next_cursor": cursor_of(items[-1]) if has_more else None, "has_more": has_more}


def uom_factors(conn: Connection) -> dict[str, Decimal]:
    rows = conn.execute(select(t.code_master.c.CODE_36, t.code_master.c.CNVFCT_36).where(
        t.code_master.c.CDEKEY_36 == "UOM"))
    return {r.CODE_36: Decimal(r.CNVFCT_36 or 1) for r in rows}


def line_factor(slsuom: str, part_uom: str, part_factor: Decimal, factors: dict[str, Decimal]) -> Decimal:
    """Sales-to-stocking factor of an order line: Part_Sales' own UOM uses SLSCNV_29, another UOM its code factor."""
    return Decimal(part_factor) if slsuom == part_uom else factors.get(slsuom, Decimal(1))


def list_parts(conn: Connection, cursor: str | None, limit: int) -> dict:
    pm, ps = t.part_master, t.part_sales
    query = (select(pm.c.PRTNUM_01, pm.c.PMDES1_01, pm.c.PMDES2_01, pm.c.TYPE_01, pm.c.BOMUOM_01, pm.c.ONHAND_01,
                    ps.c.STK_29, ps.c.SLSUOM_29, ps.c.SLSCNV_29, ps.c.PRDLIN_29, ps.c.PRICE_29, ps.c.TAXABL_29)
             .join(ps, ps.c.PRTNUM_29 == pm.c.PRTNUM_01).order_by(pm.c.PRTNUM_01).limit(limit + 1))
    if cursor:
        query = query.where(pm.c.PRTNUM_01 > cursor)
    return _page([_row_dict(r) for r in conn.execute(query)], limit, lambda item: item["PRTNUM_01"])


def list_stock(conn: Connection, cursor: str | None, limit: int, parts: list[str] | None = None,
               stockrooms: list[str] | None = None) -> dict:
    """On hand, open CU demand (DUEQTY_28 x factor on open lines of that stockroom) and available, per part x STK."""
    st = t.part_stock
    query = select(st.c.PRTNUM_06, st.c.STK_06, st.c.QTYOH_06).order_by(st.c.PRTNUM_06, st.c.STK_06).limit(limit + 1)
    if cursor:
        part, _, stk = cursor.partition("|")
        query = query.where(or_(st.c.PRTNUM_06 > part, and_(st.c.PRTNUM_06 == part, st.c.STK_06 > stk)))
    if parts:
        query = query.where(st.c.PRTNUM_06.in_(parts))
    if stockrooms:
        query = query.where(st.c.STK_06.in_(stockrooms))
    rows = conn.execute(query).all()
    demand = open_demand(conn, [(r.PRTNUM_06, r.STK_06) for r in rows])
    items = []
    for r in rows:
        on_hand = Decimal(r.QTYOH_06)
        wanted = demand.get((r.PRTNUM_06, r.STK_06), Decimal(0))
        items.append({"PRTNUM": r.PRTNUM_06, "STK": r.STK_06, "on_hand": jsonable(on_hand),
                      "open_demand": jsonable(wanted), "available": jsonable(on_hand - wanted)})
    return _page(items, limit, lambda item: f"{item['PRTNUM']}|{item['STK']}")


def open_demand(conn: Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Decimal]:
    if not keys:
        return {}
    sd, ps = t.so_detail, t.part_sales
    factors = uom_factors(conn)
    rows = conn.execute(
        select(sd.c.PRTNUM_28, sd.c.STK_28, sd.c.SLSUOM_28, sd.c.DUEQTY_28, ps.c.SLSUOM_29, ps.c.SLSCNV_29)
        .join(ps, ps.c.PRTNUM_29 == sd.c.PRTNUM_28)
        .where(sd.c.STATUS_28 == "3", sd.c.STYPE_28 == "CU", sd.c.PRTNUM_28.in_({k[0] for k in keys}))
    )
    wanted = set(keys)
    demand: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in rows:
        key = (r.PRTNUM_28, r.STK_28)
        if key in wanted:
            demand[key] += Decimal(r.DUEQTY_28) * line_factor(r.SLSUOM_28, r.SLSUOM_29, r.SLSCNV_29, factors)
    return demand


def get_customer(conn: Connection, custid: str) -> dict | None:
    customers = _customers(conn, select(t.customer_master).where(t.customer_master.c.CUSTID_23 == custid))
    return customers[0] if customers else None


def list_customers(conn: Connection, cursor: str | None, limit: int) -> dict:
    cm = t.customer_master
    query = select(cm).order_by(cm.c.CUSTID_23).limit(limit + 1)
    if cursor:
        query = query.where(cm.c.CUSTID_23 > cursor)
    return _page(_customers(conn, query), limit, lambda item: item["CUSTID_23"])


def _customers(conn: Connection, query) -> list[dict]:  # noqa: ANN001 - a Select
    sm, xa = t.shipping_master, t.x_customer_account
    customers = [_row_dict(r) for r in conn.execute(query)]
    ship_tos: dict[str, list[dict]] = defaultdict(list)
    accounts = {}
    if customers:
        ids = [c["CUSTID_23"] for c in customers]
        for r in conn.execute(select(sm).where(sm.c.CUSTID_24.in_(ids)).order_by(sm.c.CUSTID_24, sm.c.SHPCDE_24)):
            ship_tos[r.CUSTID_24].append(_row_dict(r))
        accounts = {r.CUSTID_X.strip(): r for r in conn.execute(select(xa).where(xa.c.CUSTID_X.in_(ids)))}
    for customer in customers:
        customer["ship_tos"] = ship_tos.get(customer["CUSTID_23"], [])
        customer["tax_codes"] = [customer[f"TXCDE{n}_23"] for n in (1, 2, 3) if customer[f"TXCDE{n}_23"]]
        customer["tax_exempt"] = customer["TAXABL_23"] == "N"
        customer["exemptions"] = [{"SHPCDE": s["SHPCDE_24"], "certificate": s["TXEXEM_24"]}
                                  for s in customer["ship_tos"] if s["TXEXEM_24"]]
        # Extension X_Customer_Account: MAX documents no column for these; null (false) when the site holds none.
        account = accounts.get(customer["CUSTID_23"])
        customer["price_list"] = _text_or_none(account.PRCLST_X if account is not None else None)
        customer["credit_hold"] = account is not None and account.CRHOLD_X.strip() == "Y"
        customer["email"] = _text_or_none(account.EMAIL_X if account is not None else None)
        customer["vat_id"] = _text_or_none(account.VATID_X if account is not None else None)
    return customers


def _text_or_none(value: str | None) -> str | None:
    """A CHAR-style value trimmed; blank means "none"."""
    value = (value or "").strip()
    return value or None


def price_list_exists(conn: Connection, code: str) -> bool:
    pl = t.x_price_list
    return conn.execute(select(pl.c.PRCLST_X).where(pl.c.PRCLST_X == code.strip()).limit(1)).first() is not None


def list_prices(conn: Connection, code: str, cursor: str | None, limit: int) -> dict | None:
    """One price list's prices (extension ``X_Price_List``), by PRTNUM then SLSUOM; None for an unknown list.
    The cursor is ``PRTNUM|SLSUOM`` of the last item."""
    pl = t.x_price_list
    code = code.strip()
    query = (select(pl.c.PRCLST_X, pl.c.PRTNUM_X, pl.c.SLSUOM_X, pl.c.PRICE_X).where(pl.c.PRCLST_X == code)
             .order_by(pl.c.PRTNUM_X, pl.c.SLSUOM_X).limit(limit + 1))
    if cursor:
        part, _, uom = cursor.partition("|")
        query = query.where(or_(pl.c.PRTNUM_X > part, and_(pl.c.PRTNUM_X == part, pl.c.SLSUOM_X > uom)))
    items = [{"PRCLST": r.PRCLST_X.strip(), "PRTNUM": r.PRTNUM_X.strip(), "SLSUOM": r.SLSUOM_X.strip(),
              "PRICE": jsonable(Decimal(r.PRICE_X))} for r in conn.execute(query)]
    if not items and not price_list_exists(conn, code):
        return None
    return _page(items, limit, lambda item: f"{item['PRTNUM']}|{item['SLSUOM']}")


def get_orders(conn: Connection, ordnum: str | None = None, custpo: str | None = None) -> list[dict]:
    sm, sd, sn = t.so_master, t.so_detail, t.so_note
    query = select(sm).order_by(sm.c.ORDNUM_27)
    query = query.where(sm.c.ORDNUM_27 == ordnum) if ordnum is not None else query.where(sm.c.CUSTPO_27 == custpo)
    orders = [_row_dict(r) for r in conn.execute(query)]
    if not orders:
        return []
    numbers = [o["ORDNUM_27"] for o in orders]
    lines: dict[str, list[dict]] = defaultdict(list)
    for r in conn.execute(select(sd).where(sd.c.ORDNUM_28.in_(numbers)).order_by(sd.c.ORDNUM_28, sd.c.LINNUM_28,
                                                                                   sd.c.DELNUM_28)):
        lines[r.ORDNUM_28].append(_row_dict(r) | {"notes": []})
    notes = conn.execute(select(sn).where(sn.c.ORDNUM_30.in_(numbers)).order_by(sn.c.SEQNUM_30)).all()
    for order in orders:
        order["lines"] = lines.get(order["ORDNUM_27"], [])
        by_line = {(line["LINNUM_28"], line["DELNUM_28"]): line for line in order["lines"]}
        for note in notes:
            if note.ORDNUM_30 == order["ORDNUM_27"] and (note.LINNUM_30, note.DELNUM_30) in by_line:
                by_line[(note.LINNUM_30, note.DELNUM_30)]["notes"].append(note.NOTE_30)
    return orders


def list_shipments(conn: Connection, since: int, limit: int) -> dict:
    """Shipments with SHIPID > since, oldest first; one shipment = one ship operation (extension tables).

    Each has its order (``ORDNUM``, ``CUSTPO``, ``order_status`` now), ``ship_date``, ``SHPVIA``, ``tracking`` (every
    tracking number with its carrier; ``carrier``/``tracking_number`` repeat the first) and ``lines``: ``LINNUM``,
    ``DELNUM``, part, stockroom ``STK``, ``quantity`` in the line's sales UOM (``SLSUOM``) and ``stock_quantity``."""
    x = t.x_shipment_tracking
    ids = conn.execute(select(x.c.SHIPID_X).where(x.c.SHIPID_X > since).group_by(x.c.SHIPID_X)
                       .order_by(x.c.SHIPID_X).limit(limit + 1)).scalars().all()
    page_ids = ids[:limit]
    shipments = shipments_by_id(conn, page_ids)
    items = [shipments[i] for i in page_ids if i in shipments]
    return {"items": items, "next_cursor": items[-1]["shipment_id"] if items else str(since),
            "has_more": len(ids) > limit}


def shipments_by_id(conn: Connection, shipment_ids: list[int]) -> dict[int, dict]:
    """The shipments (as ``list_shipments`` shows them) with these SHIPIDs, by SHIPID; unknown ids are absent."""
    x, th, sd, sm, ps = t.x_shipment_tracking, t.transaction_history, t.so_detail, t.so_master, t.part_sales
    page_ids = list(shipment_ids)
    factors = uom_factors(conn)
    rows = conn.execute(
        select(x.c.SHIPID_X, x.c.SHPVIA_X, x.c.CARRIER_X, x.c.TRACKNO_X, th.c.TNXDTE_15, th.c.ORDNUM_15,
               th.c.LINNUM_15, th.c.DELNUM_15, th.c.PRTNUM_15, th.c.STK_15, th.c.TNXQTY_15, sd.c.SLSUOM_28,
               ps.c.SLSUOM_29, ps.c.SLSCNV_29, sm.c.CUSTPO_27, sm.c.CUSTID_27, sm.c.STATUS_27)
        .join(th, th.c.TNXSEQ_15 == x.c.TNXSEQ_X)
        .join(sd, and_(sd.c.ORDNUM_28 == th.c.ORDNUM_15, sd.c.LINNUM_28 == th.c.LINNUM_15,  # no row values on SQL Server
                      sd.c.DELNUM_28 == th.c.DELNUM_15))
        .join(sm, sm.c.ORDNUM_27 == th.c.ORDNUM_15)
        .join(ps, ps.c.PRTNUM_29 == th.c.PRTNUM_15)
        .where(x.c.SHIPID_X.in_(page_ids)).order_by(x.c.SHIPID_X, th.c.TNXSEQ_15)
    ).all() if page_ids else []
    shipments: dict[int, dict] = {}
    for r in rows:
        shipment = shipments.setdefault(r.SHIPID_X, {
            "shipment_id": str(r.SHIPID_X), "ORDNUM": r.ORDNUM_15, "CUSTID": r.CUSTID_27, "CUSTPO": r.CUSTPO_27,
            "order_status": r.STATUS_27,
            "ship_date": r.TNXDTE_15.isoformat(), "SHPVIA": r.SHPVIA_X, "carrier": r.CARRIER_X,
            "tracking_number": r.TRACKNO_X, "lines": []})
        factor = line_factor(r.SLSUOM_28, r.SLSUOM_29, r.SLSCNV_29, factors)
        shipment["lines"].append({"LINNUM": r.LINNUM_15, "DELNUM": r.DELNUM_15, "PRTNUM": r.PRTNUM_15,
                                  "STK": r.STK_15, "SLSUOM": r.SLSUOM_28,
                                  "quantity": jsonable(Decimal(r.TNXQTY_15) / factor),
                                  "stock_quantity": jsonable(Decimal(r.TNXQTY_15))})
    packages: dict[int, list[dict]] = defaultdict(list)
    if shipments:
        pk = t.x_shipment_package
        for r in conn.execute(select(pk).where(pk.c.SHIPID_X.in_(list(shipments))).order_by(pk.c.SHIPID_X,
                                                                                             pk.c.SEQNUM_X)):
            packages[r.SHIPID_X].append({"carrier": r.CARRIER_X, "tracking_number": r.TRACKNO_X})
    for shipment_id, shipment in shipments.items():
        shipment["tracking"] = packages.get(shipment_id) or (
            [{"carrier": shipment["carrier"], "tracking_number": shipment["tracking_number"]}]
            if shipment["tracking_number"] else [])
    return shipments


def list_invoices(conn: Connection, since: str, limit: int) -> dict:
    """Invoices and credit memos (``STYPE`` CR) with INVCE > since, oldest first."""
    im = t.invoice_master
    rows = conn.execute(_invoice_query().where(im.c.INVCE_31 > since).order_by(im.c.INVCE_31).limit(limit + 1)).all()
    invoices = _invoices(conn, rows[:limit])
    return {"items": invoices, "next_cursor": invoices[-1]["INVCE_31"] if invoices else since,
            "has_more": len(rows) > limit}


def get_invoice(conn: Connection, invce: str) -> dict | None:
    """One invoice (or credit memo invoice) by INVCE, in the ``list_invoices`` shape; None when unknown."""
    invoices = _invoices(conn, conn.execute(_invoice_query().where(t.invoice_master.c.INVCE_31 == invce.strip())).all())
    return invoices[0] if invoices else None


def _invoice_query():  # noqa: ANN202 - a Select
    im, sm = t.invoice_master, t.so_master
    return (select(im, sm.c.CUSTPO_27, sm.c.APPINV_27, sm.c.CURR_27, sm.c.TERMS_27)
            .join(sm, sm.c.ORDNUM_27 == im.c.ORDNUM_31))


def _invoices(conn: Connection, rows: list) -> list[dict]:
    idt = t.invoice_detail
    invoices = [_row_dict(r) for r in rows]
    if invoices:
        details: dict[str, list[dict]] = defaultdict(list)
        for r in conn.execute(select(idt).where(idt.c.INVCE_32.in_([i["INVCE_31"] for i in invoices]))
                              .order_by(idt.c.INVCE_32, idt.c.LINNUM_32, idt.c.DELNUM_32)):
            details[r.INVCE_32].append(_row_dict(r))
        for invoice in invoices:
            invoice["kind"] = "credit_memo" if invoice["STYPE_31"] == "CR" else "invoice"
            invoice["lines"] = details.get(invoice["INVCE_31"], [])
    return invoices


def code_tables(conn: Connection) -> dict:
    codes = conn.execute(select(t.code_master).order_by(t.code_master.c.CDEKEY_36, t.code_master.c.CODE_36)).all()

    def table(key: str, extra: str | None = None, name: str | None = None) -> list[dict]:
        return [{"code": r.CODE_36, "description": r.DESC_36,
                 **({name: jsonable(Decimal(getattr(r, extra)))} if extra else {})}
                for r in codes if r.CDEKEY_36 == key]

    taxes = conn.execute(select(t.tax_master).order_by(t.tax_master.c.TAXCDE_25)).all()
    price_lists = conn.execute(select(t.x_price_list.c.PRCLST_X).distinct().order_by(t.x_price_list.c.PRCLST_X))
    return {
        "terms": table("TERMS"), "ship_via": table("SHPVIA"), "uom": table("UOM", "CNVFCT_36", "factor"),
        "currencies": table("CURR", "EXCRTE_36", "exchange_rate"),
        "tax_codes": [{"code": r.TAXCDE_25, "description": r.TAXDES_25, "rate": jsonable(Decimal(r.TAXRTE_25))}
                      for r in taxes],
        # The codes of the price lists (extension X_Price_List), which Customer accounts name.
        "price_lists": [{"code": code.strip(), "description": ""} for code in price_lists.scalars()],
    }
