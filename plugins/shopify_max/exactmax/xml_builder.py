"""Build eMAXExact XML documents with ElementTree (never string formatting).

- Element names are MAX column names with the table suffix (``CUSTPO_27``, ``PRTNUM_28``).
- ``ORDNUM_27`` is sent as an explicit empty element (``<ORDNUM_27></ORDNUM_27>``): MAX assigns the number.
  Fields that are None are left out, so MAX applies its defaults.
- Dates are ``yyMMdd`` (EXACTMAX.md: MAXUpdate transactions); decimals are plain text (``12.50``).
- ``& < > " '`` are escaped by the XML library and arrive intact. Non-ASCII text travels as UTF-8, or, with
  ``ascii_only=True`` (for MAX databases whose CHAR columns are not Unicode), is transliterated with Unidecode;
  every such change is returned as a :class:`Transliteration` record for the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from xml.etree.ElementTree import Element, SubElement, tostring

from unidecode import unidecode

from shopify_max.exactmax.models import Cancellation, Customer, SalesOrder, SalesOrderLine, ShipTo, Transliteration

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
MAX_DATE_FORMAT = "%y%m%d"  # yyMMdd

_ORDER_HEADER_FIELDS = (
    "CUSTID", "STYPE", "STATUS", "CUSTPO", "ORDDTE", "SHPCDE", "TERMS", "SHPVIA", "FOB", "TAXCD1", "TAXCD2",
    "TAXCD3", "TTAX", "NAME", "ADDR1", "ADDR2", "ADDR3", "ADDR4", "ADDR5", "ADDR6", "CITY", "STATE", "ZIPCD",
    "CNTRY", "PHONE", "CNTCT", "TAXABL", "CURR", "EXCRTE", "COMNT1", "COMNT2", "COMNT3", "APPINV", "REASON",
    "UDFKEY", "UDFREF",
)
_ORDER_LINE_FIELDS = (
    "LINNUM", "DELNUM", "STATUS", "PRTNUM", "SLSUOM", "PRICE", "ORGPRC", "DISC", "ORGQTY", "CURDUE", "STK",
    "TAXABL", "TAXCDE1", "TAXCDE2", "TAXCDE3", "TAX1", "TAX2", "TAX3", "RESTCK",
)
_ADDRESS_FIELDS = ("NAME", "ADDR1", "ADDR2", "ADDR3", "ADDR4", "ADDR5", "ADDR6", "CITY", "STATE", "ZIPCD", "CNTRY",
                   "PHONE", "CNTCT")
_CUSTOMER_FIELDS = ("CUSTID", *_ADDRESS_FIELDS, "TERMS", "SHPVIA", "TXCDE1", "TXCDE2", "TXCDE3", "TAXABL", "CURR",
                    "SLSREP")
_SHIP_TO_FIELDS = ("SHPCDE", *_ADDRESS_FIELDS, "SHPVIA", "TXCDE1", "TXCDE2", "TXCDE3", "TAXABL", "TXEXEM")


def format_max_date(value: date) -> str:
    return value.strftime(MAX_DATE_FORMAT)


def format_decimal(value: Decimal) -> str:
    return format(value, "f")


@dataclass
class BuiltDocument:
    """The XML bytes and every transliteration applied while building them."""

    xml: bytes
    transliterations: list[Transliteration] = field(default_factory=list)


class _Builder:
    def __init__(self, ascii_only: bool) -> None:
        self.ascii_only = ascii_only
        self.transliterations: list[Transliteration] = []

    def text(self, element: str, value: object, line: str | None) -> str:
        if isinstance(value, date):
            return format_max_date(value)
        if isinstance(value, Decimal):
            return format_decimal(value)
        text = str(value)
        if self.ascii_only and not text.isascii():
            replaced = unidecode(text)
            self.transliterations.append(Transliteration(element=element, line=line, original=text, replaced=replaced))
            return replaced
        return text

    def fields(self, parent: Element, model: object, names: tuple[str, ...], suffix: str, line: str | None = None) -> None:
        for name in names:
            value = getattr(model, name)
            if value is None:
                continue
            tag = f"{name}_{suffix}"
            SubElement(parent, tag).text = self.text(tag, value, line)

    def document(self, root: Element) -> BuiltDocument:
        body = tostring(root, encoding="unicode", short_empty_elements=False).encode("utf-8")
        return BuiltDocument(XML_DECLARATION + body, self.transliterations)


def _envelope(table: str, record: str) -> tuple[Element, Element]:
    root = Element("eMAXExact")
    return root, SubElement(SubElement(root, table), record)


def build_sales_order_xml(order: SalesOrder, ascii_only: bool = False) -> BuiltDocument:
    """A sales order or credit memo transaction: ``SO_Master`` with one ``SO_Detail`` per line."""
    builder = _Builder(ascii_only)
    root, header = _envelope("SO_Master_Table", "SO_Master")
    SubElement(header, "ORDNUM_27").text = ""  # assigned by MAX
    builder.fields(header, order, _ORDER_HEADER_FIELDS, "27")
    for line in order.lines:
        _add_line(builder, header, line)
    return builder.document(root)


def _add_line(builder: _Builder, header: Element, line: SalesOrderLine) -> None:
    detail = SubElement(header, "SO_Detail")
    SubElement(detail, "ORDNUM_28").text = ""
    builder.fields(detail, line, _ORDER_LINE_FIELDS, "28", line.LINNUM)
    for note in line.notes:
        SubElement(SubElement(detail, "SO_Note"), "NOTE_30").text = builder.text("NOTE_30", note, line.LINNUM)


def build_customer_xml(customer: Customer, ascii_only: bool = False) -> BuiltDocument:
    """A customer (``Customer_Master``) with its ship-tos (``Shipping_Master``)."""
    builder = _Builder(ascii_only)
    root, record = _envelope("Customer_Master_Table", "Customer_Master")
    builder.fields(record, customer, _CUSTOMER_FIELDS, "23")
    for ship_to in customer.ship_tos:
        _add_ship_to(builder, record, ship_to)
    return builder.document(root)


def _add_ship_to(builder: _Builder, record: Element, ship_to: ShipTo) -> None:
    element = SubElement(record, "Shipping_Master")
    builder.fields(element, ship_to, _SHIP_TO_FIELDS, "24", ship_to.SHPCDE)


def build_cancellation_xml(cancellation: Cancellation) -> BuiltDocument:
    """Status 3 -> 4 on an order: ``SO_Master`` with ``ORDNUM_27``, ``STATUS_27`` 4 and an optional reason."""
    builder = _Builder(ascii_only=False)
    root, record = _envelope("SO_Master_Table", "SO_Master")
    SubElement(record, "ORDNUM_27").text = cancellation.ORDNUM
    SubElement(record, "STATUS_27").text = "4"
    if cancellation.REASON is not None:
        SubElement(record, "REASON_27").text = cancellation.REASON
    return builder.document(root)
