"""Refunds and returns on Shopify, mixed into :class:`~shopify_max.shopify.api.ShopifyAdminApi`.

Find the orders updated in a window that have refunds (:meth:`RefundApi.iter_refunded_orders`, ids only), read an
order's refunds whole (:meth:`RefundApi.refunds_of_order`, as the same :class:`ShopifyRefund` a ``refunds/create``
webhook gives), read its returns, and create a refund (``refundCreate``, with an idempotency key).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from shopify_max.clock import as_utc
from shopify_max.money import to_money
from shopify_max.shopify import refund_documents as documents
from shopify_max.shopify.model_base import parse_user_errors
from shopify_max.shopify.refund_models import (
    RefundAdjustment,
    RefundCreateResult,
    RefundedOrder,
    RefundLine,
    RefundShippingLine,
    RefundTransaction,
    ShopifyRefund,
)

if TYPE_CHECKING:
    from shopify_max.shopify.client import ShopifyClient

# Sizes of one refunds read (nodes(ids:) costs once per id): 3 refunds of 20 lines, 5 shipping lines, 5 adjustments
# and 5 transactions each ask for well under the 1,000-point single-query limit (SHOPIFY.md §2);
# tests/shopify/test_refunds.py checks the requested cost against the sandbox.
REFUNDS_PER_READ = 3
LINES_PER_REFUND_READ = 20
SHIPPING_LINES_PER_REFUND_READ = 5
ADJUSTMENTS_PER_REFUND_READ = 5
TRANSACTIONS_PER_REFUND_READ = 5
CONNECTION_PAGE = 25  # the follow-up pages read one connection at a time
REFUNDED_ORDERS_PAGE = 100
# An order with a return not refunded yet: the refunds flow reports it (it credits refunds, not returns).
OPEN_RETURN_STATUSES = ("RETURN_REQUESTED", "IN_PROGRESS", "INSPECTION_COMPLETE")
RETURNS_PER_READ = 5
LINES_PER_RETURN_READ = 25  # 5 returns × 25 lines ask for about 400 points
_CONNECTIONS = {"refundLineItems": "lines", "refundShippingLines": "shipping", "orderAdjustments": "adjustments",
                "transactions": "transactions"}


def _next_cursor(connection: dict[str, Any]) -> str | None:
    page_info = connection["pageInfo"]
    return page_info["endCursor"] if page_info["hasNextPage"] else None


def _shop(money_bag: dict[str, Any]) -> Decimal:
    return to_money(money_bag["shopMoney"]["amount"])


def _search_time(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def refund_from_node(node: dict[str, Any]) -> ShopifyRefund:
    """A ``Refund`` as ``REFUNDS_BY_ID`` reads it (connections already flattened to lists) → :class:`ShopifyRefund`."""
    return ShopifyRefund(
        id=node["id"], order_id=node["order"]["id"], created_at=node["createdAt"], updated_at=node.get("updatedAt"),
        note=node.get("note"), currency=node["totalRefundedSet"]["shopMoney"]["currencyCode"],
        total_refunded=_shop(node["totalRefundedSet"]),
        lines=[RefundLine(line_item_id=item["lineItem"]["id"], sku=item["lineItem"].get("sku"),
                          quantity=item["quantity"], restock_type=item["restockType"],
                          location_id=(item.get("location") or {}).get("id"), subtotal=_shop(item["subtotalSet"]),
                          total_tax=_shop(item["totalTaxSet"])) for item in node["refundLineItems"]],
        shipping=[RefundShippingLine(title=(item.get("shippingLine") or {}).get("title"),
                                     subtotal=_shop(item["subtotalAmountSet"]), tax=_shop(item["taxAmountSet"]))
                  for item in node["refundShippingLines"]],
        # Shopify's sign is calculated minus refunded; the model's adds to the refund (refund_models.RefundAdjustment)
        adjustments=[RefundAdjustment(amount=Decimal(0) - _shop(item["amountSet"]),
                                      tax=Decimal(0) - _shop(item["taxAmountSet"]),
                                      reason=item.get("reason") or "REFUND_DISCREPANCY")
                     for item in node["orderAdjustments"]],
        transactions=[RefundTransaction(id=t["id"], kind=t["kind"], status=t["status"], gateway=t.get("gateway"),
                                        amount=_shop(t["amountSet"])) for t in node["transactions"]])


class RefundApi:
    """The refunds half of :class:`~shopify_max.shopify.api.ShopifyAdminApi` (which provides ``client``)."""

    client: ShopifyClient

    def iter_refunded_orders(self, updated_at_min: datetime, updated_at_max: datetime | None = None, *,
                             page_size: int = REFUNDED_ORDERS_PAGE) -> Iterator[RefundedOrder]:
        """Orders with ``updated_at`` in [min, max) that have refunds or a return in progress, oldest update first,
        ids only.

        A refund updates its order, so the window finds it. Filtered here, not with ``financial_status:``: a refund
        that pays nothing back (a restock-only cancellation, a pending transaction) leaves the order PAID.
        """
        query = f"updated_at:>='{_search_time(updated_at_min)}'"
        if updated_at_max is not None:
            query += f" AND updated_at:<'{_search_time(updated_at_max)}'"
        for node in self.client.paginate(documents.REFUNDED_ORDERS, {"query": query}, ("orders",), page_size):
            if node["refunds"] or node.get("returnStatus") in OPEN_RETURN_STATUSES:
                yield RefundedOrder(order_gid=node["id"], name=node["name"], updated_at=node["updatedAt"],
                                    refund_ids=[refund["id"] for refund in node["refunds"]],
                                    cancelled_at=node.get("cancelledAt"), return_status=node.get("returnStatus"))

    def refunds_of_order(self, order_gid: str) -> list[ShopifyRefund] | None:
        """Every refund of the order, oldest first, each with all its lines, shipping, adjustments and transactions;
        None when there is no such order."""
        order = self.client.execute(documents.REFUND_IDS_OF_ORDER, {"id": order_gid}).data.get("order")
        if not order:
            return None
        ids = [refund["id"] for refund in order["refunds"]]
        refunds = []
        for start in range(0, len(ids), REFUNDS_PER_READ):
            data = self.client.execute(documents.REFUNDS_BY_ID, {
                "ids": ids[start:start + REFUNDS_PER_READ], "linesFirst": LINES_PER_REFUND_READ,
                "shippingFirst": SHIPPING_LINES_PER_REFUND_READ, "adjustmentsFirst": ADJUSTMENTS_PER_REFUND_READ,
                "transactionsFirst": TRANSACTIONS_PER_REFUND_READ}).data
            for node in data["nodes"]:
                if node and node.get("__typename") == "Refund":
                    refunds.append(refund_from_node(self._complete_refund(node)))
        return refunds

    def _complete_refund(self, node: dict[str, Any]) -> dict[str, Any]:
        """The refund with each connection read to its end (the first page came with the refund)."""
        complete = dict(node)
        for key, flag in _CONNECTIONS.items():
            connection = node[key]
            items = list(connection["nodes"])
            after = _next_cursor(connection)
            while after:
                variables = {"id": node["id"], "first": CONNECTION_PAGE, "after": after,
                             **{name: name == flag for name in _CONNECTIONS.values()}}
                connection = self.client.execute(documents.REFUND_CONNECTIONS_PAGE, variables).data["node"][key]
                items.extend(connection["nodes"])
                after = _next_cursor(connection)
            complete[key] = items
        return complete

    def order_returns(self, order_gid: str) -> list[dict[str, Any]]:
        """The order's returns: [{"id", "name", "status", "lines": [{"id", "quantity", "line_item_id"}]}] ([] when
        there is no such order). ``line_item_id`` is None for a line Shopify could not tie to a fulfilment."""
        returns = []
        nodes = self.client.paginate(documents.ORDER_RETURNS, {"id": order_gid, "linesFirst": LINES_PER_RETURN_READ},
                                     ("order", "returns"), RETURNS_PER_READ)
        for node in nodes:
            connection = node["returnLineItems"]
            lines = list(connection["nodes"])
            after = _next_cursor(connection)
            while after:
                page = self.client.execute(documents.RETURN_LINES_PAGE,
                                           {"id": node["id"], "first": LINES_PER_RETURN_READ, "after": after}).data
                connection = page["return"]["returnLineItems"]
                lines.extend(connection["nodes"])
                after = _next_cursor(connection)
            returns.append({"id": node["id"], "name": node["name"], "status": node["status"], "lines": [
                {"id": line["id"], "quantity": line["quantity"],
                 "line_item_id": ((line.get("fulfillmentLineItem") or {}).get("lineItem") or {}).get("id")}
                for line in lines]})
        return returns

    def create_refund(self, refund_input: dict[str, Any], idempotency_key: str | None = None) -> RefundCreateResult:
        """``refundCreate`` with ``refund_input`` as ``RefundInput`` (amounts in the order's presentment currency).

        Without a key one is derived from the content, so resending the same refund replays the first result and
        never refunds twice, also after a lost answer. ``userErrors`` come back as data.
        """
        from shopify_max.shopify.api import idempotency_key_for  # api.py imports this module

        key = idempotency_key or idempotency_key_for("refundCreate", refund_input)
        data = self.client.execute(documents.REFUND_CREATE,
                                   {"input": refund_input, "idempotencyKey": key}).data["refundCreate"]
        refund, order = data.get("refund") or {}, data.get("order") or {}
        return RefundCreateResult(
            idempotency_key=key, refund_id=refund.get("id"),
            total_refunded=_shop(refund["totalRefundedSet"]) if refund else None,
            order_financial_status=order.get("displayFinancialStatus"),
            user_errors=parse_user_errors(data.get("userErrors")))
