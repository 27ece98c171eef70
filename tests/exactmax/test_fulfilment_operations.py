"""What the fulfilment flow (issue 13) reads from MAX, made by the sandbox operations and read back through the hook:
partial shipments with several tracking numbers, partial invoices, closed orders, and the fulfilment mix."""

from __future__ import annotations

from decimal import Decimal

import pytest
from max_gateway_helpers import make_order

from shopify_max.exactmax.models import SalesOrderLine


def three_lines(**header):
    order = make_order(lines=3, SHPVIA="FX", **header)
    order.lines[1] = SalesOrderLine(LINNUM="02", PRTNUM=order.lines[1].PRTNUM, SLSUOM="CS", PRICE=Decimal(90),
                                    ORGQTY=Decimal(4))
    order.lines.append(SalesOrderLine(LINNUM="04", PRTNUM="FREIGHT", PRICE=Decimal("9.95"), ORGQTY=Decimal(1)))
    return order


def shipments_of(hook, ordnum: str) -> list:
    return [s for s in hook.iter_shipments(since_cursor=0, page_size=3) if s.ORDNUM == ordnum]


def test_a_partial_shipment_with_two_tracking_numbers_reads_back_through_the_hook(shared_gateway, make_hook):
    hook = make_hook(shared_gateway)
    ordnum = hook.create_sales_order(three_lines()).ORDNUM
    shared_gateway.sandbox("ship", ORDNUM=ordnum, lines=[{"LINNUM": "01", "quantity": "1"},
                                                         {"LINNUM": "02", "quantity": "3"}],
                           carrier="FedEx", tracking_number="781234567890",
                           tracking=[{"tracking_number": "781234567891"}], ship_date="2026-12-01")
    [shipment] = shipments_of(hook, ordnum)
    assert (shipment.ORDNUM, shipment.SHPVIA, str(shipment.ship_date), shipment.order_status) == (
        ordnum, "FX", "2026-12-01", "3")
    assert [(t.carrier, t.tracking_number) for t in shipment.tracking] == [("FedEx", "781234567890"),
                                                                           ("FedEx", "781234567891")]
    assert shipment.tracking_number == "781234567890"
    assert [(line.LINNUM, line.DELNUM, line.SLSUOM, line.quantity, line.stock_quantity, line.STK)
            for line in shipment.lines] == [("01", "01", "EA", 1, 1, "MAIN"), ("02", "01", "CS", 3, 36, "MAIN")]
    due = {line.LINNUM: line.DUEQTY for line in hook.get_sales_order(ordnum).lines}
    assert due == {"01": 0, "02": 1, "03": 3, "04": 1}

    shared_gateway.sandbox("ship", ORDNUM=ordnum, carrier="UPS", tracking_number="1Z999AA10000000001", SHPVIA="UP")
    first, rest = shipments_of(hook, ordnum)
    assert int(rest.shipment_id) > int(first.shipment_id)
    assert [(line.LINNUM, line.quantity) for line in rest.lines] == [("02", 1), ("03", 3), ("04", 1)]
    assert (rest.SHPVIA, [t.tracking_number for t in rest.tracking]) == ("UP", ["1Z999AA10000000001"])
    watermark = first.shipment_id
    assert any(s.shipment_id == rest.shipment_id for s in hook.iter_shipments(since_cursor=watermark))
    assert all(int(s.shipment_id) > int(watermark) for s in hook.iter_shipments(since_cursor=watermark))


def test_freight_rows_ship_without_moving_stock(shared_gateway, make_hook):
    hook = make_hook(shared_gateway)
    ordnum = hook.create_sales_order(three_lines()).ORDNUM
    stock_before = {s.STK: s.on_hand for s in hook.iter_stock(parts=["FREIGHT"])}
    shared_gateway.sandbox("ship", ORDNUM=ordnum, lines=[{"LINNUM": "04", "quantity": "1"}])
    assert {s.STK: s.on_hand for s in hook.iter_stock(parts=["FREIGHT"])} == stock_before
    assert [line.PRTNUM for line in shipments_of(hook, ordnum)[0].lines] == ["FREIGHT"]


@pytest.mark.parametrize(("tracking", "rule"), [
    ([{"tracking_number": "1Z1"}], "duplicate_key"),
    ([{"tracking_number": "9" * 61}], "too_long"),
])
def test_tracking_numbers_are_checked(shared_gateway, make_hook, tracking, rule):
    ordnum = make_hook(shared_gateway).create_sales_order(make_order(lines=1)).ORDNUM
    response = shared_gateway.http.post(f"{shared_gateway.base_url}/_sandbox/ship", json={
        "ORDNUM": ordnum, "tracking_number": "1Z1", "tracking": tracking}, timeout=30)
    assert response.status_code == 422 and response.json()["errors"][0]["rule"] == rule


