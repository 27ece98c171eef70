"""Fulfillment orders and fulfillments with Shopify's state machine (SHOPIFY.md §6), mixed into the store.

An order gets one fulfillment order per location its shippable lines are assigned to. A fulfillment order is
OPEN, IN_PROGRESS once partly fulfilled, CLOSED once nothing remains (or everything was moved away), ON_HOLD
while it has holds, CANCELLED with its order. ``supportedActions`` follow the status. ``fulfillmentCreate``
takes fulfillment orders of one order and one location; ``fulfillmentOrderMove`` moves the remaining
quantities to a new fulfillment order at the new location (or the whole fulfillment order when nothing of it
was fulfilled yet).
"""

from __future__ import annotations

from typing import Any

from sandboxes.shopify.errors import SandboxUserError
from sandboxes.shopify.orders import iso
from shopify_max.clock import utcnow

HOLD_REASONS = {"AWAITING_PAYMENT": "Awaiting payment", "HIGH_RISK_OF_FRAUD": "High risk of fraud",
                "INCORRECT_ADDRESS": "Incorrect address", "INVENTORY_OUT_OF_STOCK": "Inventory out of stock",
                "UNKNOWN_DELIVERY_DATE": "Unknown delivery date", "OTHER": "Other",
                "AWAITING_RETURN_ITEMS": "Awaiting return items",
                "ONLINE_STORE_POST_PURCHASE_CROSS_SELL": "Online store post-purchase cross-sell"}
_FO_FIELD = ["fulfillment", "lineItemsByFulfillmentOrder"]


def _remaining(fulfillment_order: dict[str, Any]) -> int:
    return sum(line["remainingQuantity"] for line in fulfillment_order["lineItems"])


def _fulfilled(fulfillment_order: dict[str, Any]) -> int:
    return sum(line["totalQuantity"] - line["remainingQuantity"] for line in fulfillment_order["lineItems"])


