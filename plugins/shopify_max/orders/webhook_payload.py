"""A webhook's REST-shaped order payload → the same :class:`Order` model the GraphQL poll returns.

Webhooks carry the REST resource (SHOPIFY.md §7): snake_case, numeric ids (rounded in Shopify's own
examples: trust ``admin_graphql_api_id``), tags as one comma-separated string, ``price_set`` where GraphQL
says ``originalUnitPriceSet``. One model downstream means one mapping for both capture paths.

A body that does not make an order raises :class:`UnreadableOrderPayload` (never ``KeyError``, ``TypeError``
or pydantic's ``ValidationError``): its ``reason`` names the order as far as the body tells, and each field
that is missing, of the wrong type, or absurdly long (:class:`OrderFieldTooLong`, limits in ``field_limits``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from pydantic import ValidationError

from shopify_max.ids import InvalidShopifyGid, legacy_id, shopify_gid, split_gid
from shopify_max.money import MoneyFormatError, to_money
from shopify_max.orders.field_limits import MAX_LONG_TEXT_CHARS, MAX_NUMBER_DIGITS, limit_for
from shopify_max.orders.outcome import XML_ILLEGAL_CHARACTERS, excerpt, recordable_text
from shopify_max.shopify.models import Order

_PROBLEMS_IN_REASON = 5
_ORDER_REF_CHARS = 80


@dataclass(frozen=True)
class PayloadProblem:
    """One field of a webhook body that stops it becoming an order."""

    field: str  # the REST payload's path, e.g. "line_items[0].quantity"
    rule: str  # missing_field, wrong_type, invalid_value, field_too_long, number_too_large, xml_illegal_character
    message: str


class UnreadableOrderPayload(ValueError):
    """An ``orders/*`` webhook body that does not make an :class:`Order`.

    ``order_ref`` names the order as far as the body tells (``#1001 (gid://shopify/Order/1)``); ``field``,
    ``rule`` and ``message`` are the first problem, ``problems`` all of them; ``reason`` is one sentence for
    the error queue, bounded in length and safe to store.
    """

    def __init__(self, order_ref: str, field: str, message: str, *, rule: str = "unreadable",
                 problems: list[PayloadProblem] | None = None) -> None:
        self.order_ref = order_ref
        self.field = field
        self.rule = rule
        self.message = message
        self.problems = problems or [PayloadProblem(field, rule, message)]
        super().__init__(self.reason)

    @property
    def reason(self) -> str:
        shown = "; ".join(f"{p.field} {p.message}" for p in self.problems[:_PROBLEMS_IN_REASON])
        hidden = len(self.problems) - _PROBLEMS_IN_REASON
        more = f"; and {hidden} more problem(s)" if hidden > 0 else ""
        return recordable_text(f"order {self.order_ref} cannot be read: {shown}{more}")


class OrderFieldTooLong(UnreadableOrderPayload):
    """A field far longer than any real order's (``field_limits``): refused before any work is spent on it."""

    def __init__(self, order_ref: str, field: str, kind: str, length: int, limit: int,
                 problems: list[PayloadProblem] | None = None) -> None:
        self.kind, self.length, self.limit = kind, length, limit
        super().__init__(order_ref, field, _too_long(kind, length, limit), rule="field_too_long", problems=problems)


def _too_long(kind: str, length: int, limit: int) -> str:
    return f"is {length:,} characters long; a {kind} field may hold {limit:,}"


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number")


def _order_ref(payload: Any) -> str:
    """``#1001 (gid://shopify/Order/1)``, or as much of it as the body has."""
    if not isinstance(payload, dict):
        return "(unnamed: the body is not a JSON object)"
    name, gid = payload.get("name"), payload.get("admin_graphql_api_id")
    parts = [recordable_text(value, _ORDER_REF_CHARS) for value in (name, gid) if isinstance(value, str) and value]
    if len(parts) == 2:
        return f"{parts[0]} ({parts[1]})"
    if parts:
        return parts[0]
    if isinstance(payload.get("id"), int):
        return f"id {payload['id']}"
    return "(no name or id in the body)"


class _Reader:
    """Reads the REST body; whatever it cannot use raises :class:`UnreadableOrderPayload` naming the field."""

    def __init__(self, order_ref: str) -> None:
        self.order_ref = order_ref

    def refuse(self, field: str, rule: str, message: str) -> NoReturn:
        raise UnreadableOrderPayload(self.order_ref, field, message, rule=rule)

    def need(self, obj: dict[str, Any], key: str, path: str) -> Any:
        value = obj.get(key)
        if value is None:
            self.refuse(path, "missing_field", "is missing")
        return value

    def text(self, value: Any, path: str, limit: tuple[str, int] | None = None) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            self.refuse(path, "wrong_type", f"must be text, not {_json_type(value)}")
        kind, longest = limit or limit_for(path.rsplit(".", 1)[-1].split("[")[0], "." in path)
        if len(value) > longest:
            raise OrderFieldTooLong(self.order_ref, path, kind, len(value), longest)
        return value

    def obj(self, value: Any, path: str) -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            self.refuse(path, "wrong_type", f"must be an object, not {_json_type(value)}")
        return value

    def objects(self, value: Any, path: str) -> list[dict[str, Any]]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.refuse(path, "wrong_type", f"must be a list, not {_json_type(value)}")
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                self.refuse(f"{path}[{index}]", "wrong_type", f"must be an object, not {_json_type(item)}")
        return value

    def amount(self, value: Any, path: str) -> Decimal:
        if isinstance(value, float):
            self.refuse(path, "wrong_type", _FLOAT_AMOUNT)
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.refuse(path, "wrong_type", f"must be a decimal amount, not {_json_type(value)}")
        try:
            amount = to_money(self.text(value, path) if isinstance(value, str) else value, path)
        except MoneyFormatError:
            self.refuse(path, "invalid_value", f"must be a finite decimal amount (got {excerpt(str(value))})")
        if amount and amount.adjusted() >= MAX_NUMBER_DIGITS:
            self.refuse(path, "number_too_large", f"has more than {MAX_NUMBER_DIGITS} digits before the point")
        return amount


_FLOAT_AMOUNT = "must be a decimal amount written as text (\"19.99\"), not a floating-point JSON number"
_MONEY_AMOUNT_FIELDS = frozenset({"amount", "value_amount"})  # the Order model's money (money.Amount) fields

_DISCOUNT_KINDS = {
    "discount_code": "DiscountCodeApplication",
    "automatic": "AutomaticDiscountApplication",
    "manual": "ManualDiscountApplication",
    "script": "ScriptDiscountApplication",
}


def _customer_legacy_id(gid: str | None) -> str | None:
    """The customer's legacy id; None when its gid has none (the mapping names a bad customer id)."""
    try:
        return legacy_id(gid, "Customer") if gid else None
    except InvalidShopifyGid:
        return None


def _variant_gid(r: _Reader, item: dict[str, Any], path: str) -> str | None:
    """REST gives the variant's legacy id only: its gid, built here."""
    if not item.get("variant_id"):
        return None
    try:
        return shopify_gid("ProductVariant", item["variant_id"])
    except InvalidShopifyGid:
        r.refuse(f"{path}.variant_id", "invalid_value",
                 f"must be a Shopify variant id, a whole number (got {excerpt(str(item['variant_id']))})")


def _zero_money_bag(currency: str, presentment: str) -> dict[str, Any]:
    return {"shop_money": {"amount": "0.00", "currency_code": currency},
            "presentment_money": {"amount": "0.00", "currency_code": presentment}}


def _tax_lines(r: _Reader, raw: Any, path: str) -> list[dict[str, Any]]:
    return [{"title": r.need(t, "title", f"{path}[{i}].title"), "rate": t.get("rate"),
             "channel_liable": t.get("channel_liable"), "price_set": r.need(t, "price_set", f"{path}[{i}].price_set")}
            for i, t in enumerate(r.objects(raw, path))]


def _allocations(r: _Reader, raw: Any, path: str) -> list[dict[str, Any]]:
    return [{"allocated_amount_set": r.need(a, "amount_set", f"{path}[{i}].amount_set"),
             "discount_application_index": r.need(a, "discount_application_index",
                                                  f"{path}[{i}].discount_application_index")}
            for i, a in enumerate(r.objects(raw, path))]


def _money(r: _Reader, money_bag: Any, side: str, path: str) -> tuple[Decimal, Any]:
    bag = r.obj(money_bag, path) or r.refuse(path, "missing_field", "is missing")
    money = r.obj(bag.get(side), f"{path}.{side}") or r.refuse(f"{path}.{side}", "missing_field", "is missing")
    return r.amount(r.need(money, "amount", f"{path}.{side}.amount"), f"{path}.{side}.amount"), money.get("currency_code")


def _discounted_unit_price(r: _Reader, item: dict[str, Any], path: str) -> dict[str, Any]:
    """REST has no per-unit price after discounts: derive it from price and the line's allocations."""
    quantity = item.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity == 0:
        quantity = 1  # the model reports a quantity that is not a whole number
    allocations = r.objects(item.get("discount_allocations"), f"{path}.discount_allocations")
    result = {}
    for side in ("shop_money", "presentment_money"):
        price, currency = _money(r, item.get("price_set"), side, f"{path}.price_set")
        discount = sum((_money(r, a.get("amount_set"), side, f"{path}.discount_allocations[{i}].amount_set")[0]
                        for i, a in enumerate(allocations)), Decimal(0))
        result[side] = {"amount": str(price - discount / quantity), "currency_code": currency}
    return result


def _address(r: _Reader, raw: Any, path: str) -> dict[str, Any] | None:
    if not r.obj(raw, path):
        return None
    keys = ("first_name", "last_name", "name", "company", "address1", "address2", "city", "province",
            "province_code", "zip", "country", "country_code", "phone")
    return {key: raw.get(key) for key in keys}


def order_from_webhook_body(body: str | bytes | None) -> Order:
    """:func:`order_from_webhook_payload` for the body as delivered: a body that is not JSON is unreadable too."""
    try:
        payload = json.loads(body or "")
    except (ValueError, RecursionError) as exc:  # not JSON, not UTF-8, nested too deep, an int over 4,300 digits
        problem = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise UnreadableOrderPayload("(unnamed: the body is not JSON)", "(body)", f"is not JSON ({excerpt(problem)})",
                                     rule="not_json") from None
    return order_from_webhook_payload(payload)


def order_from_webhook_payload(payload: Any) -> Order:
    """Parse an ``orders/*`` webhook body (already JSON-decoded) into :class:`Order`.

    Raises :class:`UnreadableOrderPayload` naming the order and the field(s) when the body does not make one.
    """
    r = _Reader(_order_ref(payload))
    if not isinstance(payload, dict):
        r.refuse("(body)", "wrong_type", f"must be a JSON object, not {_json_type(payload)}")
    currency = r.text(r.need(payload, "currency", "currency"), "currency")
    presentment = r.text(payload.get("presentment_currency"), "presentment_currency") or currency
    gid = r.text(r.need(payload, "admin_graphql_api_id", "admin_graphql_api_id"), "admin_graphql_api_id")
    name = r.text(r.need(payload, "name", "name"), "name")
    for field, value in (("name", name), ("admin_graphql_api_id", gid)):
        if (bad := XML_ILLEGAL_CHARACTERS.search(value)) is not None:
            r.refuse(field, "xml_illegal_character", f"holds the control character U+{ord(bad.group()):04X}, which "
                     "no XML document (nor the error queue's key) can carry")
    try:
        order_id = split_gid(gid, "Order").legacy_id
    except InvalidShopifyGid:
        r.refuse("admin_graphql_api_id", "invalid_value", f"must be a Shopify order gid, gid://shopify/Order/<digits> "
                 f"(got {excerpt(gid)})")
    customer = r.obj(payload.get("customer"), "customer")
    customer_gid = r.text(r.need(customer, "admin_graphql_api_id", "customer.admin_graphql_api_id"),
                          "customer.admin_graphql_api_id") if customer else None
    tags = payload.get("tags") or ""
    if isinstance(tags, str):
        tags = [tag.strip() for tag in r.text(tags, "tags", ("long text", MAX_LONG_TEXT_CHARS)).split(",") if tag.strip()]
    total_price_set = r.need(payload, "total_price_set", "total_price_set")
    data = {
        "id": gid,
        "legacy_resource_id": order_id,
        "name": name,
        "number": payload.get("order_number") or payload.get("number"),
        "created_at": r.need(payload, "created_at", "created_at"),
        "updated_at": payload.get("updated_at") or payload["created_at"],
        "processed_at": payload.get("processed_at") or payload["created_at"],
        "cancelled_at": payload.get("cancelled_at"),
        "cancel_reason": payload.get("cancel_reason"),
        "closed": payload.get("closed_at") is not None,
        "currency_code": currency,
        "presentment_currency_code": presentment,
        "taxes_included": payload.get("taxes_included") or False,
        "tax_exempt": payload.get("tax_exempt") or False,
        "test": payload.get("test") or False,
        "display_financial_status": (r.text(payload.get("financial_status"), "financial_status") or "").upper() or None,
        "display_fulfillment_status": (r.text(payload.get("fulfillment_status"), "fulfillment_status")
                                       or "unfulfilled").upper(),
        "payment_gateway_names": payload.get("payment_gateway_names") or [],
        "email": payload.get("email") or payload.get("contact_email"),
        "phone": payload.get("phone"),
        "note": payload.get("note"),
        "tags": tags,
        "po_number": payload.get("po_number"),
        "source_name": payload.get("source_name"),
        "discount_codes": [r.need(code, "code", f"discount_codes[{i}].code")
                           for i, code in enumerate(r.objects(payload.get("discount_codes"), "discount_codes"))],
        "customer": None if not customer else {
            "id": customer_gid,
            "legacy_resource_id": _customer_legacy_id(customer_gid),
            "first_name": customer.get("first_name"),
            "last_name": customer.get("last_name"),
            "email": customer.get("email"),
            "phone": customer.get("phone"),
            "note": customer.get("note"),
            "tax_exempt": customer.get("tax_exempt") or False,
            "tax_exemptions": customer.get("tax_exemptions") or [],
            "default_address": _address(r, customer.get("default_address"), "customer.default_address"),
        },
        "billing_address": _address(r, payload.get("billing_address"), "billing_address"),
        "shipping_address": _address(r, payload.get("shipping_address"), "shipping_address"),
        "subtotal_price_set": payload.get("subtotal_price_set"),
        "total_discounts_set": payload.get("total_discounts_set"),
        "total_shipping_price_set": payload.get("total_shipping_price_set") or _zero_money_bag(currency, presentment),
        "total_tax_set": payload.get("total_tax_set"),
        "total_price_set": total_price_set,
        "current_total_price_set": payload.get("current_total_price_set") or total_price_set,
        "total_refunded_set": _zero_money_bag(currency, presentment),
        "tax_lines": _tax_lines(r, payload.get("tax_lines"), "tax_lines"),
        "discount_applications": [
            {"kind": _DISCOUNT_KINDS.get(r.text(app.get("type"), f"{path}.type") or "", "DiscountApplication"),
             "index": index,
             "allocation_method": (r.text(app.get("allocation_method"), f"{path}.allocation_method") or "").upper(),
             "target_selection": (r.text(app.get("target_selection"), f"{path}.target_selection") or "").upper(),
             "target_type": (r.text(app.get("target_type"), f"{path}.target_type") or "").upper(),
             "code": app.get("code"), "title": app.get("title"), "description": app.get("description"),
             "value_amount": app.get("value") if app.get("value_type") == "fixed_amount" else None,
             "value_percentage": app.get("value") if app.get("value_type") == "percentage" else None}
            for index, app in enumerate(r.objects(payload.get("discount_applications"), "discount_applications"))
            for path in [f"discount_applications[{index}]"]
        ],
        "shipping_lines": [
            {"id": line.get("admin_graphql_api_id") or str(line.get("id")), "title": r.need(line, "title", f"{path}.title"),
             "code": line.get("code"), "source": line.get("source"),
             "carrier_identifier": line.get("carrier_identifier"),
             "original_price_set": r.need(line, "price_set", f"{path}.price_set"),
             "discounted_price_set": line.get("discounted_price_set") or line["price_set"],
             "tax_lines": _tax_lines(r, line.get("tax_lines"), f"{path}.tax_lines"),
             "discount_allocations": _allocations(r, line.get("discount_allocations"), f"{path}.discount_allocations")}
            for index, line in enumerate(r.objects(payload.get("shipping_lines"), "shipping_lines"))
            for path in [f"shipping_lines[{index}]"]
        ],
        "transactions": [],
        "refunds": [],
        "line_items": [
            {"id": r.need(item, "admin_graphql_api_id", f"{path}.admin_graphql_api_id"), "sku": item.get("sku") or None,
             "name": r.need(item, "name", f"{path}.name"), "title": item.get("title"),
             "variant_title": item.get("variant_title"), "vendor": item.get("vendor"),
             "quantity": r.need(item, "quantity", f"{path}.quantity"),
             "current_quantity": item.get("current_quantity", item["quantity"]),
             "is_gift_card": item.get("gift_card") or False, "requires_shipping": item.get("requires_shipping") or False,
             "taxable": item.get("taxable") or False,
             "variant_id": _variant_gid(r, item, path),
             "original_unit_price_set": r.need(item, "price_set", f"{path}.price_set"),
             "discounted_unit_price_after_all_discounts_set": _discounted_unit_price(r, item, path),
             "tax_lines": _tax_lines(r, item.get("tax_lines"), f"{path}.tax_lines"),
             "discount_allocations": _allocations(r, item.get("discount_allocations"), f"{path}.discount_allocations")}
            for index, item in enumerate(r.objects(payload.get("line_items"), "line_items"))
            for path in [f"line_items[{index}]"]
        ],
    }
    _refuse_absurd_values(r, data)
    try:
        return Order.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(error) for error in exc.errors()]
        first = problems[0]
        raise UnreadableOrderPayload(r.order_ref, first.field, first.message, rule=first.rule,
                                     problems=problems) from None


# Order model field → the webhook body's name for it, where they differ (for the reason a person reads).
_PAYLOAD_NAMES = {
    "original_unit_price_set": "price_set", "original_price_set": "price_set", "allocated_amount_set": "amount_set",
    "discounted_unit_price_after_all_discounts_set": "price_set", "is_gift_card": "gift_card",
    "currency_code": "currency", "presentment_currency_code": "presentment_currency", "number": "order_number",
    "display_financial_status": "financial_status", "display_fulfillment_status": "fulfillment_status",
    "id": "admin_graphql_api_id", "legacy_resource_id": "admin_graphql_api_id",
    "current_total_price_set": "total_price_set",
}
_NAMES_ONLY_AT_THE_TOP = {"currency_code", "presentment_currency_code", "number"}


def _payload_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for depth, part in enumerate(loc):
        if isinstance(part, int):
            path += f"[{part}]"
            continue
        name = str(part)
        if name in _PAYLOAD_NAMES and (depth == 0 or name not in _NAMES_ONLY_AT_THE_TOP):
            name = _PAYLOAD_NAMES[name]
        path += f".{name}" if path else name
    return path or "(body)"


def _problem(error: Any) -> PayloadProblem:
    missing = error["type"] == "missing"
    rule = "missing_field" if missing else ("wrong_type" if error["type"].endswith("_type") else "invalid_value")
    text = error["msg"].removeprefix("Input ")
    message = "is missing" if missing else f"{text[0].lower()}{text[1:]} (got {excerpt(str(error.get('input')))})"
    return PayloadProblem(_payload_path(tuple(error["loc"])), rule, message)


def _refuse_absurd_values(r: _Reader, data: dict[str, Any]) -> None:
    """Every text within its field's length limit, every number within MAX_NUMBER_DIGITS (``field_limits``)."""
    too_long: list[tuple[str, str, int, int]] = []
    pending: list[tuple[tuple[Any, ...], Any]] = [((), data)]
    while pending:  # a loop, not recursion: a body may nest as deep as JSON allows
        path, value = pending.pop()
        if isinstance(value, dict):
            pending.extend(((*path, key), item) for key, item in reversed(value.items()))
        elif isinstance(value, list):
            pending.extend(((*path, index), item) for index, item in reversed(list(enumerate(value))))
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            names = [part for part in path if isinstance(part, str)]
            kind, limit = limit_for(names[-1] if names else "", len(names) > 1)
            if isinstance(value, float) and names and names[-1] in _MONEY_AMOUNT_FIELDS:
                r.refuse(_payload_path(path), "wrong_type", _FLOAT_AMOUNT)
            if isinstance(value, str) and len(value) > limit:
                too_long.append((_payload_path(path), kind, len(value), limit))
            elif kind == "number" and _too_many_digits(value):
                r.refuse(_payload_path(path), "number_too_large",
                         f"has more than {MAX_NUMBER_DIGITS} digits before the point")
    if too_long:
        field, kind, length, limit = too_long[0]
        problems = [PayloadProblem(path, "field_too_long", _too_long(*sizes)) for path, *sizes in too_long]
        raise OrderFieldTooLong(r.order_ref, field, kind, length, limit, problems=problems)


def _too_many_digits(value: str | int | float) -> bool:
    try:
        number = Decimal(value if isinstance(value, str) else str(value))
    except InvalidOperation:
        return False  # not a number at all: the model names it
    return number.is_finite() and bool(number) and number.adjusted() >= MAX_NUMBER_DIGITS
