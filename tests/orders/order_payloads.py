"""Order payloads for tests: Shopify's own example, changed only where a case needs it."""

from __future__ import annotations

import json
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_ORDER = json.loads((PROJECT_ROOT / "include/vendor/shopify/webhooks/orders.create.json").read_text())["response"]
EXAMPLE_SKUS = [item["sku"] for item in EXAMPLE_ORDER["line_items"]]

# Mapping files under which the example order maps: its SKUs, taxes, gateways and shipping title.
MAPPING_FILES = {
    "sku_to_part.csv": "sku,part_number,sales_uom,uom_factor\n"
                       + "".join(f"{sku},PRT-{n:05d},EA,1\n" for n, sku in enumerate(EXAMPLE_SKUS, start=1))
                       + "SKU-00010,PRT-00010,EA,1\nSKU-00010-CS12,PRT-00010,EA,12\n",
    "tax_codes.csv": "tax_title,rate,max_tax_code\nKY State Tax,0.06,KY\nCounty Tax,*,KYCNTY\nCity Tax,*,KYCITY\n"
                     "Special District,*,KYSPEC\n",
    "payment_gateways.csv": "gateway,max_terms\nvisa,CC\nbogus,CC\nshopify_payments,CC\nmanual,N3\n",
    "shipping_methods.csv": "shipping_title,max_ship_via,shopify_carrier\nGeneric Shipping,UP,UPS\nExpress,FX,FedEx\n",
    "order_rules.yaml": (PROJECT_ROOT / "include/mappings/order_rules.yaml").read_text(),
}


def write_mapping_files(directory: Path) -> Path:
    """The files above in ``directory`` (created), ready for ``load_mappings``."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in MAPPING_FILES.items():
        (directory / name).write_text(text)
    return directory


def money(amount: str, currency: str = "USD") -> dict:
    return {"shop_money": {"amount": amount, "currency_code": currency},
            "presentment_money": {"amount": amount, "currency_code": currency}}


class ListSource:
    """The capture step's order source, fed from a list (the orders a poll would return)."""

    def __init__(self, *orders):
        self.orders = list(orders)

    def iter_orders_updated(self, updated_at_min, updated_at_max=None):
        return iter(self.orders)
