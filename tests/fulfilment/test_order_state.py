"""MAX's order state and invoices as Shopify shows them: the state derived from MAX's quantities, and an invoice
checked against Shopify's own figures for its lines (Shopify's example orders/create payload)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from shopify_max.exactmax.models import MaxOrderStatus
from shopify_max.fulfilment.order_state import check_invoice, invoice_entry, max_state
from shopify_max.orders.webhook_payload import order_from_webhook_payload
from shopify_max.paths import INCLUDE_DIR
from shopify_max.sync_store import OrderLineMapRow

EXAMPLE = json.loads((INCLUDE_DIR / "vendor/shopify/webhooks/orders.create.json").read_text())["response"]
FREIGHT = {("06", "01")}


def status(header: str, lines: list[tuple[str, int, int, int, int]], invce: str = "") -> MaxOrderStatus:
    return MaxOrderStatus.model_validate({"ORDNUM": "00100001", "CUSTPO": "SHOP#1001", "STYPE": "CU", "STATUS": header,
                                          "INVCE": invce, "lines": [
        {"LINNUM": linnum, "DELNUM": "01", "PRTNUM": "P", "STATUS": header, "ORGQTY": org, "SHPQTY": shp,
         "BCKQTY": bck, "INVQTY": inv} for linnum, org, shp, bck, inv in lines]})


@pytest.mark.parametrize(("header", "lines", "invce", "expected"), [
    ("3", [("01", 3, 0, 0, 0), ("06", 1, 0, 0, 0)], "", "open"),
    ("3", [("01", 3, 1, 0, 0), ("06", 1, 0, 0, 0)], "", "partially_shipped"),
    ("3", [("01", 3, 1, 2, 0), ("06", 1, 0, 0, 0)], "", "back_ordered"),
    ("3", [("01", 3, 3, 0, 0), ("06", 1, 0, 0, 0)], "", "shipped"),  # freight never ships: not counted
    ("3", [("01", 3, 3, 0, 3), ("06", 1, 0, 0, 1)], "00000007", "invoiced"),
    ("4", [("01", 3, 3, 0, 3)], "00000007", "closed"),
    ("4", [("01", 3, 0, 0, 0)], "", "cancelled"),  # status 4 with nothing shipped or invoiced
])
def test_the_max_state_follows_maxs_quantities(header, lines, invce, expected):
    read = status(header, lines, invce)
    assert max_state(read, read.cancelled, FREIGHT) == expected


def _line_map(order) -> list[OrderLineMapRow]:
    items = order.line_items
    return [OrderLineMapRow("00100001", f"{n:02d}", "01", order.id, "line_item", f"P{n}", 2 if n == 2 else 1,
                            2 if n == 2 else 1, item.id, item.sku) for n, item in enumerate(items, start=1)] + [
        OrderLineMapRow("00100001", "06", "01", order.id, "shipping", "FREIGHT", 1, 1)]


def _invoice(lines: list[tuple[str, str]], net: str, tax: str = "0") -> dict:
    return {"INVCE": "00000007", "INVDTE": "2026-11-30", "LNETOT": net, "TAX1": tax, "ORDDSC": "0",
            "lines": [{"LINNUM": linnum, "DELNUM": "01", "INVQTY": qty} for linnum, qty in lines]}


def test_an_invoice_matching_shopifys_prices_passes_and_one_off_by_more_than_the_tolerance_names_the_difference():
    order = order_from_webhook_payload(EXAMPLE)
    line_map = _line_map(order)
    # 89.99 + 19.99 (a line sold by 2 MAX units per Shopify unit, invoiced as 2) + 159.99 + free shipping
    good = check_invoice(_invoice([("01", "1"), ("02", "2"), ("04", "1"), ("06", "1")], "269.97"), order, line_map,
                         Decimal("0.01"))
    assert good.ok and good.expected == Decimal("269.97") and good.difference == 0
    rounding = check_invoice(_invoice([("01", "1"), ("04", "1")], "249.99"), order, line_map, Decimal("0.01"))
    assert rounding.ok  # a cent over two lines: MAX's four-decimal prices
    off = check_invoice(_invoice([("01", "1"), ("04", "1")], "259.98"), order, line_map, Decimal("0.01"))
    assert not off.ok and (off.expected, off.invoiced, off.difference) == (
        Decimal("249.98"), Decimal("259.98"), Decimal("10.00"))
    unknown = check_invoice(_invoice([("09", "1")], "10"), order, line_map, Decimal("0.01"))
    assert not unknown.ok and "09/01 is not in the order's line map" in unknown.problems[0]


def test_an_invoice_entry_has_its_due_date_from_the_orders_terms():
    entry = invoice_entry({**_invoice([], "100.00", "7.25"), "ORDDSC": "5.00"}, {"30": 30}, "30")
    assert entry == {"number": "00000007", "date": "2026-11-30", "amount": "102.25", "tax": "7.25",
                     "due_date": "2026-12-30"}
    assert invoice_entry(_invoice([], "1", "0"), {"30": 30}, "CC")["due_date"] == "2026-11-30"
