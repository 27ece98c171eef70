"""Which version of an order is the newest, and what an order's export carries (its digests).

Versions only move forward (docs/orders.md): an older version of an order never replaces a newer one.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from shopify_max.shopify.models import Order
from shopify_max.sync_store import StagedOrder


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def material_of(order: Order) -> dict[str, object]:
    """What an export carries, by part: lines, quantities, prices, discounts, shipping, taxes, addresses, customer
    and total; not tags or statuses."""
    return {
        "lines": [(i.sku, i.quantity, str(i.original_unit_price_set.shop_money.amount),
                   [str(a.allocated_amount_set.shop_money.amount) for a in i.discount_allocations],
                   [(t.title, str(t.price_set.shop_money.amount)) for t in i.tax_lines]) for i in order.line_items],
        "shipping": [(s.title, str(s.discounted_price_set.shop_money.amount)) for s in order.shipping_lines],
        "total": str(order.total_price_set.shop_money.amount),
        "ship_to": order.shipping_address.model_dump() if order.shipping_address else None,
        "bill_to": order.billing_address.model_dump() if order.billing_address else None,
        "customer": order.customer.id if order.customer else None,
    }


def order_digests(order: Order) -> tuple[str, str]:
    """(payload digest, material digest). The material digest covers :func:`material_of`."""
    payload = _sha256(order.model_dump_json())
    return payload, _sha256(json.dumps(material_of(order), sort_keys=True, default=str))


def material_changes(before: Order, after: Order) -> list[str]:
    """The parts of :func:`material_of` that differ between two versions of an order (``lines``, ``total``…)."""
    old, new = (json.loads(json.dumps(material_of(o), sort_keys=True, default=str)) for o in (before, after))
    return [part for part in new if old.get(part) != new[part]]


VersionKey = tuple[datetime, bool]


def version_key(order: Order) -> VersionKey:
    """Which of two versions of one order is newer: ``updated_at``, and on a tie the cancelled one wins
    (a cancellation is never undone by a delivery carrying the same timestamp)."""
    return order.updated_at, order.cancelled_at is not None


def _stored_version_key(updated_at: datetime | None, order_json: str | None) -> VersionKey | None:
    if updated_at is None:
        return None
    cancelled = False
    if order_json:
        try:
            cancelled = json.loads(order_json).get("cancelled_at") is not None
        except ValueError:
            cancelled = False
    return updated_at, cancelled


def newest_held_version(staged: StagedOrder) -> VersionKey | None:
    keys = [key for key in (_stored_version_key(staged.shopify_updated_at, staged.order_json),
                            _stored_version_key(staged.deferred_updated_at, staged.deferred_json)) if key]
    return max(keys) if keys else None


