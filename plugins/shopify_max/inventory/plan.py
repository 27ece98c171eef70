"""Which quantities to push, and in which batches (SHOPIFY.md §5).

- **Delta**: only pairs whose target differs from the shadow (the last quantity pushed), with
  ``changeFromQuantity`` = that last known quantity, so a stale run cannot overwrite a newer one.
- **Full reconcile**: compare with Shopify's current levels (read in bulk) instead, so drift made by hand
  in Shopify is corrected too; ``changeFromQuantity`` = the level just read.
- Batches hold at most 250 quantities (Shopify's input-array limit), in a stable order, so the same
  content always forms the same batches and so the same content-derived ``@idempotent`` keys.
"""

from __future__ import annotations

from collections.abc import Mapping

from shopify_max.shopify.limits import MAX_INPUT_ARRAY_ITEMS
from shopify_max.shopify.models import InventoryQuantity

MAX_BATCH = MAX_INPUT_ARRAY_ITEMS  # one batch is one mutation's quantities array

Key = tuple[str, str]  # (inventory item gid, location gid)


def plan_quantities(targets: Mapping[Key, int], known: Mapping[Key, int]) -> list[InventoryQuantity]:
    """Quantities that differ from ``known`` (the shadow for a delta, Shopify's levels for a full reconcile).

    A pair missing from ``known`` is pushed with ``change_from_quantity`` None only if nothing is known of
    it at all; the caller reads its level first where Shopify requires a compare value.
    """
    planned = []
    for key in sorted(targets):
        target = max(int(targets[key]), 0)  # ERP owns stock, and Shopify never gets a negative from us
        current = known.get(key)
        if current is not None and current == target:
            continue
        planned.append(InventoryQuantity(inventory_item_id=key[0], location_id=key[1], quantity=target,
                                         change_from_quantity=current))
    return planned


def batches(quantities: list[InventoryQuantity], size: int = MAX_BATCH) -> list[list[InventoryQuantity]]:
    if not 1 <= size <= MAX_BATCH:
        raise ValueError(f"batch size must be 1..{MAX_BATCH}, got {size}")
    return [quantities[start:start + size] for start in range(0, len(quantities), size)]
