"""Credit memos with their lines and stock effect (contract element ``RESTCK_28``), read back by CUSTPO, ORDNUM and
the invoice they credit, and written exactly once. Runs on SQLite and PostgreSQL (``shared_gateway``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from xml.etree.ElementTree import SubElement, fromstring, tostring

import pytest
import sqlalchemy as sa
from max_gateway_helpers import make_order

from shopify_max.clock import utcnow
from shopify_max.exactmax.credit_memos import StockMove
from shopify_max.exactmax.errors import ExactMaxRejected
from shopify_max.exactmax.models import CreditMemo, SalesOrder, SalesOrderLine
from shopify_max.exactmax.xml_builder import build_sales_order_xml

CASE_PART, EACH_PART, OTHER_PART = "PRT-00010", "PRT-00003", "PRT-00004"
MEMO_DATE = date(2026, 12, 2)


def on_hand(gateway, part: str) -> dict[str, Decimal]:
    """``Part_Stock.QTYOH_06`` of ``part`` per stockroom, read straight from the MAX tables."""
    with gateway.engine.connect() as conn:
        rows = conn.execute(sa.text('SELECT "STK_06", "QTYOH_06" FROM "Part_Stock" WHERE "PRTNUM_06" = :p'),
                            {"p": part}).all()
    return {stk.strip(): Decimal(str(qty)) for stk, qty in rows}  # MAX pads STK (CHAR 8)


def receipts(gateway, ordnum: str) -> list[tuple[str, str, str, Decimal]]:
    """The ``Transaction_History`` rows written for credit memo ``ordnum``: (code, part, STK, stocking quantity).
    Each carries the line's reference ``CR{ORDNUM}-{LINNUM}{DELNUM}`` (on the ``max`` backend an unplanned receipt,
    which names no order)."""
    with gateway.engine.connect() as conn:
        rows = conn.execute(sa.text('SELECT "TNXCDE_15", "PRTNUM_15", "STK_15", "TNXQTY_15" FROM "Transaction_History" '
                                    'WHERE "REFDES_15" LIKE :ref ORDER BY "TNXSEQ_15"'), {"ref": f"CR{ordnum}-%"}).all()
    return [(code.strip(), part.strip(), stk.strip(), Decimal(str(qty))) for code, part, stk, qty in rows]


def on_max_backend(gateway) -> bool:
    return gateway.running.app.state.backend.name == "max"


def freight_restck(gateway) -> str:
    """RESTCK read back for a Y line on a non-stock part: the reference backend keeps the element as sent; the
    ``max`` backend reads it from the receipts, and a non-stock part gets none (docs/max-gateway-deployment.md)."""
    return "N" if on_max_backend(gateway) else "Y"


def unstated_restck(gateway) -> str | None:
    """RESTCK read back for a line sent without it: null on the reference backend, N (no receipt) on ``max``."""
    return "N" if on_max_backend(gateway) else None


def receipt_date(gateway) -> date:
    """The date of a restock receipt: the memo's date on the reference backend; on ``max`` the day MAX posts it
    (the backend sends no TNXDTE_39, docs/max-gateway-deployment.md)."""
    return utcnow().date() if on_max_backend(gateway) else MEMO_DATE


def invoiced_order(gateway, hook) -> tuple[SalesOrder, str]:
    """A shipped and invoiced order (a case of 12, three each, freight); returns it and its INVCE."""
    order = make_order(lines=1)
    order.lines = [
        SalesOrderLine(LINNUM="01", PRTNUM=CASE_PART, SLSUOM="CS", PRICE=Decimal("99.00"), ORGQTY=Decimal(2)),
        SalesOrderLine(LINNUM="02", PRTNUM=EACH_PART, PRICE=Decimal("12.50"), ORGQTY=Decimal(3)),
        SalesOrderLine(LINNUM="03", PRTNUM="FREIGHT", PRICE=Decimal("9.95"), ORGQTY=Decimal(1)),
    ]
    ordnum = hook.create_sales_order(order).ORDNUM
    gateway.sandbox("ship", ORDNUM=ordnum, carrier="UPS", tracking_number=f"1Z{ordnum}")
    return order, gateway.sandbox("invoice", ORDNUM=ordnum)["INVCE"]


def refund_memo(order: SalesOrder, invce: str, suffix: str = "R1") -> CreditMemo:
    """A return of one case into OVERFLOW, a NO_RESTOCK line, the freight refunded, and a line that says nothing."""
    return CreditMemo(CUSTID=order.CUSTID, CUSTPO=f"{order.CUSTPO[:20]}-{suffix}", ORDDTE=MEMO_DATE, APPINV=invce,
                      REASON="RT", lines=[
                          SalesOrderLine(LINNUM="01", PRTNUM=CASE_PART, SLSUOM="CS", PRICE=Decimal("99.00"),
                                         ORGQTY=Decimal(1), STK="OVERFLOW", RESTCK="Y", TAXCDE1="CA",
                                         TAX1=Decimal("7.18")),
                          SalesOrderLine(LINNUM="02", PRTNUM=EACH_PART, PRICE=Decimal("12.50"), ORGQTY=Decimal(2),
                                         RESTCK="N"),
                          SalesOrderLine(LINNUM="03", PRTNUM="FREIGHT", PRICE=Decimal("9.95"), ORGQTY=Decimal(1),
                                         RESTCK="Y"),
                          SalesOrderLine(LINNUM="04", PRTNUM=OTHER_PART, PRICE=Decimal("5.00"), ORGQTY=Decimal(1)),
                      ])


def test_a_returned_line_raises_part_stock_by_quantity_times_uom_factor_in_its_stockroom(shared_gateway, make_hook):
    hook = make_hook(shared_gateway)
    order, invce = invoiced_order(shared_gateway, hook)
    before = {part: on_hand(shared_gateway, part) for part in (CASE_PART, EACH_PART, OTHER_PART, "FREIGHT")}
    ordnum = hook.create_credit_memo(refund_memo(order, invce)).ORDNUM
    after = {part: on_hand(shared_gateway, part) for part in (CASE_PART, EACH_PART, OTHER_PART, "FREIGHT")}
    assert after[CASE_PART]["OVERFLOW"] == before[CASE_PART]["OVERFLOW"] + 12  # 1 case x 12, in stocking units
    assert after[CASE_PART]["MAIN"] == before[CASE_PART]["MAIN"]
    # NO_RESTOCK, a line without RESTCK and a non-stock part (freight, even with RESTCK Y) move nothing
    assert (after[EACH_PART], after[OTHER_PART], after["FREIGHT"]) == (
        before[EACH_PART], before[OTHER_PART], before["FREIGHT"])
    assert receipts(shared_gateway, ordnum) == [("R", CASE_PART, "OVERFLOW", Decimal(12))]


def test_restck_on_a_customer_order_is_refused_naming_the_element_and_line(shared_gateway):
    document = fromstring(build_sales_order_xml(make_order(lines=2)).xml)
    SubElement(document.findall("SO_Master_Table/SO_Master/SO_Detail")[1], "RESTCK_28").text = "Y"
    before = on_hand(shared_gateway, "PRT-00002")
    response = shared_gateway.post_xml("/sales-orders", tostring(document))
    assert response.status_code == 422, response.text
    assert [(e["element"], e["line"], e["rule"]) for e in response.json()["errors"]] == [
        ("RESTCK_28", "02", "credit_memo_only")]
    assert on_hand(shared_gateway, "PRT-00002") == before
    with pytest.raises(ValueError, match="RESTCK"):  # the model refuses it before anything is sent
        SalesOrder(**make_order(lines=1).model_dump(exclude={"lines"}),
                   lines=[SalesOrderLine(LINNUM="01", PRTNUM="PRT-00001", PRICE=1, ORGQTY=1, RESTCK="Y")])


def test_restck_takes_only_y_or_n(shared_gateway, make_hook):
    hook = make_hook(shared_gateway)
    order, invce = invoiced_order(shared_gateway, hook)
    document = fromstring(build_sales_order_xml(refund_memo(order, invce)).xml)
    document.find("SO_Master_Table/SO_Master/SO_Detail/RESTCK_28").text = "R"
    response = shared_gateway.post_xml("/credit-memos", tostring(document))
    assert response.status_code == 422
    assert [(e["element"], e["line"], e["rule"]) for e in response.json()["errors"]] == [("RESTCK_28", "01", "bad_code")]


def test_a_rejected_memo_moves_no_stock(shared_gateway, make_hook):
    hook = make_hook(shared_gateway)
    order, invce = invoiced_order(shared_gateway, hook)
    memo = refund_memo(order, invce)
    memo.lines.append(SalesOrderLine(LINNUM="05", PRTNUM="NO-SUCH-PART", PRICE=Decimal(1), ORGQTY=Decimal(1)))
    before = on_hand(shared_gateway, CASE_PART)
    with pytest.raises(ExactMaxRejected) as raised:
        hook.create_credit_memo(memo)
    assert raised.value.has_rule("unknown_part", "PRTNUM_28")
    assert on_hand(shared_gateway, CASE_PART) == before
    assert hook.find_credit_memos_by_custpo(memo.CUSTPO) == []


def test_a_memo_reads_back_by_custpo_and_ordnum_with_its_lines_and_stock_moves(shared_gateway, make_hook):
    hook = make_hook(shared_gateway)
    order, invce = invoiced_order(shared_gateway, hook)
    memo = refund_memo(order, invce)
    ordnum = hook.create_credit_memo(memo).ORDNUM
    [found] = hook.find_credit_memos_by_custpo(memo.CUSTPO)
    assert hook.get_credit_memo(ordnum) == found
    assert (found.ORDNUM, found.STYPE, found.CUSTID, found.CUSTPO, found.APPINV, found.ORDDTE, found.STATUS,
            found.REASON, found.INVCE) == (ordnum, "CR", "WEB", memo.CUSTPO, invce, MEMO_DATE, "3", "RT", "")
    assert [(line.LINNUM, line.DELNUM, line.PRTNUM, line.SLSUOM, line.ORGQTY, line.PRICE, line.STK, line.RESTCK)
            for line in found.lines] == [
        ("01", "01", CASE_PART, "CS", 1, Decimal("99.00"), "OVERFLOW", "Y"),
        ("02", "01", EACH_PART, "EA", 2, Decimal("12.50"), "MAIN", "N"),
        ("03", "01", "FREIGHT", "EA", 1, Decimal("9.95"), "MAIN", freight_restck(shared_gateway)),
        ("04", "01", OTHER_PART, "EA", 1, Decimal("5.00"), "MAIN", unstated_restck(shared_gateway))]
    assert (found.lines[0].TAXCDE1, found.lines[0].TAX1) == ("CA", Decimal("7.18"))
    assert found.stock_moves == [StockMove(PRTNUM=CASE_PART, STK="OVERFLOW", quantity=Decimal(12), LINNUM="01",
                                           DELNUM="01", TNXDTE=receipt_date(shared_gateway))]
    assert (found.lines_total, found.tax_total, found.total) == (Decimal("138.95"), Decimal("7.18"),
                                                                 Decimal("146.13"))
    assert hook.get_credit_memo(hook.find_sales_order_by_custpo(order.CUSTPO).ORDNUM) is None  # a CU order
    assert hook.get_credit_memo("99999996") is None
    assert hook.find_credit_memos_by_custpo(order.CUSTPO) == []  # the CU order is not a credit memo


def test_every_memo_applied_to_an_invoice_is_listed_with_the_invoice_totals_for_the_cap(shared_gateway, make_hook):
    hook = make_hook(shared_gateway)
    order, invce = invoiced_order(shared_gateway, hook)
    other_order, other_invce = invoiced_order(shared_gateway, hook)
    first = hook.create_credit_memo(refund_memo(order, invce, "R1")).ORDNUM
    second = hook.create_credit_memo(CreditMemo(
        CUSTID="WEB", CUSTPO=f"{order.CUSTPO[:20]}-R2", ORDDTE=MEMO_DATE, APPINV=invce,
        lines=[SalesOrderLine(LINNUM="01", PRTNUM=EACH_PART, PRICE=Decimal("12.50"), ORGQTY=Decimal(1),
                              RESTCK="Y")])).ORDNUM
    hook.create_credit_memo(refund_memo(other_order, other_invce, "R1"))
    shared_gateway.sandbox("invoice", ORDNUM=second)  # a memo invoiced (closed) still counts against the invoice
    memos = hook.credit_memos_for_invoice(invce)
    assert [m.ORDNUM for m in memos] == [first, second]
    assert memos[1].STATUS == "4" and memos[1].INVCE and not memos[1].cancelled
    invoice = hook.get_invoice(invce)
    assert (invoice.INVCE, invoice.kind, invoice.CUSTPO) == (invce, "invoice", order.CUSTPO)
    assert invoice.total == invoice.LNETOT + invoice.TAX1 - invoice.ORDDSC == Decimal("245.45")
    assert sum(m.total for m in memos) == Decimal("158.63")
    assert hook.get_invoice("09999998") is None
    assert hook.credit_memos_for_invoice("09999998") == []


def test_listing_credit_memos_needs_custpo_or_appinv(shared_gateway):
    response = shared_gateway.http.get(shared_gateway.base_url + "/credit-memos", timeout=10)
    assert response.status_code == 422
    assert response.json()["errors"][0]["rule"] == "bad_parameter"


def test_a_memo_whose_answer_is_lost_after_commit_exists_once_with_one_stock_move(shared_gateway, make_hook):
    hook = make_hook(shared_gateway)
    order, invce = invoiced_order(shared_gateway, hook)
    memo = refund_memo(order, invce)
    before = on_hand(shared_gateway, CASE_PART)["OVERFLOW"]
    shared_gateway.set_faults([{"kind": "drop_after_commit", "count": 1, "method": "POST", "path": "/credit-memos"}])
    try:
        result = hook.create_credit_memo(memo)
        assert shared_gateway.faults_fired() == {"drop_after_commit": 1}
    finally:
        shared_gateway.set_faults([])
    assert result.recovered and result.attempts == 1
    assert shared_gateway.count_orders(memo.CUSTPO) == 1
    [found] = hook.find_credit_memos_by_custpo(memo.CUSTPO)
    assert found.ORDNUM == result.ORDNUM and len(found.stock_moves) == 1
    assert receipts(shared_gateway, result.ORDNUM) == [("R", CASE_PART, "OVERFLOW", Decimal(12))]
    assert on_hand(shared_gateway, CASE_PART)["OVERFLOW"] == before + 12
