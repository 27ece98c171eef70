"""Order fixtures start from Shopify's own example payload and change only what each case needs."""

from __future__ import annotations

import copy

import pytest
from order_payloads import EXAMPLE_ORDER, EXAMPLE_SKUS, PROJECT_ROOT

from shopify_max.mappings import load_mappings

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


@pytest.fixture
def mapping_dir(tmp_path):
    directory = tmp_path / "mappings"
    directory.mkdir()
    for name, text in MAPPING_FILES.items():
        (directory / name).write_text(text)
    return directory


@pytest.fixture
def mappings(mapping_dir):
    return load_mappings(mapping_dir)


@pytest.fixture
def example_payload():
    """Shopify's example orders/create payload, made live: the example is a cancelled test order."""
    payload = copy.deepcopy(EXAMPLE_ORDER)
    payload["cancelled_at"] = None
    payload["cancel_reason"] = None
    payload["test"] = False
    return payload
