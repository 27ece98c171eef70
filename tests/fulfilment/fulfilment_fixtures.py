"""Shared builders for the fulfilment tests: Shopify's state as the real models parse it from GraphQL-shaped data,
line maps as the export records them, and rules as the mapping files give them."""

from __future__ import annotations

from decimal import Decimal

from shopify_max.fulfilment.rules import Carrier, FulfilmentRules
from shopify_max.shopify.models import OrderFulfilmentState
from shopify_max.sync_store import OrderLineMapRow

ORDER = "gid://shopify/Order/9001"
MAIN = "gid://shopify/Location/64001001"
STORE = "gid://shopify/Location/64001002"


def item(n: int) -> str:
    return f"gid://shopify/LineItem/{n}"


def rules(**overrides) -> FulfilmentRules:
    values = {"carriers": {"UP": Carrier("UP", "UPS", None), "LT": Carrier("LT", None, "https://t.example/{number}")},
              "stockroom_locations": {"MAIN": MAIN, "OVERFLOW": MAIN, "STORE": STORE},
              "status_tags": {"open": "MAX open", "shipped": "MAX shipped"}, "invoice_tolerance_per_line": Decimal("0.01")}
    return FulfilmentRules(**{**values, **overrides})


def line_map(ordnum: str = "00100001") -> list[OrderLineMapRow]:
    return [
        OrderLineMapRow(ordnum, "01", "01", ORDER, "line_item", "PRT-1", 1, 3, item(1), "SKU-1", "EA"),
        OrderLineMapRow(ordnum, "02", "01", ORDER, "line_item", "PRT-2", 12, 24, item(2), "SKU-2", "EA"),
        OrderLineMapRow(ordnum, "03", "01", ORDER, "line_item", "PRT-3", 1, 1, item(3), "SKU-3", "EA"),
        OrderLineMapRow(ordnum, "04", "01", ORDER, "shipping", "FREIGHT", 1, 1),
    ]


def shipment(lines: list[tuple[str, str, str]], numbers=("1Z1", "1Z2"), ship_via="UP", shipment_id="500") -> dict:
    return {"shipment_id": shipment_id, "ORDNUM": "00100001", "SHPVIA": ship_via,
            "tracking": [{"carrier": "UPS", "tracking_number": n} for n in numbers],
            "lines": [{"LINNUM": linnum, "DELNUM": "01", "quantity": qty, "STK": stk} for linnum, qty, stk in lines]}


def fulfillment_order(fo_id: str, location: str, lines: list[tuple[int, int, int]], status: str = "OPEN",
                      actions=("CREATE_FULFILLMENT", "MOVE", "HOLD")) -> dict:
    return {"id": f"gid://shopify/FulfillmentOrder/{fo_id}", "status": status,
            "assignedLocation": {"name": location, "location": {"id": location}},
            "supportedActions": [{"action": a} for a in actions],
            "lineItems": [{"id": f"gid://shopify/FulfillmentOrderLineItem/{fo_id}{n}", "sku": f"SKU-{n}",
                           "totalQuantity": total, "remainingQuantity": remaining, "lineItem": {"id": item(n)}}
                          for n, total, remaining in lines]}


def fulfillment(f_id: str, location: str, lines: list[tuple[int, int]], numbers=(), status="SUCCESS",
                created_at="2026-11-30T10:00:00Z") -> dict:
    return {"id": f"gid://shopify/Fulfillment/{f_id}", "name": f"#1001-F{f_id}", "status": status,
            "createdAt": created_at, "location": {"id": location},
            "trackingInfo": [{"company": "UPS", "number": n, "url": None} for n in numbers],
            "fulfillmentLineItems": [{"lineItem": {"id": item(n), "sku": f"SKU-{n}"}, "quantity": q} for n, q in lines]}


def state(orders: list[dict], fulfillments: list[dict] = ()) -> OrderFulfilmentState:
    return OrderFulfilmentState.model_validate({
        "id": ORDER, "name": "#1001", "closed": False, "displayFulfillmentStatus": "UNFULFILLED",
        "currencyCode": "USD", "capturable": False, "totalCapturableSet": {"shopMoney": {"amount": "0"}},
        "fulfillments": list(fulfillments), "fulfillmentOrders": orders})
