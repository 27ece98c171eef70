"""Inventory dry run: the comparison a full reconcile makes, with nothing pushed and nothing stored.

MAX stock → available per SKU × location (formula, units, safety stock: :mod:`.availability`) against what
Shopify holds now (one bulk read: :mod:`.shopify_side`), matched and planned by the functions a real run uses
(:func:`.push.match_targets`, :func:`.plan.plan_quantities`). The report gives:

- ``would_write["inventory_levels"]``: the quantities a full reconcile on the same data sets;
- ``would_fail``: every problem the run would put on the error queue, one per record and kind, as it does;
- ``tables["inventory_changes"]``: each level that would change, largest swing first;
- ``tables["unmapped"]``: SKUs, Shopify locations and MAX stockrooms no mapping connects.

MAX stock is read in every stockroom (a real run reads only the mapped ones), so that stock no Shopify location
shows is listed; only the mapped stockrooms' rows reach the comparison.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from shopify_max.dry_run import DryRunReport
from shopify_max.exactmax.models import StockLevel
from shopify_max.inventory.availability import compute_available
from shopify_max.inventory.plan import plan_quantities
from shopify_max.inventory.problems import Problems
from shopify_max.inventory.push import match_targets
from shopify_max.inventory.rules import InventoryRules
from shopify_max.inventory.shopify_side import (
    _location_problems,
    item_rows,
    managed_locations,
    read_all_levels,
    sku_problems,
)
from shopify_max.inventory.targets import mapped_stockrooms, parts_without_stock, targets_from
from shopify_max.mappings.loader import PartMapping
from shopify_max.shopify.api import ShopifyAdminApi
from shopify_max.sync_store.states import InventoryErrorStage

FLOW = "inventory"
WOULD_WRITE = "inventory_levels"  # one quantity set by inventorySetQuantities


@dataclass
class StockElsewhere:
    """MAX stock read in every stockroom: the mapped stockrooms' rows go on to the comparison, the others are only
    summed up (parts and units per stockroom), so the report can list stock no Shopify location shows."""

    mapped: set[str]
    rows: int = 0
    mapped_rows: int = 0
    parts: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    on_hand: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    def mapped_only(self, stock: Iterable[StockLevel]) -> Iterator[StockLevel]:
        for row in stock:
            self.rows += 1
            if row.STK in self.mapped:
                self.mapped_rows += 1
                yield row
            else:
                self.parts[row.STK].add(row.PRTNUM)
                self.on_hand[row.STK] += row.on_hand


def dry_run_inventory(stock: Iterable[StockLevel], parts_by_sku: dict[str, PartMapping], rules: InventoryRules,
                      api: ShopifyAdminApi) -> DryRunReport:
    """The full comparison, read from MAX (``stock``: every stockroom) and Shopify (``api``); nothing written."""
    report = DryRunReport(FLOW)
    elsewhere = StockElsewhere(set(mapped_stockrooms(rules)))
    availability = compute_available(elsewhere.mapped_only(stock), parts_by_sku, rules)
    targets = targets_from(availability, parts_by_sku)

    shopify_locations = api.list_locations()
    names = {location.location_gid: location.name for location in rules.locations}
    names.update({location.id: location.name for location in shopify_locations})
    managed = managed_locations(rules, shopify_locations)
    shopify = read_all_levels(api, parts_by_sku, set(managed))
    items = item_rows(shopify.items_by_sku)
    matched = match_targets(targets, items, shopify.managed)
    planned = plan_quantities(matched.wanted, {key: shopify.managed[key] for key in matched.wanted})

    report.read = {
        "max_stock_rows": elsewhere.rows, "max_stock_rows_in_mapped_stockrooms": elsewhere.mapped_rows,
        "shopify_locations": len(shopify_locations), "shopify_managed_locations": len(managed),
        "shopify_levels": shopify.levels_read, "shopify_skus": shopify.skus_in_shopify, "targets": len(targets),
        "compared": len(matched.wanted), "unchanged": len(matched.wanted) - len(planned)}
    report.add_write(WOULD_WRITE, len(planned))
    report.tables["inventory_changes"] = sorted((
        {"sku": matched.names[(q.inventory_item_id, q.location_id)][0], "location": names.get(q.location_id, ""),
         "location_id": q.location_id, "shopify_quantity": q.change_from_quantity, "target": q.quantity,
         "delta": q.quantity - int(q.change_from_quantity or 0)} for q in planned),
        key=lambda row: (-abs(row["delta"]), row["sku"], row["location_id"]))

    locations = _location_problems(rules, shopify_locations)
    without_stockrooms = {location.location_gid for location in rules.locations if not location.stockrooms}
    skus = sku_problems(items, parts_by_sku)
    for problems in (locations, *skus.values(), parts_without_stock(availability, parts_by_sku, rules),
                     matched.not_stocked):
        _would_fail(report, problems, names, without_stockrooms)
    report.tables["unmapped"] = _unmapped(locations, skus[InventoryErrorStage.UNMAPPED_SKU], elsewhere)
    report.notes.append("Compared with Shopify's current levels, as a full reconcile does; a delta run compares "
                        "with the shadow (the last levels pushed).")
    if not managed:
        report.notes.append("No Shopify location is both active and fed by a MAX stockroom: nothing to compare.")
    return report


FIELDS = {  # the mapping file and column, or the Shopify or MAX field, at fault for each kind of problem
    InventoryErrorStage.UNMAPPED_SKU: "sku_to_part.csv:sku",
    InventoryErrorStage.SKU_NOT_IN_SHOPIFY: "variant.sku",
    InventoryErrorStage.DUPLICATE_SKU: "variant.sku",
    InventoryErrorStage.PART_WITHOUT_STOCK: "Part_Stock.PRTNUM",
    InventoryErrorStage.NOT_STOCKED: "inventoryLevel.location",
}


def _would_fail(report: DryRunReport, problems: Problems, names: dict[str, str], without_stockrooms: set[str]) -> None:
    """Each problem as the go-live report lists it: a record a person finds, and the field to fix."""
    stage = problems.stage
    for record_key, (message, detail) in sorted(problems.found.items()):
        field = FIELDS.get(stage, str(stage))
        if stage == InventoryErrorStage.NOT_STOCKED:
            record = f"{detail['sku']} @ {names.get(detail['location'], detail['location'])}"
        elif stage == InventoryErrorStage.UNMAPPED_LOCATION:
            record = f"{names.get(record_key, detail.get('name', ''))} ({record_key})"
            field = ("locations.csv:max_stockrooms" if record_key in without_stockrooms
                     else "locations.csv:shopify_location_id")
        elif stage == InventoryErrorStage.PART_WITHOUT_STOCK:
            record = f"part {record_key} (SKU {', '.join(detail['skus'])})"
        else:
            record = record_key
        report.fail(record, field, str(stage), message)


def _unmapped(locations: Problems, unmapped_skus: Problems, elsewhere: StockElsewhere) -> list[dict[str, Any]]:
    """What no mapping connects: Shopify SKUs without a MAX part, locations without stockrooms (either way),
    and MAX stockrooms holding stock that no Shopify location shows."""
    table = [{"kind": "sku", "value": sku, "detail": message} for sku, (message, _d) in sorted(unmapped_skus.found.items())]
    table += [{"kind": "location", "value": f"{detail.get('name', '')} ({gid})", "detail": message}
              for gid, (message, detail) in sorted(locations.found.items())]
    table += [{"kind": "stockroom", "value": stockroom,
               "detail": f"{len(parts)} part(s), {elsewhere.on_hand[stockroom].normalize()} on hand in stocking units: "
                         "no location in locations.csv shows this stock"}
              for stockroom, parts in sorted(elsewhere.parts.items())]
    return table
