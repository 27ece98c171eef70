"""Refunds and returns of the sandbox shop, mixed into the store: ``refundCreate`` as Shopify applies it.

A refund is checked whole before anything changes (Shopify's refusals become ``userErrors``): every line exists
on the order and has that many units left to refund, a restock has a location (the line's fulfilment location, else
the shop's first), shipping is not refunded twice, and the money refunded never exceeds what was paid unless
``allowOverRefunding``. Per line, subtotal and tax are the line's discounted total and tax lines pro rata, to the
cent; the last units take what is left, so the refunds of a line always add up to the line. When the transactions
do not add up to the lines and shipping, the difference is an ``OrderAdjustment`` with Shopify's sign: calculated
minus refunded (an extra 5.00 refunded is ``-5.00``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandboxes.shopify.errors import SandboxUserError
from sandboxes.shopify.orders import Currency, cents, iso
from shopify_max.clock import utcnow

RESTOCK_TYPES = ("RETURN", "CANCEL", "NO_RESTOCK")
# OrderAdjustmentInputDiscrepancyReason → OrderAdjustmentDiscrepancyReason (the input has OTHER, the output not)
_DISCREPANCY_REASONS = {"CUSTOMER": "CUSTOMER", "DAMAGE": "DAMAGE", "RESTOCK": "RESTOCK", "OTHER": "REFUND_DISCREPANCY"}
ADJUSTMENT_REASONS = ("CUSTOMER", "DAMAGE", "FULL_RETURN_BALANCING_ADJUSTMENT", "PENDING_REFUND_DISCREPANCY",
                      "REFUND_DISCREPANCY", "RESTOCK")


def _refunded_units(order: dict[str, Any], line_gid: str) -> tuple[int, Decimal, Decimal]:
    """(quantity, subtotal, tax) of ``line_gid`` refunded so far."""
    quantity, subtotal, tax = 0, Decimal(0), Decimal(0)
    for refund in order["refunds"]:
        for item in refund["refundLineItems"]:
            if item["lineItem"]["id"] == line_gid:
                quantity += item["quantity"]
                subtotal += Decimal(item["subtotalSet"]["shopMoney"]["amount"])
                tax += Decimal(item["totalTaxSet"]["shopMoney"]["amount"])
    return quantity, subtotal, tax


def _refunded_shipping(order: dict[str, Any]) -> tuple[Decimal, Decimal]:
    subtotal, tax = Decimal(0), Decimal(0)
    for refund in order["refunds"]:
        for item in refund.get("refundShippingLines", []):
            subtotal += Decimal(item["subtotalAmountSet"]["shopMoney"]["amount"])
            tax += Decimal(item["taxAmountSet"]["shopMoney"]["amount"])
    return subtotal, tax


def paid_amount(order: dict[str, Any]) -> Decimal:
    """What the customer paid: successful SALE and CAPTURE transactions."""
    return sum((t["_amount"] for t in order["transactions"]
                if t["status"] == "SUCCESS" and t["kind"] in ("SALE", "CAPTURE")), Decimal(0))


def refunded_amount(order: dict[str, Any]) -> Decimal:
    return sum((Decimal(r["totalRefundedSet"]["shopMoney"]["amount"]) for r in order["refunds"]), Decimal(0))


class RefundMixin:
    """``self`` is a :class:`~sandboxes.shopify.store.SandboxStore`."""

    locations: dict[str, dict[str, Any]]
    orders: dict[str, dict[str, Any]]
    levels: dict[tuple[str, str], dict[str, Any]]
    refunds: dict[str, dict[str, Any]]
    returns: dict[str, dict[str, Any]]

    # ----- planning (validates; changes nothing) -----
    def _refund_order(self, order_gid: str) -> dict[str, Any]:
        order = self.orders.get(order_gid)
        if order is None:
            raise SandboxUserError("Order does not exist.", ["orderId"])
        return order

    def _default_location(self, order: dict[str, Any], line: dict[str, Any]) -> dict[str, Any]:
        """The location the line was assigned to (its fulfillment order's), else the shop's first location."""
        for fulfillment_order in order["fulfillmentOrders"]:
            if any(item["lineItem"]["id"] == line["id"] for item in fulfillment_order["lineItems"]):
                return fulfillment_order["assignedLocation"]["location"]
        return next(iter(self.locations.values()))

    def _plan_lines(self, order: dict[str, Any], lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        by_id = {line["id"]: line for line in order["lineItems"]}
        planned: dict[str, int] = {}
        plan = []
        for index, item in enumerate(lines):
            field = ["refundLineItems", str(index)]
            line = by_id.get(item.get("lineItemId"))
            if line is None:
                raise SandboxUserError("Line item does not exist on the order.", field + ["lineItemId"], "INVALID")
            quantity = int(item.get("quantity", 0))
            if quantity <= 0:
                raise SandboxUserError("Quantity must be greater than 0.", field + ["quantity"], "INVALID")
            refunded, refunded_subtotal, refunded_tax = _refunded_units(order, line["id"])
            already = refunded + planned.get(line["id"], 0)
            if already + quantity > line["quantity"]:
                raise SandboxUserError(
                    f"Quantity cannot refund more items than were purchased ({line['quantity'] - already} of "
                    f"{line['name']} left to refund).", field + ["quantity"], "INVALID")
            planned[line["id"]] = already + quantity - refunded
            restock = item.get("restockType") or "NO_RESTOCK"
            if restock not in RESTOCK_TYPES:
                raise SandboxUserError(f"Restock type {restock} is not accepted when creating new refunds.",
                                       field + ["restockType"], "INVALID")
            location = None
            if restock != "NO_RESTOCK":
                if line["variant"] is None:
                    raise SandboxUserError("The line item can't be restocked: it has no product variant.",
                                           field + ["restockType"], "INVALID")
                location = (self.locations.get(item["locationId"]) if item.get("locationId")
                            else self._default_location(order, line))
                if location is None:
                    raise SandboxUserError("Location does not exist.", field + ["locationId"], "INVALID")
                if restock == "RETURN" and (line["variant"]["inventoryItem"]["id"], location["id"]) not in self.levels:
                    raise SandboxUserError("The line item's inventory item is not stocked at the location.",
                                           field + ["locationId"], "INVALID")
            tax_total = sum((t["_amount"] for t in line["taxLines"]), Decimal(0))
            if already + quantity == line["quantity"]:  # the last units take what is left: refunds add up exactly
                previous_subtotal, previous_tax = self._planned_money(plan, line["id"])
                subtotal = line["_net"] - refunded_subtotal - previous_subtotal
                tax = tax_total - refunded_tax - previous_tax
            else:
                subtotal = cents(line["_net"] * quantity / line["quantity"])
                tax = cents(tax_total * quantity / line["quantity"])
            plan.append({"line": line, "quantity": quantity, "restockType": restock, "location": location,
                         "subtotal": subtotal, "tax": tax})
        return plan

    @staticmethod
    def _planned_money(plan: list[dict[str, Any]], line_gid: str) -> tuple[Decimal, Decimal]:
        rows = [row for row in plan if row["line"]["id"] == line_gid]
        return sum((r["subtotal"] for r in rows), Decimal(0)), sum((r["tax"] for r in rows), Decimal(0))

    def _plan_shipping(self, order: dict[str, Any], shipping: dict[str, Any] | None) -> list[dict[str, Any]]:
        """Shipping to refund, spread over the order's shipping lines in order (tax pro rata per line)."""
        if not shipping or not (shipping.get("fullRefund") or shipping.get("amount") is not None):
            return []
        refunded_subtotal, _ = _refunded_shipping(order)
        refundable = sum((line["_price"] for line in order["shippingLines"]), Decimal(0)) - refunded_subtotal
        wanted = refundable if shipping.get("amount") is None else cents(Decimal(str(shipping["amount"])))
        if wanted < 0 or wanted > refundable:
            raise SandboxUserError(f"Shipping refund amount {wanted} is greater than the refundable shipping "
                                   f"amount {refundable}.", ["shipping", "amount"], "INVALID")
        plan = []
        skip = refunded_subtotal
        for line in order["shippingLines"]:
            available = max(Decimal(0), line["_price"] - skip)
            skip = max(Decimal(0), skip - line["_price"])
            take = min(available, wanted)
            wanted -= take
            if take <= 0:
                continue
            tax = sum((t["_amount"] for t in line["taxLines"]), Decimal(0))
            plan.append({"shippingLine": line, "subtotal": take,
                         "tax": cents(tax * take / line["_price"]) if line["_price"] else Decimal(0)})
        return plan

    def suggest_refund(self, order_gid: str, lines: list[dict[str, Any]],
                       shipping: dict[str, Any] | None = None) -> Decimal:
        """What refunding ``lines`` and ``shipping`` comes to (lines + tax + shipping), as ``suggestedRefund``."""
        order = self._refund_order(order_gid)
        return self._calculated(order, self._plan_lines(order, lines), self._plan_shipping(order, shipping))

    @staticmethod
    def _calculated(order: dict[str, Any], lines: list[dict[str, Any]], shipping: list[dict[str, Any]]) -> Decimal:
        included = order["taxesIncluded"]
        return sum((row["subtotal"] + (Decimal(0) if included else row["tax"]) for row in lines + shipping),
                   Decimal(0))

    # ----- refundCreate -----
    def create_refund(self, order_gid: str, lines: list[dict[str, Any]] | None = None,
                      shipping: dict[str, Any] | None = None, transactions: list[dict[str, Any]] | None = None,
                      note: str | None = None, allow_over_refunding: bool = False,
                      discrepancy_reason: str | None = None, record_discrepancy: bool = True) -> dict[str, Any]:
        """``refundCreate`` with amounts in shop money. All-or-nothing; the caller announces ``refunds/create``.

        ``record_discrepancy=False`` (the admin endpoint's ``amount``) leaves a difference between transactions and
        lines unexplained, to make a refund whose totals do not reconcile.
        """
        order = self._refund_order(order_gid)
        currency: Currency = order["_currency"]
        line_plan = self._plan_lines(order, lines or [])
        shipping_plan = self._plan_shipping(order, shipping)
        calculated = self._calculated(order, line_plan, shipping_plan)
        money = []
        for index, transaction in enumerate(transactions or []):
            field = ["transactions", str(index)]
            amount = cents(Decimal(str(transaction["amount"])))
            if transaction.get("kind", "REFUND") != "REFUND":
                raise SandboxUserError("Only REFUND transactions can be part of a refund.", field + ["kind"],
                                       "INVALID")
            if amount <= 0:
                raise SandboxUserError("Amount must be greater than 0.", field + ["amount"], "INVALID")
            parent = self._refund_parent(order, transaction, field)
            money.append((amount, transaction.get("gateway") or (parent or {}).get("gateway") or "manual", parent))
        total = sum((amount for amount, _, _ in money), Decimal(0))
        paid = paid_amount(order) - refunded_amount(order)
        if total > paid and not allow_over_refunding:
            raise SandboxUserError(f"Refund amount {total} is greater than net payment received {paid}.",
                                   ["transactions"], "INVALID")
        if not (line_plan or shipping_plan or money):
            raise SandboxUserError("A refund needs line items, shipping or transactions.", ["refundLineItems"],
                                   "BLANK")
        reason = _DISCREPANCY_REASONS.get(discrepancy_reason or "", discrepancy_reason)
        return self._apply_refund(order, currency, line_plan, shipping_plan, money,
                                  calculated if record_discrepancy else None, note, reason)

    @staticmethod
    def _refund_parent(order: dict[str, Any], transaction: dict[str, Any], field: list[str]) -> dict | None:
        sales = [t for t in order["transactions"] if t["status"] == "SUCCESS" and t["kind"] in ("SALE", "CAPTURE")]
        if transaction.get("parentId"):
            parent = next((t for t in sales if t["id"] == transaction["parentId"]), None)
            if parent is None:
                raise SandboxUserError("Parent transaction does not exist or is not a successful sale or capture.",
                                       field + ["parentId"], "INVALID")
            return parent
        gateway = transaction.get("gateway")
        return next((t for t in reversed(sales) if gateway in (None, t["gateway"])), sales[-1] if sales else None)

    def _apply_refund(self, order: dict[str, Any], currency: Currency, line_plan: list[dict[str, Any]],
                      shipping_plan: list[dict[str, Any]], money: list[tuple[Decimal, str, dict | None]],
                      calculated: Decimal | None, note: str | None, reason: str | None) -> dict[str, Any]:
        now = iso(utcnow())
        gid, legacy = self.new_id("Refund")
        refund: dict[str, Any] = {"__typename": "Refund", "id": gid, "legacyResourceId": legacy, "createdAt": now,
                                  "updatedAt": now, "processedAt": now, "note": note, "order": order, "return": None,
                                  "duties": [], "staffMember": None, "refundLineItems": [],
                                  "refundShippingLines": [], "orderAdjustments": [], "transactions": []}
        for row in line_plan:
            line, location = row["line"], row["location"]
            line["currentQuantity"] -= row["quantity"]
            if row["restockType"] == "RETURN":
                level = self.levels[(line["variant"]["inventoryItem"]["id"], location["id"])]
                level["quantities_by_name"]["on_hand"] += row["quantity"]
                level["quantities_by_name"]["available"] += row["quantity"]
            item_gid, _ = self.new_id("RefundLineItem")
            refund["refundLineItems"].append({
                "id": item_gid, "quantity": row["quantity"], "lineItem": line, "location": location,
                "restockType": row["restockType"], "restocked": row["restockType"] != "NO_RESTOCK",
                "priceSet": currency.bag(line["_unit_price"]), "subtotalSet": currency.bag(row["subtotal"]),
                "totalTaxSet": currency.bag(row["tax"])})
        for row in shipping_plan:
            line_gid, _ = self.new_id("RefundShippingLine")
            refund["refundShippingLines"].append({
                "__typename": "RefundShippingLine", "id": line_gid, "shippingLine": row["shippingLine"],
                "subtotalAmountSet": currency.bag(row["subtotal"]), "taxAmountSet": currency.bag(row["tax"])})
        total = sum((amount for amount, _, _ in money), Decimal(0))
        if money and calculated is not None and total != calculated:
            adjustment_gid, _ = self.new_id("OrderAdjustment")
            refund["orderAdjustments"].append({
                "__typename": "OrderAdjustment", "id": adjustment_gid, "amountSet": currency.bag(calculated - total),
                "taxAmountSet": currency.bag(Decimal(0)), "reason": reason or "REFUND_DISCREPANCY"})
        for amount, gateway, parent in money:
            tx_gid, _ = self.new_id("OrderTransaction")
            transaction = {"__typename": "OrderTransaction", "id": tx_gid, "kind": "REFUND", "status": "SUCCESS",
                           "gateway": gateway, "amountSet": currency.bag(amount), "createdAt": now, "_amount": amount,
                           "parentTransaction": parent, "order": order, "processedAt": now, "test": False,
                           "manualPaymentGateway": gateway == "manual", "manuallyCapturable": False,
                           "multiCapturable": False, "fees": []}
            refund["transactions"].append(transaction)
            order["transactions"].append(transaction)
        refund["totalRefundedSet"] = currency.bag(total)
        order["refunds"].append(refund)
        for opened in order.get("returns", []):  # the refund settles the order's open returns (they close)
            if opened["status"] == "OPEN":
                opened.update(status="CLOSED", closedAt=refund["createdAt"])
                order["returnStatus"] = "RETURNED"
        self.refunds[gid] = refund
        refunded = refunded_amount(order)
        order["totalRefundedSet"] = currency.bag(refunded)
        order["currentTotalPriceSet"] = currency.bag(order["_total"] - refunded)
        if refunded > 0:
            order["displayFinancialStatus"] = "REFUNDED" if refunded >= order["_total"] else "PARTIALLY_REFUNDED"
        self.touch(order)
        return refund

    def refund_order(self, order_gid: str, lines: list[tuple[str, int]] | None = None,
                     note: str | None = None) -> dict[str, Any]:
        """A merchant's simple refund (the seed's): the (line item gid, quantity) pairs without restocking, or the
        whole order with its shipping when ``lines`` is None; the money goes back to the last gateway."""
        with self.lock:
            order = self.require_order(order_gid)
            if lines is None:
                lines = [(line["id"], line["currentQuantity"]) for line in order["lineItems"]
                         if line["currentQuantity"] > 0]
            inputs = [{"lineItemId": gid, "quantity": quantity, "restockType": "NO_RESTOCK"}
                      for gid, quantity in lines]
            everything = all(line["currentQuantity"] - sum(q for gid, q in lines if gid == line["id"]) == 0
                             for line in order["lineItems"])
            shipping = {"fullRefund": True} if everything else None
            amount = self.suggest_refund(order_gid, inputs, shipping)
            gateway = order["paymentGatewayNames"][-1] if order["paymentGatewayNames"] else "manual"
            refund = self.create_refund(order_gid, inputs, shipping,
                                        [{"amount": amount, "gateway": gateway, "kind": "REFUND"}] if amount else [],
                                        note)
        self.announce("refunds/create", refund)
        self.announce("orders/updated", order)
        return refund

    # ----- returns -----
    def open_return(self, order_gid: str, lines: list[tuple[str, int]]) -> dict[str, Any]:
        """A return the customer asked for and the merchant opened (no refund yet); lines must have shipped."""
        with self.lock:
            order = self.require_order(order_gid)
            return_lines = []
            for line_gid, quantity in lines:
                shipped = [item for fulfillment in order["fulfillments"]
                           for item in fulfillment.get("fulfillmentLineItems", []) if item["lineItem"]["id"] == line_gid]
                returned = sum(item["quantity"] for existing in order.get("returns", [])
                               for item in existing["returnLineItems"]
                               if item["fulfillmentLineItem"]["lineItem"]["id"] == line_gid)
                if not shipped or quantity <= 0 or returned + quantity > sum(i["quantity"] for i in shipped):
                    raise SandboxUserError(f"Line item {line_gid} has no {quantity} fulfilled units left to return.",
                                           ["returnLineItems"], "INVALID")
                item_gid, _ = self.new_id("ReturnLineItem")
                return_lines.append({"__typename": "ReturnLineItem", "id": item_gid, "quantity": quantity,
                                     "fulfillmentLineItem": shipped[0], "refundableQuantity": quantity,
                                     "refundedQuantity": 0, "processedQuantity": 0, "processableQuantity": quantity,
                                     "unprocessedQuantity": quantity, "returnReasonNote": "", "customerNote": None})
            gid, _ = self.new_id("Return")
            returns = order.setdefault("returns", [])
            opened = {"__typename": "Return", "id": gid, "name": f"{order['name']}-R{len(returns) + 1}",
                      "status": "OPEN", "createdAt": iso(utcnow()), "closedAt": None, "order": order,
                      "totalQuantity": sum(q for _, q in lines), "returnLineItems": return_lines, "refunds": [],
                      "returnShippingFees": []}
            returns.append(opened)
            self.returns[gid] = opened
            order["returnStatus"] = "IN_PROGRESS"
            self.touch(order)
        self.announce("orders/updated", order)
        return opened
