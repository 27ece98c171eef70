"""Write transactions through the hook: orders, customers, credit memos, cancellations; XML text arrives intact."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from xml.etree.ElementTree import fromstring

import pytest
from max_gateway_helpers import make_order, unique_custpo

from shopify_max.exactmax.errors import ExactMaxRejected
from shopify_max.exactmax.models import CreditMemo, Customer, SalesOrder, SalesOrderLine, ShipTo
from shopify_max.exactmax.xml_builder import build_sales_order_xml

AWKWARD_NAME = "Smith & <Sons> \"Q\" 'R'"


def test_xml_builder_sends_ordnum_as_an_explicit_empty_element_and_dates_as_yymmdd() -> None:
    xml = build_sales_order_xml(make_order("PO-1")).xml
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>')
    assert b"<ORDNUM_27></ORDNUM_27>" in xml
    record = fromstring(xml).find("SO_Master_Table/SO_Master")
    assert record.findtext("ORDDTE_27") == "261127"
    assert record.findtext("SO_Detail/PRICE_28") == "12.50"


def test_special_characters_and_non_ascii_arrive_intact(shared_gateway, make_hook) -> None:
    hook = make_hook(shared_gateway)
    order = make_order(NAME=AWKWARD_NAME, ADDR1="Königstraße 5, Zoë Café", CITY="Montréal", COMNT1="<b>&amp;</b>")
    order.lines[0].notes = ["Gift wrap: “ribbon” & card <3", "日本語のメモ"]
    result = hook.create_sales_order(order)
    stored = hook.get_sales_order(result.ORDNUM)
    assert (stored.NAME, stored.ADDR1, stored.CITY, stored.COMNT1) == (AWKWARD_NAME, "Königstraße 5, Zoë Café",
                                                                        "Montréal", "<b>&amp;</b>")
    assert stored.lines[0].notes == ["Gift wrap: “ribbon” & card <3", "日本語のメモ"]
    assert result.transliterations == []


def test_ascii_only_connection_transliterates_and_records_each_change(shared_gateway, make_hook) -> None:
    hook = make_hook(shared_gateway, ascii_only=True)
    order = make_order(NAME="Zoë Brontë & Sons", CITY="Montréal")
    result = hook.create_sales_order(order)
    stored = hook.get_sales_order(result.ORDNUM)
    assert (stored.NAME, stored.CITY) == ("Zoe Bronte & Sons", "Montreal")
    assert {(t.element, t.original, t.replaced, t.rule) for t in result.transliterations} == {
        ("NAME_27", "Zoë Brontë & Sons", "Zoe Bronte & Sons", "unidecode-ascii"),
        ("CITY_27", "Montréal", "Montreal", "unidecode-ascii"),
    }


def test_model_refuses_values_max_would_refuse_instead_of_truncating() -> None:
    with pytest.raises(ValueError, match="CUSTPO"):
        make_order("P" * 26)
    with pytest.raises(ValueError, match="NAME"):
        make_order(NAME="N" * 31)
    with pytest.raises(ValueError, match="LINNUM"):
        SalesOrderLine(LINNUM="100", PRTNUM="PRT-00001", PRICE=1, ORGQTY=1)  # at most 99 lines
    with pytest.raises(ValueError, match="unique"):
        SalesOrder(CUSTID="WEB", CUSTPO="X", ORDDTE=date(2026, 1, 1), lines=[
            SalesOrderLine(LINNUM="01", PRTNUM="PRT-00001", PRICE=1, ORGQTY=1),
            SalesOrderLine(LINNUM="01", PRTNUM="PRT-00002", PRICE=1, ORGQTY=1)])


def test_blank_header_codes_default_from_the_customer_master(shared_gateway, make_hook) -> None:
    hook = make_hook(shared_gateway)
    stored = hook.get_sales_order(hook.create_sales_order(make_order(CUSTID="ACME-001")).ORDNUM)
    assert (stored.TERMS, stored.SHPVIA, stored.TAXCD1, stored.TAXCD2, stored.TAXCD3, stored.CURR) == (
        "30", "UP", "CA", "CALA", "CALACTY", "USD")
    assert stored.NAME == "Acme Hardware Co"


def test_ship_to_code_brings_its_address_and_tax_exemption(shared_gateway, make_hook) -> None:
    hook = make_hook(shared_gateway)
    stored = hook.get_sales_order(hook.create_sales_order(make_order(CUSTID="GLOBEX", SHPCDE="DALLAS")).ORDNUM)
    assert (stored.NAME, stored.CITY, stored.TAXABL, stored.TAXCD1) == ("Globex Dallas Depot", "Dallas", "N",
                                                                        "EXEMPT")


def test_case_of_12_line_keeps_its_sales_uom(shared_gateway, make_hook) -> None:
    hook = make_hook(shared_gateway)
    order = make_order(lines=1)
    order.lines[0] = SalesOrderLine(LINNUM="01", PRTNUM="PRT-00010", SLSUOM="CS", PRICE=Decimal("99.00"),
                                    ORGQTY=Decimal(2))
    result = hook.create_sales_order(order)
    assert result.lines[0].SLSUOM == "CS"
    assert hook.get_sales_order(result.ORDNUM).lines[0].DUEQTY == 2


@pytest.mark.reference_backend_only("MAXUpdate has no function that adds a customer (max backend: 422 not_supported)")
def test_customer_with_ship_tos_is_created_and_read_back(shared_gateway, make_hook) -> None:
    hook = make_hook(shared_gateway)
    custid = unique_custpo("C")[:20]
    customer = Customer(CUSTID=custid, NAME="Tool & Die <West>", CITY="Reno", STATE="NV", TERMS="30", SHPVIA="FX",
                        TAXABL="N", CURR="USD", ship_tos=[
                            ShipTo(SHPCDE="DOCK1", NAME="West Dock", CITY="Sparks", TAXABL="N", TXEXEM="NV-EX-1"),
                            ShipTo(SHPCDE="DOCK2", NAME="East Dock", CITY="Reno", TXCDE1="CA")])
    result = hook.create_customer(customer)
    assert (result.CUSTID, result.ship_tos) == (custid, ["DOCK1", "DOCK2"])
    record = next(c for c in hook.iter_customers() if c.CUSTID == custid)
    assert record.NAME == "Tool & Die <West>" and record.tax_exempt
    assert record.exemptions == [{"SHPCDE": "DOCK1", "certificate": "NV-EX-1"}]
    with pytest.raises(ExactMaxRejected) as raised:
        hook.create_customer(customer)
    assert raised.value.has_rule("duplicate_key", "CUSTID_23")


def test_customer_with_unknown_codes_is_rejected_naming_each(shared_gateway, make_hook) -> None:
    customer = Customer(CUSTID=unique_custpo("C")[:20], NAME="Bad Codes Inc", TERMS="ZZ", TXCDE1="NOPE",
                        ship_tos=[ShipTo(SHPCDE="A", SHPVIA="ZZ")])
    with pytest.raises(ExactMaxRejected) as raised:
        make_hook(shared_gateway).create_customer(customer)
    assert {(e.element, e.line, e.rule) for e in raised.value.errors} == {
        ("TERMS_23", None, "unknown_terms"), ("TXCDE1_23", None, "unknown_tax_code"),
        ("SHPVIA_24", "A", "unknown_ship_via")}


def test_credit_memo_is_an_order_of_type_cr_linked_to_the_invoice_it_credits(shared_gateway, make_hook) -> None:
    hook = make_hook(shared_gateway)
    order = make_order(lines=2)
    ordnum = hook.create_sales_order(order).ORDNUM
    shared_gateway.sandbox("ship", ORDNUM=ordnum, carrier="UPS", tracking_number="1Z1")
    invce = shared_gateway.sandbox("invoice", ORDNUM=ordnum)["INVCE"]
    memo = CreditMemo(CUSTID="WEB", CUSTPO=f"{order.CUSTPO[:20]}-R1", ORDDTE=date(2026, 11, 28), APPINV=invce,
                      REASON="RT", lines=[SalesOrderLine(LINNUM="01", PRTNUM=order.lines[0].PRTNUM,
                                                         PRICE=Decimal("12.50"), ORGQTY=Decimal(1))])
    result = hook.create_credit_memo(memo)
    stored = hook.get_sales_order(result.ORDNUM)
    assert (stored.STYPE, stored.APPINV, stored.STATUS) == ("CR", invce, "3")
    credit_invce = shared_gateway.sandbox("invoice", ORDNUM=result.ORDNUM)["INVCE"]
    invoices = {i.INVCE: i for i in hook.iter_invoices(since_cursor=invce[:-1] + "0")}
    assert invoices[credit_invce].kind == "credit_memo"
    assert invoices[credit_invce].APPINV == invce
    assert invoices[credit_invce].LNETOT == Decimal("12.50")


def test_credit_memo_for_an_unknown_invoice_is_rejected(shared_gateway, make_hook) -> None:
    memo = CreditMemo(CUSTID="WEB", CUSTPO=unique_custpo("CR"), ORDDTE=date(2026, 11, 28), APPINV="09999999",
                      lines=[SalesOrderLine(LINNUM="01", PRTNUM="PRT-00001", PRICE=1, ORGQTY=1)])
    with pytest.raises(ExactMaxRejected) as raised:
        make_hook(shared_gateway).create_credit_memo(memo)
    assert raised.value.has_rule("unknown_invoice", "APPINV_27")


def test_cancellation_closes_an_open_order_with_nothing_shipped(shared_gateway, make_hook) -> None:
    hook = make_hook(shared_gateway)
    ordnum = hook.create_sales_order(make_order()).ORDNUM
    assert hook.cancel_sales_order(ordnum, reason="CX") == {"ORDNUM": ordnum, "STATUS": "4"}
    stored = hook.get_sales_order(ordnum)
    assert stored.STATUS == "4" and {line.STATUS for line in stored.lines} == {"4"}
    with pytest.raises(ExactMaxRejected) as raised:
        hook.cancel_sales_order(ordnum)
    assert raised.value.has_rule("not_open", "STATUS_27")


def test_cancellation_is_refused_once_anything_has_shipped(shared_gateway, make_hook) -> None:
    hook = make_hook(shared_gateway)
    ordnum = hook.create_sales_order(make_order()).ORDNUM
    shared_gateway.sandbox("ship", ORDNUM=ordnum, lines=[{"LINNUM": "02", "quantity": "1"}])
    with pytest.raises(ExactMaxRejected) as raised:
        hook.cancel_sales_order(ordnum)
    assert raised.value.has_rule("already_shipped", "ORDNUM_27")
    assert hook.get_sales_order(ordnum).STATUS == "3"


def test_cancellation_of_an_unknown_order_is_rejected(shared_gateway, make_hook) -> None:
    with pytest.raises(ExactMaxRejected) as raised:
        make_hook(shared_gateway).cancel_sales_order("99999997")
    assert raised.value.has_rule("unknown_order", "ORDNUM_27")
