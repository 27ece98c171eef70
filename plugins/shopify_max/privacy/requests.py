"""Shopify's mandatory compliance webhooks, read from the inbox (SHOPIFY.md §7; the receiver stores them).

- ``customers/data_request``: a customer asked the shop what it holds about them;
- ``customers/redact``: erase a customer's personal data (their id, e-mail and phone, and ``orders_to_redact``);
- ``shop/redact``: the app was uninstalled 48 h ago: erase the shop's personal data.

Shopify's ids exceed 2^53, so they are read as text, never as numbers that a JSON reader could round.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from shopify_max.ids import InvalidShopifyGid, legacy_id, shopify_gid

COMPLIANCE_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")


class UnreadableRequest(ValueError):
    """A compliance delivery this integration cannot act on; the reason says what is missing."""


def _shopify_id(value: Any, resource: str) -> str | None:
    """A numeric id or a gid, as the digits; None when absent."""
    if value is None or value == "":
        return None
    try:
        return legacy_id(value if isinstance(value, int) else str(value), resource)
    except InvalidShopifyGid:
        raise UnreadableRequest(f"{resource} id {str(value).strip()[:40]!r} is not a Shopify id") from None


@dataclass(frozen=True)
class ComplianceRequest:
    """One compliance delivery: whom it is about (never logged: see :meth:`describe`)."""

    topic: str
    inbox_id: int
    webhook_id: str
    shop_domain: str | None = None
    customer_id: str | None = None
    email: str | None = None
    phone: str | None = None
    order_ids: tuple[str, ...] = ()  # orders_to_redact / orders_requested
    data_request_id: str | None = None

    @property
    def customer_gid(self) -> str | None:
        return shopify_gid("Customer", self.customer_id) if self.customer_id else None

    @property
    def order_gids(self) -> tuple[str, ...]:
        return tuple(shopify_gid("Order", order_id) for order_id in self.order_ids)

    @property
    def reference(self) -> str:
        """What names the request in the audit log and the error queue."""
        return f"{self.topic} (inbox {self.inbox_id})"

    def describe(self) -> dict[str, Any]:
        """The request without personal values: what logs, XCom and the audit log may carry."""
        return {"topic": self.topic, "inbox_id": self.inbox_id, "webhook_id": self.webhook_id,
                "shop_domain": self.shop_domain, "customer_gid": self.customer_gid,
                "data_request_id": self.data_request_id, "orders_listed": len(self.order_ids)}


def read_compliance_request(*, topic: str, inbox_id: int, webhook_id: str, payload: str | None) -> ComplianceRequest:
    """Read one compliance delivery's body; :class:`UnreadableRequest` says why it cannot be acted on."""
    if topic not in COMPLIANCE_TOPICS:
        raise UnreadableRequest(f"topic {topic!r} is not a compliance topic")
    try:
        body = json.loads(payload or "", parse_int=str)
    except ValueError as exc:
        raise UnreadableRequest(f"the body is not JSON ({exc})") from exc
    if not isinstance(body, dict):
        raise UnreadableRequest("the body is not a JSON object")
    shop_domain = body.get("shop_domain") if isinstance(body.get("shop_domain"), str) else None
    if topic == "shop/redact":
        if not shop_domain and body.get("shop_id") is None:
            raise UnreadableRequest("shop/redact names no shop (shop_domain, shop_id)")
        return ComplianceRequest(topic, inbox_id, webhook_id, shop_domain)
    customer = body.get("customer")
    if not isinstance(customer, dict):
        raise UnreadableRequest(f"{topic} has no customer object")
    email = customer.get("email") if isinstance(customer.get("email"), str) and customer.get("email") else None
    phone = customer.get("phone") if isinstance(customer.get("phone"), str) and customer.get("phone") else None
    customer_id = _shopify_id(customer.get("id"), "Customer")
    if not (customer_id or email or phone):
        raise UnreadableRequest(f"{topic} names no customer (id, email or phone)")
    orders = body.get("orders_to_redact" if topic == "customers/redact" else "orders_requested") or []
    if not isinstance(orders, list):
        raise UnreadableRequest(f"{topic}: the order list is not a list")
    data_request = body.get("data_request") if isinstance(body.get("data_request"), dict) else {}
    return ComplianceRequest(
        topic, inbox_id, webhook_id, shop_domain, customer_id, email.strip() if email else None,
        phone.strip() if phone else None, tuple(filter(None, (_shopify_id(order, "Order") for order in orders))),
        str(data_request["id"]) if data_request.get("id") is not None else None)
