"""What Shopify should show per SKU × location, computed from MAX stock and stored for this run's push.

The targets are kept in the sync store (``inventory_target``), not in XCom: a full catalogue is 100,000
rows, and a retried push task must push exactly what its run computed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from shopify_max.exactmax.models import StockLevel
from shopify_max.inventory.availability import AvailabilityReport, compute_available
from shopify_max.inventory.problems import Problems
from shopify_max.inventory.rules import InventoryRules
from shopify_max.mappings.loader import PartMapping
from shopify_max.sync_store import InventoryTarget, SyncStore
from shopify_max.sync_store.states import InventoryErrorStage

log = logging.getLogger(__name__)


def mapped_stockrooms(rules: InventoryRules) -> list[str]:
    return sorted({stk for location in rules.locations for stk in location.stockrooms})


def targets_from(report: AvailabilityReport, parts_by_sku: dict[str, PartMapping]) -> list[InventoryTarget]:
    """The computed quantities as targets, in a stable order (SKU, location)."""
    return [InventoryTarget(sku, location, parts_by_sku[sku].part_number, quantity)
            for (sku, location), quantity in sorted(report.quantities.items())]


def parts_without_stock(report: AvailabilityReport, parts_by_sku: dict[str, PartMapping],
                        rules: InventoryRules) -> Problems:
    """Mapped parts MAX holds no stock rows for, in the mapped stockrooms: reported, their quantity left alone."""
    skus_by_part: dict[str, list[str]] = defaultdict(list)
    for mapping in parts_by_sku.values():
        skus_by_part[mapping.part_number].append(mapping.sku)
    stockrooms = ", ".join(mapped_stockrooms(rules))
    without_stock = Problems(InventoryErrorStage.PART_WITHOUT_STOCK)
    for part in report.parts_without_stock:
        skus = sorted(skus_by_part[part])
        without_stock.add(part, f"part {part} (SKU {', '.join(skus)}) has no Part_Stock row in the mapped MAX "
                                f"stockrooms ({stockrooms}); its Shopify quantity is left as it is, not guessed",
                          part_number=part, skus=skus)
    return without_stock


def compute_targets(store: SyncStore, stock: Iterable[StockLevel], parts_by_sku: dict[str, PartMapping],
                    rules: InventoryRules, *, run_id: str) -> dict[str, Any]:
    """Compute and store this run's targets; queue mapped parts MAX holds no stock rows for."""
    stock_rows = 0

    def counted(levels: Iterable[StockLevel]) -> Iterable[StockLevel]:
        nonlocal stock_rows
        for stock_level in levels:
            stock_rows += 1
            yield stock_level

    report = compute_available(counted(stock), parts_by_sku, rules)
    targets = targets_from(report, parts_by_sku)
    store.replace_inventory_targets(targets, run_id=run_id)
    without_stock = parts_without_stock(report, parts_by_sku, rules)
    summary = {
        "stock_rows_read": stock_rows,
        "targets": len(targets),
        "skus": len({t.sku for t in targets}),
        "locations_with_stockrooms": sum(1 for location in rules.locations if location.stockrooms),
        "zero_after_safety_stock": sum(1 for t in targets if t.quantity == 0),
        "parts_without_stock": without_stock.record(store),
    }
    log.info("computed %d target quantities for %d SKUs from %d MAX stock rows; %d mapped parts have no stock "
             "rows", summary["targets"], summary["skus"], stock_rows, len(report.parts_without_stock))
    return summary
