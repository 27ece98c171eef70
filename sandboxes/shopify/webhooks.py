"""Webhook deliveries: REST-shaped order payloads, HMAC-signed, retried, and optionally misbehaving.

Payloads follow ``include/vendor/shopify/webhooks/orders.create.json``. Each delivery carries Shopify's
headers (SHOPIFY.md §7). Knobs duplicate, delay, reorder and drop deliveries, as real delivery is
at-least-once and unordered.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests

from sandboxes.shopify.orders import iso
from sandboxes.shopify.store import SHOP_DOMAIN
from shopify_max.clock import utcnow

log = logging.getLogger(__name__)


def sign(secret: str, body: bytes) -> str:
    """Shopify's ``X-Shopify-Hmac-Sha256``: base64(HMAC-SHA256(secret, raw body))."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _legacy(gid: str | None) -> int | None:
    return int(gid.rsplit("/", 1)[-1].split("?")[0]) if gid else None


def _money_set(bag: dict[str, Any] | None) -> dict[str, Any] | None:
    if bag is None:
        return None
    return {"shop_money": {"amount": bag["shopMoney"]["amount"], "currency_code": bag["shopMoney"]["currencyCode"]},
            "presentment_money": {"amount": bag["presentmentMoney"]["amount"],
                                  "currency_code": bag["presentmentMoney"]["currencyCode"]}}


def _address(address: dict[str, Any] | None) -> dict[str, Any] | None:
    if address is None:
        return None
    return {"first_name": address.get("firstName"), "last_name": address.get("lastName"),
            "name": address.get("name"), "company": address.get("company"), "address1": address.get("address1"),
            "address2": address.get("address2"), "city": address.get("city"), "province": address.get("province"),
            "province_code": address.get("provinceCode"), "zip": address.get("zip"),
            "country": address.get("country"), "country_code": address.get("countryCodeV2"),
            "phone": address.get("phone"), "latitude": None, "longitude": None}


def _tax_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"title": t["title"], "rate": t["rate"], "price": t["priceSet"]["shopMoney"]["amount"],
             "price_set": _money_set(t["priceSet"]), "channel_liable": t.get("channelLiable", False)} for t in lines]