def test_a_partial_invoice_holds_the_shipped_rows_only_and_reads_back(shared_gateway, make_hook):
    hook = make_hook(shared_gateway)
    ordnum = hook.create_sales_order(three_lines()).ORDNUM
    shared_gateway.sandbox("ship", ORDNUM=ordnum, lines=[{"LINNUM": "01", "quantity": "1"},
                                                         {"LINNUM": "03", "quantity": "2"}])
    invce = shared_gateway.sandbox("invoice", ORDNUM=ordnum, invoice_date="2026-12-02")["INVCE"]
    [invoice] = [i for i in hook.iter_invoices(since_cursor="") if i.INVCE == invce]
    assert (invoice.ORDNUM, invoice.kind, str(invoice.INVDTE)) == (ordnum, "invoice", "2026-12-02")
    assert [(line.LINNUM, line.INVQTY) for line in invoice.lines] == [("01", 1), ("03", 2)]
    assert invoice.LNETOT == Decimal("37.50")  # 3 units at 12.50: nothing of lines 02 and 04
    stored = hook.get_sales_order(ordnum)
    assert (stored.STATUS, stored.INVCE) == ("3", invce)
    assert [(line.LINNUM, line.STATUS, line.INVQTY) for line in stored.lines] == [
        ("01", "4", 1), ("02", "3", 0), ("03", "3", 2), ("04", "3", 0)]


def test_closing_an_order_closes_it_and_its_lines_whatever_shipped(shared_gateway, make_hook):
    hook = make_hook(shared_gateway)
    ordnum = hook.create_sales_order(three_lines()).ORDNUM
    shared_gateway.sandbox("ship", ORDNUM=ordnum, lines=[{"LINNUM": "01", "quantity": "1"}])
    assert shared_gateway.sandbox("close", ORDNUM=ordnum) == {"ORDNUM": ordnum, "STATUS": "4"}
    stored = hook.get_sales_order(ordnum)
    assert (stored.STATUS, {line.STATUS for line in stored.lines}) == ("4", {"4"})
    assert shipments_of(hook, ordnum)[0].order_status == "4"
    response = shared_gateway.http.post(f"{shared_gateway.base_url}/_sandbox/ship", json={"ORDNUM": ordnum}, timeout=30)
    assert response.status_code == 422 and response.json()["errors"][0]["rule"] == "not_open"


def test_the_fulfilment_mix_gives_each_order_its_part(shared_gateway, make_hook):
    hook = make_hook(shared_gateway)
    ordnums = [hook.create_sales_order(three_lines()).ORDNUM for _ in range(6)]
    done = shared_gateway.sandbox("fulfilment-mix", ORDNUMs=ordnums, ship_date="2026-12-03")["orders"]
    assert [step["did"] for step in done] == ["partial", "shipped, invoiced", "open", "partial, invoiced", "closed",
                                              "partial"]
    orders = {ordnum: hook.get_sales_order(ordnum) for ordnum in ordnums}
    partial = shipments_of(hook, ordnums[0])
    assert len(partial) == 1 and len(partial[0].tracking) == 2 and partial[0].tracking[0].carrier == "FedEx"
    assert [(line.LINNUM, line.quantity) for line in partial[0].lines] == [("01", 1), ("02", 4)]  # 01: half of 1 is all
    assert {line.LINNUM: line.DUEQTY for line in orders[ordnums[0]].lines} == {"01": 0, "02": 0, "03": 3, "04": 1}
    assert orders[ordnums[1]].STATUS == "4" and all(line.INVQTY == line.ORGQTY for line in orders[ordnums[1]].lines)
    assert all(line.SHPQTY == 0 for line in orders[ordnums[2]].lines) and orders[ordnums[2]].STATUS == "3"
    assert orders[ordnums[3]].STATUS == "3" and orders[ordnums[3]].INVCE == done[3]["INVCE"]
    assert [line.INVQTY for line in orders[ordnums[3]].lines] == [1, 4, 0, 0]
    assert orders[ordnums[4]].STATUS == "4" and orders[ordnums[4]].lines[0].SHPQTY == 1
    again = shared_gateway.sandbox("fulfilment-mix", ORDNUMs=[ordnums[2]])["orders"]
    assert again == [{"ORDNUM": ordnums[2], "did": "partial", "shipment_id": again[0]["shipment_id"],
                      "lines": again[0]["lines"], "tracking": again[0]["tracking"]}]
