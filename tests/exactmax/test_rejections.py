"""Every rejection rule answers 422 naming the element, the line and the rule, and writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from xml.etree.ElementTree import Element, SubElement, fromstring, tostring

import pytest
import sqlalchemy as sa
from max_gateway_helpers import make_order, unique_custpo

from shopify_max.exactmax.xml_builder import build_sales_order_xml

Mutation = Callable[[Element], None]


def _valid_order_xml(custpo: str) -> Element:
    return fromstring(build_sales_order_xml(make_order(custpo, lines=3)).xml)


def _set(path: str, value: str) -> Mutation:
    def mutate(root: Element) -> None:
        element = root.find(path)
        if element is None:  # add the element to the record named by the path's parent
            parent_path, _, tag = path.rpartition("/")
            element = SubElement(root.find(parent_path), tag)
        element.text = value
    return mutate


def _remove(path: str) -> Mutation:
    def mutate(root: Element) -> None:
        parent_path, _, _tag = path.rpartition("/")
        parent = root.find(parent_path)
        parent.remove(root.find(path))
    return mutate


HEADER = "SO_Master_Table/SO_Master"
LINE2 = "SO_Master_Table/SO_Master/SO_Detail[2]"

RULES = [
    # (rule id, mutation, element, line, rule)
    ("name too long", _set(f"{HEADER}/NAME_27", "N" * 31), "NAME_27", None, "too_long"),
    ("address line too long", _set(f"{HEADER}/ADDR1_27", "A" * 31), "ADDR1_27", None, "too_long"),
    ("custpo too long", _set(f"{HEADER}/CUSTPO_27", "P" * 26), "CUSTPO_27", None, "too_long"),
    ("part number too long", _set(f"{LINE2}/PRTNUM_28", "X" * 31), "PRTNUM_28", "02", "too_long"),
    ("unknown part", _set(f"{LINE2}/PRTNUM_28", "PRT-99999"), "PRTNUM_28", "02", "unknown_part"),
    ("unmapped catalogue part", _set(f"{LINE2}/PRTNUM_28", "PRT-00007"), "PRTNUM_28", "02", "unknown_part"),
    ("unknown customer", _set(f"{HEADER}/CUSTID_27", "NOBODY"), "CUSTID_27", None, "unknown_customer"),
    ("unknown header tax code", _set(f"{HEADER}/TAXCD1_27", "ZZTOP"), "TAXCD1_27", None, "unknown_tax_code"),
    ("unknown line tax code", _set(f"{LINE2}/TAXCDE1_28", "ZZTOP"), "TAXCDE1_28", "02", "unknown_tax_code"),
    ("unknown uom", _set(f"{LINE2}/SLSUOM_28", "QQ"), "SLSUOM_28", "02", "unknown_uom"),
    ("unknown terms", _set(f"{HEADER}/TERMS_27", "ZZ"), "TERMS_27", None, "unknown_terms"),
    ("unknown ship via", _set(f"{HEADER}/SHPVIA_27", "ZZ"), "SHPVIA_27", None, "unknown_ship_via"),
    ("unknown currency", _set(f"{HEADER}/CURR_27", "XXX"), "CURR_27", None, "unknown_currency"),
    ("unknown ship-to", _set(f"{HEADER}/SHPCDE_27", "NOWHERE"), "SHPCDE_27", None, "unknown_ship_to"),
    ("unknown stockroom", _set(f"{LINE2}/STK_28", "NOSTK"), "STK_28", "02", "unknown_stockroom"),
    ("missing order date", _remove(f"{HEADER}/ORDDTE_27"), "ORDDTE_27", None, "missing_required"),
    ("missing customer", _remove(f"{HEADER}/CUSTID_27"), "CUSTID_27", None, "missing_required"),
    ("missing part", _remove(f"{LINE2}/PRTNUM_28"), "PRTNUM_28", "02", "missing_required"),
    ("missing quantity", _remove(f"{LINE2}/ORGQTY_28"), "ORGQTY_28", "02", "missing_required"),
    ("comma decimal quantity", _set(f"{LINE2}/ORGQTY_28", "2,5"), "ORGQTY_28", "02", "bad_number"),
    ("text price", _set(f"{LINE2}/PRICE_28", "twelve"), "PRICE_28", "02", "bad_number"),
    ("exponent price", _set(f"{LINE2}/PRICE_28", "1e3"), "PRICE_28", "02", "bad_number"),
    ("iso date", _set(f"{HEADER}/ORDDTE_27", "2026-11-27"), "ORDDTE_27", None, "bad_date"),
    ("MMddyy date that is no yyMMdd date", _set(f"{HEADER}/ORDDTE_27", "112726"), "ORDDTE_27", None, "bad_date"),
    ("impossible day", _set(f"{HEADER}/ORDDTE_27", "260231"), "ORDDTE_27", None, "bad_date"),
    ("bad line due date", _set(f"{LINE2}/CURDUE_28", "26113"), "CURDUE_28", "02", "bad_date"),
    ("zero quantity", _set(f"{LINE2}/ORGQTY_28", "0"), "ORGQTY_28", "02", "not_positive"),
    ("three-digit line number", _set(f"{LINE2}/LINNUM_28", "100"), "LINNUM_28", "100", "too_long"),
    ("duplicate line", _set(f"{LINE2}/LINNUM_28", "01"), "LINNUM_28", "01", "duplicate_line"),
    ("ordnum sent by caller", _set(f"{HEADER}/ORDNUM_27", "00000001"), "ORDNUM_27", None, "assigned_by_gateway"),
    ("wrong order type", _set(f"{HEADER}/STYPE_27", "CR"), "STYPE_27", None, "bad_code"),
    ("unknown element", _set(f"{HEADER}/EMAIL_27", "a@b.c"), "EMAIL_27", None, "unknown_element"),
    ("note too long", _set(f"{LINE2}/SO_Note/NOTE_30", "n" * 51), "NOTE_30", "02", "too_long"),
]


@pytest.mark.parametrize(("mutation", "element", "line", "rule"), [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_rejection_names_the_element_line_and_rule(shared_gateway, mutation: Mutation, element: str,
                                                   line: str | None, rule: str) -> None:
    custpo = unique_custpo("R")
    root = _valid_order_xml(custpo)
    if element == "NOTE_30":
        SubElement(SubElement(root.find(LINE2), "SO_Note"), "NOTE_30")
    mutation(root)
    response = shared_gateway.post_xml("/sales-orders", tostring(root, encoding="utf-8"))
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert {"element": element, "line": line, "rule": rule} in [
        {k: e[k] for k in ("element", "line", "rule")} for e in errors], errors
    assert all(e["message"] for e in errors)
    assert shared_gateway.count_orders(custpo) == 0


def test_more_than_99_lines_is_rejected(shared_gateway) -> None:
    custpo = unique_custpo("R")
    root = _valid_order_xml(custpo)
    header = root.find(HEADER)
    template = tostring(root.find(f"{HEADER}/SO_Detail[1]"))
    for n in range(4, 101):
        line = fromstring(template)
        line.find("LINNUM_28").text = f"{n:02d}"
        header.append(line)
    response = shared_gateway.post_xml("/sales-orders", tostring(root, encoding="utf-8"))
    assert response.status_code == 422
    found = [(e["element"], e["line"], e["rule"]) for e in response.json()["errors"]]
    assert ("SO_Detail", None, "too_many_lines") in found
    assert ("LINNUM_28", "100", "too_long") in found
    assert shared_gateway.count_orders(custpo) == 0


def test_several_deliveries_of_one_line_are_accepted(shared_gateway) -> None:
    root = _valid_order_xml(unique_custpo("R"))
    second_delivery = fromstring(tostring(root.find(f"{HEADER}/SO_Detail[1]")))
    second_delivery.find("DELNUM_28").text = "02"
    root.find(HEADER).append(second_delivery)
    response = shared_gateway.post_xml("/sales-orders", tostring(root, encoding="utf-8"))
    assert response.status_code == 201, response.text
    assert [(line["LINNUM"], line["DELNUM"]) for line in response.json()["lines"]] == [
        ("01", "01"), ("02", "01"), ("03", "01"), ("01", "02")]


def test_an_element_given_twice_is_refused_naming_it_and_its_line_not_guessed(shared_gateway) -> None:
    custpo = unique_custpo("R")
    root = _valid_order_xml(custpo)
    SubElement(root.find(f"{HEADER}/SO_Detail[2]"), "ORGQTY_28").text = "50"  # a second quantity for line 02
    response = shared_gateway.post_xml("/sales-orders", tostring(root, encoding="utf-8"))
    assert response.status_code == 422
    assert [(e["element"], e["line"], e["rule"]) for e in response.json()["errors"]] == [
        ("ORGQTY_28", "02", "duplicate_element")]
    assert shared_gateway.count_orders(custpo) == 0


def test_malformed_xml_is_rejected_naming_the_document(shared_gateway) -> None:
    response = shared_gateway.post_xml("/sales-orders", b"<eMAXExact><SO_Master_Table><SO_Master>")
    assert response.status_code == 422
    assert response.json()["errors"][0]["rule"] == "malformed_xml"


def test_oversized_document_is_refused_before_parsing(shared_gateway) -> None:
    response = shared_gateway.post_xml("/sales-orders", b"<eMAXExact>" + b" " * 2_000_001 + b"</eMAXExact>")
    assert response.status_code == 422
    assert response.json()["errors"][0]["rule"] == "too_large"


def test_xml_entity_expansion_is_refused(shared_gateway) -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b"<eMAXExact>&b;</eMAXExact>")
    response = shared_gateway.post_xml("/sales-orders", bomb)
    assert response.status_code == 422
    assert response.json()["errors"][0]["rule"] == "malformed_xml"


def test_a_rejected_transaction_writes_nothing_and_burns_no_order_number(shared_gateway) -> None:
    first = shared_gateway.post_xml("/sales-orders", build_sales_order_xml(make_order()).xml).json()["ORDNUM"]
    bad_custpo = unique_custpo("R")
    root = _valid_order_xml(bad_custpo)
    _set(f"{LINE2}/PRTNUM_28", "PRT-99999")(root)  # lines 1 and 3 are valid
    assert shared_gateway.post_xml("/sales-orders", tostring(root, encoding="utf-8")).status_code == 422
    second = shared_gateway.post_xml("/sales-orders", build_sales_order_xml(make_order()).xml).json()["ORDNUM"]
    assert int(second) == int(first) + 1
    with shared_gateway.engine.connect() as conn:
        lines = conn.execute(sa.text('SELECT COUNT(*) FROM "SO_Detail" d JOIN "SO_Master" m ON m."ORDNUM_27" = '
                                     'd."ORDNUM_28" WHERE m."CUSTPO_27" = :c'), {"c": bad_custpo}).scalar_one()
    assert lines == 0


def _valid_credit_memo_xml(custpo: str, appinv: str | None) -> Element:
    root = _valid_order_xml(custpo)
    header = root.find(HEADER)
    header.find("STYPE_27").text = "CR"
    if appinv is not None:
        SubElement(header, "APPINV_27").text = appinv
    return root


def test_credit_memo_without_the_invoice_it_credits_is_rejected(shared_gateway) -> None:
    root = _valid_credit_memo_xml(unique_custpo("CR"), appinv=None)
    response = shared_gateway.post_xml("/credit-memos", tostring(root, encoding="utf-8"))
    assert response.status_code == 422
    assert ("APPINV_27", "missing_required") in [(e["element"], e["rule"]) for e in response.json()["errors"]]


def test_credit_memo_endpoint_takes_only_order_type_cr(shared_gateway) -> None:
    root = _valid_credit_memo_xml(unique_custpo("CR"), appinv="00000001")
    root.find(f"{HEADER}/STYPE_27").text = "CU"
    response = shared_gateway.post_xml("/credit-memos", tostring(root, encoding="utf-8"))
    assert ("STYPE_27", "bad_code") in [(e["element"], e["rule"]) for e in response.json()["errors"]]


CUSTOMER_XML = (
    "<eMAXExact><Customer_Master_Table><Customer_Master>"
    "<CUSTID_23>{custid}</CUSTID_23>{name}<CURR_23>{curr}</CURR_23>"
    "<Shipping_Master><SHPCDE_24>{shpcde}</SHPCDE_24><TXEXEM_24>{txexem}</TXEXEM_24></Shipping_Master>"
    "</Customer_Master></Customer_Master_Table></eMAXExact>"
)  # test input only: the rules under test are about lengths and codes, not escaping


@pytest.mark.parametrize(("fields", "element", "line", "rule"), [
    ({"custid": "C" * 21}, "CUSTID_23", None, "too_long"),
    ({"name": "<NAME_23>" + "N" * 31 + "</NAME_23>"}, "NAME_23", None, "too_long"),
    ({"name": ""}, "NAME_23", None, "missing_required"),
    ({"curr": "XXX"}, "CURR_23", None, "unknown_currency"),
    ({"shpcde": "S" * 11}, "SHPCDE_24", "S" * 11, "too_long"),
    ({"txexem": "E" * 21}, "TXEXEM_24", "DOCK", "too_long"),
], ids=["custid too long", "name too long", "name missing", "unknown currency", "ship-to code too long",
        "exemption certificate too long"])
def test_customer_rejection_names_the_element_and_rule(shared_gateway, fields: dict, element: str, line: str | None,
                                                        rule: str) -> None:
    values = {"custid": unique_custpo("C")[:20], "name": "<NAME_23>Valid Name</NAME_23>", "curr": "USD",
              "shpcde": "DOCK", "txexem": "CERT-1"} | fields
    response = shared_gateway.post_xml("/customers", CUSTOMER_XML.format(**values).encode())
    assert response.status_code == 422
    assert {"element": element, "line": line, "rule": rule} in [
        {k: e[k] for k in ("element", "line", "rule")} for e in response.json()["errors"]]
