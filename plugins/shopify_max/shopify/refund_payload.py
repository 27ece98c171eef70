"""A ``refunds/create`` webhook's REST body → the same :class:`ShopifyRefund` the Admin API read gives.

The body is Shopify's REST refund (``include/vendor/shopify/webhooks/refunds.create.json``): numeric ids (rounded in
Shopify's own example, so the exact ``admin_graphql_api_id`` wins wherever there is one), lowercase enums, and money
in ``*_set`` objects, of which the shop money is read. A transaction carries ``amount`` in its ``currency`` (the
presentment currency); when that is not the shop's, the body cannot give shop money and is refused (the poll reads
the refund through the Admin API instead). ``order_adjustments`` of kind ``shipping_refund`` repeat
``refund_shipping_lines`` in REST and are skipped; the others keep Shopify's reason, with their sign turned round
(:class:`~shopify_max.shopify.refund_models.RefundAdjustment`).

A body that cannot be read raises :class:`UnreadableRefundPayload`, never ``KeyError`` or ``TypeError``.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any, NoReturn

from shopify_max.ids import InvalidShopifyGid, shopify_gid, split_gid
from shopify_max.money import MoneyFormatError, to_money
from shopify_max.shopify.refund_models import (
    RefundAdjustment,
    RefundLine,
    RefundShippingLine,
    RefundTransaction,
    ShopifyRefund,
)

_SHOWN_CHARS = 60


class UnreadableRefundPayload(ValueError):
    """A ``refunds/create`` body that does not make a refund: ``field`` is the REST path
    (``refund_line_items[2].quantity``), ``message`` the rule it breaks, ``refund_id`` the refund when known."""

    def __init__(self, field: str, message: str, refund_id: str | None = None) -> None:
        field, message = storable_text(field), storable_text(message)
        refund_id = storable_text(refund_id) if refund_id else refund_id
        self.field, self.message, self.refund_id = field, message, refund_id
        super().__init__(f"refund {refund_id or '(id unknown)'} cannot be read: {field} {message}")


RESTOCK_TYPES = ("RETURN", "CANCEL", "NO_RESTOCK", "LEGACY_RESTOCK")


def storable_text(text: str) -> str:
    """``text`` as a reason can be stored: lone surrogates (from a body's ``\\ud800`` escapes) and NUL replaced."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


def refund_from_webhook_body(body: str | bytes | None) -> ShopifyRefund:
    """:func:`refund_from_webhook_payload` for the body as delivered: a body that is not JSON (cut short, nested
    deeper than the parser goes) is unreadable too, named as the body's."""
    try:
        payload = json.loads(body or "")
    except (ValueError, RecursionError) as exc:
        raise UnreadableRefundPayload("(body)", f"is not JSON ({type(exc).__name__}: {str(exc)[:200]})") from None
    return refund_from_webhook_payload(payload)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else f"{text[:_SHOWN_CHARS - 3]}..."


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null", float: "a float"}
    return names.get(type(value), "a number")


class _Reader:
    def __init__(self) -> None:
        self.refund_id: str | None = None

    def refuse(self, field: str, message: str) -> NoReturn:
        raise UnreadableRefundPayload(field, message, self.refund_id)

    def need(self, obj: dict[str, Any], key: str, path: str) -> Any:
        if obj.get(key) is None:
            self.refuse(path, "is missing")
        return obj[key]

    def obj(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.refuse(path, f"must be an object, not {_json_type(value)}")
        return value

    def objects(self, value: Any, path: str) -> list[dict[str, Any]]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.refuse(path, f"must be a list, not {_json_type(value)}")
        return [self.obj(item, f"{path}[{index}]") for index, item in enumerate(value)]

    def text(self, value: Any, path: str) -> str | None:
        if value is not None and not isinstance(value, str):
            self.refuse(path, f"must be text, not {_json_type(value)}")
        return value

    def whole(self, value: Any, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.refuse(path, f"must be a whole number of at least 0, not {_shown(value)}")
        return value

    def gid(self, obj: dict[str, Any], kind: str, path: str, id_key: str = "id",
            gid_key: str | None = "admin_graphql_api_id") -> str | None:
        """``kind``'s gid: the exact ``admin_graphql_api_id`` when there is one, else built from the numeric id."""
        try:
            if gid_key and obj.get(gid_key) is not None:
                split_gid(obj[gid_key], kind)
                return obj[gid_key]
            value = obj.get(id_key)
            return None if value is None else shopify_gid(kind, value)
        except InvalidShopifyGid:
            self.refuse(f"{path}{gid_key if gid_key and obj.get(gid_key) is not None else id_key}",
                        f"must be a Shopify {kind} id, not {_shown(obj.get(gid_key or id_key, obj.get(id_key)))}")

    def amount(self, value: Any, path: str) -> Decimal:
        if isinstance(value, float):
            self.refuse(path, "must be a decimal amount written as text (\"19.99\"), not a floating-point number")
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.refuse(path, f"must be a decimal amount, not {_json_type(value)}")
        try:
            return to_money(value, path)
        except MoneyFormatError:
            self.refuse(path, f"must be a decimal amount, not {_shown(value)}")

    def shop_money(self, obj: dict[str, Any], key: str, path: str, currency: str) -> Decimal:
        money_set = self.obj(self.need(obj, key, f"{path}{key}"), f"{path}{key}")
        shop = self.obj(self.need(money_set, "shop_money", f"{path}{key}.shop_money"), f"{path}{key}.shop_money")
        code = shop.get("currency_code")
        if code is not None and code != currency:
            self.refuse(f"{path}{key}.shop_money.currency_code", f"is {_shown(code)}, not the shop's {currency}")
        return self.amount(self.need(shop, "amount", f"{path}{key}.shop_money.amount"), f"{path}{key}.shop_money.amount")

    def moment(self, value: Any, path: str) -> datetime:
        try:
            return datetime.fromisoformat(self.text(value, path) or "")
        except ValueError:
            self.refuse(path, f"must be an ISO 8601 date and time, not {_shown(value)}")


def _shop_currency(r: _Reader, body: dict[str, Any]) -> str:
    """The shop's currency, from the first ``*_set`` in the body (``total_duties_set`` is always there)."""
    candidates = [body.get("total_duties_set")]
    for key, set_key in (("refund_line_items", "subtotal_set"), ("refund_shipping_lines", "subtotal_amount_set"),
                         ("order_adjustments", "amount_set")):
        candidates += [item.get(set_key) for item in body.get(key) or [] if isinstance(item, dict)]
    for candidate in candidates:
        code = (candidate or {}).get("shop_money", {}).get("currency_code") if isinstance(candidate, dict) else None
        if isinstance(code, str) and code:
            return code
    r.refuse("total_duties_set.shop_money.currency_code", "is missing: the body names no shop currency")


def refund_from_webhook_payload(payload: Any) -> ShopifyRefund:
    """The :class:`ShopifyRefund` in a ``refunds/create`` body; :class:`UnreadableRefundPayload` when it has none,
    whatever is wrong with it (a shape the reader does not check by field is named as the body's)."""
    try:
        return _read_refund(payload)
    except UnreadableRefundPayload:
        raise
    except (TypeError, AttributeError, KeyError, IndexError, ValueError, ArithmeticError, RecursionError) as exc:
        refund_id = payload.get("admin_graphql_api_id") if isinstance(payload, dict) else None
        raise UnreadableRefundPayload("(body)", f"has a shape the reader cannot take ({type(exc).__name__}: "
                                                f"{str(exc)[:200]})", refund_id if isinstance(refund_id, str) else None
                                      ) from None


def _read_refund(payload: Any) -> ShopifyRefund:
    r = _Reader()
    body = r.obj(payload, "(body)")
    r.refund_id = r.gid(body, "Refund", "")
    if r.refund_id is None:
        r.refuse("admin_graphql_api_id", "is missing (and so is id)")
    order_id = r.gid(body, "Order", "", id_key="order_id", gid_key=None) or r.refuse("order_id", "is missing")
    currency = _shop_currency(r, body)
    lines = []
    for index, item in enumerate(r.objects(body.get("refund_line_items"), "refund_line_items")):
        path = f"refund_line_items[{index}]."
        line_item = r.obj(item.get("line_item") or {}, f"{path}line_item")
        line_gid = (r.gid(line_item, "LineItem", f"{path}line_item.", id_key="-")
                    or r.gid(item, "LineItem", path, id_key="line_item_id", gid_key=None))
        if line_gid is None:
            r.refuse(f"{path}line_item_id", "is missing")
        restock = r.text(r.need(item, "restock_type", f"{path}restock_type"), f"{path}restock_type")
        if (restock or "").upper() not in RESTOCK_TYPES:
            r.refuse(f"{path}restock_type", f"must be one of {', '.join(t.lower() for t in RESTOCK_TYPES)}, got "
                                             f"{_shown(restock)}")
        lines.append(RefundLine(
            line_item_id=line_gid, sku=r.text(line_item.get("sku"), f"{path}line_item.sku"),
            quantity=r.whole(r.need(item, "quantity", f"{path}quantity"), f"{path}quantity"),
            restock_type=restock.upper(), location_id=r.gid(item, "Location", path, id_key="location_id", gid_key=None),
            subtotal=r.shop_money(item, "subtotal_set", path, currency),
            total_tax=r.shop_money(item, "total_tax_set", path, currency)))
    shipping = []
    for index, item in enumerate(r.objects(body.get("refund_shipping_lines"), "refund_shipping_lines")):
        path = f"refund_shipping_lines[{index}]."
        line = r.obj(item.get("shipping_line") or {}, f"{path}shipping_line")
        shipping.append(RefundShippingLine(
            title=r.text(line.get("title"), f"{path}shipping_line.title"),
            subtotal=r.shop_money(item, "subtotal_amount_set", path, currency),
            tax=r.shop_money(item, "tax_amount_set", path, currency) if item.get("tax_amount_set") else Decimal(0)))
    adjustments = []
    for index, item in enumerate(r.objects(body.get("order_adjustments"), "order_adjustments")):
        path = f"order_adjustments[{index}]."
        kind = r.text(item.get("kind"), f"{path}kind")
        if kind == "shipping_refund":
            continue
        reason = r.text(item.get("reason"), f"{path}reason") or kind or "refund_discrepancy"
        adjustments.append(RefundAdjustment(
            amount=Decimal(0) - r.shop_money(item, "amount_set", path, currency),
            tax=Decimal(0) - r.shop_money(item, "tax_amount_set", path, currency) if item.get("tax_amount_set")
            else Decimal(0), reason=reason.strip().upper().replace(" ", "_")))
    transactions = [_transaction(r, item, f"transactions[{index}].", currency)
                    for index, item in enumerate(r.objects(body.get("transactions"), "transactions"))]
    return ShopifyRefund(
        id=r.refund_id, order_id=order_id, created_at=r.moment(r.need(body, "created_at", "created_at"), "created_at"),
        updated_at=None, note=r.text(body.get("note"), "note"), currency=currency,
        total_refunded=sum((t.amount for t in transactions if t.kind == "REFUND" and t.status == "SUCCESS"),
                           Decimal("0.00")),
        lines=lines, shipping=shipping, adjustments=adjustments, transactions=transactions)


def _transaction(r: _Reader, item: dict[str, Any], path: str, currency: str) -> RefundTransaction:
    if item.get("amount_set"):
        amount = r.shop_money(item, "amount_set", path, currency)
    else:
        in_currency = r.text(item.get("currency"), f"{path}currency")
        if in_currency not in (None, currency):
            r.refuse(f"{path}amount", f"is in {in_currency}, not the shop's {currency}: only the Admin API gives "
                                      "it in shop money")
        amount = r.amount(r.need(item, "amount", f"{path}amount"), f"{path}amount")
    transaction_id = r.gid(item, "OrderTransaction", path) or r.refuse(f"{path}admin_graphql_api_id", "is missing")
    return RefundTransaction(
        id=transaction_id, kind=(r.text(r.need(item, "kind", f"{path}kind"), f"{path}kind") or "").upper(),
        status=(r.text(r.need(item, "status", f"{path}status"), f"{path}status") or "").upper(),
        gateway=r.text(item.get("gateway"), f"{path}gateway"), amount=amount)
