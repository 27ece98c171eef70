"""Shopify's side of an inventory run: which item carries each SKU, and what Shopify holds now.

- **Full reconcile:** one bulk operation reads every inventory level of the shop (not page by page). It
  rebuilds the SKU → item table and the shadow, so the push that follows compares with Shopify's actual
  levels and corrects every drift, including changes made by hand in Shopify.
- **Delta:** the SKU → item table and the shadow are trusted. Only mapped SKUs not (yet) found in Shopify are
  looked up, and only the levels of items found just now are read (25 items per query). An item stocked at
  a location by hand after the nightly reconcile is picked up by the next one.
Either way, every mapped SKU is checked against the table: duplicated, missing and unmapped SKUs, and
Shopify locations without MAX stockrooms, are reported and never guessed.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from shopify_max.inventory.problems import Problems
from shopify_max.inventory.rules import InventoryRules
from shopify_max.mappings.loader import PartMapping
from shopify_max.shopify.api import ShopifyAdminApi
from shopify_max.shopify.models import Location
from shopify_max.sync_store import InventoryItemRow, SyncStore
from shopify_max.sync_store.states import InventoryErrorStage

log = logging.getLogger(__name__)


def managed_locations(rules: InventoryRules, shopify_locations: list[Location]) -> list[str]:
    """Shopify locations whose quantities this flow sets: active in Shopify and fed by a MAX stockroom."""
    active = {location.id for location in shopify_locations if location.is_active}
    return [location.location_gid for location in rules.locations if location.stockrooms and location.location_gid in active]


def _location_problems(rules: InventoryRules, shopify_locations: list[Location]) -> Problems:
    problems = Problems(InventoryErrorStage.UNMAPPED_LOCATION)
    configured = {location.location_gid: location for location in rules.locations}
    for location in shopify_locations:
        if not location.is_active:
            continue
        mapping = configured.get(location.id)
        if mapping is None:
            problems.add(location.id, f"Shopify location {location.name!r} ({location.id}) is not in "
                                      "locations.csv: its quantities are not managed from MAX", name=location.name)
        elif not mapping.stockrooms:
            problems.add(location.id, f"Shopify location {location.name!r} ({location.id}) has no MAX stockroom "
                                      "in locations.csv (max_stockrooms is empty): its quantities are left as they "
                                      "are", name=location.name)
    known = {location.id for location in shopify_locations}
    for gid, mapping in configured.items():
        if gid not in known:
            problems.add(gid, f"locations.csv names location {mapping.name!r} ({gid}), which Shopify does not "
                              f"have: the stock of {', '.join(mapping.stockrooms) or 'no stockroom'} is not shown "
                              "anywhere", name=mapping.name)
    return problems


def item_rows(items_by_sku: dict[str, list[str]]) -> dict[str, InventoryItemRow]:
    """Shopify's items by SKU as ``SyncStore.record_inventory_items`` keeps them: the item only when it is the one."""
    return {sku: InventoryItemRow(sku, gids[0] if len(gids) == 1 else None, len(gids), tuple(sorted(gids)))
            for sku, gids in items_by_sku.items()}


def sku_problems(items: dict[str, InventoryItemRow], parts_by_sku: dict[str, PartMapping]) -> dict[str, Problems]:
    """SKUs Shopify carries without a MAX part, mapped SKUs no variant (or several) carries."""
    missing = Problems(InventoryErrorStage.SKU_NOT_IN_SHOPIFY)
    duplicates = Problems(InventoryErrorStage.DUPLICATE_SKU)
    unmapped = Problems(InventoryErrorStage.UNMAPPED_SKU)
    for sku, row in items.items():
        mapping = parts_by_sku.get(sku)
        if mapping is None:
            if row.match_count:
                unmapped.add(sku, f"SKU {sku!r} is in Shopify (inventory item {', '.join(row.item_gids)}) but has no "
                                  "MAX part in sku_to_part.csv: its quantity is not managed from MAX",
                             inventory_items=list(row.item_gids))
        elif row.match_count == 0:
            missing.add(sku, f"SKU {sku!r} (MAX part {mapping.part_number}) is in sku_to_part.csv but no Shopify "
                             "variant carries it: nothing to set", part_number=mapping.part_number)
        elif row.match_count > 1:
            duplicates.add(sku, f"SKU {sku!r} (MAX part {mapping.part_number}) is carried by {row.match_count} "
                                f"Shopify inventory items ({', '.join(row.item_gids)}): which one shows MAX stock "
                                "is not guessed; give each variant its own SKU",
                           part_number=mapping.part_number, inventory_items=list(row.item_gids))
    return {problems.stage: problems for problems in (missing, duplicates, unmapped)}


