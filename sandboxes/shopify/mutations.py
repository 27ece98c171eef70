"""Resolvers of the order and fulfilment mutations; the store does the work, these shape the payloads.

Each records what changed on the execution context: ``touched_orders`` (announced as ``orders/updated``) and
``events`` (``fulfillments/create``, ``fulfillments/update``), sent after the mutation has committed.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from graphql import GraphQLResolveInfo

from sandboxes.shopify.errors import SandboxUserError
from sandboxes.shopify.orders import cents


def user_errors(payload_key: str, action: Callable[[], Any]) -> dict[str, Any]:
    try:
        return {payload_key: action(), "userErrors": []}
    except SandboxUserError as error:
        return {payload_key: None, "userErrors": [error.as_dict()]}


def _touch(info: GraphQLResolveInfo, order: dict[str, Any] | None) -> None:
    if order is not None and order.get("__typename") == "Order":
        info.context.touched_orders.append(order)


def _fulfillment_create(_root, info: GraphQLResolveInfo, fulfillment: dict[str, Any], message: str | None = None):
    payload = user_errors("fulfillment", lambda: info.context.store.create_fulfillment(fulfillment))
    if payload["fulfillment"]:
        info.context.events.append(("fulfillments/create", payload["fulfillment"]))
        _touch(info, payload["fulfillment"]["order"])
    return payload


def _tracking_update(_root, info: GraphQLResolveInfo, fulfillmentId: str,  # noqa: N803 - GraphQL names
                     trackingInfoInput: dict[str, Any], notifyCustomer: bool | None = None):  # noqa: N803
    payload = user_errors("fulfillment", lambda: info.context.store.update_tracking(
        fulfillmentId, trackingInfoInput, notifyCustomer))
    if payload["fulfillment"]:
        info.context.events.append(("fulfillments/update", payload["fulfillment"]))
    return payload


def _fulfillment_order_move(_root, info: GraphQLResolveInfo, id: str, newLocationId: str,  # noqa: A002, N803
                            fulfillmentOrderLineItems: list[dict[str, Any]] | None = None):  # noqa: N803
    try:
        original, moved = info.context.store.move_fulfillment_order(id, newLocationId, fulfillmentOrderLineItems)
    except SandboxUserError as error:
        return {"originalFulfillmentOrder": None, "movedFulfillmentOrder": None, "userErrors": [error.as_dict()]}
    _touch(info, original["order"])
    return {"originalFulfillmentOrder": original, "movedFulfillmentOrder": moved, "remainingFulfillmentOrder": None,
            "userErrors": []}


def _fulfillment_order_hold(_root, info: GraphQLResolveInfo, id: str,  # noqa: A002
                            fulfillmentHold: dict[str, Any]):  # noqa: N803
    store = info.context.store
    try:
        hold = store.hold_fulfillment_order(id, fulfillmentHold["reason"], fulfillmentHold.get("reasonNotes"),
                                            fulfillmentHold.get("handle") or "")
    except SandboxUserError as error:
        return {"fulfillmentHold": None, "fulfillmentOrder": None, "userErrors": [error.as_dict()]}
    fulfillment_order = store.fulfillment_orders[id]
    _touch(info, fulfillment_order["order"])
    return {"fulfillmentHold": hold, "fulfillmentOrder": fulfillment_order, "remainingFulfillmentOrder": None,
            "userErrors": []}


def _fulfillment_order_release(_root, info: GraphQLResolveInfo, id: str, holdIds: list[str] | None = None,  # noqa: A002, N803
                               externalId: str | None = None):  # noqa: N803
    payload = user_errors("fulfillmentOrder", lambda: info.context.store.release_holds(id, holdIds))
    if payload["fulfillmentOrder"]:
        _touch(info, payload["fulfillmentOrder"]["order"])
    return payload


def _tags(method: str) -> Callable[..., dict[str, Any]]:
    def resolve(_root, info: GraphQLResolveInfo, id: str, tags: list[str]):  # noqa: A002
        payload = user_errors("node", lambda: getattr(info.context.store, method)(id, tags))
        _touch(info, payload["node"])
        return payload
    return resolve


def _metafields_set(_root, info: GraphQLResolveInfo, metafields: list[dict[str, Any]]):
    written, errors = info.context.store.set_metafields(metafields)
    return {"metafields": written, "userErrors": errors}


def _order_close(_root, info: GraphQLResolveInfo, input: dict[str, Any]):  # noqa: A002
    payload = user_errors("order", lambda: info.context.store.close_order(input["id"]))
    _touch(info, payload["order"])
    return payload


def _order_capture(_root, info: GraphQLResolveInfo, input: dict[str, Any]):  # noqa: A002
    payload = user_errors("transaction", lambda: info.context.store.capture(input))
    if payload["transaction"]:
        _touch(info, payload["transaction"]["order"])
    return payload


def _order_mark_as_paid(_root, info: GraphQLResolveInfo, input: dict[str, Any]):  # noqa: A002
    payload = user_errors("order", lambda: info.context.store.mark_as_paid(input["id"]))
    _touch(info, payload["order"])
    return payload


def _order_transactions(source: dict[str, Any], _info: GraphQLResolveInfo, first: int | None = None,
                        capturable: bool | None = None, manuallyResolvable: bool | None = None):  # noqa: N803
    """``Order.transactions``: a plain list, oldest first; ``capturable`` keeps authorisations with money left."""
    transactions = source["transactions"]
    if capturable is not None:
        transactions = [t for t in transactions if bool(t.get("manuallyCapturable")) == capturable]
    return transactions[:first]


def _refund_create(_root, info: GraphQLResolveInfo, input: dict[str, Any]):  # noqa: A002
    """``refundCreate``: amounts arrive in the order's presentment currency (``input.currency`` is required when it
    differs from the shop's) and are kept in shop money; ``refunds/create`` is announced once committed."""
    store = info.context.store

    def create() -> dict[str, Any]:
        order = store.orders.get(input["orderId"])
        if order is None:
            raise SandboxUserError("Order does not exist.", ["orderId"])
        currency = order["_currency"]
        if currency.presentment != currency.shop and input.get("currency") != currency.presentment:
            raise SandboxUserError(f"Currency must be {currency.presentment}, the order's presentment currency.",
                                   ["currency"])

        def shop_money(amount: Any) -> Decimal:
            return cents(Decimal(str(amount)) / currency.rate)

        shipping = dict(input.get("shipping") or {})
        if shipping.get("amount") is not None:
            shipping["amount"] = shop_money(shipping["amount"])
        transactions = [{**t, "amount": shop_money(t["amount"])} for t in input.get("transactions") or []]
        for index, transaction in enumerate(transactions):
            if transaction.get("orderId") not in (None, order["id"]):
                raise SandboxUserError("The transaction's order is not the refunded order.",
                                       ["transactions", str(index), "orderId"])
        return store.create_refund(order["id"], input.get("refundLineItems"), shipping, transactions,
                                   input.get("note"), bool(input.get("allowOverRefunding")),
                                   input.get("discrepancyReason"))

    payload = user_errors("refund", create)
    refund = payload["refund"]
    payload["order"] = refund["order"] if refund else None
    if refund:
        info.context.events.append(("refunds/create", refund))
        _touch(info, refund["order"])
    return payload


