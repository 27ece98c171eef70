"""MAXUpdate's refusal texts become the contract's typed rejections (max_gateway/max/maxupdate_errors.py). Each text
is a template of the manual's §18 ("MAXTrans Error Messages"), filled in as MAXUpdate would."""

from __future__ import annotations

import pytest

from max_gateway.max.maxupdate_errors import (
    CREDIT_HOLD,
    INSUFFICIENT_STOCK,
    LOT_SERIAL_CONTROLLED,
    MAXUPDATE_REJECTED,
    rejection_from_maxupdate,
)
from max_gateway.sql.write_checks import NOT_POSITIVE, UNKNOWN_ORDER, UNKNOWN_PART, UNKNOWN_STOCKROOM
from max_gateway.xml_rules import BAD_CODE, BAD_DATE, MISSING_REQUIRED

TRANSACTION = "ProcessTransXML"


@pytest.mark.parametrize(("text", "method", "element", "rule"), [
    ("Error: Invalid Part Number - PRT-99999.", TRANSACTION, "PRTNUM_39", UNKNOWN_PART),  # 32786
    ("Error: Invalid Part Number - PRT-99999.", "AddSOLineItemXML", "PRTNUM_28", UNKNOWN_PART),  # 32786
    ("Error: Invalid Stockroom - ZZZ.", TRANSACTION, "RCVSTK_39", UNKNOWN_STOCKROOM),  # 32787
    ("Error: Invalid Stockroom - ZZZ.", "ChangeSalesOrderLineItemXML", "STK_28", UNKNOWN_STOCKROOM),  # 32787
    ("Error: The order '00099999' does not exist.", TRANSACTION, "ORDNUM_39", UNKNOWN_ORDER),  # 32794
    ("Error: The order '00099999' does not exist.", "ChangeSalesOrderXML", "ORDNUM_27", UNKNOWN_ORDER),  # 32794
    ("Error: The order '00099999' does not exist.", "AddSOLineItemXML", "ORDNUM_28", UNKNOWN_ORDER),  # 32794
    ("Error: The SOEDet record does not exist. Order - 00012345", TRANSACTION, "LINNUM_39", UNKNOWN_ORDER),  # 32826
    ("Error: Transaction must have a valid date..", TRANSACTION, "TNXDTE_39", BAD_DATE),  # 32784
    ("Error: The Transaction Quantity must be greater than 0. Part - PRT-00001, Type - R", TRANSACTION, "TNXQTY_39",
     NOT_POSITIVE),  # 32815
    ("Error: Part 'PRT-00003' is under Lot/Serial Control.", TRANSACTION, "PRTNUM_39",
     LOT_SERIAL_CONTROLLED),  # 32818
    ("Error: Part 'PRT-00003' is under Lot Control and no Lot Number was entered", TRANSACTION, "PRTNUM_39",
     LOT_SERIAL_CONTROLLED),  # 32862
    ("Error: Illegal transaction type 'Q'", TRANSACTION, "TYPE_39", BAD_CODE),  # 32780
    ("Error: The subtype 'Z' is not valid for the transaction type.", TRANSACTION, "SUBTYPE_39", BAD_CODE),  # 32783
    ("Error: On Adjustment resulting stock quantity must be >= 0.\n Part - PRT-00001, StkID - FGI, Qty - -2.0000",
     TRANSACTION, "TNXQTY_39", INSUFFICIENT_STOCK),  # 32788
    ("Error: Issuing stockroom has insufficient quantity to cover the transfer.\n Part - PRT-00001, StkID - FGI",
     TRANSACTION, "TNXQTY_39", INSUFFICIENT_STOCK),  # 32792
    ("Cannot ship: Insufficient stock exists for Line Item.\n Order - 00012345, Stock - FGI, Quantity - 3.0000",
     TRANSACTION, "TNXQTY_39", INSUFFICIENT_STOCK),  # 32829
    ("Error: Insufficient stock available in the location. Part - PRT-00001, Stk - FGI", TRANSACTION, "TNXQTY_39",
     INSUFFICIENT_STOCK),  # 32839
    ("Error: No Stock available in the location. Part - PRT-00001, Stk - FGI", TRANSACTION, "TNXQTY_39",
     INSUFFICIENT_STOCK),  # 32840
    ("Error: Insufficient inventory Lot L-17", TRANSACTION, "TNXQTY_39", INSUFFICIENT_STOCK),  # 32866
    ("Error: The GL Reference is required. Order - 00012345", TRANSACTION, "GLREF_39", MISSING_REQUIRED),  # 32813
    ("Error: The GL Reference 'XYZ' does not exist.", TRANSACTION, "GLREF_39", BAD_CODE),  # 32814
    ("Warning: The customer 'C-100' is on Credit Hold.", TRANSACTION, "ORDNUM_39", CREDIT_HOLD),  # 32828
    ("Warning: The customer 'C-100' is on Credit Hold.", "AddSOXML", "CUSTID_27", CREDIT_HOLD),  # 32828
])
def test_a_manual_template_maps_to_its_element_for_the_call_and_its_rule(text: str, method: str, element: str,
                                                                         rule: str) -> None:
    (error,) = rejection_from_maxupdate(text, method=method).errors
    assert (error.element, error.rule) == (element, rule)
    assert text in error.message  # MAXUpdate's own text, verbatim
    assert method in error.message


def test_the_line_of_an_order_line_call_is_kept() -> None:
    (error,) = rejection_from_maxupdate("Error: Invalid Part Number - PRT-99999.", method="AddSOLineItemXML",
                                        line="03").errors
    assert (error.element, error.line) == ("PRTNUM_28", "03")


def test_a_template_naming_no_element_of_the_calls_document_keeps_its_rule_on_emaxexact() -> None:
    (error,) = rejection_from_maxupdate("Error: Illegal transaction type 'Q'", method="AddSOXML").errors
    assert (error.element, error.rule) == ("eMAXExact", BAD_CODE)


@pytest.mark.parametrize("text", ["", "   "])
def test_no_text_is_maxupdate_rejected_pointing_at_xmlwrapper_log(text: str) -> None:
    (error,) = rejection_from_maxupdate(text, method="AddSOXML").errors
    assert (error.element, error.rule) == ("eMAXExact", MAXUPDATE_REJECTED)
    assert "gave no error text" in error.message
    assert "xmlwrapper.log" in error.message and "LogPath" in error.message


def test_an_unrecognised_text_is_maxupdate_rejected_with_the_text_verbatim() -> None:
    text = "Error: There was a blank serial number in the series"  # IDS_BLANKSERIAL, MAXTRAN2 32867: not mapped
    (error,) = rejection_from_maxupdate(text, method=TRANSACTION).errors
    assert (error.element, error.rule) == ("eMAXExact", MAXUPDATE_REJECTED)
    assert text in error.message
