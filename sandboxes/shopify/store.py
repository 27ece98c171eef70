"""The sandbox shop's in-memory data, kept in the shape the Admin GraphQL API returns.

Entities are plain dicts keyed by their GraphQL field names (``__typename`` marks abstract members), so the
executor can read them directly. Lists under connection-typed fields become connections at execution time.
Every change goes through :class:`SandboxStore` methods, under one lock, and announces webhook topics.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sandboxes.shopify.customers import CustomerMixin
from sandboxes.shopify.errors import SandboxUserError as SandboxUserError  # re-exported
from sandboxes.shopify.fulfilment import FulfilmentMixin
from sandboxes.shopify.order_ops import OrderOpsMixin
from sandboxes.shopify.orders import SHOP_CURRENCY, OrderSpec, compose_order, iso
from sandboxes.shopify.products import ProductMixin
from sandboxes.shopify.refunds import RefundMixin
from sandboxes.shopify.writes import WriteLog
from shopify_max.clock import utcnow

SHOP_DOMAIN = "sandbox-shop.myshopify.com"
# Shopify ids exceed 2^53 (SHOPIFY.md §4): start above it so nobody can get away with floats.
_ID_BASE = 9_007_199_254_741_000


class SandboxStore(CustomerMixin, ProductMixin, FulfilmentMixin, OrderOpsMixin, RefundMixin):
    """All data of the sandbox shop, plus the operations the API and admin endpoints perform on it."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._ids = itertools.count(1)
        self.shop = {
            "__typename": "Shop", "id": "gid://shopify/Shop/1", "name": "Sandbox Shop",
            "myshopifyDomain": SHOP_DOMAIN, "currencyCode": SHOP_CURRENCY, "ianaTimezone": "UTC",
            "enabledPresentmentCurrencies": ["USD", "EUR", "CAD"],
        }
        self.locations: dict[str, dict[str, Any]] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self.variants: dict[str, dict[str, Any]] = {}
        self.items: dict[str, dict[str, Any]] = {}
        self.items_by_sku: dict[str, list[dict[str, Any]]] = {}
        self.levels: dict[tuple[str, str], dict[str, Any]] = {}
        self.customers: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.fulfillment_orders: dict[str, dict[str, Any]] = {}
        self.fulfillments: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.returns: dict[str, dict[str, Any]] = {}
        self.bulk_operations: dict[str, dict[str, Any]] = {}
        self.idempotency: dict[str, tuple[str, Any]] = {}
        self.order_listeners: list[Callable[[str, dict[str, Any]], None]] = []
        self.writes = WriteLog()  # every mutation the API executed (sandboxes.shopify.writes)
        self._order_number = itertools.count(1001)

    # ----- ids and events -----
    def new_id(self, kind: str) -> tuple[str, str]:
        """A fresh (gid, legacy numeric id as string) for ``kind`` (``Order``, ``LineItem``…)."""
        number = _ID_BASE + next(self._ids)
        return f"gid://shopify/{kind}/{number}", str(number)

    def announce(self, topic: str, order: dict[str, Any]) -> None:
        for listener in list(self.order_listeners):
            listener(topic, order)

    # ----- catalogue -----
    def add_location(self, name: str, numeric_id: int) -> dict[str, Any]:
        gid = f"gid://shopify/Location/{numeric_id}"
        location = {"__typename": "Location", "id": gid, "legacyResourceId": str(numeric_id), "name": name,
                    "isActive": True, "fulfillsOnlineOrders": True, "inventoryLevels": []}
        self.locations[gid] = location
        return location

    def add_product(self, title: str, vendor: str, status: str = "ACTIVE") -> dict[str, Any]:
        gid, legacy = self.new_id("Product")
        now = iso(utcnow())
        product = {"__typename": "Product", "id": gid, "legacyResourceId": legacy, "title": title, "vendor": vendor,
                   "status": status, "createdAt": now, "updatedAt": now, "variants": []}
        self.products[gid] = product
        return product

    def add_variant(self, product: dict[str, Any], sku: str, title: str, price: Decimal,
                    quantities: dict[str, int], taxable: bool = True) -> dict[str, Any]:
        """A variant with its inventory item, stocked at the locations in ``quantities`` (location gid → on hand).

        Its one option is "Pack" (Each, Case of 12…), valued by the variant's title."""
        variant_gid, variant_legacy = self.new_id("ProductVariant")
        item_gid, item_legacy = self.new_id("InventoryItem")
        item: dict[str, Any] = {"__typename": "InventoryItem", "id": item_gid, "legacyResourceId": item_legacy,
                                "sku": sku, "tracked": True, "requiresShipping": True, "inventoryLevels": []}
        variant = {"__typename": "ProductVariant", "id": variant_gid, "legacyResourceId": variant_legacy, "sku": sku,
                   "title": title, "displayName": f"{product['title']} - {title}", "price": str(price),
                   "compareAtPrice": None, "product": product, "inventoryItem": item, "taxable": taxable,
                   "selectedOptions": [{"name": "Pack", "value": title, "optionValue": {
                       "__typename": "ProductOptionValue", "id": f"gid://shopify/ProductOptionValue/{variant_legacy}",
                       "name": title, "hasVariants": True}}]}
        item["variant"] = variant
        item["variants"] = [variant]
        product["variants"].append(variant)
        self.variants[variant_gid] = variant
        self.items[item_gid] = item
        self.items_by_sku.setdefault(sku, []).append(item)
        for location_gid, on_hand in quantities.items():
            self._add_level(item, self.locations[location_gid], on_hand)
        return variant

    def _add_level(self, item: dict[str, Any], location: dict[str, Any], on_hand: int) -> None:
        level = {"__typename": "InventoryLevel",
                 "id": f"gid://shopify/InventoryLevel/{location['legacyResourceId']}"
                       f"?inventory_item_id={item['legacyResourceId']}",
                 "item": item, "location": location, "isActive": True,
                 "quantities_by_name": {"on_hand": on_hand, "committed": 0, "available": on_hand}}
        item["inventoryLevels"].append(level)
        location["inventoryLevels"].append(level)
        self.levels[(item["id"], location["id"])] = level

    def duplicate_sku_count(self, sku: str | None) -> int:
        return max(0, len(self.items_by_sku.get(sku or "", [])) - 1)

    # ----- inventory -----
    def set_quantities(self, name: str, reason: str, reference: str | None,
                       quantities: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """``inventorySetQuantities``: all-or-nothing, compare-and-set on ``changeFromQuantity``."""
        errors: list[dict[str, Any]] = []
        if name not in ("available", "on_hand"):
            errors.append(SandboxUserError("The quantity name must be available or on_hand.", ["input", "name"],
                                           "INVALID_NAME").as_dict())
        if not reason:
            errors.append(SandboxUserError("A reason is required.", ["input", "reason"], "INVALID_REASON").as_dict())
        seen: set[tuple[str, str]] = set()
        for index, quantity in enumerate(quantities):
            path = ["input", "quantities", str(index)]
            key = (quantity["inventoryItemId"], quantity["locationId"])
            if key in seen:
                errors.append(SandboxUserError("The combination of inventoryItemId and locationId must be unique.",
                                               path, "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR").as_dict())
                continue
            seen.add(key)
            if key[0] not in self.items:
                errors.append(SandboxUserError("The specified inventory item could not be found.",
                                               path + ["inventoryItemId"], "INVALID_INVENTORY_ITEM").as_dict())
                continue
            if key[1] not in self.locations:
                errors.append(SandboxUserError("The specified location could not be found.",
                                               path + ["locationId"], "INVALID_LOCATION").as_dict())
                continue
            level = self.levels.get(key)
            if level is None:
                errors.append(SandboxUserError("The specified inventory item is not stocked at the location.",
                                               path + ["locationId"], "ITEM_NOT_STOCKED_AT_LOCATION").as_dict())
                continue
            if quantity["quantity"] < 0 and name == "on_hand":
                errors.append(SandboxUserError("The quantity can't be negative.", path + ["quantity"],
                                               "INVALID_QUANTITY_NEGATIVE").as_dict())
                continue
            if quantity["quantity"] > 1_000_000_000:
                errors.append(SandboxUserError("The quantity can't be higher than 1,000,000,000.",
                                               path + ["quantity"], "INVALID_QUANTITY_TOO_HIGH").as_dict())
                continue
            expected = quantity.get("changeFromQuantity")
            current = level["quantities_by_name"][name]
            if expected is not None and expected != current:
                errors.append(SandboxUserError(
                    "The specified compare quantity does not match the current quantity.",
                    path + ["changeFromQuantity"], "CHANGE_FROM_QUANTITY_STALE").as_dict())
        if errors:
            return None, errors
        changes = []
        for quantity in quantities:
            level = self.levels[(quantity["inventoryItemId"], quantity["locationId"])]
            by_name = level["quantities_by_name"]
            delta = quantity["quantity"] - by_name[name]
            by_name[name] = quantity["quantity"]
            if name == "available":
                by_name["on_hand"] += delta
            else:
                by_name["available"] += delta
            changes.append({"name": name, "delta": delta, "quantityAfterChange": by_name[name],
                            "item": level["item"], "location": level["location"]})
            if delta:
                other = "on_hand" if name == "available" else "available"
                changes.append({"name": other, "delta": delta, "quantityAfterChange": by_name[other],
                                "item": level["item"], "location": level["location"]})
        gid, _ = self.new_id("InventoryAdjustmentGroup")
        group = {"id": gid, "reason": reason, "referenceDocumentUri": reference, "createdAt": iso(utcnow()),
                 "changes": changes}
        return group, []

    # ----- orders -----
    def add_order(self, spec: OrderSpec, announce: bool = True) -> dict[str, Any]:
        with self.lock:
            order = compose_order(self, spec)
            self.orders[order["id"]] = order
        if announce:
            self.announce("orders/create", order)
        return order

    def touch(self, order: dict[str, Any]) -> None:
        order["updatedAt"] = iso(utcnow())

    def update_order(self, order_gid: str, note: str | None = None, tags: list[str] | None = None) -> dict:
        with self.lock:
            order = self.require_order(order_gid)
            if note is not None:
                order["note"] = note
            if tags is not None:
                order["tags"] = list(tags)
            self.touch(order)
        self.announce("orders/updated", order)
        return order

    def require_order(self, order_gid: str) -> dict[str, Any]:
        order = self.orders.get(order_gid)
        if order is None:
            raise KeyError(order_gid)
        return order

    def cancel_order(self, order_gid: str, reason: str = "CUSTOMER") -> dict[str, Any]:
        with self.lock:
            order = self.require_order(order_gid)
            if order["cancelledAt"] is None:
                order["cancelledAt"] = iso(utcnow())
                order["cancelReason"] = reason
                order["closed"] = True
                for fulfillment_order in order["fulfillmentOrders"]:
                    if fulfillment_order["status"] in ("OPEN", "IN_PROGRESS"):
                        fulfillment_order["status"] = "CANCELLED"
                        fulfillment_order["supportedActions"] = []
                self.touch(order)
        self.announce("orders/cancelled", order)
        self.announce("orders/updated", order)
        return order

