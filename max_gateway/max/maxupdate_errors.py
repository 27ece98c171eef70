"""MAXUpdate's error text as the contract's typed rejection (:class:`TransactionRejected`).

MAXUpdate's text names neither the XML element nor the record: it is one of MAXTRAN2's message templates (manual
§18, "MAXTrans Error Messages", e.g. ``Error: Invalid Part Number - %s.``). Each template known here maps to the
element it is about and to the rule the gateway's own checks answer for the same problem, so a client sees one
rule whichever side caught it. The element depends on the call: a transaction names ``_39`` elements, a
sales-order header ``_27``, an order line ``_28``. The message always keeps MAXUpdate's text verbatim.

§18 lists MAXTRAN2's texts only; the sales-order calls' texts are undocumented. A text no template matches, or no
text at all, is ``maxupdate_rejected`` on ``eMAXExact``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from max_gateway.sql.write_checks import NOT_POSITIVE, UNKNOWN_ORDER, UNKNOWN_PART, UNKNOWN_STOCKROOM
from max_gateway.xml_rules import BAD_CODE, BAD_DATE, MISSING_REQUIRED, FieldError, TransactionRejected

# Rules only MAXUpdate answers (the gateway's checks cannot see stock, lot control or credit holds).
MAXUPDATE_REJECTED = "maxupdate_rejected"
LOT_SERIAL_CONTROLLED = "lot_serial_controlled"
INSUFFICIENT_STOCK = "insufficient_stock"
CREDIT_HOLD = "credit_hold"

UNRECOGNISED_ELEMENT = "eMAXExact"

TRANSACTION, ORDER, ORDER_LINE = "transaction", "order", "order_line"
DOCUMENT_OF_METHOD = {
    "ProcessTransXML": TRANSACTION,
    "AddSOXML": ORDER, "ChangeSalesOrderXML": ORDER, "DeleteSalesOrderXML": ORDER,
    "AddSOLineItemXML": ORDER_LINE, "ChangeSalesOrderLineItemXML": ORDER_LINE,
}


@dataclass(frozen=True)
class Template:
    """One MAXUpdate message template: its text, the rule, and the element it names per kind of document."""

    pattern: re.Pattern
    rule: str
    elements: dict[str, str]


def _template(regex: str, rule: str, **elements: str) -> Template:
    return Template(re.compile(regex, re.IGNORECASE), rule, elements)


# The first row whose pattern is found in the text wins; each pattern is a part of its template before any line break.
TEMPLATES = (
    # IDS_BADTRANSTYPE: MAXTRAN2 32780, MAXUpdate manual §18
    _template(r"Illegal transaction type '", BAD_CODE, transaction="TYPE_39"),
    # IDS_BADSUBTYPE: MAXTRAN2 32783, MAXUpdate manual §18
    _template(r"The subtype '.' is not valid for the transaction type", BAD_CODE, transaction="SUBTYPE_39"),
    # IDS_BADDATE: MAXTRAN2 32784, MAXUpdate manual §18
    _template(r"Transaction must have a valid date", BAD_DATE, transaction="TNXDTE_39"),
    # IDS_BADPRTNUM: MAXTRAN2 32786, MAXUpdate manual §18
    _template(r"Invalid Part Number - ", UNKNOWN_PART, transaction="PRTNUM_39", order_line="PRTNUM_28"),
    # IDS_BADSTOCKID: MAXTRAN2 32787, MAXUpdate manual §18. The text does not say which stockroom: the backend's
    # transactions are receipts (RCVSTK_39); a transfer's ISSSTK_39 would read the same.
    _template(r"Invalid Stockroom - ", UNKNOWN_STOCKROOM, transaction="RCVSTK_39", order_line="STK_28"),
    # IDS_ORDERDOESNTEXIST: MAXTRAN2 32794, MAXUpdate manual §18
    _template(r"The order '[^']*' does not exist", UNKNOWN_ORDER, transaction="ORDNUM_39", order="ORDNUM_27",
              order_line="ORDNUM_28"),
    # IDS_NOSOEDET: MAXTRAN2 32826, MAXUpdate manual §18: the sales-order line the transaction names
    _template(r"The SOEDet record does not exist", UNKNOWN_ORDER, transaction="LINNUM_39"),
    # IDS_TNXQTYLOW: MAXTRAN2 32815, MAXUpdate manual §18
    _template(r"The Transaction Quantity must be greater than 0\. Part - ", NOT_POSITIVE, transaction="TNXQTY_39"),
    # IDS_PARTUNDERLOTCONTROL: MAXTRAN2 32818, MAXUpdate manual §18
    _template(r"Part '[^']*' is under Lot/Serial Control", LOT_SERIAL_CONTROLLED, transaction="PRTNUM_39",
              order_line="PRTNUM_28"),
    # IDS_NOLOTNUMBER: MAXTRAN2 32862, MAXUpdate manual §18
    _template(r"is under Lot Control and no Lot Number was entered", LOT_SERIAL_CONTROLLED, transaction="PRTNUM_39"),
    # IDS_BADSTOCKRESULT: MAXTRAN2 32788, MAXUpdate manual §18
    _template(r"On Adjustment resulting stock quantity must be >= 0", INSUFFICIENT_STOCK, transaction="TNXQTY_39"),
    # IDS_BADPARTSTOCKREL: MAXTRAN2 32792 (a transfer); IDS_LOW_STOCK: 32892 (an issue's warning); manual §18
    _template(r"Issuing stockroom has insufficient quantity", INSUFFICIENT_STOCK, transaction="TNXQTY_39"),
    # IDS_CANTSHIP_STOCK: MAXTRAN2 32829, MAXUpdate manual §18
    _template(r"Cannot ship: Insufficient stock exists", INSUFFICIENT_STOCK, transaction="TNXQTY_39"),
    # IDS_INSUFFSTOCK: MAXTRAN2 32839, MAXUpdate manual §18
    _template(r"Insufficient stock available in the location", INSUFFICIENT_STOCK, transaction="TNXQTY_39"),
    # IDS_NOSTOCKAVAIL: MAXTRAN2 32840, MAXUpdate manual §18
    _template(r"No Stock available in the location", INSUFFICIENT_STOCK, transaction="TNXQTY_39"),
    # IDS_INSUFFICIENTINV: MAXTRAN2 32866, MAXUpdate manual §18
    _template(r"Insufficient inventory Lot ", INSUFFICIENT_STOCK, transaction="TNXQTY_39"),
    # IDS_NOGLREF: MAXTRAN2 32813, MAXUpdate manual §18
    _template(r"The GL Reference is required", MISSING_REQUIRED, transaction="GLREF_39"),
    # IDS_BADGLREF: MAXTRAN2 32814, MAXUpdate manual §18
    _template(r"The GL Reference '[^']*' does not exist", BAD_CODE, transaction="GLREF_39"),
    # IDS_CUSTHOLD_SHIPWARNING: MAXTRAN2 32828, MAXUpdate manual §18 (a "Warning:", yet the call failed)
    _template(r"The customer '[^']*' is on Credit Hold", CREDIT_HOLD, transaction="ORDNUM_39", order="CUSTID_27",
              order_line="ORDNUM_28"),
)


def rejection_from_maxupdate(error_text: str, *, method: str, line: str | None = None) -> TransactionRejected:
    """The typed rejection for MAXUpdate's refusal of ``method`` (its vendor name, e.g. ``ProcessTransXML``);
    ``line`` is the LINNUM of the order line the call was about."""
    if not error_text.strip():
        return TransactionRejected([FieldError(
            UNRECOGNISED_ELEMENT, MAXUPDATE_REJECTED,
            f"MAXUpdate refused {method} and gave no error text: see xmlwrapper.log in MAXUpdate's LogPath "
            "(written when error_report is on)", line)])
    for template in TEMPLATES:
        if template.pattern.search(error_text):
            element = template.elements.get(DOCUMENT_OF_METHOD.get(method, ""), UNRECOGNISED_ELEMENT)
            return TransactionRejected([FieldError(element, template.rule, f"MAXUpdate ({method}): {error_text}",
                                                   line)])
    return TransactionRejected([FieldError(
        UNRECOGNISED_ELEMENT, MAXUPDATE_REJECTED,
        f"MAXUpdate refused {method}: {error_text} (more in xmlwrapper.log in MAXUpdate's LogPath)", line)])
