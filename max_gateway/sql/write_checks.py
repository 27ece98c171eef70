"""What MAX refuses in a write transaction, checked by reads only: static field rules (``xml_rules``) and the code
and key lookups (customer, ship-to, part, stockroom, tax code, UOM, terms, ship-via, currency, invoice credited).

Both backends run these checks before writing: the reference backend inside its writing transaction, the ``max``
backend on its read-only connection before it hands the document to MAXUpdate (which checks again, and whose own
error text is mapped to the same rules, ``max_gateway.max.maxupdate_errors``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, func, select

from max_gateway.sql import tables as t
from max_gateway.xml_rules import (
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


CREDIT_MEMO_ONLY = "credit_memo_only"
RESTOCK_ELEMENT = "RESTCK_28"  # contract element, not a MAX column (max_gateway/sql/tables.py)


class DuplicateOrder(TransactionRejected):
    """The gateway's CUSTPO rule (not a MAX rule): an order of this type already carries this CUSTPO.

    Answered as 409 naming the existing ``ORDNUM``; nothing was written."""

    def __init__(self, custpo: str, stype: str, ordnum: str) -> None:
        super().__init__([FieldError("CUSTPO_27", DUPLICATE_CUSTPO, f"CUSTPO {custpo!r} already names {stype} order "
                                     f"{ordnum}; the gateway accepts one order per CUSTPO")])
        self.ordnum = ordnum


def find_order_by_custpo(conn: Connection, custpo: str, stype: str) -> str | None:
    """The first ORDNUM of this type carrying this CUSTPO, or None."""
    row = conn.execute(select(t.so_master.c.ORDNUM_27).where(
        t.so_master.c.CUSTPO_27 == custpo, t.so_master.c.STYPE_27 == stype).order_by(t.so_master.c.ORDNUM_27)).first()
    return None if row is None else row.ORDNUM_27


@dataclass(frozen=True)
class CheckedOrder:
    """A sales order or credit memo that passed every check: header values, the customer and ship-to rows, and
    each line as (SO_Detail row without ORDNUM, notes, RESTCK_28 or None)."""

    stype: str
    header: dict
    customer: object
    ship_to: object
    lines: list[tuple[dict, list[str], str | None]]


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


def check_sales_order(conn: Connection, xml: bytes, stype: str,
                      on_header: Callable[[dict], None] | None = None) -> CheckedOrder:
    """Parse a sales order (``CU``) or credit memo (``CR``) and check every rule MAX applies to it, by reads only.

    ``on_header`` sees the parsed header before the lookups (the reference backend refuses a duplicate CUSTPO there,
    under its lock). Raises :class:`TransactionRejected` listing every problem found."""
    errors: list[FieldError] = []
    record = parse_document(xml, "SO_Master_Table", "SO_Master")
    header = parse_record(record, SO_MASTER_FIELDS, errors, child_tags=("SO_Detail",))
    h = header.values
    if on_header is not None:
        on_header(h)
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
    lines = check_order_lines(conn, details, codes, errors, h, stype)
    _reject_if(errors)
    return CheckedOrder(stype, h, customer, ship_to, lines)


def check_order_lines(conn: Connection, details: list, codes: CodeTables, errors: list[FieldError], h: dict,
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


def restock_reference(ordnum: str, linnum: str, delnum: str) -> str:
    """``CR00100005-0101``: the reference (``Transaction_History.REFDES_15``, MAXUpdate ``REFDSC_39``, at most 20
    characters) of the receipt that brings a credit-memo line's goods back to stock; one per line."""
    return f"CR{ordnum.strip()}-{linnum.strip()}{delnum.strip()}"


def check_restock_element(values: dict, stype: str, errors: list[FieldError], line: str | None) -> None:
    """``RESTCK_28`` belongs on credit-memo lines only."""
    if stype != "CR" and RESTOCK_ELEMENT in values:
        errors.append(FieldError(RESTOCK_ELEMENT, CREDIT_MEMO_ONLY, "RESTCK_28 (goods back to stock) is valid only "
                                 "on credit memo lines (STYPE CR)", line))


def check_customer(conn: Connection, xml: bytes) -> tuple[dict, list[dict]]:
    """Parse a new customer with its ship-tos and check every rule; return (Customer_Master values, ship-tos)."""
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
    ship_tos: list[dict] = []
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
    return values, ship_tos


def check_cancellation(conn: Connection, xml: bytes) -> dict:
    """Parse a cancellation and check it: the order exists, is open (3) and has shipped nothing. Return its values."""
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
    return values