def order_payload(order: dict[str, Any]) -> dict[str, Any]:
    """The REST resource of ``order``, as Shopify puts it in ``orders/*`` webhook bodies."""
    customer = order.get("customer")
    applications = order["discountApplications"]

    def application(app: dict[str, Any]) -> dict[str, Any]:
        value = app["value"]
        is_percentage = value["__typename"] == "PricingPercentageValue"
        return {"type": {"DiscountCodeApplication": "discount_code", "AutomaticDiscountApplication": "automatic",
                         "ManualDiscountApplication": "manual"}.get(app["__typename"], "script"),
                "code": app.get("code"), "title": app.get("title", app.get("code")),
                "description": app.get("description"),
                "value": str(value["percentage"]) if is_percentage else value["amount"],
                "value_type": "percentage" if is_percentage else "fixed_amount",
                "allocation_method": app["allocationMethod"].lower(),
                "target_selection": app["targetSelection"].lower(), "target_type": app["targetType"].lower()}

    def allocation(alloc: dict[str, Any]) -> dict[str, Any]:
        return {"amount": alloc["allocatedAmountSet"]["shopMoney"]["amount"],
                "amount_set": _money_set(alloc["allocatedAmountSet"]),
                "discount_application_index": alloc["discountApplication"]["index"]}

    def line(item: dict[str, Any]) -> dict[str, Any]:
        variant = item.get("variant")
        return {"id": _legacy(item["id"]), "admin_graphql_api_id": item["id"], "sku": item["sku"],
                "name": item["name"], "title": item["title"], "variant_title": item.get("variantTitle"),
                "vendor": item.get("vendor"), "quantity": item["quantity"], "current_quantity": item["currentQuantity"],
                "gift_card": item["isGiftCard"], "requires_shipping": item["requiresShipping"],
                "taxable": item["taxable"], "price": item["originalUnitPriceSet"]["shopMoney"]["amount"],
                "price_set": _money_set(item["originalUnitPriceSet"]),
                "variant_id": _legacy(variant["id"]) if variant else None,
                "product_id": _legacy(variant["product"]["id"]) if variant else None,
                "product_exists": variant is not None, "fulfillment_service": "manual",
                "tax_lines": _tax_lines(item["taxLines"]),
                "discount_allocations": [allocation(a) for a in item["discountAllocations"]],
                "total_discount": str(sum((Decimal(a["allocatedAmountSet"]["shopMoney"]["amount"])
                                           for a in item["discountAllocations"]), Decimal("0.00")))}

    payload = {
        "id": int(order["legacyResourceId"]), "admin_graphql_api_id": order["id"], "name": order["name"],
        "number": order["number"] - 1000, "order_number": order["number"], "email": order.get("email"),
        "contact_email": order.get("email"), "phone": order.get("phone"),
        "created_at": order["createdAt"], "updated_at": order["updatedAt"], "processed_at": order["processedAt"],
        "cancelled_at": order["cancelledAt"],
        "cancel_reason": order["cancelReason"].lower() if order["cancelReason"] else None,
        "closed_at": order["updatedAt"] if order["closed"] else None, "confirmed": True,
        "currency": order["currencyCode"], "presentment_currency": order["presentmentCurrencyCode"],
        "taxes_included": order["taxesIncluded"], "tax_exempt": order["taxExempt"], "test": order["test"],
        "financial_status": (order["displayFinancialStatus"] or "pending").lower(),
        "fulfillment_status": {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial"}.get(
            order["displayFulfillmentStatus"]),
        "payment_gateway_names": order["paymentGatewayNames"], "note": order.get("note"),
        "tags": ", ".join(order["tags"]), "po_number": order.get("poNumber"), "source_name": order["sourceName"],
        "discount_codes": [{"code": a["code"], "amount": "0.00",
                            "type": "percentage" if a["value"]["__typename"] == "PricingPercentageValue"
                            else "fixed_amount"} for a in applications if a["__typename"] == "DiscountCodeApplication"],
        "subtotal_price": order["subtotalPriceSet"]["shopMoney"]["amount"],
        "subtotal_price_set": _money_set(order["subtotalPriceSet"]),
        "total_discounts": order["totalDiscountsSet"]["shopMoney"]["amount"],
        "total_discounts_set": _money_set(order["totalDiscountsSet"]),
        "total_shipping_price_set": _money_set(order["totalShippingPriceSet"]),
        "total_tax": order["totalTaxSet"]["shopMoney"]["amount"], "total_tax_set": _money_set(order["totalTaxSet"]),
        "total_price": order["totalPriceSet"]["shopMoney"]["amount"],
        "total_price_set": _money_set(order["totalPriceSet"]),
        "current_total_price": order["currentTotalPriceSet"]["shopMoney"]["amount"],
        "current_total_price_set": _money_set(order["currentTotalPriceSet"]),
        "tax_lines": _tax_lines(order["taxLines"]),
        "billing_address": _address(order.get("billingAddress")),
        "shipping_address": _address(order.get("shippingAddress")),
        "customer": None if customer is None else {
            "id": int(customer["legacyResourceId"]), "admin_graphql_api_id": customer["id"],
            "first_name": customer.get("firstName"), "last_name": customer.get("lastName"),
            "email": (customer.get("defaultEmailAddress") or {}).get("emailAddress"),
            "tax_exempt": customer["taxExempt"], "tax_exemptions": customer["taxExemptions"],
            "default_address": _address(customer.get("defaultAddress")), "state": customer["state"].lower(),
            "currency": order["currencyCode"], "created_at": customer.get("createdAt"),
            "updated_at": customer.get("updatedAt"), "note": customer.get("note"),
            "phone": (customer.get("defaultPhoneNumber") or {}).get("phoneNumber")},
        "company": None if order["purchasingEntity"] is None or order["purchasingEntity"]["__typename"] == "Customer"
        else {"id": _legacy(order["purchasingEntity"]["company"]["id"]), "location_id": None},
        "discount_applications": [application(a) for a in applications],
        "line_items": [line(item) for item in order["lineItems"]],
        "shipping_lines": [{"id": _legacy(s["id"]), "title": s["title"], "code": s["code"], "source": s["source"],
                            "price": s["originalPriceSet"]["shopMoney"]["amount"],
                            "price_set": _money_set(s["originalPriceSet"]),
                            "discounted_price": s["discountedPriceSet"]["shopMoney"]["amount"],
                            "discounted_price_set": _money_set(s["discountedPriceSet"]),
                            "tax_lines": _tax_lines(s["taxLines"]), "discount_allocations": []}
                           for s in order["shippingLines"]],
        "fulfillments": [{"id": _legacy(f["id"]), "admin_graphql_api_id": f["id"], "name": f["name"],
                          "status": f["status"].lower(), "created_at": f["createdAt"],
                          "tracking_company": (f["trackingInfo"][0]["company"] if f["trackingInfo"] else None),
                          "tracking_number": (f["trackingInfo"][0]["number"] if f["trackingInfo"] else None),
                          "line_items": [{"id": _legacy(li["id"]), "sku": li["sku"], "quantity": qty}
                                         for li, qty in f["_lines"]]}
                         for f in order["fulfillments"]],
        "refunds": [{"id": int(r["legacyResourceId"]), "admin_graphql_api_id": r["id"], "created_at": r["createdAt"],
                     "note": r["note"], "order_id": int(order["legacyResourceId"]),
                     "refund_line_items": [{"line_item_id": _legacy(rl["lineItem"]["id"]), "quantity": rl["quantity"],
                                            "subtotal": rl["subtotalSet"]["shopMoney"]["amount"],
                                            "subtotal_set": _money_set(rl["subtotalSet"]),
                                            "total_tax": rl["totalTaxSet"]["shopMoney"]["amount"],
                                            "total_tax_set": _money_set(rl["totalTaxSet"])}
                                           for rl in r["refundLineItems"]],
                     "transactions": [{"id": _legacy(t["id"]), "kind": t["kind"].lower(), "gateway": t["gateway"],
                                       "status": t["status"].lower(), "amount": t["amountSet"]["shopMoney"]["amount"]}
                                      for t in r["transactions"]]}
                    for r in order["refunds"]],
    }
    return payload


