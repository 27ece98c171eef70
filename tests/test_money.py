"""Money is ``Decimal``, parsed at every boundary by ``shopify_max.money``; a float is a bug, refused by name."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shopify_max.exactmax.models import Invoice, SalesOrderLine
from shopify_max.money import FloatAmountError, MoneyFormatError, to_money
from shopify_max.shopify.models import Money

CENTS_10 = Decimal("0.10")


def test_an_amount_is_parsed_exactly_from_text_an_int_or_a_decimal():
    assert to_money("19.99") == Decimal("19.99") and to_money(5) == Decimal(5) and to_money(Decimal("0.10")) == CENTS_10


def test_a_float_raises_a_typed_error_naming_the_field():
    with pytest.raises(FloatAmountError) as caught:
        to_money(19.99, "line_items[0].price")
    assert caught.value.field == "line_items[0].price" and "float 19.99" in str(caught.value)


@pytest.mark.parametrize("bad", ["abc", "", "NaN", "Infinity", True])
def test_what_is_not_a_finite_amount_is_a_money_format_error(bad):
    with pytest.raises(MoneyFormatError):
        to_money(bad)


def test_shopify_money_from_the_api_refuses_a_float_and_names_the_model_field():
    assert Money(amount="10.00", currency_code="USD").amount == Decimal("10.00")
    with pytest.raises(FloatAmountError, match=r"Money\.amount"):
        Money.model_validate({"amount": 10.1, "currencyCode": "USD"})


def test_a_max_document_refuses_a_float_price_before_it_is_sent():
    with pytest.raises(FloatAmountError, match=r"SalesOrderLine\.PRICE"):
        SalesOrderLine(LINNUM="01", PRTNUM="PRT-1", PRICE=12.5, ORGQTY=Decimal(1))


def test_max_reads_parse_the_gateways_decimal_text_exactly():
    invoice = Invoice.from_gateway({"INVCE_31": "00000001", "ORDNUM_31": "00000001", "CUSTID_31": "C", "STYPE_31": "CU",
                                    "kind": "invoice", "INVDTE_31": "2026-11-29", "LNETOT_31": "0.30",
                                    "TAX1_31": "0.10", "lines": []})
    assert (invoice.LNETOT, invoice.TAX1) == (Decimal("0.30"), CENTS_10)
