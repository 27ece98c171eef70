"""The write transactions, applied the way MAXUpdate applies them: whole or not at all.

Each function parses the eMAXExact document, checks every field (static rules in ``xml_rules``, code and key
lookups here), and only then writes, inside one database transaction. Any error raises
:class:`TransactionRejected` listing every problem found, and the transaction rolls back (including the
taken ORDNUM, so numbers stay gap-free).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, Engine, func, select, text, update

from max_gateway.reference import schema as t
from max_gateway.reference.credit_memos import check_restock_element, record_stock_effect
from max_gateway.reference.database import NumberRangeExhausted, take_next_number
from max_gateway.reference.xml_rules import (
    BAD_CODE,
    BAD_NUMBER,
    CANCELLATION_FIELDS,
    CUSTOMER_FIELDS,
    MISSING_REQUIRED,
    SHIP_TO_FIELDS,
    SO_DETAIL_FIELDS,
    SO_MASTER_FIELDS,
    SO_NOTE_FIELDS,
    FieldError,
    TransactionRejected,
    parse_document,
    parse_record,
)

MAX_LINES = 99  # LINNUM is 2 digits (EXACTMAX.md)
MAX_DELIVERIES = 99  # DELNUM is 2 digits: one line may have several deliveries (SO_Detail rows)

UNKNOWN_CUSTOMER = "unknown_customer"
UNKNOWN_PART = "unknown_part"
UNKNOWN_TAX_CODE = "unknown_tax_code"
UNKNOWN_UOM = "unknown_uom"
UNKNOWN_TERMS = "unknown_terms"
UNKNOWN_SHIP_VIA = "unknown_ship_via"
UNKNOWN_CURRENCY = "unknown_currency"
UNKNOWN_SHIP_TO = "unknown_ship_to"
UNKNOWN_STOCKROOM = "unknown_stockroom"
UNKNOWN_INVOICE = "unknown_invoice"
UNKNOWN_ORDER = "unknown_order"
ASSIGNED_BY_GATEWAY = "assigned_by_gateway"
DUPLICATE_LINE = "duplicate_line"
DUPLICATE_KEY = "duplicate_key"
TOO_MANY_LINES = "too_many_lines"
NOT_POSITIVE = "not_positive"
NOT_OPEN = "not_open"
ALREADY_SHIPPED = "already_shipped"
RANGE_EXHAUSTED = "range_exhausted"
DUPLICATE_CUSTPO = "duplicate_custpo"


class DuplicateOrder(TransactionRejected):
    """The gateway's CUSTPO rule (not a MAX rule): an order of this type already carries this CUSTPO.

    Answered as 409 naming the existing ``ORDNUM``; nothing was written."""

    def __init__(self, custpo: str, stype: str, ordnum: str) -> None:
        super().__init__([FieldError("CUSTPO_27", DUPLICATE_CUSTPO, f"CUSTPO {custpo!r} already names {stype} order "
                                     f"{ordnum}; the gateway accepts one order per CUSTPO")])
        self.ordnum = ordnum


@dataclass
class CodeTables:
    """The code tables, read once per transaction (they are small)."""

    terms: set[str]
    ship_via: set[str]
    uom: dict[str, Decimal]
    currency: set[str]
    tax: set[str]

    @classmethod
    def load(cls, conn: Connection) -> CodeTables:
        rows = conn.execute(select(t.code_master.c.CDEKEY_36, t.code_master.c.CODE_36, t.code_master.c.CNVFCT_36)).all()
        tax = set(conn.execute(select(t.tax_master.c.TAXCDE_25)).scalars())
        return cls(
            terms={r.CODE_36 for r in rows if r.CDEKEY_36 == "TERMS"},
            ship_via={r.CODE_36 for r in rows if r.CDEKEY_36 == "SHPVIA"},
            uom={r.CODE_36: Decimal(r.CNVFCT_36 or 1) for r in rows if r.CDEKEY_36 == "UOM"},
            currency={r.CODE_36 for r in rows if r.CDEKEY_36 == "CURR"},
            tax=tax,
        )

    def check(self, values: dict, errors: list[FieldError], line: str | None = None) -> None:
        """Add an error for every code element whose value is not in its table."""
        for tag, value in values.items():
            stem = tag.rsplit("_", 1)[0]
            if stem in ("TERMS",) and value not in self.terms:
                errors.append(FieldError(tag, UNKNOWN_TERMS, f"terms code {value!r} is not in Code_Master", line))
            elif stem in ("SHPVIA",) and value not in self.ship_via:
                errors.append(FieldError(tag, UNKNOWN_SHIP_VIA, f"ship-via {value!r} is not in Code_Master", line))
            elif stem == "SLSUOM" and value not in self.uom:
                errors.append(FieldError(tag, UNKNOWN_UOM, f"UOM {value!r} is not in Code_Master", line))
            elif stem == "CURR" and value not in self.currency:
                errors.append(FieldError(tag, UNKNOWN_CURRENCY, f"currency {value!r} is not in Code_Master", line))
            elif stem.startswith(("TAXCD", "TXCDE", "TAXCDE")) and value not in self.tax:
                errors.append(FieldError(tag, UNKNOWN_TAX_CODE, f"tax code {value!r} is not in Tax_Master", line))


def _reject_if(errors: list[FieldError]) -> None:
    if errors:
        raise TransactionRejected(errors)


# ---------------------------------------------------------------- sales orders and credit memos


def create_sales_order(engine: Engine, xml: bytes, stype: str = "CU") -> dict:
    """Apply a sales order (``CU``) or credit memo (``CR``) transaction; return the assigned keys. A credit memo's
    stock effect (``RESTCK_28``, :mod:`max_gateway.reference.credit_memos`) is written in the same transaction."""
    with engine.begin() as conn:
        return _create_order(conn, xml, stype)


def _refuse_duplicate_custpo(conn: Connection, custpo: str | None, stype: str) -> None:
    """One order per (CUSTPO, STYPE), checked and written under one lock, so concurrent writers of one CUSTPO
    cannot both pass: a transaction advisory lock on the CUSTPO (PostgreSQL); on SQLite every write transaction
    already holds the database write lock (BEGIN IMMEDIATE). A blank CUSTPO is not checked (MAX allows it)."""
    if not custpo:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                     {"key": f"SO_Master.CUSTPO_27/{stype}/{custpo}"})
    existing = conn.execute(select(t.so_master.c.ORDNUM_27).where(
        t.so_master.c.CUSTPO_27 == custpo, t.so_master.c.STYPE_27 == stype).order_by(t.so_master.c.ORDNUM_27)).first()
    if existing is not None:
        raise DuplicateOrder(custpo, stype, existing.ORDNUM_27)


def _create_order(conn: Connection, xml: bytes, stype: str) -> dict:
    errors: list[FieldError] = []
    record = parse_document(xml, "SO_Master_Table", "SO_Master")
    header = parse_record(record, SO_MASTER_FIELDS, errors, child_tags=("SO_Detail",))
    h = header.values
    _refuse_duplicate_custpo(conn, h.get("CUSTPO_27"), stype)
    for tag in ("ORDNUM_27", "INVCE_27"):
        if tag in h:
            errors.append(FieldError(tag, ASSIGNED_BY_GATEWAY, f"{tag} is assigned by MAX; send it empty"))
    if "STYPE_27" in h and h["STYPE_27"] != stype:
        errors.append(FieldError("STYPE_27", BAD_CODE, f"this endpoint takes STYPE {stype}, not {h['STYPE_27']!r}"))
    if stype == "CR" and "APPINV_27" not in h:
        errors.append(FieldError("APPINV_27", MISSING_REQUIRED, "a credit memo names the invoice it credits"))
    codes = CodeTables.load(conn)
    codes.check(h, errors)

    customer = None
    if "CUSTID_27" in h:
        customer = conn.execute(select(t.customer_master).where(t.customer_master.c.CUSTID_23 == h["CUSTID_27"])).first()
        if customer is None:
            errors.append(FieldError("CUSTID_27", UNKNOWN_CUSTOMER, f"customer {h['CUSTID_27']!r} is not in Customer_Master"))
    ship_to = None
    if "SHPCDE_27" in h and customer is not None:
        ship_to = conn.execute(select(t.shipping_master).where(
            t.shipping_master.c.CUSTID_24 == h["CUSTID_27"], t.shipping_master.c.SHPCDE_24 == h["SHPCDE_27"])).first()
        if ship_to is None:
            errors.append(FieldError("SHPCDE_27", UNKNOWN_SHIP_TO, f"ship-to {h['SHPCDE_27']!r} is not on file for "
                                     f"customer {h['CUSTID_27']!r}"))
    if stype == "CR" and "APPINV_27" in h:
        invoice = conn.execute(select(t.invoice_master.c.CUSTID_31).where(t.invoice_master.c.INVCE_31 == h["APPINV_27"])).first()
        if invoice is None or (customer is not None and invoice.CUSTID_31 != h.get("CUSTID_27")):
            errors.append(FieldError("APPINV_27", UNKNOWN_INVOICE, f"invoice {h['APPINV_27']!r} is not on file for this customer"))

    details = header.children.get("SO_Detail", [])
    if not details:
        errors.append(FieldError("SO_Detail", MISSING_REQUIRED, "an order needs at least one SO_Detail line"))
    line_numbers = {(d.findtext("LINNUM_28") or "").strip() for d in details}
    if len(line_numbers) > MAX_LINES or len(details) > MAX_LINES * MAX_DELIVERIES:
        errors.append(FieldError("SO_Detail", TOO_MANY_LINES, f"{len(line_numbers)} lines in {len(details)} rows; "
                                 f"MAX allows at most {MAX_LINES} lines of {MAX_DELIVERIES} deliveries"))
        details = details[: MAX_LINES * MAX_DELIVERIES]
    lines = _parse_lines(conn, details, codes, errors, h, stype)
    _reject_if(errors)

    try:
        ordnum = take_next_number(conn, "ORDNUM")
    except NumberRangeExhausted as exc:
        raise TransactionRejected([FieldError("ORDNUM_27", RANGE_EXHAUSTED, str(exc))]) from exc
    conn.execute(t.so_master.insert().values(**_header_row(h, ordnum, stype, customer, ship_to)))
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


def _parse_lines(conn: Connection, details: list, codes: CodeTables, errors: list[FieldError], h: dict,
                 stype: str) -> list[tuple[dict, list[str], str | None]]:
    """Each line as (SO_Detail row, notes, RESTCK_28 or None)."""
    parsed_lines = []
    seen: set[tuple[str, str]] = set()
    for position, element in enumerate(details, start=1):
        linnum_text = (element.findtext("LINNUM_28") or "").strip() or f"#{position}"
        parsed = parse_record(element, SO_DETAIL_FIELDS, errors, line=linnum_text, child_tags=("SO_Note",))
        values = parsed.values
        line = values.get("LINNUM_28")
        if line is not None and not (len(line) == 2 and line.isdigit() and line != "00"):
            errors.append(FieldError("LINNUM_28", BAD_NUMBER, f"{line!r} is not a line number 01..99", linnum_text))
        delnum = values.get("DELNUM_28", "01")
        if not (len(delnum) == 2 and delnum.isdigit() and delnum != "00"):
            errors.append(FieldError("DELNUM_28", BAD_NUMBER, f"{delnum!r} is not a delivery number 01..99", linnum_text))
        if (line, delnum) in seen:
            errors.append(FieldError("LINNUM_28", DUPLICATE_LINE, f"line {line}/{delnum} appears twice", linnum_text))
        seen.add((line, delnum))
        if "ORDNUM_28" in values:
            errors.append(FieldError("ORDNUM_28", ASSIGNED_BY_GATEWAY, "ORDNUM is assigned by MAX; send it empty", linnum_text))
        if "CUSTID_28" in values and values["CUSTID_28"] != h.get("CUSTID_27"):
            errors.append(FieldError("CUSTID_28", BAD_CODE, "the line customer must match CUSTID_27", linnum_text))
        if "STYPE_28" in values and values["STYPE_28"] != stype:
            errors.append(FieldError("STYPE_28", BAD_CODE, f"the line type must be {stype}", linnum_text))
        for tag in ("ORGQTY_28",):
            if tag in values and values[tag] <= 0:
                errors.append(FieldError(tag, NOT_POSITIVE, "the quantity must be greater than zero", linnum_text))
        if "PRICE_28" in values and values["PRICE_28"] < 0:
            errors.append(FieldError("PRICE_28", NOT_POSITIVE, "the price must not be negative", linnum_text))
        check_restock_element(values, stype, errors, linnum_text)
        codes.check(values, errors, linnum_text)
        notes = []
        for note in parsed.children.get("SO_Note", []):
            notes.append(parse_record(note, SO_NOTE_FIELDS, errors, line=linnum_text).values.get("NOTE_30", ""))
        parsed_lines.append((values, notes, linnum_text))

    part_numbers = {values["PRTNUM_28"] for values, _, _ in parsed_lines if "PRTNUM_28" in values}
    sales = {}
    stockrooms: dict[str, set[str]] = {}
    non_stock: set[str] = set()
    if part_numbers:
        # Non-inventory parts (TYPE_01 "N", e.g. freight) are not stocked anywhere: no stockroom check.
        non_stock = set(conn.execute(select(t.part_master.c.PRTNUM_01).where(
            t.part_master.c.PRTNUM_01.in_(part_numbers), t.part_master.c.TYPE_01 == "N")).scalars())
        for row in conn.execute(select(t.part_sales).where(t.part_sales.c.PRTNUM_29.in_(part_numbers))):
            sales[row.PRTNUM_29] = row
        for row in conn.execute(select(t.part_stock.c.PRTNUM_06, t.part_stock.c.STK_06).where(
                t.part_stock.c.PRTNUM_06.in_(part_numbers))):
            stockrooms.setdefault(row.PRTNUM_06, set()).add(row.STK_06)

    result = []
    for values, notes, linnum_text in parsed_lines:
        part = sales.get(values.get("PRTNUM_28"))
        if "PRTNUM_28" in values and part is None:
            errors.append(FieldError("PRTNUM_28", UNKNOWN_PART, f"part {values['PRTNUM_28']!r} is not in Part_Master",
                                     linnum_text))
            continue
        if part is None:
            continue
        stk = values.get("STK_28", part.STK_29)
        if part.PRTNUM_29 not in non_stock and stk not in stockrooms.get(part.PRTNUM_29, set()):
            errors.append(FieldError("STK_28", UNKNOWN_STOCKROOM, f"stockroom {stk!r} holds no Part_Stock row for "
                                     f"{part.PRTNUM_29!r}", linnum_text))
        qty = values.get("ORGQTY_28", Decimal(0))
        price = values.get("PRICE_28", Decimal(0))
        row = {
            "LINNUM_28": values.get("LINNUM_28", ""), "DELNUM_28": values.get("DELNUM_28", "01"), "STATUS_28": "3",
            "CUSTID_28": h.get("CUSTID_27", ""), "PRTNUM_28": part.PRTNUM_29,
            "SLSUOM_28": values.get("SLSUOM_28", part.SLSUOM_29), "PRICE_28": price,
            "ORGPRC_28": values.get("ORGPRC_28", price), "DISC_28": values.get("DISC_28", Decimal(0)),
            "ORGQTY_28": qty, "CURQTY_28": qty, "SHPQTY_28": Decimal(0), "BCKQTY_28": Decimal(0), "DUEQTY_28": qty,
            "INVQTY_28": Decimal(0), "CURDUE_28": values.get("CURDUE_28", h.get("ORDDTE_27")), "SHPDTE_28": None,
            "STK_28": stk, "TAXABL_28": values.get("TAXABL_28", h.get("TAXABL_27", "Y")), "STYPE_28": stype,
            "FORCUR_28": values.get("FORCUR_28", Decimal(0)), "COST_28": values.get("COST_28", Decimal(0)),
        }
        for n in (1, 2, 3):
            row[f"TAXCDE{n}_28"] = values.get(f"TAXCDE{n}_28", "")
            row[f"TAX{n}_28"] = values.get(f"TAX{n}_28", Decimal(0))
        result.append((row, notes, values.get("RESTCK_28")))
    return result


def _header_row(h: dict, ordnum: str, stype: str, customer, ship_to) -> dict:  # noqa: ANN001 - Row objects
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
        errors: list[FieldError] = []
        record = parse_document(xml, "Customer_Master_Table", "Customer_Master")
        parsed = parse_record(record, CUSTOMER_FIELDS, errors, child_tags=("Shipping_Master",))
        values = parsed.values
        codes = CodeTables.load(conn)
        codes.check(values, errors)
        custid = values.get("CUSTID_23")
        if custid is not None and conn.execute(select(t.customer_master.c.CUSTID_23).where(
                t.customer_master.c.CUSTID_23 == custid)).first() is not None:
            errors.append(FieldError("CUSTID_23", DUPLICATE_KEY, f"customer {custid!r} already exists"))
        ship_tos = []
        for element in parsed.children.get("Shipping_Master", []):
            code = (element.findtext("SHPCDE_24") or "").strip() or None
            ship_to = parse_record(element, SHIP_TO_FIELDS, errors, line=code).values
            codes.check(ship_to, errors, code)
            if "CUSTID_24" in ship_to and ship_to["CUSTID_24"] != custid:
                errors.append(FieldError("CUSTID_24", BAD_CODE, "the ship-to customer must match CUSTID_23", code))
            if any(s.get("SHPCDE_24") == ship_to.get("SHPCDE_24") for s in ship_tos):
                errors.append(FieldError("SHPCDE_24", DUPLICATE_KEY, f"ship-to {code!r} appears twice", code))
            ship_tos.append(ship_to)
        _reject_if(errors)
        conn.execute(t.customer_master.insert().values(**values))
        for ship_to in ship_tos:
            conn.execute(t.shipping_master.insert().values(**{**ship_to, "CUSTID_24": custid}))
        return {"CUSTID": custid, "ship_tos": [s["SHPCDE_24"] for s in ship_tos]}


# ---------------------------------------------------------------- cancellation


def cancel_sales_order(engine: Engine, xml: bytes) -> dict:
    """Status 3 -> 4 on the header and every line, only while nothing has shipped."""
    with engine.begin() as conn:
        errors: list[FieldError] = []
        record = parse_document(xml, "SO_Master_Table", "SO_Master")
        values = parse_record(record, CANCELLATION_FIELDS, errors).values
        _reject_if(errors)
        ordnum = values["ORDNUM_27"]
        order = conn.execute(select(t.so_master.c.STATUS_27).where(t.so_master.c.ORDNUM_27 == ordnum)).first()
        if order is None:
            raise TransactionRejected([FieldError("ORDNUM_27", UNKNOWN_ORDER, f"order {ordnum!r} is not in SO_Master")])
        if order.STATUS_27 != "3":
            raise TransactionRejected([FieldError("STATUS_27", NOT_OPEN, f"order {ordnum} has status {order.STATUS_27}"
                                                  ", only open (3) orders can be cancelled")])
        shipped = conn.execute(select(func.coalesce(func.sum(t.so_detail.c.SHPQTY_28), 0)).where(
            t.so_detail.c.ORDNUM_28 == ordnum)).scalar_one()
        if Decimal(shipped) > 0:
            raise TransactionRejected([FieldError("ORDNUM_27", ALREADY_SHIPPED, f"order {ordnum} has shipped "
                                                  f"{Decimal(shipped):f} units; it cannot be cancelled")])
        conn.execute(update(t.so_master).where(t.so_master.c.ORDNUM_27 == ordnum).values(
            STATUS_27="4", REASON_27=values.get("REASON_27", "")))
        conn.execute(update(t.so_detail).where(t.so_detail.c.ORDNUM_28 == ordnum).values(STATUS_28="4"))
        return {"ORDNUM": ordnum, "STATUS": "4"}
