"""Order payloads for tests: Shopify's own example, changed only where a case needs it."""

from __future__ import annotations

import json
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_ORDER = json.loads((PROJECT_ROOT / "include/vendor/shopify/webhooks/orders.create.json").read_text())["response"]
EXAMPLE_SKUS = [item["sku"] for item in EXAMPLE_ORDER["line_items"]]


def money(amount: str, currency: str = "USD") -> dict:
    return {"shop_money": {"amount": amount, "currency_code": currency},
            "presentment_money": {"amount": amount, "currency_code": currency}}
