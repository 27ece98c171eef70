"""The MAX document models take their lengths from the one table, ``exactmax_limits.FIELD_LENGTHS``
(EXACTMAX.md "Field lengths"): each text column holds exactly that many characters and refuses one more."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from shopify_max.exactmax.models import Customer, SalesOrder, SalesOrderLine
from shopify_max.exactmax_limits import FIELD_LENGTHS, MAX_LINES_PER_ORDER

LINE = {"LINNUM": "01", "PRTNUM": "PRT-1", "PRICE": "1.00", "ORGQTY": Decimal(1)}
ORDER = {"CUSTID": "C", "CUSTPO": "PO", "ORDDTE": date(2026, 11, 29), "lines": [LINE]}
ADDRESS_COLUMNS = [("NAME", "NAME"), ("ADDR1", "ADDR"), ("ADDR6", "ADDR"), ("CITY", "CITY"), ("STATE", "STATE"),
                   ("ZIPCD", "ZIPCD"), ("CNTRY", "CNTRY"), ("PHONE", "PHONE"), ("CNTCT", "CNTCT")]
HEADER_COLUMNS = [("CUSTID", "CUSTID"), ("CUSTPO", "CUSTPO"), ("SHPCDE", "SHPCDE"), ("TERMS", "TERMS"),
                  ("SHPVIA", "SHPVIA"), ("FOB", "FOB"), ("TAXCD1", "TAXCD"), ("CURR", "CURR"), ("COMNT1", "COMNT"),
                  ("APPINV", "APPINV"), ("REASON", "REASON"), ("UDFKEY", "UDFKEY"), ("UDFREF", "UDFREF")]
LINE_COLUMNS = [("PRTNUM", "PRTNUM"), ("SLSUOM", "SLSUOM"), ("STK", "STK"), ("TAXCDE1", "TAXCD")]
CUSTOMER_COLUMNS = [("CUSTID", "CUSTID"), ("TXCDE1", "TAXCD"), ("SLSREP", "SLSREP")]


def holds_exactly(build, field: str, column: str) -> None:
    build(field, "X" * FIELD_LENGTHS[column])
    with pytest.raises(ValidationError):
        build(field, "X" * (FIELD_LENGTHS[column] + 1))


@pytest.mark.parametrize(("field", "column"), ADDRESS_COLUMNS + HEADER_COLUMNS)
def test_each_sales_order_column_holds_what_field_lengths_says(field, column):
    holds_exactly(lambda name, value: SalesOrder.model_validate({**ORDER, name: value}), field, column)


@pytest.mark.parametrize(("field", "column"), LINE_COLUMNS)
def test_each_sales_order_line_column_holds_what_field_lengths_says(field, column):
    holds_exactly(lambda name, value: SalesOrderLine.model_validate({**LINE, name: value}), field, column)


@pytest.mark.parametrize(("field", "column"), ADDRESS_COLUMNS + CUSTOMER_COLUMNS)
def test_each_customer_column_holds_what_field_lengths_says(field, column):
    holds_exactly(lambda name, value: Customer.model_validate({"CUSTID": "C", "NAME": "N", name: value}), field, column)


def test_a_line_note_holds_one_so_note_row():
    holds_exactly(lambda name, value: SalesOrderLine.model_validate({**LINE, name: [value]}), "notes", "SO_NOTE")


@pytest.mark.parametrize("linnum", ["01", f"{MAX_LINES_PER_ORDER:02d}"])
def test_line_numbers_run_from_01_to_the_last_two_digit_number(linnum):
    assert SalesOrderLine.model_validate({**LINE, "LINNUM": linnum}).LINNUM == linnum


@pytest.mark.parametrize("linnum", ["00", "1", "100", "0a"])
def test_a_line_number_outside_01_to_99_is_refused(linnum):
    with pytest.raises(ValidationError):
        SalesOrderLine.model_validate({**LINE, "LINNUM": linnum})
