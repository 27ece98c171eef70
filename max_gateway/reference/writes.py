"""The reference backend's write transactions, applied the way MAXUpdate applies them: whole or not at all.

Each function checks the document first (``max_gateway.sql.write_checks``: static rules and code and key lookups)
and only then writes, inside one database transaction. Any error raises :class:`TransactionRejected` listing every
problem found, and the transaction rolls back (including the taken ORDNUM, so numbers stay gap-free).
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, text, update

from max_gateway.reference.credit_memos import record_stock_effect
from max_gateway.reference.database import NumberRangeExhausted, take_next_number
from max_gateway.sql import tables as t
from max_gateway.sql.write_checks import (
    RANGE_EXHAUSTED,
    CheckedOrder,
    DuplicateOrder,
    check_cancellation,
    check_customer,
    check_sales_order,
    find_order_by_custpo,
)
from max_gateway.xml_rules import FieldError, TransactionRejected


def create_sales_order(engine: Engine, xml: bytes, stype: str = "CU", *, refuse_duplicate_custpo: bool = True) -> dict:
    """Apply a sales order (``CU``) or credit memo (``CR``) transaction; return the assigned keys. A credit memo's
    stock effect (``RESTCK_28``, :mod:`max_gateway.reference.credit_memos`) is written in the same transaction.

    ``refuse_duplicate_custpo`` is the gateway's CUSTPO rule; MAX itself has none (the MAXUpdate simulator the
    ``max`` backend's tests use turns it off)."""
    with engine.begin() as conn:
        refuse = (lambda h: _refuse_duplicate_custpo(conn, h.get("CUSTPO_27"), stype)) if refuse_duplicate_custpo \
            else None
        return insert_sales_order(conn, check_sales_order(conn, xml, stype, on_header=refuse))


def _refuse_duplicate_custpo(conn: Connection, custpo: str | None, stype: str) -> None:
    """One order per (CUSTPO, STYPE), checked and written under one lock, so concurrent writers of one CUSTPO
    cannot both pass: a transaction advisory lock on the CUSTPO (PostgreSQL); on SQLite every write transaction
    already holds the database write lock (BEGIN IMMEDIATE). A blank CUSTPO is not checked (MAX allows it)."""
    if not custpo:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                     {"key": f"SO_Master.CUSTPO_27/{stype}/{custpo}"})
    existing = find_order_by_custpo(conn, custpo, stype)
    if existing is not None:
        raise DuplicateOrder(custpo, stype, existing)


def insert_sales_order(conn: Connection, order: CheckedOrder) -> dict:
    """Write a checked order: take its ORDNUM, insert header, lines and notes, and its credit-memo stock effect."""
    h, stype, lines = order.header, order.stype, order.lines

    try:
        ordnum = take_next_number(conn, "ORDNUM")
    except NumberRangeExhausted as exc:
        raise TransactionRejected([FieldError("ORDNUM_27", RANGE_EXHAUSTED, str(exc))]) from exc
    conn.execute(t.so_master.insert().values(**header_row(h, ordnum, stype, order.customer, order.ship_to)))
    detail_rows, note_rows = [], []
    for line, notes, _restock in lines:
        line["ORDNUM_28"] = ordnum
        detail_rows.append(line)
        note_rows += [{"ORDNUM_30": ordnum, "LINNUM_30": line["LINNUM_28"], "DELNUM_30": line["DELNUM_28"],
                       "SEQNUM_30": seq, "NOTE_30": note} for seq, note in enumerate(notes, start=1)]
    conn.execute(t.so_detail.insert(), detail_rows)
    if note_rows:
        conn.execute(t.so_note.insert(), note_rows)
    record_stock_effect(conn, ordnum, h["ORDDTE_27"], [(row, restock) for row, _notes, restock in lines])
    return {"ORDNUM": ordnum, "STYPE": stype, "CUSTPO": h.get("CUSTPO_27", ""),
            "lines": [{"LINNUM": r["LINNUM_28"], "DELNUM": r["DELNUM_28"], "PRTNUM": r["PRTNUM_28"],
                       "SLSUOM": r["SLSUOM_28"], "STK": r["STK_28"]} for r in detail_rows]}


def header_row(h: dict, ordnum: str, stype: str, customer, ship_to) -> dict:  # noqa: ANN001 - Row objects
    """SO_Master values: what the transaction gives, else the customer's (or ship-to's) defaults, as MAX does."""
    row = {tag: value for tag, value in h.items() if tag in t.so_master.c}
    row.update(ORDNUM_27=ordnum, STYPE_27=stype, STATUS_27="3")
    row.setdefault("TERMS_27", customer.TERMS_23)
    row.setdefault("SHPVIA_27", customer.SHPVIA_23)
    row.setdefault("CURR_27", customer.CURR_23)
    row.setdefault("TAXABL_27", ship_to.TAXABL_24 if ship_to is not None else customer.TAXABL_23)
    tax_source, tax_suffix = (ship_to, "24") if ship_to is not None else (customer, "23")
    if not any(f"TAXCD{n}_27" in h for n in (1, 2, 3)):
        for n in (1, 2, 3):
            row[f"TAXCD{n}_27"] = getattr(tax_source, f"TXCDE{n}_{tax_suffix}")
    if "NAME_27" not in h:  # no one-off address: ship to the ship-to on file, else the customer's address
        address_source, suffix = (ship_to, "24") if ship_to is not None else (customer, "23")
        for name in ("NAME", *(f"ADDR{n}" for n in range(1, 7)), "CITY", "STATE", "ZIPCD", "CNTRY", "PHONE", "CNTCT"):
            row[f"{name}_27"] = getattr(address_source, f"{name}_{suffix}")
    return row


# ---------------------------------------------------------------- customers


def create_customer(engine: Engine, xml: bytes) -> dict:
    with engine.begin() as conn:
        values, ship_tos = check_customer(conn, xml)
        custid = values["CUSTID_23"]
        conn.execute(t.customer_master.insert().values(**values))
        for ship_to in ship_tos:
            conn.execute(t.shipping_master.insert().values(**{**ship_to, "CUSTID_24": custid}))
        return {"CUSTID": custid, "ship_tos": [s["SHPCDE_24"] for s in ship_tos]}


# ---------------------------------------------------------------- cancellation


def cancel_sales_order(engine: Engine, xml: bytes) -> dict:
    """Status 3 -> 4 on the header and every line, only while nothing has shipped."""
    with engine.begin() as conn:
        values = check_cancellation(conn, xml)
        ordnum = values["ORDNUM_27"]
        conn.execute(update(t.so_master).where(t.so_master.c.ORDNUM_27 == ordnum).values(
            STATUS_27="4", REASON_27=values.get("REASON_27", "")))
        conn.execute(update(t.so_detail).where(t.so_detail.c.ORDNUM_28 == ordnum).values(STATUS_28="4"))
        return {"ORDNUM": ordnum, "STATUS": "4"}
