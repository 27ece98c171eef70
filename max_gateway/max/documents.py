"""The eMAXExact documents the ``max`` backend hands to MAXUpdate, built with an XML library (never by formatting).

MAXUpdate takes one record per call (manual §4: "Do not attempt to pass multiple records in a single XML
string"), so the contract's one document per order becomes several:
- :func:`sales_order_documents`: the header (``SO_Master_Table``, for ``AddSOXML``) and one ``SO_Detail_Table``
  document per line (for ``AddSOLineItemXML``), each line carrying the ORDNUM that ``AddSOXML`` assigned.
  ``RESTCK_28`` is a contract element, not a MAX field: it never reaches MAXUpdate (the backend posts receipts).
- :func:`restock_receipt_document`: an unplanned receipt (``TYPE_39`` R, ``SUBTYPE_39`` U: "Receipt - Unplanned
  or RMA", manual §5) of a credit-memo line's goods into its stockroom, through ``ProcessTransXML``. Its
  reference (``REFDSC_39``, 20 characters) is :func:`restock_reference`, which is how the backend finds the
  receipt again in ``Transaction_History.REFDES_15``.
- :func:`status_change_documents`: a cancellation as ``ChangeSalesOrderXML`` (header) and
  ``ChangeSalesOrderLineItemXML`` (each line, with the line as it is now, which MAXUpdate compares).

The manual's formatting rules: a blank field is omitted or ``<X></X>``, never ``<X/>`` (read as null); decimals
are plain base-10 text.
"""

from __future__ import annotations

from decimal import Decimal
from xml.etree.ElementTree import Element, SubElement, tostring

from defusedxml import ElementTree as SafeElementTree

from max_gateway.sql.write_checks import RESTOCK_ELEMENT, restock_reference

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
CONTRACT_ONLY_LINE_ELEMENTS = frozenset({RESTOCK_ELEMENT})


def _document(table: str, record: str, values: list[tuple[str, str]] | Element) -> str:
    root = Element("eMAXExact")
    table_element = SubElement(root, f"{table}_Table")
    if isinstance(values, Element):
        table_element.append(values)
    else:
        element = SubElement(table_element, record)
        for tag, value in values:
            SubElement(element, tag).text = value
    return XML_DECLARATION + tostring(root, encoding="unicode", short_empty_elements=False)


def sales_order_documents(xml: bytes, stype: str) -> tuple[str, list[tuple[str, str, Element]]]:
    """The header document and each line as (LINNUM, DELNUM, SO_Detail element without ORDNUM yet)."""
    root = SafeElementTree.fromstring(xml)
    header = root.find("SO_Master_Table/SO_Master")
    lines = []
    for line in header.findall("SO_Detail"):
        header.remove(line)
        for element in [child for child in line if child.tag in CONTRACT_ONLY_LINE_ELEMENTS]:
            line.remove(element)
        for tag, value in (("STYPE_28", stype), ("CUSTID_28", header.findtext("CUSTID_27") or "")):
            if not (line.findtext(tag) or "").strip():
                _set(line, tag, value)
        lines.append(((line.findtext("LINNUM_28") or "").strip(), (line.findtext("DELNUM_28") or "01").strip() or "01",
                      line))
    return _document("SO_Master", "SO_Master", header), lines


def sales_order_line_document(line: Element, ordnum: str) -> str:
    """One ``SO_Detail`` for ``AddSOLineItemXML``, on the order MAX assigned."""
    _set(line, "ORDNUM_28", ordnum)
    return _document("SO_Detail", "SO_Detail", line)


def _set(element: Element, tag: str, value: str) -> None:
    child = element.find(tag)
    if child is None:
        child = Element(tag)
        element.insert(0, child)
    child.text = value


def restock_receipt_document(*, ordnum: str, linnum: str, delnum: str, prtnum: str, stock_quantity: Decimal,
                             stk: str, max_user: str = "") -> str:
    """An unplanned receipt (R/U) of ``stock_quantity`` (stocking units) of ``prtnum`` into ``stk`` for credit-memo
    line ``ordnum``/``linnum``/``delnum``. No ``TNXDTE_39``: MAX dates it (the manual and public code disagree on
    its format, and it is used only when the "Trans Date Time" switch is on)."""
    values = [("TYPE_39", "R"), ("SUBTYPE_39", "U"), ("PRTNUM_39", prtnum), ("TNXQTY_39", format(stock_quantity, "f")),
              ("RCVSTK_39", stk), ("REFDSC_39", restock_reference(ordnum, linnum, delnum))]
    if max_user:
        values.append(("USERNAME_39", max_user))
    return _document("MAX_Transaction", "MAX_Transaction", values)


def status_change_documents(ordnum: str, reason: str, lines: list[dict]) -> tuple[str, list[tuple[str, str]]]:
    """A cancellation: the header change (STATUS_27 4, REASON_27) and, per open line, (new, old) SO_Detail."""
    header = _document("SO_Master", "SO_Master", [("ORDNUM_27", ordnum), ("STATUS_27", "4"), ("REASON_27", reason)])
    changes = []
    for line in lines:
        key = [("ORDNUM_28", ordnum), ("LINNUM_28", line["LINNUM"]), ("DELNUM_28", line["DELNUM"])]
        changes.append((_document("SO_Detail", "SO_Detail", [*key, ("STATUS_28", "4")]),
                        _document("SO_Detail", "SO_Detail", [*key, ("STATUS_28", line["STATUS"])])))
    return header, changes