def read_shopify_inventory(store: SyncStore, api: ShopifyAdminApi, parts_by_sku: dict[str, PartMapping],
                           rules: InventoryRules, *, mode: str, run_id: str) -> dict[str, Any]:
    shopify_locations = api.list_locations()
    locations = managed_locations(rules, shopify_locations)
    summary: dict[str, Any] = {"mode": mode, "managed_locations": locations}
    if mode == "full":
        summary.update(_read_everything(store, api, parts_by_sku, set(locations), run_id=run_id))
    else:
        summary.update(_read_what_the_shadow_lacks(store, api, parts_by_sku, locations, run_id=run_id))
    summary["unmapped_locations"] = _location_problems(rules, shopify_locations).record(store)
    for stage, problems in sku_problems(store.inventory_items(), parts_by_sku).items():
        summary[stage] = problems.record(store)
    log.info("shopify side (%s): %s", mode, {k: v for k, v in summary.items() if not isinstance(v, dict)})
    return summary


@dataclass
class ShopifyLevels:
    """One full read of Shopify's inventory: which items carry each SKU, and the levels this flow manages."""

    items_by_sku: dict[str, list[str]]  # every SKU read, and every mapped SKU ([] when no variant carries it)
    managed: dict[tuple[str, str], int]  # (item, location) -> available: uniquely carried mapped SKUs, managed locations
    levels_read: int
    skus_in_shopify: int
    bulk_operation_seconds: float
    stream_seconds: float


def read_all_levels(api: ShopifyAdminApi, parts_by_sku: dict[str, PartMapping], locations: set[str]) -> ShopifyLevels:
    """Every inventory level of the shop, by one bulk operation (a read: allowed in a dry run too)."""
    items_by_sku: dict[str, set[str]] = defaultdict(set)
    sku_of_item: dict[str, str] = {}
    levels: dict[tuple[str, str], int] = {}
    levels_read = 0
    started = time.perf_counter()
    first_row_at = None
    for level in api.bulk_inventory_levels():
        if first_row_at is None:
            first_row_at = time.perf_counter()  # until here: Shopify running the bulk operation
        levels_read += 1
        if level.sku:
            items_by_sku[level.sku].add(level.inventory_item_id)
            sku_of_item[level.inventory_item_id] = level.sku
        if level.location_id in locations and level.available is not None:
            levels[(level.inventory_item_id, level.location_id)] = level.available
    found = {sku: sorted(gids) for sku, gids in items_by_sku.items()}
    for sku in parts_by_sku:
        found.setdefault(sku, [])
    managed = {key: quantity for key, quantity in levels.items()
               if len(found.get(sku_of_item.get(key[0], ""), ())) == 1 and sku_of_item[key[0]] in parts_by_sku}
    finished = time.perf_counter()
    first_row_at = first_row_at or finished
    return ShopifyLevels(found, managed, levels_read, len(items_by_sku), round(first_row_at - started, 3),
                         round(finished - first_row_at, 3))


def _read_everything(store: SyncStore, api: ShopifyAdminApi, parts_by_sku: dict[str, PartMapping],
                     locations: set[str], *, run_id: str) -> dict[str, Any]:
    started = time.perf_counter()
    read = read_all_levels(api, parts_by_sku, locations)
    store.record_inventory_items(read.items_by_sku, run_id=run_id, replace=True)
    store.replace_shadow(read.managed, run_id=run_id)
    stored = time.perf_counter() - started - read.bulk_operation_seconds
    return {"read_by": "bulk_operation", "levels_read": read.levels_read, "skus_in_shopify": read.skus_in_shopify,
            "shadow_rebuilt_with": len(read.managed), "bulk_operation_seconds": read.bulk_operation_seconds,
            "stream_and_store_seconds": round(stored, 3)}


def _read_what_the_shadow_lacks(store: SyncStore, api: ShopifyAdminApi, parts_by_sku: dict[str, PartMapping],
                                locations: list[str], *, run_id: str) -> dict[str, Any]:
    known = store.inventory_items()
    to_look_up = [sku for sku in sorted(parts_by_sku) if sku not in known or known[sku].match_count == 0]
    new_items: list[str] = []
    if to_look_up:
        lookup = api.find_variants_by_sku(to_look_up)
        store.record_inventory_items({sku: sorted(ref.inventory_item_id for ref in refs)
                                      for sku, refs in lookup.matches.items()}, run_id=run_id)
        new_items = sorted(refs[0].inventory_item_id for refs in lookup.matches.values() if len(refs) == 1)
    # Only items found just now need their levels read: for the others the last full read (or the lookup that
    # found them) already told the shadow where they are stocked; where they are not, the next full
    # reconcile looks again.
    read: dict[tuple[str, str], int] = {}
    if new_items:
        shadow = store.shadow_quantities()
        for level in api.inventory_levels(new_items, locations):
            if level.available is not None and (level.inventory_item_id, level.location_id) not in shadow:
                read[(level.inventory_item_id, level.location_id)] = level.available
        store.upsert_shadow(read, run_id=run_id)
    return {"read_by": "lookup", "skus_looked_up": len(to_look_up), "items_found": len(new_items),
            "levels_added_to_shadow": len(read)}
