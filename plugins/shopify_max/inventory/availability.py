"""Available quantity per Shopify SKU × location, from MAX stock per part × stockroom.

Per location: add up the stockrooms mapped to it, in MAX stocking units, by the configured formula
(on hand − open customer-order demand, or the gateway's available figure); convert to the variant's
unit, rounding down (a case of 12 shows whole cases); take off safety stock; never below 0.
Nothing is guessed: SKUs without a part and locations without stockrooms are reported, not filled in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from shopify_max.exactmax.models import StockLevel
from shopify_max.inventory.rules import InventoryRules
from shopify_max.mappings.loader import PartMapping


@dataclass
class AvailabilityReport:
    quantities: dict[tuple[str, str], int] = field(default_factory=dict)  # (sku, location gid) -> units
    unmapped_locations: list[str] = field(default_factory=list)  # Shopify locations with no MAX stockroom
    parts_without_stock: list[str] = field(default_factory=list)  # mapped parts MAX reports no stock rows for


def compute_available(stock: Iterable[StockLevel], parts_by_sku: dict[str, PartMapping],
                      rules: InventoryRules) -> AvailabilityReport:
    report = AvailabilityReport()
    by_part_stockroom: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for level in stock:
        figure = level.available if rules.formula == "gateway_available" else level.on_hand - level.open_demand
        by_part_stockroom[(level.PRTNUM, level.STK)] += figure
    parts_seen = {part for part, _stk in by_part_stockroom}
    for location in rules.locations:
        if not location.stockrooms:
            report.unmapped_locations.append(location.location_gid)
            continue
        for sku, mapping in sorted(parts_by_sku.items()):
            if mapping.part_number not in parts_seen:
                continue
            stock_units = sum((by_part_stockroom.get((mapping.part_number, stk), Decimal(0))
                               for stk in location.stockrooms), Decimal(0))
            variant_units = int((max(stock_units, Decimal(0)) / mapping.uom_factor).to_integral_value(ROUND_FLOOR))
            reserve = rules.safety_for(sku, location.location_gid).reserve(variant_units)
            report.quantities[(sku, location.location_gid)] = max(variant_units - reserve, 0)
    report.parts_without_stock = sorted({m.part_number for m in parts_by_sku.values()} - parts_seen)
    return report
