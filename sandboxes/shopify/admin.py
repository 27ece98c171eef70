"""``/_sandbox/*``: the admin endpoints tests, the demo and benchmarks use to steer the sandbox.

All need the same ``X-Shopify-Access-Token`` as the API. Order changes made here announce webhooks, as a
merchant's actions in the Shopify admin would.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sandboxes.shopify import cost
from sandboxes.shopify.errors import SandboxUserError
from sandboxes.shopify.orders import LineSpec, OrderSpec


def _update_dataclass(target: Any, values: dict[str, Any]) -> list[str]:
    """Set known fields of ``target`` from ``values``; return the unknown keys."""
    known = {f.name: f for f in fields(target)}
    unknown = [key for key in values if key not in known]
    for key, value in values.items():
        if key in known:
            setattr(target, key, value)
    return unknown


def _refund_answer(refund: dict[str, Any], calculated: str) -> dict[str, Any]:
    order = refund["order"]
    return {"id": refund["id"], "order_id": order["id"], "calculated": calculated,
            "totalRefunded": refund["totalRefundedSet"]["shopMoney"]["amount"],
            "adjustments": [a["amountSet"]["shopMoney"]["amount"] for a in refund["orderAdjustments"]],
            "transactions": [t["id"] for t in refund["transactions"]],
            "orderTotalRefunded": order["totalRefundedSet"]["shopMoney"]["amount"],
            "displayFinancialStatus": order["displayFinancialStatus"], "updatedAt": order["updatedAt"],
            "cancelledAt": order["cancelledAt"]}


def register(app: FastAPI, sandbox, authorised, unauthorised) -> None:  # noqa: C901 - a flat list of routes
    def guard(request: Request) -> JSONResponse | None:
        return None if authorised(request) else unauthorised()

    @app.get("/_sandbox/state")
    async def state(request: Request):
        if (denied := guard(request)) is not None:
            return denied
        store = sandbox.store
        return {"orders": len(store.orders), "customers": len(store.customers), "variants": len(store.variants),
                "inventory_items": len(store.items), "inventory_levels": len(store.levels),
                "locations": [{"id": loc["id"], "name": loc["name"]} for loc in store.locations.values()],
                "bucket": sandbox.bucket.status().as_dict(), "faults": asdict(sandbox.faults),
                "stats": dict(sandbox.stats), "webhooks_pending": sandbox.webhooks.pending_count(),
                "writes": store.writes.total,
                "bulk_operations": {k: v["status"] for k, v in store.bulk_operations.items()}}

    @app.post("/_sandbox/reset")
    async def reset(request: Request):
        if (denied := guard(request)) is not None:
            return denied
        body = await request.json() if await request.body() else {}
        config = sandbox.config
        sandbox.reset(int(body.get("products", config.products)), int(body.get("orders", config.orders)),
                      int(body.get("seed", config.seed)), announce=bool(body.get("announce_seed", False)))
        sandbox.stats.clear()
        return {"orders": len(sandbox.store.orders), "inventory_levels": len(sandbox.store.levels)}

    @app.get("/_sandbox/writes")
    async def writes(request: Request):
        """Every mutation the API executed since the last reset: {"total", "counts": {field: n}, "entries": [the last
        500: {"mutation", "targets", "at", "user_errors", "replayed"}]} (sandboxes.shopify.writes)."""
        if (denied := guard(request)) is not None:
            return denied
        return sandbox.store.writes.as_dict()

    @app.delete("/_sandbox/writes")
    async def clear_writes(request: Request):
        if (denied := guard(request)) is not None:
            return denied
        sandbox.store.writes.clear()
        return sandbox.store.writes.as_dict()

    @app.post("/_sandbox/faults")
    async def set_faults(request: Request):
        if (denied := guard(request)) is not None:
            return denied
        unknown = _update_dataclass(sandbox.faults, await request.json())
        if unknown:
            return JSONResponse({"errors": f"unknown fault knobs: {unknown}"}, status_code=422)
        return asdict(sandbox.faults)

    @app.post("/_sandbox/bucket")
    async def set_bucket(request: Request):
        if (denied := guard(request)) is not None:
            return denied
        body = await request.json()
        if body.get("drain"):
            sandbox.bucket.drain()
            return sandbox.bucket.status().as_dict()
        size, rate = cost.PRESETS[body.get("preset", sandbox.config.plan)]
        size = float(body.get("bucket_size", size if "preset" in body else sandbox.bucket.bucket_size))
        rate = float(body.get("restore_rate", rate if "preset" in body else sandbox.bucket.restore_rate))
        sandbox.bucket.configure(size, rate, body.get("currently_available"))
        return sandbox.bucket.status().as_dict()

    @app.post("/_sandbox/webhooks")
    async def set_webhooks(request: Request):
        if (denied := guard(request)) is not None:
            return denied
        unknown = _update_dataclass(sandbox.webhooks.settings, await request.json())
        if unknown:
            return JSONResponse({"errors": f"unknown webhook knobs: {unknown}"}, status_code=422)
        return {k: v for k, v in asdict(sandbox.webhooks.settings).items() if k != "secret"}

    @app.get("/_sandbox/webhooks/deliveries")
    async def deliveries(request: Request):
        if (denied := guard(request)) is not None:
            return denied
        return {"pending": sandbox.webhooks.pending_count(), "deliveries": list(sandbox.webhooks.deliveries)}

    @app.post("/_sandbox/orders")
    async def create_order(request: Request):
        """Body: {"lines": [{"sku": "SKU-00001", "quantity": 2}], "customer_id": gid?, "tags": [...]}."""
        if (denied := guard(request)) is not None:
            return denied
        body = await request.json()
        store = sandbox.store
        lines = []
        for line in body.get("lines") or [{"sku": "SKU-00001", "quantity": 1}]:
            items = store.items_by_sku.get(line.get("sku") or "", [])
            variant = items[0]["variants"][0] if items else None
            price = Decimal(str(line.get("price", variant["price"] if variant else "10.00")))
            lines.append(LineSpec(line.get("title") or (variant["displayName"] if variant else "Custom item"),
                                  int(line.get("quantity", 1)), price, sku=line.get("sku"),
                                  variant_gid=variant["id"] if variant else None, location_gid=line.get("location_id")))
        customer = store.customers.get(body.get("customer_id") or "")
        address = customer["defaultAddress"] if customer else None
        spec = OrderSpec(lines=lines, customer_gid=customer["id"] if customer else None, email=body.get("email"),
                         billing_address=address, shipping_address=address,
                         shipping=[("Standard Shipping", "STANDARD", Decimal(str(body.get("shipping", "7.50"))))],
                         tax_rates=[("IL State Tax", Decimal("0.0625"))], tags=body.get("tags") or [],
                         note=body.get("note"), payment=body.get("payment", "paid"))
        order = store.add_order(spec)
        return {"id": order["id"], "name": order["name"], "updatedAt": order["updatedAt"],
                "lineItems": [line["id"] for line in order["lineItems"]],
                "fulfillmentOrders": [fo["id"] for fo in order["fulfillmentOrders"]]}

    @app.post("/_sandbox/fulfillment_orders/{legacy_id}/{action}")
    async def hold_or_release(legacy_id: str, action: str, request: Request):
        """A merchant's hold (body {"reason": "OTHER", "notes": ...}) or release of every hold."""
        if (denied := guard(request)) is not None:
            return denied
        body = await request.json() if await request.body() else {}
        gid = f"gid://shopify/FulfillmentOrder/{legacy_id}"
        store = sandbox.store
        if gid not in store.fulfillment_orders or action not in ("hold", "release"):
            return JSONResponse({"errors": f"no such fulfillment order or action: {legacy_id}/{action}"},
                                status_code=404)
        with store.lock:
            try:
                if action == "hold":
                    store.hold_fulfillment_order(gid, body.get("reason", "OTHER"), body.get("notes"),
                                                 body.get("handle", "merchant"))
                else:
                    store.release_holds(gid)
            except SandboxUserError as error:
                return JSONResponse({"errors": error.message}, status_code=422)
            fulfillment_order = store.fulfillment_orders[gid]
        store.announce("orders/updated", fulfillment_order["order"])
        return {"id": gid, "status": fulfillment_order["status"],
                "supportedActions": [a["action"] for a in fulfillment_order["supportedActions"]]}

    async def _order_action(request: Request, action):
        if (denied := guard(request)) is not None:
            return denied
        body = await request.json() if await request.body() else {}
        try:
            order = action(body)
        except KeyError as missing:
            return JSONResponse({"errors": f"no such order {missing}"}, status_code=404)
        return {"id": order["id"], "updatedAt": order["updatedAt"],
                "displayFinancialStatus": order["displayFinancialStatus"], "cancelledAt": order["cancelledAt"]}

    @app.post("/_sandbox/orders/{legacy_id}/update")
    async def update_order(legacy_id: str, request: Request):
        return await _order_action(request, lambda body: sandbox.store.update_order(
            f"gid://shopify/Order/{legacy_id}", body.get("note"), body.get("tags")))

    @app.post("/_sandbox/orders/{legacy_id}/cancel")
    async def cancel_order(legacy_id: str, request: Request):
        return await _order_action(request, lambda body: sandbox.store.cancel_order(
            f"gid://shopify/Order/{legacy_id}", body.get("reason", "CUSTOMER")))

    @app.post("/_sandbox/orders/{legacy_id}/refund")
    async def refund_order(legacy_id: str, request: Request):
        """A merchant's refund, through the same code as ``refundCreate``. Body (all optional; {} refunds everything):
        {"lines": [{"line_item_id": gid, "quantity": n, "restock_type": "RETURN"|"CANCEL"|"NO_RESTOCK",
        "location_id": gid?}], "shipping": {"amount": "7.50"} | {"full": true},
        "adjustment": {"amount": "5.00", "reason": "REFUND_DISCREPANCY"}, "amount": "1.00", "note": "..."}.
        The money refunded is lines + tax + shipping (+ the adjustment's amount, recorded as an OrderAdjustment
        with Shopify's sign, -5.00); ``amount`` replaces it and records no adjustment (totals that do not reconcile).
        """
        if (denied := guard(request)) is not None:
            return denied
        body = await request.json() if await request.body() else {}
        gid = f"gid://shopify/Order/{legacy_id}"
        store = sandbox.store
        if gid not in store.orders:
            return JSONResponse({"errors": f"no such order {gid}"}, status_code=404)
        if not any(key in body for key in ("lines", "shipping", "adjustment", "amount")):
            refund = store.refund_order(gid, note=body.get("note"))
            return _refund_answer(refund, refund["totalRefundedSet"]["shopMoney"]["amount"])
        lines = [{"lineItemId": line["line_item_id"], "quantity": int(line["quantity"]),
                  "restockType": line.get("restock_type", "NO_RESTOCK"), "locationId": line.get("location_id")}
                 for line in body.get("lines") or []]
        shipping = body.get("shipping") or {}
        shipping = {"fullRefund": True} if shipping.get("full") else (
            {"amount": Decimal(str(shipping["amount"]))} if shipping.get("amount") is not None else None)
        adjustment = body.get("adjustment") or {}
        with store.lock:
            try:
                calculated = store.suggest_refund(gid, lines, shipping)
                amount = (Decimal(str(body["amount"])) if body.get("amount") is not None
                          else calculated + Decimal(str(adjustment.get("amount", "0"))))
                order = store.orders[gid]
                gateway = order["paymentGatewayNames"][-1] if order["paymentGatewayNames"] else "manual"
                refund = store.create_refund(
                    gid, lines, shipping, [{"amount": amount, "gateway": gateway, "kind": "REFUND"}] if amount else [],
                    body.get("note"), allow_over_refunding=bool(body.get("allow_over_refunding")),
                    discrepancy_reason=adjustment.get("reason"), record_discrepancy=body.get("amount") is None)
            except SandboxUserError as error:
                return JSONResponse({"errors": error.message, "field": error.field}, status_code=422)
        store.announce("refunds/create", refund)
        store.announce("orders/updated", refund["order"])
        return _refund_answer(refund, str(calculated))

    @app.post("/_sandbox/orders/{legacy_id}/return")
    async def open_return(legacy_id: str, request: Request):
        """A return opened without a refund. Body: {"lines": [{"line_item_id": gid, "quantity": n}]}."""
        if (denied := guard(request)) is not None:
            return denied
        body = await request.json() if await request.body() else {}
        try:
            opened = sandbox.store.open_return(f"gid://shopify/Order/{legacy_id}", [
                (line["line_item_id"], int(line["quantity"])) for line in body.get("lines") or []])
        except KeyError as missing:
            return JSONResponse({"errors": f"no such order {missing}"}, status_code=404)
        except SandboxUserError as error:
            return JSONResponse({"errors": error.message}, status_code=422)
        return {"id": opened["id"], "name": opened["name"], "status": opened["status"],
                "lines": [{"id": line["id"], "quantity": line["quantity"],
                           "line_item_id": line["fulfillmentLineItem"]["lineItem"]["id"]}
                          for line in opened["returnLineItems"]]}

    @app.get("/_sandbox/inventory")
    async def inventory(request: Request, sku: str | None = None):
        if (denied := guard(request)) is not None:
            return denied
        store = sandbox.store
        items = store.items_by_sku.get(sku, []) if sku else list(store.items.values())
        return {"levels": [{"sku": item["sku"], "inventory_item_id": item["id"], "location_id": level["location"]["id"],
                            **level["quantities_by_name"]} for item in items for level in item["inventoryLevels"]]}

    @app.post("/_sandbox/inventory")
    async def set_inventory(request: Request):
        """Change a level as someone else would (a POS sale): body {inventory_item_id, location_id, available}."""
        if (denied := guard(request)) is not None:
            return denied
        body = await request.json()
        with sandbox.store.lock:
            level = sandbox.store.levels.get((body["inventory_item_id"], body["location_id"]))
            if level is None:
                return JSONResponse({"errors": "no such inventory level"}, status_code=404)
            by_name = level["quantities_by_name"]
            delta = int(body["available"]) - by_name["available"]
            by_name["available"] += delta
            by_name["on_hand"] += delta
            return dict(by_name)
