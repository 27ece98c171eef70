"""The fulfilment flow's settings in ``include/mappings/``, checked at load time (errors name the file and line).

- ``fulfilment_rules.yaml``: notify_customer, the on_hold / other_location rules, the status metafield namespace
  and tags, close, capture and mark-paid switches, the invoice tolerance, and due days per MAX terms code;
- ``carriers.csv``: max_ship_via, shopify_carrier (Shopify's case-sensitive name, or empty), tracking_url_template;
- ``locations.csv`` (the inventory mapping): which Shopify location each MAX stockroom ships from.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from shopify_max.exactmax_limits import FIELD_LENGTHS
from shopify_max.inventory.rules import _load_locations
from shopify_max.mappings.loader import MappingFileError, _read_csv
from shopify_max.paths import MAPPINGS_DIR

ON_HOLD_RULES = ("error_queue", "wait")
OTHER_LOCATION_RULES = ("move", "wait", "error_queue")
MAX_STATES = ("open", "partially_shipped", "back_ordered", "shipped", "invoiced", "closed", "cancelled")


@dataclass(frozen=True)
class Carrier:
    ship_via: str
    shopify_carrier: str | None  # None: send the URL, never a name
    url_template: str | None

    def url_for(self, number: str) -> str | None:
        return self.url_template.replace("{number}", number) if self.url_template else None


@dataclass(frozen=True)
class FulfilmentRules:
    carriers: dict[str, Carrier]
    stockroom_locations: dict[str, str]  # MAX STK -> Shopify location gid
    notify_customer: bool = False
    on_hold: str = "error_queue"
    other_location: str = "move"
    metafield_namespace: str = "exact_max"
    status_tags: dict[str, str] = field(default_factory=dict)
    status_recheck_minutes: int = 60
    status_batch: int = 200
    close_when_max_closes: bool = False
    capture_on_invoice: bool = False
    mark_paid_on_payment: bool = False
    invoice_tolerance_per_line: Decimal = Decimal("0.01")
    terms_due_days: dict[str, int] = field(default_factory=dict)


def _load_carriers(path: Path) -> dict[str, Carrier]:
    carriers: dict[str, Carrier] = {}
    for line, row in _read_csv(path, ("max_ship_via", "shopify_carrier", "tracking_url_template")):
        code = row["max_ship_via"]
        if not code or len(code) > FIELD_LENGTHS["SHPVIA"]:
            raise MappingFileError(f"{path} line {line}: max_ship_via must be 1..{FIELD_LENGTHS['SHPVIA']} "
                                   f"characters, got {code!r}")
        if code in carriers:
            raise MappingFileError(f"{path} line {line}: ship-via {code!r} is listed twice")
        template = row["tracking_url_template"] or None
        if template and ("{number}" not in template or not template.startswith(("https://", "http://"))):
            raise MappingFileError(f"{path} line {line}: tracking_url_template must be an http(s) URL holding "
                                   f"{{number}}, got {template!r}")
        if not row["shopify_carrier"] and not template:
            raise MappingFileError(f"{path} line {line}: ship-via {code!r} has neither a shopify_carrier nor a "
                                   "tracking_url_template; give one, or leave the ship-via out")
        carriers[code] = Carrier(code, row["shopify_carrier"] or None, template)
    return carriers


def _choice(path: Path, document: dict[str, Any], name: str, choices: tuple[str, ...], default: str) -> str:
    value = document.get(name, default)
    if value not in choices:
        raise MappingFileError(f"{path}: {name} must be one of {choices}, got {value!r}")
    return value


def _flag(path: Path, document: dict[str, Any], name: str) -> bool:
    value = document.get(name, False)
    if not isinstance(value, bool):
        raise MappingFileError(f"{path}: {name} must be true or false, got {value!r}")
    return value


def _whole(path: Path, document: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = document.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise MappingFileError(f"{path}: {name} must be a whole number {low}..{high}, got {value!r}")
    return value


def _status_tags(path: Path, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or set(value) - set(MAX_STATES):
        raise MappingFileError(f"{path}: status_tags maps MAX states {MAX_STATES} to a tag, got {value!r}")
    tags = {}
    for state, tag in value.items():
        if not isinstance(tag, str) or not tag.strip() or len(tag) > 255 or "," in tag:
            raise MappingFileError(f"{path}: status_tags.{state} must be a tag of 1..255 characters without a "
                                   f"comma, got {tag!r}")
        tags[state] = tag.strip()
    return tags


def _due_days(path: Path, value: Any) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MappingFileError(f"{path}: terms_due_days maps a MAX terms code to days, got {value!r}")
    days = {}
    for code, count in value.items():
        if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 3650:
            raise MappingFileError(f"{path}: terms_due_days.{code} must be 0..3650 days, got {count!r}")
        days[str(code)] = count
    return days


def load_fulfilment_rules(directory: Path | None = None) -> FulfilmentRules:
    directory = Path(directory or os.environ.get("SHOPIFY_MAX_MAPPINGS_DIR") or MAPPINGS_DIR)
    path = directory / "fulfilment_rules.yaml"
    if not path.exists():
        raise MappingFileError(f"{path}: file is missing")
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(document, dict):
        raise MappingFileError(f"{path}: expected a mapping of settings")
    known = {f for f in FulfilmentRules.__dataclass_fields__} - {"carriers", "stockroom_locations"}
    unknown = sorted(set(document) - known)
    if unknown:
        raise MappingFileError(f"{path}: unknown settings {unknown}; known: {sorted(known)}")
    try:
        tolerance = Decimal(str(document.get("invoice_tolerance_per_line", "0.01")))
        if not Decimal(0) <= tolerance <= Decimal(1):
            raise InvalidOperation
    except InvalidOperation:
        raise MappingFileError(f"{path}: invoice_tolerance_per_line must be 0..1, got "
                               f"{document.get('invoice_tolerance_per_line')!r}") from None
    namespace = document.get("metafield_namespace", "exact_max")
    if not isinstance(namespace, str) or not 3 <= len(namespace) <= 255:
        raise MappingFileError(f"{path}: metafield_namespace must be 3..255 characters, got {namespace!r}")
    stockrooms = {code: location.location_gid for location in _load_locations(directory / "locations.csv")
                  for code in location.stockrooms}
    return FulfilmentRules(
        carriers=_load_carriers(directory / "carriers.csv"), stockroom_locations=stockrooms,
        notify_customer=_flag(path, document, "notify_customer"),
        on_hold=_choice(path, document, "on_hold", ON_HOLD_RULES, "error_queue"),
        other_location=_choice(path, document, "other_location", OTHER_LOCATION_RULES, "move"),
        metafield_namespace=namespace, status_tags=_status_tags(path, document.get("status_tags")),
        status_recheck_minutes=_whole(path, document, "status_recheck_minutes", 60, 1, 10080),
        status_batch=_whole(path, document, "status_batch", 200, 1, 5000),
        close_when_max_closes=_flag(path, document, "close_when_max_closes"),
        capture_on_invoice=_flag(path, document, "capture_on_invoice"),
        mark_paid_on_payment=_flag(path, document, "mark_paid_on_payment"),
        invoice_tolerance_per_line=tolerance, terms_due_days=_due_days(path, document.get("terms_due_days")),
    )