def _line_item(item: dict[str, Any]) -> dict[str, Any]:
    """The line item as a refund line embeds it (a subset of the order payload's line)."""
    variant = item.get("variant")
    return {"id": _legacy(item["id"]), "admin_graphql_api_id": item["id"], "variant_id": _legacy(variant["id"])
            if variant else None, "title": item["title"], "quantity": item["quantity"], "sku": item["sku"],
            "variant_title": item.get("variantTitle"), "vendor": item.get("vendor"), "fulfillment_service": "manual",
            "product_id": _legacy(variant["product"]["id"]) if variant else None,
            "requires_shipping": item["requiresShipping"], "taxable": item["taxable"], "gift_card": item["isGiftCard"],
            "name": item["name"], "properties": [], "product_exists": variant is not None,
            "price": item["originalUnitPriceSet"]["shopMoney"]["amount"],
            "price_set": _money_set(item["originalUnitPriceSet"]), "tax_lines": _tax_lines(item["taxLines"]),
            "duties": []}


def _zero_set(like: dict[str, Any]) -> dict[str, Any]:
    return {side: {"amount": "0.00", "currency_code": money["currency_code"]} for side, money in like.items()}


def refund_payload(refund: dict[str, Any]) -> dict[str, Any]:
    """``refunds/create``: one refund in REST shape, as ``include/vendor/shopify/webhooks/refunds.create.json``.

    Amounts are strings in ``*_set`` (shop and presentment money); a transaction's ``amount`` is in its
    ``currency``, the presentment currency. ``order_adjustments[].amount`` keeps Shopify's sign (calculated
    minus refunded). ``refund_shipping_lines[].tax_amount_set`` mirrors GraphQL's ``taxAmountSet``.
    """
    order = refund["order"]
    order_id = int(order["legacyResourceId"])
    currency = order["_currency"]
    presentment = currency.presentment
    zero = _zero_set(_money_set(refund["totalRefundedSet"]))
    lines = [{"id": _legacy(item["id"]), "quantity": item["quantity"], "line_item_id": _legacy(item["lineItem"]["id"]),
              "location_id": _legacy((item.get("location") or {}).get("id")),
              "restock_type": item["restockType"].lower(), "subtotal": item["subtotalSet"]["shopMoney"]["amount"],
              "total_tax": item["totalTaxSet"]["shopMoney"]["amount"], "subtotal_set": _money_set(item["subtotalSet"]),
              "total_tax_set": _money_set(item["totalTaxSet"]), "line_item": _line_item(item["lineItem"])}
             for item in refund["refundLineItems"]]
    shipping = [{"id": _legacy(item["id"]), "shipping_line_id": _legacy(item["shippingLine"]["id"]),
                 "subtotal_amount_set": _money_set(item["subtotalAmountSet"]),
                 "tax_amount_set": _money_set(item["taxAmountSet"]),
                 "shipping_line": {"id": _legacy(item["shippingLine"]["id"]), "title": item["shippingLine"]["title"],
                                   "code": item["shippingLine"]["code"], "source": item["shippingLine"]["source"],
                                   "price": item["shippingLine"]["originalPriceSet"]["shopMoney"]["amount"],
                                   "price_set": _money_set(item["shippingLine"]["originalPriceSet"]),
                                   "tax_lines": _tax_lines(item["shippingLine"]["taxLines"])}}
                for item in refund.get("refundShippingLines", [])]
    adjustments = [{"id": _legacy(item["id"]), "order_id": order_id, "refund_id": int(refund["legacyResourceId"]),
                    "amount": item["amountSet"]["shopMoney"]["amount"],
                    "tax_amount": item["taxAmountSet"]["shopMoney"]["amount"], "kind": "refund_discrepancy",
                    "reason": (item.get("reason") or "REFUND_DISCREPANCY").replace("_", " ").capitalize(),
                    "amount_set": _money_set(item["amountSet"]), "tax_amount_set": _money_set(item["taxAmountSet"])}
                   for item in refund.get("orderAdjustments", [])]
    transactions = [{"id": _legacy(t["id"]), "order_id": order_id, "kind": t["kind"].lower(), "gateway": t["gateway"],
                     "status": t["status"].lower(), "message": None, "created_at": t["createdAt"], "test": False,
                     "authorization": None, "location_id": None, "user_id": None,
                     "parent_id": _legacy((t.get("parentTransaction") or {}).get("id")),
                     "processed_at": t["createdAt"], "device_id": None, "error_code": None, "source_name": "web",
                     "receipt": {}, "amount": t["amountSet"]["presentmentMoney"]["amount"], "currency": presentment,
                     "payment_id": f"{order['name']}.{n + 1}", "manual_payment_gateway": t["gateway"] == "manual",
                     "amount_rounding": None, "admin_graphql_api_id": t["id"]}
                    for n, t in enumerate(refund["transactions"])]
    return {"id": int(refund["legacyResourceId"]), "order_id": order_id, "created_at": refund["createdAt"],
            "note": refund["note"], "user_id": None, "processed_at": refund.get("processedAt", refund["createdAt"]),
            "duties": [], "total_duties_set": zero, "return": None, "refund_shipping_lines": shipping,
            "restock": any(item["restockType"] != "NO_RESTOCK" for item in refund["refundLineItems"]),
            "admin_graphql_api_id": refund["id"], "order_adjustments": adjustments, "refund_line_items": lines,
            "transactions": transactions}


