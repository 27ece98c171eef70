"""Fulfilment and order operations on Shopify (SHOPIFY.md §6), mixed into :class:`~shopify_max.shopify.api.ShopifyAdminApi`.

Read an order's whole fulfilment state in one query (:meth:`FulfilmentApi.order_fulfilment_state`), then act:
create a fulfilment with its tracking, update tracking, move a fulfillment order, close, capture, mark as paid.
``userErrors`` come back as data in the results. A mutation whose outcome is unknown (a dropped connection)
raises :class:`~shopify_max.shopify.errors.ShopifyOutcomeUnknownError`: re-read the state before trying again.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from shopify_max.shopify import fulfilment_documents as documents
from shopify_max.shopify.fulfilment_models import (
    CaptureResult,
    FulfillmentOrder,
    FulfillmentResult,
    MoveResult,
    OrderFulfilmentState,
    OrderTransaction,
    TrackingInfo,
)
from shopify_max.shopify.model_base import parse_user_errors
from shopify_max.shopify.models import MutationResult

if TYPE_CHECKING:
    from shopify_max.shopify.client import ShopifyClient

# Page sizes of the state query, sized for a typical order (a few fulfillment orders of a few lines): a query runs
# only once the points it *asks* for are in the bucket, so a dear request waits behind the other flows even when it
# spends little. Larger orders are read whole by the follow-up pages. tests/shopify/test_fulfilment_api.py checks
# the requested cost against the sandbox (and the 1,000-point single-query limit, SHOPIFY.md §2).
FULFILLMENT_ORDERS_PER_READ = 3
LINES_PER_FULFILLMENT_ORDER_READ = 20
LINES_PER_FULFILLMENT_READ = 20
METAFIELDS_PER_READ = 10
LINES_PER_PAGE = 200  # the follow-up pages read lines only, so they can take more at once


def _next_cursor(connection: dict[str, Any]) -> str | None:
    page_info = connection["pageInfo"]
    return page_info["endCursor"] if page_info["hasNextPage"] else None


def _fulfillment_result(payload: dict[str, Any]) -> FulfillmentResult:
    fulfillment = payload.get("fulfillment") or {}
    return FulfillmentResult(
        fulfillment_id=fulfillment.get("id"), status=fulfillment.get("status"),
        order_fulfillment_status=(fulfillment.get("order") or {}).get("displayFulfillmentStatus"),
        tracking=[TrackingInfo.model_validate(t) for t in fulfillment.get("trackingInfo") or []],
        user_errors=parse_user_errors(payload.get("userErrors")))


class FulfilmentApi:
    """The fulfilment half of :class:`~shopify_max.shopify.api.ShopifyAdminApi` (which provides ``client``)."""

    client: ShopifyClient

    # ----- reading -----
    def order_fulfilment_state(self, order_gid: str,
                               metafield_namespace: str | None = None) -> OrderFulfilmentState | None:
        """Fulfilments, fulfillment orders (every line), transactions, tags and the namespace's metafields of an
        order, or None when there is no such order. One query unless something needs more than a page."""
        data = self.client.execute(documents.ORDER_FULFILMENT_STATE, {
            "id": order_gid, "fulfillmentOrdersFirst": FULFILLMENT_ORDERS_PER_READ,
            "fulfillmentOrderLinesFirst": LINES_PER_FULFILLMENT_ORDER_READ,
            "fulfillmentLinesFirst": LINES_PER_FULFILLMENT_READ, "metafieldsFirst": METAFIELDS_PER_READ,
            "namespace": metafield_namespace, "withMetafields": metafield_namespace is not None}).data
        order = data.get("order")
        if not order:
            return None
        fulfillments = [{**fulfillment, "fulfillmentLineItems": list(self._fulfillment_lines(fulfillment))}
                        for fulfillment in order["fulfillments"]]
        metafields = {} if metafield_namespace is None else dict(
            self._metafields(order_gid, metafield_namespace, order["metafields"]))
        return OrderFulfilmentState.model_validate({
            **order, "fulfillments": fulfillments, "metafields": metafields,
            "fulfillmentOrders": list(self._fulfillment_orders(order_gid, order["fulfillmentOrders"]))})

    def fulfillment_orders(self, order_id: str) -> list[FulfillmentOrder]:
        """The order's fulfillment orders with every line ([] when there is no such order)."""
        data = self.client.execute(documents.FULFILLMENT_ORDERS, {
            "id": order_id, "first": FULFILLMENT_ORDERS_PER_READ, "linesFirst": LINES_PER_FULFILLMENT_ORDER_READ})
        order = data.data.get("order")
        return list(self._fulfillment_orders(order_id, order["fulfillmentOrders"])) if order else []

    def _fulfillment_orders(self, order_id: str, connection: dict[str, Any]) -> Iterator[FulfillmentOrder]:
        """Every fulfillment order from its first page on, each with all its lines."""
        while True:
            for node in connection["nodes"]:
                yield self._complete_fulfillment_order(node)
            after = _next_cursor(connection)
            if after is None:
                return
            page = self.client.execute(documents.FULFILLMENT_ORDERS, {
                "id": order_id, "first": FULFILLMENT_ORDERS_PER_READ,
                "linesFirst": LINES_PER_FULFILLMENT_ORDER_READ, "after": after}).data
            connection = page["order"]["fulfillmentOrders"]

    def _complete_fulfillment_order(self, node: dict[str, Any]) -> FulfillmentOrder:
        lines = list(node["lineItems"]["nodes"])
        after = _next_cursor(node["lineItems"])
        while after:
            page = self.client.execute(documents.FULFILLMENT_ORDER_LINES_PAGE,
                                       {"id": node["id"], "first": LINES_PER_PAGE, "after": after})
            connection = page.data["fulfillmentOrder"]["lineItems"]
            lines.extend(connection["nodes"])
            after = _next_cursor(connection)
        return FulfillmentOrder.model_validate({**node, "lineItems": lines})

    def _fulfillment_lines(self, fulfillment: dict[str, Any]) -> Iterator[dict[str, Any]]:
        connection = fulfillment["fulfillmentLineItems"]
        while True:
            yield from connection["nodes"]
            after = _next_cursor(connection)
            if after is None:
                return
            page = self.client.execute(documents.FULFILLMENT_LINES_PAGE,
                                       {"id": fulfillment["id"], "first": LINES_PER_PAGE, "after": after})
            connection = page.data["fulfillment"]["fulfillmentLineItems"]

    def _metafields(self, order_gid: str, namespace: str,
                    connection: dict[str, Any]) -> Iterator[tuple[str, str]]:
        while True:
            yield from ((node["key"], node["value"]) for node in connection["nodes"])
            after = _next_cursor(connection)
            if after is None:
                return
            page = self.client.execute(documents.ORDER_METAFIELDS_PAGE, {
                "id": order_gid, "namespace": namespace, "first": METAFIELDS_PER_READ, "after": after})
            connection = page.data["order"]["metafields"]

    # ----- fulfilments -----
    def create_fulfillment(self, lines_by_fulfillment_order: dict[str, list[tuple[str, int]] | None],
                           tracking: TrackingInfo | None = None, notify_customer: bool = False,
                           message: str | None = None) -> FulfillmentResult:
        """``fulfillmentCreate``: {fulfillment order id: [(fulfillment order line id, quantity)] or None = all}.

        All fulfillment orders must belong to one order and one location (Shopify's rule). Not idempotent: after
        :class:`~shopify_max.shopify.errors.ShopifyOutcomeUnknownError` re-read the state before sending again.
        """
        fulfillment: dict[str, Any] = {
            "notifyCustomer": notify_customer,
            "lineItemsByFulfillmentOrder": [
                {"fulfillmentOrderId": fo_id,
                 **({} if lines is None else
                    {"fulfillmentOrderLineItems": [{"id": line_id, "quantity": qty} for line_id, qty in lines]})}
                for fo_id, lines in lines_by_fulfillment_order.items()],
        }
        if tracking is not None:
            fulfillment["trackingInfo"] = tracking.as_input()
        data = self.client.execute(documents.FULFILLMENT_CREATE, {"fulfillment": fulfillment, "message": message})
        return _fulfillment_result(data.data["fulfillmentCreate"])

    def update_tracking(self, fulfillment_gid: str, tracking: TrackingInfo,
                        notify_customer: bool = False) -> FulfillmentResult:
        """``fulfillmentTrackingInfoUpdate``: replaces the fulfilment's tracking with ``tracking``."""
        data = self.client.execute(documents.FULFILLMENT_TRACKING_INFO_UPDATE, {
            "fulfillmentId": fulfillment_gid, "trackingInfoInput": tracking.as_input(),
            "notifyCustomer": notify_customer})
        return _fulfillment_result(data.data["fulfillmentTrackingInfoUpdate"])

    def move_fulfillment_order(self, fulfillment_order_gid: str, location_gid: str,
                               lines: list[tuple[str, int]] | None = None) -> MoveResult:
        """``fulfillmentOrderMove`` to another location: [(fulfillment order line id, quantity)], None = all."""
        variables: dict[str, Any] = {"id": fulfillment_order_gid, "newLocationId": location_gid}
        if lines is not None:
            variables["lines"] = [{"id": line_id, "quantity": quantity} for line_id, quantity in lines]
        data = self.client.execute(documents.FULFILLMENT_ORDER_MOVE, variables).data["fulfillmentOrderMove"]
        moved, original = data.get("movedFulfillmentOrder"), data.get("originalFulfillmentOrder") or {}
        return MoveResult(moved=self._complete_fulfillment_order(moved) if moved else None,
                          original_id=original.get("id"), original_status=original.get("status"),
                          user_errors=parse_user_errors(data.get("userErrors")))

    # ----- order operations -----
    def close_order(self, order_gid: str) -> MutationResult:
        data = self.client.execute(documents.ORDER_CLOSE, {"input": {"id": order_gid}}).data["orderClose"]
        return MutationResult(node_id=(data.get("order") or {}).get("id"),
                              user_errors=parse_user_errors(data.get("userErrors")))

    def mark_as_paid(self, order_gid: str) -> MutationResult:
        data = self.client.execute(documents.ORDER_MARK_AS_PAID, {"input": {"id": order_gid}}).data["orderMarkAsPaid"]
        return MutationResult(node_id=(data.get("order") or {}).get("id"),
                              user_errors=parse_user_errors(data.get("userErrors")))

    def capture_payment(self, order_gid: str, parent_transaction_gid: str, amount: Decimal, currency: str,
                        final_capture: bool | None = None) -> CaptureResult:
        """``orderCapture`` of (part of) an authorisation. ``currency`` is the order's presentment currency
        (``OrderCaptureInput``); ``final_capture`` only matters for multi-capturable Shopify Payments
        authorisations, where True voids what is left uncaptured."""
        if not isinstance(amount, Decimal):
            raise TypeError(f"amount must be a Decimal, got {type(amount).__name__}")
        capture: dict[str, Any] = {"id": order_gid, "parentTransactionId": parent_transaction_gid,
                                   "amount": str(amount), "currency": currency}
        if final_capture is not None:
            capture["finalCapture"] = final_capture
        data = self.client.execute(documents.ORDER_CAPTURE, {"input": capture}).data["orderCapture"]
        transaction = data.get("transaction")
        return CaptureResult(transaction=OrderTransaction.model_validate(transaction) if transaction else None,
                             user_errors=parse_user_errors(data.get("userErrors")))
