"""A MAX shipment in Shopify's terms (pure): which line items, how many Shopify units, from which location, with
which tracking (docs/fulfilment.md, "Map").

- Each shipment line (``LINNUM``/``DELNUM``) goes back to its Shopify line item through the line map recorded at
  export; freight rows ship nothing in Shopify.
- Quantities go back through the UOM factor the export used (MAX quantity = Shopify quantity x factor); a quantity
  that is not a whole number of Shopify units is a problem, never rounded.
- The MAX stockroom (``STK``) names the Shopify location through ``locations.csv``.
- The ship-via names the carrier through ``carriers.csv``: Shopify's own spelling, or a tracking URL, never a
  guessed name.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from shopify_max.fulfilment.rules import FulfilmentRules
from shopify_max.shopify.models import TrackingInfo
from shopify_max.sync_store import OrderLineMapRow
from shopify_max.sync_store.states import ShipmentErrorStage, ShipmentOutcomeCode


@dataclass(frozen=True)
class ShipmentProblem:
    code: ShipmentOutcomeCode
    stage: ShipmentErrorStage
    field: str  # the shipment's field the problem is about, e.g. ``lines[1].STK``
    message: str

    def as_detail(self) -> dict[str, str]:
        return {"code": str(self.code), "field": self.field, "message": self.message}


@dataclass
class ShipmentPlan:
    shipment_id: str
    ordnum: str
    parts: dict[str, dict[str, int]] = field(default_factory=dict)  # location gid -> {line item gid: Shopify qty}
    skus: dict[str, str | None] = field(default_factory=dict)  # line item gid -> SKU, for messages
    problems: list[ShipmentProblem] = field(default_factory=list)
    tracking: TrackingInfo | None = None
    tracking_numbers: list[str] = field(default_factory=list)
    unknown_ship_via: str | None = None  # a ship-via carriers.csv does not list: numbers sent alone


def tracking_numbers(shipment: dict[str, Any]) -> list[str]:
    """Every tracking number of a shipment, in order, without repeats."""
    numbers = [str(t.get("tracking_number") or "").strip() for t in shipment.get("tracking") or []]
    if not numbers and shipment.get("tracking_number"):
        numbers = [str(shipment["tracking_number"]).strip()]
    return list(dict.fromkeys(n for n in numbers if n))


def tracking_for(shipment: dict[str, Any], rules: FulfilmentRules) -> tuple[TrackingInfo | None, str | None]:
    """The tracking Shopify gets, and the ship-via when carriers.csv does not know it (numbers go alone)."""
    numbers = tracking_numbers(shipment)
    if not numbers:
        return None, None
    ship_via = str(shipment.get("SHPVIA") or "").strip()
    carrier = rules.carriers.get(ship_via)
    if carrier is None:
        return TrackingInfo(numbers=numbers), ship_via or "(blank)"
    urls = [url for url in (carrier.url_for(n) for n in numbers) if url]
    return TrackingInfo(company=carrier.shopify_carrier, numbers=numbers, urls=urls), None


def _quantity(value: Any) -> Decimal | None:
    try:
        quantity = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return quantity if quantity.is_finite() else None


def plan_shipment(shipment: dict[str, Any], line_map: list[OrderLineMapRow], rules: FulfilmentRules) -> ShipmentPlan:
    """The shipment as Shopify fulfilment parts, or the problems that stop it (every one, each naming its field)."""
    plan = ShipmentPlan(str(shipment["shipment_id"]), str(shipment["ORDNUM"]).strip())
    rows = {(row.linnum, row.delnum): row for row in line_map}
    parts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    if not rows:
        plan.problems.append(ShipmentProblem(
            ShipmentOutcomeCode.NO_LINE_MAP, ShipmentErrorStage.MAP, "ORDNUM",
            f"MAX order {plan.ordnum} has no line map: it was exported before line maps were recorded, or by "
            "another system; fulfil it in Shopify by hand and resolve the item"))
        return plan
    for index, line in enumerate(shipment.get("lines") or []):
        where = f"lines[{index}]"
        key = (str(line.get("LINNUM", "")).strip(), str(line.get("DELNUM", "")).strip())
        row = rows.get(key)
        if row is None:
            plan.problems.append(ShipmentProblem(
                ShipmentOutcomeCode.NO_LINE_MAP, ShipmentErrorStage.MAP, f"{where}.LINNUM",
                f"MAX line {key[0]}/{key[1]} of order {plan.ordnum} is not in its line map (added in MAX after the "
                "export?); no Shopify line item to fulfil"))
            continue
        if row.line_kind != "line_item":
            continue  # freight: Shopify ships no line for it
        quantity = _quantity(line.get("quantity"))
        if quantity is None or quantity <= 0:
            plan.problems.append(ShipmentProblem(
                ShipmentOutcomeCode.NOT_WHOLE_UNITS, ShipmentErrorStage.MAP, f"{where}.quantity",
                f"MAX line {key[0]}/{key[1]} shipped {line.get('quantity')!r}: not a positive quantity"))
            continue
        units = quantity / row.uom_factor
        if units != units.to_integral_value():
            plan.problems.append(ShipmentProblem(
                ShipmentOutcomeCode.NOT_WHOLE_UNITS, ShipmentErrorStage.MAP, f"{where}.quantity",
                f"MAX line {key[0]}/{key[1]} (part {row.part_number}, SKU {row.sku}) shipped {quantity.normalize()} "
                f"{row.sales_uom or 'units'}, which is {units.normalize()} Shopify units at {row.uom_factor} per unit: "
                "not a whole number; fulfil it in Shopify by hand or correct the shipment in MAX"))
            continue
        stockroom = str(line.get("STK") or "").strip()
        location = rules.stockroom_locations.get(stockroom)
        if location is None:
            plan.problems.append(ShipmentProblem(
                ShipmentOutcomeCode.UNMAPPED_STOCKROOM, ShipmentErrorStage.MAP, f"{where}.STK",
                f"stockroom {stockroom!r} is not in locations.csv: no Shopify location ships from it; add it to "
                "the location that ships its goods, then replay"))
            continue
        parts[location][row.line_item_gid] += int(units)
        plan.skus[row.line_item_gid] = row.sku
    plan.parts = {location: dict(lines) for location, lines in parts.items()}
    plan.tracking, plan.unknown_ship_via = tracking_for(shipment, rules)
    plan.tracking_numbers = tracking_numbers(shipment)
    return plan