MUTATION_RESOLVERS: dict[tuple[str, str], Callable[..., Any]] = {
    ("Mutation", "fulfillmentCreate"): _fulfillment_create,
    ("Mutation", "fulfillmentTrackingInfoUpdate"): _tracking_update,
    ("Mutation", "fulfillmentOrderMove"): _fulfillment_order_move,
    ("Mutation", "fulfillmentOrderHold"): _fulfillment_order_hold,
    ("Mutation", "fulfillmentOrderReleaseHold"): _fulfillment_order_release,
    ("Mutation", "tagsAdd"): _tags("add_tags"),
    ("Mutation", "tagsRemove"): _tags("remove_tags"),
    ("Mutation", "metafieldsSet"): _metafields_set,
    ("Mutation", "orderClose"): _order_close,
    ("Mutation", "orderCapture"): _order_capture,
    ("Mutation", "orderMarkAsPaid"): _order_mark_as_paid,
    ("Order", "fulfillments"): lambda source, _info, first=None, query=None: source["fulfillments"][:first],
    ("Order", "transactions"): _order_transactions,
    ("Order", "refunds"): lambda source, _info, first=None: source["refunds"][:first],
    ("Fulfillment", "trackingInfo"): lambda source, _info, first=None: source["trackingInfo"][:first],
}
