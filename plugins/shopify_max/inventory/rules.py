"""Inventory mapping files in ``include/mappings/``, checked at load time (errors name file and line).

- ``locations.csv``: shopify_location_id, location_name, max_stockrooms (``;``-separated STK codes)
- ``safety_stock.csv``: sku, location, safety (a whole number of the variant's units, or a percentage
  such as ``10%``); ``*`` in sku or location matches any. Precedence, most specific first:
  SKU × location, then SKU at any location, then any SKU at the location, then ``* , *``.
- ``inventory_rules.yaml``: ``formula``: ``on_hand_minus_open_demand`` or ``gateway_available``; ``push``:
  ``reason`` (Shopify's inventory reason code), ``batch_size``, ``senders`` (concurrent requests) and
  ``spare_points`` (cost points the push leaves in the bucket for the other flows); defaults and ranges in
  :class:`~shopify_max.inventory.push_settings.PushSettings`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

from shopify_max.exactmax_limits import FIELD_LENGTHS
from shopify_max.ids import InvalidShopifyGid, as_shopify_gid
from shopify_max.inventory.push_settings import DEFAULT_PUSH, PushSettings
from shopify_max.mappings.loader import MappingFileError, _read_csv
from shopify_max.paths import MAPPINGS_DIR

FORMULAS = ("on_hand_minus_open_demand", "gateway_available")


def location_gid(value: str, path: Path, line: int) -> str:
    """``64001001`` or ``gid://shopify/Location/64001001`` → the gid; anything else names the file and line."""
    try:
        return as_shopify_gid(value, "Location")
    except InvalidShopifyGid as exc:
        raise MappingFileError(f"{path} line {line}: {exc}") from None


@dataclass(frozen=True)
class LocationMapping:
    location_gid: str
    name: str
    stockrooms: tuple[str, ...]


@dataclass(frozen=True)
class SafetyStock:
    quantity: int | None = None  # variant units
    percent: Decimal | None = None  # of the available variant units, rounded up

    def reserve(self, available: int) -> int:
        if self.percent is not None:
            return int((Decimal(available) * self.percent / 100).to_integral_value(rounding="ROUND_CEILING"))
        return self.quantity or 0


@dataclass
class InventoryRules:
    formula: str
    locations: list[LocationMapping]
    safety: dict[tuple[str, str], SafetyStock]  # (sku or *, location gid or *)
    push_reason: str = DEFAULT_PUSH.reason
    batch_size: int = DEFAULT_PUSH.batch_size
    senders: int = DEFAULT_PUSH.senders
    spare_points: int = DEFAULT_PUSH.spare_points

    def safety_for(self, sku: str, location: str) -> SafetyStock:
        for key in ((sku, location), (sku, "*"), ("*", location), ("*", "*")):
            if key in self.safety:
                return self.safety[key]
        return SafetyStock(quantity=0)


def _load_locations(path: Path) -> list[LocationMapping]:
    locations, seen_stockrooms = [], {}
    for line, row in _read_csv(path, ("shopify_location_id", "location_name", "max_stockrooms")):
        if not row["shopify_location_id"]:
            raise MappingFileError(f"{path} line {line}: shopify_location_id is empty")
        stockrooms = tuple(code.strip() for code in row["max_stockrooms"].split(";") if code.strip())
        for code in stockrooms:
            if len(code) > FIELD_LENGTHS["STK"]:
                raise MappingFileError(f"{path} line {line}: stockroom {code!r} is longer than MAX's STK "
                                       f"({FIELD_LENGTHS['STK']})")
            if code in seen_stockrooms:
                raise MappingFileError(f"{path} line {line}: stockroom {code!r} already feeds the location on line "
                                       f"{seen_stockrooms[code]}; one stockroom's stock cannot be shown twice")
            seen_stockrooms[code] = line
        locations.append(LocationMapping(location_gid(row["shopify_location_id"], path, line), row["location_name"],
                                         stockrooms))
    return locations


def _load_safety(path: Path) -> dict[tuple[str, str], SafetyStock]:
    safety: dict[tuple[str, str], SafetyStock] = {}
    for line, row in _read_csv(path, ("sku", "location", "safety")):
        sku = row["sku"] or "*"
        location = "*" if row["location"] in ("", "*") else location_gid(row["location"], path, line)
        text = row["safety"]
        try:
            if text.endswith("%"):
                percent = Decimal(text[:-1])
                if not 0 <= percent <= 100:
                    raise InvalidOperation
                rule = SafetyStock(percent=percent)
            else:
                quantity = int(text)
                if quantity < 0:
                    raise ValueError
                rule = SafetyStock(quantity=quantity)
        except (InvalidOperation, ValueError):
            raise MappingFileError(f"{path} line {line}: safety must be a whole number ≥ 0 or a percentage "
                                   f"0%..100%, got {text!r}") from None
        if (sku, location) in safety:
            raise MappingFileError(f"{path} line {line}: safety stock for sku {sku!r} at {location!r} is set twice")
        safety[(sku, location)] = rule
    return safety


def load_inventory_rules(directory: Path | None = None) -> InventoryRules:
    directory = Path(directory or os.environ.get("SHOPIFY_MAX_MAPPINGS_DIR") or MAPPINGS_DIR)
    rules_path = directory / "inventory_rules.yaml"
    if not rules_path.exists():
        raise MappingFileError(f"{rules_path}: file is missing")
    document = yaml.safe_load(rules_path.read_text(encoding="utf-8")) or {}
    formula = document.get("formula")
    if formula not in FORMULAS:
        raise MappingFileError(f"{rules_path}: formula must be one of {FORMULAS}, got {formula!r}")
    push = document.get("push") or {}
    if not isinstance(push, dict):
        raise MappingFileError(f"{rules_path}: push must be a mapping of reason, batch_size, senders, spare_points")
    unknown = sorted(set(push) - {"reason", *PushSettings.RANGES})
    if unknown:
        raise MappingFileError(f"{rules_path}: push has unknown keys {unknown}")
    reason = push.get("reason", DEFAULT_PUSH.reason)
    if not isinstance(reason, str) or not reason.strip():
        raise MappingFileError(f"{rules_path}: push.reason must be a Shopify inventory reason code, got {reason!r}")
    numbers = {}
    for name, (low, high) in PushSettings.RANGES.items():
        value = push.get(name, getattr(DEFAULT_PUSH, name))
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise MappingFileError(f"{rules_path}: push.{name} must be a whole number {low}..{high}, got {value!r}")
        numbers[name] = value
    return InventoryRules(formula, _load_locations(directory / "locations.csv"),
                          _load_safety(directory / "safety_stock.csv"), push_reason=reason.strip(), **numbers)
