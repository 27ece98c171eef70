"""A webhook's REST-shaped order payload → the same :class:`Order` model the GraphQL poll returns.

Webhooks carry the REST resource (SHOPIFY.md §7): snake_case, numeric ids (rounded in Shopify's own
examples: trust ``admin_graphql_api_id``), tags as one comma-separated string, ``price_set`` where GraphQL
says ``originalUnitPriceSet``. One model downstream means one mapping for both capture paths.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shopify_max.shopify.models import Order

_DISCOUNT_KINDS = {
    "discount_code": "DiscountCodeApplication",
    "automatic": "AutomaticDiscountApplication",
    "manual": "ManualDiscountApplication",
    "script": "ScriptDiscountApplication",
}


def _legacy_id(gid: str | None) -> str | None:
    return gid.rsplit("/", 1)[-1] if gid else None


def _zero_money_bag(currency: str, presentment: str) -> dict[str, Any]:
    return {"shop_money": {"amount": "0.00", "currency_code": currency},
            "presentment_money": {"amount": "0.00", "currency_code": presentment}}


def _tax_lines(raw: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [{"title": t["title"], "rate": t.get("rate"), "channel_liable": t.get("channel_liable"),
             "price_set": t["price_set"]} for t in raw or []]


def _allocations(raw: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [{"allocated_amount_set": a["amount_set"], "discount_application_index": a["discount_application_index"]}
            for a in raw or []]


def _discounted_unit_price(item: dict[str, Any]) -> dict[str, Any]:
    """REST has no per-unit price after discounts: derive it from price and the line's allocations."""
    quantity = item.get("quantity") or 1
    result = {}
    for side in ("shop_money", "presentment_money"):
        price = Decimal(item["price_set"][side]["amount"])
        discount = sum((Decimal(a["amount_set"][side]["amount"]) for a in item.get("discount_allocations") or []),
                       Decimal(0))
        result[side] = {"amount": str(price - discount / quantity),
                        "currency_code": item["price_set"][side]["currency_code"]}
    return result


def _address(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    if not raw:
        return None
    keys = ("first_name", "last_name", "name", "company", "address1", "address2", "city", "province",
            "province_code", "zip", "country", "country_code", "phone")
    return {key: raw.get(key) for key in keys}


def order_from_webhook_payload(payload: dict[str, Any]) -> Order:
    """Parse an ``orders/*`` webhook body (already JSON-decoded) into :class:`Order`."""
    currency = payload["currency"]
    presentment = payload.get("presentment_currency") or currency
    gid = payload["admin_graphql_api_id"]
    customer = payload.get("customer")
    tags = payload.get("tags") or ""
    return Order.model_validate({
        "id": gid,
        "legacy_resource_id": _legacy_id(gid),
        "name": payload["name"],
        "number": payload.get("order_number") or payload.get("number"),
        "created_at": payload["created_at"],
        "updated_at": payload.get("updated_at") or payload["created_at"],
        "processed_at": payload.get("processed_at") or payload["created_at"],
        "cancelled_at": payload.get("cancelled_at"),
        "cancel_reason": payload.get("cancel_reason"),
        "closed": payload.get("closed_at") is not None,
        "currency_code": currency,
        "presentment_currency_code": presentment,
        "taxes_included": bool(payload.get("taxes_included")),
        "tax_exempt": bool(payload.get("tax_exempt")),
        "test": bool(payload.get("test")),
        "display_financial_status": (payload.get("financial_status") or "").upper() or None,
        "display_fulfillment_status": (payload.get("fulfillment_status") or "unfulfilled").upper(),
        "payment_gateway_names": payload.get("payment_gateway_names") or [],
        "email": payload.get("email") or payload.get("contact_email"),
        "phone": payload.get("phone"),
        "note": payload.get("note"),
        "tags": [tag.strip() for tag in tags.split(",") if tag.strip()] if isinstance(tags, str) else tags,
        "po_number": payload.get("po_number"),
        "source_name": payload.get("source_name"),
        "discount_codes": [code["code"] for code in payload.get("discount_codes") or []],
        "customer": None if not customer else {
            "id": customer["admin_graphql_api_id"],
            "legacy_resource_id": _legacy_id(customer["admin_graphql_api_id"]),
            "first_name": customer.get("first_name"),
            "last_name": customer.get("last_name"),
            "email": customer.get("email"),
            "phone": customer.get("phone"),
            "note": customer.get("note"),
            "tax_exempt": bool(customer.get("tax_exempt")),
            "tax_exemptions": customer.get("tax_exemptions") or [],
            "default_address": _address(customer.get("default_address")),
        },
        "billing_address": _address(payload.get("billing_address")),
        "shipping_address": _address(payload.get("shipping_address")),
        "subtotal_price_set": payload.get("subtotal_price_set"),
        "total_discounts_set": payload.get("total_discounts_set"),
        "total_shipping_price_set": payload.get("total_shipping_price_set") or _zero_money_bag(currency, presentment),
        "total_tax_set": payload.get("total_tax_set"),
        "total_price_set": payload["total_price_set"],
        "current_total_price_set": payload.get("current_total_price_set") or payload["total_price_set"],
        "total_refunded_set": _zero_money_bag(currency, presentment),
        "tax_lines": _tax_lines(payload.get("tax_lines")),
        "discount_applications": [
            {"kind": _DISCOUNT_KINDS.get(app.get("type", ""), "DiscountApplication"), "index": index,
             "allocation_method": (app.get("allocation_method") or "").upper(),
             "target_selection": (app.get("target_selection") or "").upper(),
             "target_type": (app.get("target_type") or "").upper(),
             "code": app.get("code"), "title": app.get("title"), "description": app.get("description"),
             "value_amount": app.get("value") if app.get("value_type") == "fixed_amount" else None,
             "value_percentage": app.get("value") if app.get("value_type") == "percentage" else None}
            for index, app in enumerate(payload.get("discount_applications") or [])
        ],
        "shipping_lines": [
            {"id": line.get("admin_graphql_api_id") or str(line.get("id")), "title": line["title"],
             "code": line.get("code"), "source": line.get("source"),
             "carrier_identifier": line.get("carrier_identifier"), "original_price_set": line["price_set"],
             "discounted_price_set": line.get("discounted_price_set") or line["price_set"],
             "tax_lines": _tax_lines(line.get("tax_lines")),
             "discount_allocations": _allocations(line.get("discount_allocations"))}
            for line in payload.get("shipping_lines") or []
        ],
        "transactions": [],
        "refunds": [],
        "line_items": [
            {"id": item["admin_graphql_api_id"], "sku": item.get("sku") or None, "name": item["name"],
             "title": item.get("title"), "variant_title": item.get("variant_title"), "vendor": item.get("vendor"),
             "quantity": item["quantity"],
             "current_quantity": item.get("current_quantity", item["quantity"]),
             "is_gift_card": bool(item.get("gift_card")), "requires_shipping": bool(item.get("requires_shipping")),
             "taxable": bool(item.get("taxable")),
             "variant_id": f"gid://shopify/ProductVariant/{item['variant_id']}" if item.get("variant_id") else None,
             "original_unit_price_set": item["price_set"],
             "discounted_unit_price_after_all_discounts_set": _discounted_unit_price(item),
             "tax_lines": _tax_lines(item.get("tax_lines")),
             "discount_allocations": _allocations(item.get("discount_allocations"))}
            for item in payload.get("line_items") or []
        ],
    })