def fulfillment_payload(fulfillment: dict[str, Any]) -> dict[str, Any]:
    """``fulfillments/create`` and ``fulfillments/update``: one fulfillment in REST shape."""
    tracking = fulfillment["trackingInfo"]
    location = fulfillment.get("location") or {}
    return {"id": _legacy(fulfillment["id"]), "admin_graphql_api_id": fulfillment["id"],
            "order_id": _legacy(fulfillment["order"]["id"]), "name": fulfillment["name"],
            "status": fulfillment["status"].lower(), "created_at": fulfillment["createdAt"],
            "updated_at": fulfillment["updatedAt"], "service": "manual", "shipment_status": None,
            "location_id": _legacy(location.get("id")), "notify_customer": fulfillment.get("notifyCustomer", False),
            "tracking_company": tracking[0]["company"] if tracking else None,
            "tracking_number": tracking[0]["number"] if tracking else None,
            "tracking_numbers": [t["number"] for t in tracking], "tracking_url": tracking[0]["url"] if tracking else None,
            "tracking_urls": [t["url"] for t in tracking if t["url"]],
            "line_items": [{"id": _legacy(item["lineItem"]["id"]), "admin_graphql_api_id": item["lineItem"]["id"],
                            "sku": item["lineItem"]["sku"], "quantity": item["quantity"]}
                           for item in fulfillment.get("fulfillmentLineItems", [])]}


