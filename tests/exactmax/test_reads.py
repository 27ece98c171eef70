"""Reads: cursors visit every row once; stock, customers and code tables carry what the flows need."""

from __future__ import annotations

from decimal import Decimal

from max_gateway_helpers import PRODUCTS, make_order

from sandboxes import catalog
from sandboxes.exactmax.seed import NON_STOCK_PARTS, stock_quantity
from shopify_max.exactmax.models import SalesOrderLine

STOCKROOMS = [stk for location in catalog.LOCATIONS for stk in location.max_stockrooms]


def test_parts_cursor_visits_every_mapped_part_once_and_no_unmapped_part(gateway, make_hook) -> None:
    parts = list(make_hook(gateway).iter_parts(page_size=7))
    expected = [v.part_number for p in catalog.products(PRODUCTS) for v in p.variants[:1] if v.part_number]
    max_only = [part for part, _description, _price in catalog.MAX_ONLY_PARTS]
    assert [p.PRTNUM for p in parts] == sorted(expected + list(NON_STOCK_PARTS) + max_only)
    unmapped = {f"PRT-{p.index:05d}" for p in catalog.products(PRODUCTS) if catalog.is_unmapped(p.index)}
    assert unmapped and not unmapped & {p.PRTNUM for p in parts}


def test_parts_carry_sales_uom_and_factor_and_uom_codes_carry_the_case_factor(gateway, make_hook) -> None:
    hook = make_hook(gateway)
    part = next(p for p in hook.iter_parts() if p.PRTNUM == "PRT-00010")
    assert (part.SLSUOM, part.SLSCNV, part.PRICE) == ("EA", Decimal(1), catalog.product(10).variants[0].price)
    factors = {c.code: c.factor for c in hook.code_tables().uom}
    assert factors["CS"] == Decimal(12) and factors["EA"] == Decimal(1)


def test_stock_cursor_visits_every_part_and_stockroom_once(gateway, make_hook) -> None:
    rows = list(make_hook(gateway).iter_stock(page_size=11))
    keys = [(r.PRTNUM, r.STK) for r in rows]
    assert len(keys) == len(set(keys))
    mapped = [p for p in catalog.products(PRODUCTS) if not catalog.is_unmapped(p.index)]
    assert len(keys) == (len(mapped) + len(catalog.MAX_ONLY_PARTS)) * len(STOCKROOMS)
    first = {(r.PRTNUM, r.STK): r for r in rows}[("PRT-00013", STOCKROOMS[0])]
    assert first.on_hand == stock_quantity(13, 0) == 0  # every 13th part is out of stock in its first stockroom


def test_available_is_on_hand_minus_open_customer_order_demand_in_stocking_units(gateway, make_hook) -> None:
    hook = make_hook(gateway)
    order = make_order(lines=1)
    order.lines = [SalesOrderLine(LINNUM="01", PRTNUM="PRT-00010", SLSUOM="CS", PRICE=Decimal(90), ORGQTY=Decimal(2)),
                   SalesOrderLine(LINNUM="02", PRTNUM="PRT-00010", PRICE=Decimal(9), ORGQTY=Decimal(3)),
                   SalesOrderLine(LINNUM="03", PRTNUM="PRT-00010", STK="STORE", PRICE=Decimal(9), ORGQTY=Decimal(1))]
    ordnum = hook.create_sales_order(order).ORDNUM
    levels = {r.STK: r for r in hook.iter_stock(parts=["PRT-00010"])}
    main = levels["MAIN"]
    assert (main.open_demand, main.available) == (Decimal(27), main.on_hand - 27)  # 2 cases x 12 + 3 each
    assert levels["STORE"].open_demand == 1 and levels["OVERFLOW"].open_demand == 0
    gateway.sandbox("ship", ORDNUM=ordnum, lines=[{"LINNUM": "01", "quantity": "1"}])  # one case leaves MAIN
    after = {r.STK: r for r in hook.iter_stock(parts=["PRT-00010"], stockrooms=["MAIN"])}
    assert list(after) == ["MAIN"]
    assert after["MAIN"].on_hand == main.on_hand - 12 and after["MAIN"].open_demand == 15
    hook.cancel_sales_order(hook.create_sales_order(make_order(lines=1)).ORDNUM)  # cancelled: no demand
    gateway.sandbox("close", ORDNUM=ordnum)
    assert {r.STK: r.open_demand for r in hook.iter_stock(parts=["PRT-00010"])}["MAIN"] == 0


