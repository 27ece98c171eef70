"""Inventory: Exact MAX stock → Shopify available quantities per SKU × location (DESIGN.md: ERP owns stock).

One run, in the order the ``inventory_to_shopify`` DAG runs it:
- :mod:`.mode`: delta or full reconcile;
- :mod:`.targets`: what Shopify should show, from MAX stock and the rules in ``include/mappings/``
  (:mod:`.availability`, :mod:`.rules`);
- :mod:`.shopify_side`: which inventory item carries each SKU, and what Shopify holds now (the shadow);
- :mod:`.push`: only what differs, compare-and-set, in batches of ≤ 250, paced to the cost budget (:mod:`.plan`).
Problems go to the error queue through :mod:`.problems`; nothing is guessed.
"""

ENTITY = "inventory"  # error-queue and audit-log entity of this flow


def level_key(sku: str, location_gid: str) -> str:
    """How one SKU × location is named in the error queue and logs."""
    return f"{sku} @ {location_gid}"