@dataclass
class WebhookSettings:
    url: str | None = None
    secret: str = "sandbox-webhook-secret"
    api_version: str = "2026-07"
    duplicate_rate: float = 0.0  # deliver the same webhook twice (same webhook and event id)
    drop_rate: float = 0.0  # never deliver
    delay_seconds: float = 0.0  # hold every delivery this long
    reorder_window_seconds: float = 0.0  # random extra delay in [0, window): deliveries arrive out of order
    max_retries: int = 8  # Shopify: 8 retries over 4 hours (SHOPIFY.md §7); here on a shorter clock
    retry_base_seconds: float = 1.0
    timeout_seconds: float = 5.0


@dataclass(order=True)
class _Pending:
    due: float
    sequence: int
    topic: str = field(compare=False)
    body: bytes = field(compare=False)
    webhook_id: str = field(compare=False)
    event_id: str = field(compare=False)
    triggered_at: str = field(compare=False)
    url: str = field(compare=False, default="")  # the subscription's address when the event happened
    attempt: int = field(compare=False, default=0)


class WebhookDispatcher:
    """A background thread delivering queued webhooks at their due time, with retries and knobs."""

    def __init__(self, settings: WebhookSettings | None = None, seed: int = 7) -> None:
        self.settings = settings or WebhookSettings()
        self.deliveries: list[dict[str, Any]] = []  # a log of every attempt, for tests and the admin API
        self._queue: list[_Pending] = []
        self._sequence = itertools.count()
        self._rng = random.Random(seed)
        self._condition = threading.Condition()
        self._session = requests.Session()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()

    def on_order_event(self, topic: str, order: dict[str, Any]) -> None:
        """Store listener: serialise now (retries carry the original payload), deliver later. ``order`` is the
        announced entity: the order, or the fulfillment (``fulfillments/*``) or refund (``refunds/create``)."""
        if not self.settings.url:
            return
        payload = (refund_payload(order) if topic == "refunds/create" else fulfillment_payload(order)
                   if topic.startswith("fulfillments/") else order_payload(order))
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        event_id = str(uuid.uuid4())
        copies = 2 if self._rng.random() < self.settings.duplicate_rate else 1
        webhook_id = str(uuid.uuid4())
        for _ in range(copies):
            if self._rng.random() < self.settings.drop_rate:
                self.deliveries.append({"topic": topic, "webhook_id": webhook_id, "outcome": "dropped"})
                continue
            delay = self.settings.delay_seconds + self._rng.random() * self.settings.reorder_window_seconds
            self._push(_Pending(time.monotonic() + delay, next(self._sequence), topic, body, webhook_id, event_id,
                                iso(utcnow()), self.settings.url))

    def _push(self, pending: _Pending) -> None:
        with self._condition:
            heapq.heappush(self._queue, pending)
            self._condition.notify()

    def pending_count(self) -> int:
        with self._condition:
            return len(self._queue)

    def stop(self) -> None:
        with self._condition:
            self._stopped = True
            self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._stopped and (not self._queue or self._queue[0].due > time.monotonic()):
                    timeout = None if not self._queue else max(0.0, self._queue[0].due - time.monotonic())
                    self._condition.wait(timeout)
                if self._stopped:
                    return
                pending = heapq.heappop(self._queue)
            self._deliver(pending)

    def _deliver(self, pending: _Pending) -> None:
        settings = self.settings
        headers = {
            "Content-Type": "application/json", "X-Shopify-Topic": pending.topic,
            "X-Shopify-Hmac-Sha256": sign(settings.secret, pending.body),
            "X-Shopify-Webhook-Id": pending.webhook_id, "X-Shopify-Event-Id": pending.event_id,
            "X-Shopify-Triggered-At": pending.triggered_at, "X-Shopify-Shop-Domain": SHOP_DOMAIN,
            "X-Shopify-API-Version": settings.api_version,
        }
        status: int | None = None
        try:
            response = self._session.post(pending.url, data=pending.body, headers=headers,
                                          timeout=settings.timeout_seconds)
            status = response.status_code
        except requests.RequestException as exc:
            log.info("webhook %s to %s failed: %s", pending.topic, pending.url, type(exc).__name__)
        delivered = status is not None and 200 <= status < 300
        self.deliveries.append({"topic": pending.topic, "webhook_id": pending.webhook_id,
                                "event_id": pending.event_id, "attempt": pending.attempt, "status": status,
                                "outcome": "delivered" if delivered else "failed"})
        if not delivered and pending.attempt < settings.max_retries:
            pending.attempt += 1
            pending.due = time.monotonic() + settings.retry_base_seconds * 2 ** (pending.attempt - 1)
            pending.sequence = next(self._sequence)
            self._push(pending)