def test_customers_carry_terms_tax_codes_exemptions_and_currency(gateway, make_hook) -> None:
    customers = {c.CUSTID: c for c in make_hook(gateway).iter_customers(page_size=2)}
    assert list(customers) == sorted(customers)
    assert {"WEB", "ACME-001", "GLOBEX", "NYC-DIST", "NORTHWIND-CA"} <= set(customers)
    acme, globex = customers["ACME-001"], customers["GLOBEX"]
    assert (acme.TERMS, acme.tax_codes, acme.tax_exempt, acme.CURR) == ("30", ["CA", "CALA", "CALACTY"], False, "USD")
    assert globex.tax_exempt and [e["SHPCDE"] for e in globex.exemptions] == ["AUSTIN", "DALLAS"]
    assert customers["NORTHWIND-CA"].CURR == "CAD"
    assert acme.vat_id is None


def test_code_tables_list_terms_ship_via_tax_codes_uom_and_currencies(gateway, make_hook) -> None:
    tables = make_hook(gateway).code_tables()
    assert {"30", "CC"} <= {c.code for c in tables.terms}
    assert {"UP", "FX"} <= {c.code for c in tables.ship_via}
    assert all(len(c.code) <= 7 for c in tables.tax_codes) and "CALA" in {c.code for c in tables.tax_codes}
    assert {c.code: c.exchange_rate for c in tables.currencies}["USD"] == 1


def test_shipments_since_cursor_return_each_shipment_once_in_order(gateway, make_hook) -> None:
    hook = make_hook(gateway)
    ordnum = hook.create_sales_order(make_order(lines=3)).ORDNUM
    gateway.sandbox("ship", ORDNUM=ordnum, lines=[{"LINNUM": "02", "quantity": "1"}], carrier="UPS",
                    tracking_number="1ZFIRST", SHPVIA="UP")
    gateway.sandbox("ship", ORDNUM=ordnum, carrier="FedEx", tracking_number="7489SECOND", SHPVIA="FX")
    first_page = list(hook.iter_shipments(since_cursor=0, page_size=1))
    assert [s.tracking_number for s in first_page] == ["1ZFIRST", "7489SECOND"]
    assert [(line.LINNUM, line.quantity) for line in first_page[0].lines] == [("02", Decimal(1))]
    assert [(line.LINNUM, line.quantity) for line in first_page[1].lines] == [
        ("01", Decimal(1)), ("02", Decimal(1)), ("03", Decimal(3))]
    assert first_page[1].SHPVIA == "FX" and first_page[1].carrier == "FedEx"
    watermark = first_page[0].shipment_id
    assert [s.tracking_number for s in hook.iter_shipments(since_cursor=watermark)] == ["7489SECOND"]
    assert list(hook.iter_shipments(since_cursor=first_page[1].shipment_id)) == []


def test_invoices_since_cursor_return_each_invoice_once_in_order(gateway, make_hook) -> None:
    hook = make_hook(gateway)
    ordnum = hook.create_sales_order(make_order(lines=2)).ORDNUM
    gateway.sandbox("ship", ORDNUM=ordnum, lines=[{"LINNUM": "01", "quantity": "1"}])
    first = gateway.sandbox("invoice", ORDNUM=ordnum)
    gateway.sandbox("ship", ORDNUM=ordnum)
    second = gateway.sandbox("invoice", ORDNUM=ordnum)
    invoices = list(hook.iter_invoices(page_size=1))
    assert [i.INVCE for i in invoices] == [first["INVCE"], second["INVCE"]]
    assert invoices[0].LNETOT == Decimal("12.50") and invoices[1].LNETOT == Decimal("25.00")
    assert [i.INVCE for i in hook.iter_invoices(since_cursor=first["INVCE"])] == [second["INVCE"]]
