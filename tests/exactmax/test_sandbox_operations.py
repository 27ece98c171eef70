"""Sandbox operations write the MAX tables the way MAX would: Transaction_History, SO_Detail, Part_Stock."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from max_gateway_helpers import make_order

from max_gateway.sql import tables as t
from shopify_max.exactmax.models import SalesOrderLine


def _rows(gateway, query) -> list:
    with gateway.engine.connect() as conn:
        return conn.execute(query).all()


def _on_hand(gateway, part: str, stk: str) -> Decimal:
    return Decimal(_rows(gateway, sa.select(t.part_stock.c.QTYOH_06).where(
        t.part_stock.c.PRTNUM_06 == part, t.part_stock.c.STK_06 == stk))[0][0])


def test_partial_shipment_writes_transactions_quantities_stock_and_tracking(gateway, make_hook) -> None:
    hook = make_hook(gateway)
    order = make_order(lines=1)
    order.lines = [SalesOrderLine(LINNUM="01", PRTNUM="PRT-00010", SLSUOM="CS", PRICE=Decimal(90), ORGQTY=Decimal(3))]
    ordnum = hook.create_sales_order(order).ORDNUM
    before = _on_hand(gateway, "PRT-00010", "MAIN")
    shipment = gateway.sandbox("ship", ORDNUM=ordnum, lines=[{"LINNUM": "01", "quantity": "2"}], carrier="UPS",
                               tracking_number="1Z999AA10123456784", ship_date="2026-11-30")
    line = hook.get_sales_order(ordnum).lines[0]
    assert (line.SHPQTY, line.DUEQTY, line.STATUS, str(line.SHPDTE)) == (2, 1, "3", "2026-11-30")
    assert _on_hand(gateway, "PRT-00010", "MAIN") == before - 24  # 2 cases of 12 stocking units
    history = _rows(gateway, sa.select(t.transaction_history).where(t.transaction_history.c.ORDNUM_15 == ordnum))
    assert [(h.TNXCDE_15, h.PRTNUM_15, h.STK_15, Decimal(h.TNXQTY_15), h.LINNUM_15) for h in history] == [
        ("S", "PRT-00010", "MAIN", Decimal(24), "01")]
    tracking = _rows(gateway, sa.select(t.x_shipment_tracking).where(
        t.x_shipment_tracking.c.TNXSEQ_X == history[0].TNXSEQ_15))
    assert [(x.SHIPID_X, x.CARRIER_X, x.TRACKNO_X) for x in tracking] == [
        (int(shipment["shipment_id"]), "UPS", "1Z999AA10123456784")]


def test_shipping_more_than_is_due_is_refused(gateway, make_hook) -> None:
    ordnum = make_hook(gateway).create_sales_order(make_order(lines=1)).ORDNUM
    response = gateway.http.post(f"{gateway.base_url}/_sandbox/ship",
                                 json={"ORDNUM": ordnum, "lines": [{"LINNUM": "01", "quantity": "2"}]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["rule"] == "over_shipped"


def test_invoicing_shipped_lines_closes_lines_and_then_the_order(gateway, make_hook) -> None:
    hook = make_hook(gateway)
    ordnum = hook.create_sales_order(make_order(lines=2)).ORDNUM
    gateway.sandbox("ship", ORDNUM=ordnum, lines=[{"LINNUM": "01", "quantity": "1"}])
    first = gateway.sandbox("invoice", ORDNUM=ordnum)
    stored = hook.get_sales_order(ordnum)
    assert (stored.STATUS, stored.INVCE, [line.STATUS for line in stored.lines]) == ("3", first["INVCE"], ["4", "3"])
    assert stored.lines[0].INVQTY == 1
    gateway.sandbox("ship", ORDNUM=ordnum)
    second = gateway.sandbox("invoice", ORDNUM=ordnum)
    assert second["order_status"] == "4" and hook.get_sales_order(ordnum).STATUS == "4"
    details = _rows(gateway, sa.select(t.invoice_detail).where(t.invoice_detail.c.ORDNUM_32 == ordnum))
    assert sorted((d.INVCE_32, d.LINNUM_32, Decimal(d.INVQTY_32)) for d in details) == [
        (first["INVCE"], "01", Decimal(1)), (second["INVCE"], "02", Decimal(2))]
    assert int(second["INVCE"]) == int(first["INVCE"]) + 1 and len(second["INVCE"]) == 8


def test_invoicing_with_nothing_shipped_is_refused(gateway, make_hook) -> None:
    ordnum = make_hook(gateway).create_sales_order(make_order(lines=1)).ORDNUM
    response = gateway.http.post(f"{gateway.base_url}/_sandbox/invoice", json={"ORDNUM": ordnum})
    assert response.status_code == 422 and response.json()["errors"][0]["rule"] == "nothing_to_invoice"


def test_receive_and_issue_write_transactions_and_move_on_hand(gateway, make_hook) -> None:
    before = _on_hand(gateway, "PRT-00001", "OVERFLOW")
    received = gateway.sandbox("stock", PRTNUM="PRT-00001", STK="OVERFLOW", quantity="40", kind="R")
    assert Decimal(received["on_hand"]) == before + 40
    gateway.sandbox("stock", PRTNUM="PRT-00001", STK="OVERFLOW", quantity="15", kind="I")
    assert _on_hand(gateway, "PRT-00001", "OVERFLOW") == before + 25
    codes = [h.TNXCDE_15 for h in _rows(gateway, sa.select(t.transaction_history).where(
        t.transaction_history.c.PRTNUM_15 == "PRT-00001").order_by(t.transaction_history.c.TNXSEQ_15))]
    assert codes == ["R", "I"]
    level = {r.STK: r for r in make_hook(gateway).iter_stock(parts=["PRT-00001"])}["OVERFLOW"]
    assert level.on_hand == before + 25


def test_closing_an_order_closes_it_and_its_lines(gateway, make_hook) -> None:
    hook = make_hook(gateway)
    ordnum = hook.create_sales_order(make_order(lines=2)).ORDNUM
    gateway.sandbox("ship", ORDNUM=ordnum, lines=[{"LINNUM": "02", "quantity": "1"}])
    assert gateway.sandbox("close", ORDNUM=ordnum) == {"ORDNUM": ordnum, "STATUS": "4"}
    stored = hook.get_sales_order(ordnum)
    assert stored.STATUS == "4" and {line.STATUS for line in stored.lines} == {"4"}