class FulfilmentMixin:
    """Store operations on fulfillment orders and fulfillments (``self`` is a :class:`SandboxStore`)."""

    locations: dict[str, dict[str, Any]]
    orders: dict[str, dict[str, Any]]
    fulfillment_orders: dict[str, dict[str, Any]]
    fulfillments: dict[str, dict[str, Any]]

    # ----- building -----
    def add_fulfillment_orders(self, order: dict[str, Any],
                               assignment: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """One fulfillment order per assigned location; ``assignment`` maps line item gid → location gid
        (unassigned lines go to the first location)."""
        default = next(iter(self.locations))
        by_location: dict[str, list[tuple[dict[str, Any], int]]] = {}
        for line in order["lineItems"]:
            if line["requiresShipping"]:
                location = (assignment or {}).get(line["id"]) or default
                by_location.setdefault(location, []).append((line, line["quantity"]))
        return [self._new_fulfillment_order(order, self.locations[gid], lines) for gid, lines in by_location.items()]

    def _new_fulfillment_order(self, order: dict[str, Any], location: dict[str, Any],
                               lines: list[tuple[dict[str, Any], int]]) -> dict[str, Any]:
        gid, _ = self.new_id("FulfillmentOrder")
        fo_lines = []
        for line, quantity in lines:
            fo_line_gid, _ = self.new_id("FulfillmentOrderLineItem")
            variant = line["variant"]
            fo_lines.append({"id": fo_line_gid, "sku": line["sku"], "totalQuantity": quantity,
                             "remainingQuantity": quantity, "lineItem": line, "requiresShipping": True,
                             "productTitle": line["title"], "variantTitle": line.get("variantTitle"),
                             "vendor": line.get("vendor"), "variant": variant, "warnings": [],
                             "inventoryItemId": variant["inventoryItem"]["id"] if variant else None})
        now = iso(utcnow())
        fulfillment_order = {
            "__typename": "FulfillmentOrder", "id": gid, "status": "OPEN", "requestStatus": "UNSUBMITTED",
            "order": order, "orderId": order["id"], "orderName": order["name"],
            "orderProcessedAt": order["processedAt"], "createdAt": now, "updatedAt": now,
            "assignedLocation": {"name": location["name"], "location": location, "countryCode": "US"},
            "lineItems": fo_lines, "fulfillmentHolds": [], "fulfillments": [],
        }
        self.fulfillment_orders[gid] = fulfillment_order
        self._refresh(fulfillment_order)
        return fulfillment_order

    # ----- state -----
    def _refresh(self, fulfillment_order: dict[str, Any]) -> None:
        """Status and supportedActions from lines and holds (CANCELLED stays)."""
        if fulfillment_order["status"] == "CANCELLED":
            fulfillment_order["supportedActions"] = []
            return
        if fulfillment_order["fulfillmentHolds"]:
            status = "ON_HOLD"
        elif _remaining(fulfillment_order) == 0:
            status = "CLOSED"
        else:
            status = "IN_PROGRESS" if _fulfilled(fulfillment_order) else "OPEN"
        fulfillment_order["status"] = status
        fulfillment_order["updatedAt"] = iso(utcnow())
        others = len([loc for loc in self.locations.values() if loc["isActive"]]) > 1
        actions = {"OPEN": ["CREATE_FULFILLMENT", "HOLD", "CANCEL_FULFILLMENT_ORDER"] + (["MOVE"] if others else []),
                   "IN_PROGRESS": ["CREATE_FULFILLMENT", "HOLD"] + (["MOVE"] if others else []),
                   "ON_HOLD": ["RELEASE_HOLD", "HOLD"]}.get(status, [])
        fulfillment_order["supportedActions"] = [{"action": action, "externalUrl": None} for action in actions]

    def refresh_order_fulfilment(self, order: dict[str, Any]) -> None:
        """``displayFulfillmentStatus`` from the order's fulfillment orders."""
        live = [fo for fo in order["fulfillmentOrders"] if fo["status"] != "CANCELLED"]
        fulfilled = sum(_fulfilled(fo) for fo in live)
        remaining = sum(_remaining(fo) for fo in live)
        if fulfilled and not remaining:
            status = "FULFILLED"
        elif fulfilled:
            status = "PARTIALLY_FULFILLED"
        elif any(fo["status"] == "ON_HOLD" for fo in live):
            status = "ON_HOLD"
        else:
            status = order["displayFulfillmentStatus"] if order["cancelledAt"] else "UNFULFILLED"
        order["displayFulfillmentStatus"] = status
        order["fulfillable"] = any(fo["status"] in ("OPEN", "IN_PROGRESS") for fo in live)
        self.touch(order)

    def _require_fulfillment_order(self, gid: str, field: list[str]) -> dict[str, Any]:
        fulfillment_order = self.fulfillment_orders.get(gid)
        if fulfillment_order is None:
            raise SandboxUserError("Fulfillment order does not exist.", field, "FULFILLMENT_ORDER_NOT_FOUND")
        return fulfillment_order

    # ----- fulfillmentCreate -----
    def create_fulfillment(self, fulfillment_input: dict[str, Any]) -> dict[str, Any]:
        """``fulfillmentCreate``: partial quantities allowed; one order and one location per call."""
        groups = fulfillment_input.get("lineItemsByFulfillmentOrder") or []
        if not groups:
            raise SandboxUserError("Line items by fulfillment order must not be empty.", _FO_FIELD)
        fulfillment_orders = []
        for position, group in enumerate(groups):
            fulfillment_order = self._require_fulfillment_order(
                group["fulfillmentOrderId"], _FO_FIELD + [str(position), "fulfillmentOrderId"])
            if fulfillment_order["status"] not in ("OPEN", "IN_PROGRESS"):
                raise SandboxUserError(f"Fulfillment order {fulfillment_order['id']} has an unfulfillable status= "
                                       f"{fulfillment_order['status'].lower()}.", ["fulfillment"])
            fulfillment_orders.append(fulfillment_order)
        if len({fo["orderId"] for fo in fulfillment_orders}) > 1:
            raise SandboxUserError("All fulfillment orders must belong to the same order.", ["fulfillment"])
        if len({fo["assignedLocation"]["location"]["id"] for fo in fulfillment_orders}) > 1:
            raise SandboxUserError("All fulfillment orders must be assigned to the same location.", ["fulfillment"])
        plan: list[tuple[dict[str, Any], int]] = []
        for fulfillment_order, group in zip(fulfillment_orders, groups, strict=True):
            by_id = {line["id"]: line for line in fulfillment_order["lineItems"]}
            requested = group.get("fulfillmentOrderLineItems")
            if requested is None:
                plan.extend((line, line["remainingQuantity"]) for line in fulfillment_order["lineItems"]
                            if line["remainingQuantity"] > 0)
                continue
            for item in requested:
                line = by_id.get(item["id"])
                if line is None:
                    raise SandboxUserError("Invalid fulfillment order line item id.", ["fulfillment"])
                if item["quantity"] <= 0 or item["quantity"] > line["remainingQuantity"]:
                    raise SandboxUserError(
                        f"Invalid fulfillment order line item quantity requested: {item['quantity']} "
                        f"(remaining {line['remainingQuantity']}).", ["fulfillment"])
                plan.append((line, item["quantity"]))
        if not plan:
            raise SandboxUserError("Nothing left to fulfill.", ["fulfillment"])
        order = fulfillment_orders[0]["order"]
        for line, quantity in plan:
            line["remainingQuantity"] -= quantity
        gid, legacy = self.new_id("Fulfillment")
        now = iso(utcnow())
        fulfillment = {
            "__typename": "Fulfillment", "id": gid, "legacyResourceId": legacy, "status": "SUCCESS",
            "displayStatus": "FULFILLED", "name": f"{order['name']}-F{len(order['fulfillments']) + 1}",
            "totalQuantity": sum(quantity for _, quantity in plan), "order": order, "createdAt": now,
            "updatedAt": now, "requiresShipping": True, "location": fulfillment_orders[0]["assignedLocation"]["location"],
            "notifyCustomer": bool(fulfillment_input.get("notifyCustomer")), "fulfillmentOrders": fulfillment_orders,
            "trackingInfo": _tracking(fulfillment_input.get("trackingInfo") or {}),
            "fulfillmentLineItems": [], "_lines": [(line["lineItem"], quantity) for line, quantity in plan],
        }
        for line, quantity in plan:
            line_gid, _ = self.new_id("FulfillmentLineItem")
            fulfillment["fulfillmentLineItems"].append({"id": line_gid, "lineItem": line["lineItem"],
                                                        "quantity": quantity})
        order["fulfillments"].append(fulfillment)
        self.fulfillments[gid] = fulfillment
        for fulfillment_order in fulfillment_orders:
            fulfillment_order["fulfillments"].append(fulfillment)
            self._refresh(fulfillment_order)
        self.refresh_order_fulfilment(order)
        return fulfillment

    def update_tracking(self, fulfillment_gid: str, tracking: dict[str, Any],
                        notify_customer: bool | None = None) -> dict[str, Any]:
        """``fulfillmentTrackingInfoUpdate``: replaces the fulfillment's tracking information."""
        fulfillment = self.fulfillments.get(fulfillment_gid)
        if fulfillment is None:
            raise SandboxUserError("Fulfillment does not exist.", ["fulfillmentId"])
        if fulfillment["status"] == "CANCELLED":
            raise SandboxUserError("Cannot update tracking info of a cancelled fulfillment.", ["fulfillmentId"])
        fulfillment["trackingInfo"] = _tracking(tracking)
        fulfillment["updatedAt"] = iso(utcnow())
        if notify_customer is not None:
            fulfillment["notifyCustomer"] = notify_customer
        self.touch(fulfillment["order"])
        return fulfillment

    # ----- holds and moves -----
    def hold_fulfillment_order(self, gid: str, reason: str = "OTHER", notes: str | None = None,
                               handle: str = "") -> dict[str, Any]:
        fulfillment_order = self._require_fulfillment_order(gid, ["id"])
        if fulfillment_order["status"] not in ("OPEN", "IN_PROGRESS", "ON_HOLD"):
            raise SandboxUserError(f"The fulfillment order's status is {fulfillment_order['status'].lower()}; "
                                   "it cannot be placed on hold.", ["id"])
        if any(hold["handle"] == handle for hold in fulfillment_order["fulfillmentHolds"]):
            raise SandboxUserError("The handle provided for the fulfillment hold is already in use by this app "
                                   "for another hold on this fulfillment order.", ["fulfillmentHold", "handle"],
                                   "DUPLICATE_FULFILLMENT_HOLD_HANDLE")
        hold_gid, _ = self.new_id("FulfillmentHold")
        hold = {"id": hold_gid, "reason": reason, "reasonNotes": notes, "handle": handle,
                "displayReason": HOLD_REASONS.get(reason, reason), "heldByRequestingApp": True, "heldByApp": None}
        fulfillment_order["fulfillmentHolds"].append(hold)
        self._refresh(fulfillment_order)
        self.refresh_order_fulfilment(fulfillment_order["order"])
        return hold

    def release_holds(self, gid: str, hold_ids: list[str] | None = None) -> dict[str, Any]:
        fulfillment_order = self._require_fulfillment_order(gid, ["id"])
        holds = fulfillment_order["fulfillmentHolds"]
        fulfillment_order["fulfillmentHolds"] = [h for h in holds if hold_ids and h["id"] not in hold_ids]
        self._refresh(fulfillment_order)
        self.refresh_order_fulfilment(fulfillment_order["order"])
        return fulfillment_order

    def move_fulfillment_order(self, gid: str, location_gid: str,
                               lines: list[dict[str, Any]] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """``fulfillmentOrderMove``: (original, moved). Untouched whole fulfillment orders move in place."""
        original = self._require_fulfillment_order(gid, ["id"])
        location = self.locations.get(location_gid)
        if location is None or not location["isActive"]:
            raise SandboxUserError("Location not found.", ["newLocationId"])
        if not any(a["action"] == "MOVE" for a in original["supportedActions"]):
            raise SandboxUserError(f"Cannot move a fulfillment order with status {original['status'].lower()}.",
                                   ["id"])
        if original["assignedLocation"]["location"]["id"] == location_gid:
            raise SandboxUserError("Cannot move the fulfillment order to the location it is already assigned to.",
                                   ["newLocationId"])
        by_id = {line["id"]: line for line in original["lineItems"]}
        if lines is None:
            moving = [(line, line["remainingQuantity"]) for line in original["lineItems"] if line["remainingQuantity"]]
        else:
            moving = []
            for item in lines:
                line = by_id.get(item["id"])
                if line is None or not 0 < item["quantity"] <= line["remainingQuantity"]:
                    raise SandboxUserError("Invalid fulfillment order line item quantity requested.",
                                           ["fulfillmentOrderLineItems"])
                moving.append((line, item["quantity"]))
        whole = sum(q for _, q in moving) == _remaining(original)
        if whole and _fulfilled(original) == 0:
            original["assignedLocation"] = {"name": location["name"], "location": location, "countryCode": "US"}
            self._refresh(original)
            self.touch(original["order"])
            return original, original
        for line, quantity in moving:
            line["totalQuantity"] -= quantity
            line["remainingQuantity"] -= quantity
        order = original["order"]
        moved = self._new_fulfillment_order(order, location, [(line["lineItem"], q) for line, q in moving])
        order["fulfillmentOrders"].append(moved)
        self._refresh(original)
        self.refresh_order_fulfilment(order)
        return original, moved


def _tracking(values: dict[str, Any]) -> list[dict[str, Any]]:
    numbers = values.get("numbers") or ([values["number"]] if values.get("number") else [])
    urls = values.get("urls") or ([values["url"]] if values.get("url") else [])
    return [{"company": values.get("company"), "number": number, "url": urls[n] if n < len(urls) else None}
            for n, number in enumerate(numbers)]
