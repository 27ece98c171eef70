"""Load and validate ``include/mappings/``: CSV tables and one YAML file of order rules.

Files (each documented in ``include/mappings/README.md``):
- ``sku_to_part.csv``: sku, part_number, sales_uom, uom_factor, and optionally price_uom (the UOM under which
  MAX's price list prices this variant; empty: ``sales_uom``, and the list price is multiplied by ``uom_factor``)
- ``tax_codes.csv``: tax_title, rate, max_tax_code
- ``payment_gateways.csv``: gateway, max_terms
- ``shipping_methods.csv``: shipping_title, max_ship_via (the Shopify carrier name per ship-via is the fulfilment
  flow's ``carriers.csv``; an old ``shopify_carrier`` column is ignored)
- ``order_rules.yaml``: customer strategy, field rules, shipping and special-line rules
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from shopify_max.exactmax_limits import FIELD_LENGTHS
from shopify_max.paths import MAPPINGS_DIR


class MappingFileError(ValueError):
    """A mapping file is wrong; the message names the file and the line."""


@dataclass(frozen=True)
class PartMapping:
    sku: str
    part_number: str
    sales_uom: str
    uom_factor: int  # Shopify units of this variant -> MAX stocking units
    price_uom: str | None = None  # the price list's UOM for this variant (a case price); None: sales_uom x factor


@dataclass(frozen=True)
class TaxCodeMapping:
    tax_title: str
    rate: Decimal | None  # None: any rate with this title
    max_tax_code: str


@dataclass(frozen=True)
class ShippingMethodMapping:
    shipping_title: str
    max_ship_via: str


@dataclass(frozen=True)
class OrderRules:
    customer_strategy: str  # "per_customer" or "web_account"
    web_account_custid: str
    guest_custid: str
    text_overflow: str  # "continue", "abbreviate" or "error"
    transliteration: str  # "transliterate", "flag" or "keep"
    abbreviations: dict[str, str]
    custpo_format: str
    shipping_as: str  # "freight_part" (the only form MAX's documented columns can carry)
    freight_part_number: str
    unmapped_shipping_ship_via: str | None  # None: an unknown shipping title goes to the error queue
    custom_line_part_number: str | None  # lines without SKU; None: error queue
    gift_card_lines: str  # "skip" or "error"
    zero_price_lines: str  # "export" or "skip"
    test_orders: str  # "skip" or "export"
    default_terms: str | None  # None: an unknown gateway goes to the error queue
    stockroom: str
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass
class Mappings:
    directory: Path
    parts_by_sku: dict[str, PartMapping]
    tax_codes: list[TaxCodeMapping]
    terms_by_gateway: dict[str, str]
    shipping_by_title: dict[str, ShippingMethodMapping]
    rules: OrderRules

    def tax_code_for(self, title: str, rate: Decimal | None) -> str | None:
        """The MAX tax code for a Shopify tax line; an exact rate match wins over a title-only row."""
        title_key = title.strip().casefold()
        title_only = None
        for mapping in self.tax_codes:
            if mapping.tax_title.casefold() != title_key:
                continue
            if mapping.rate is None:
                title_only = title_only or mapping.max_tax_code
            elif rate is not None and mapping.rate == rate:
                return mapping.max_tax_code
        return title_only


def _read_csv(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    if not path.exists():
        raise MappingFileError(f"{path}: file is missing")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [line for line in handle if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.DictReader(rows)
    header = [name.strip() for name in (reader.fieldnames or [])]
    missing = [name for name in required if name not in header]
    if missing:
        raise MappingFileError(f"{path} line 1: missing column(s) {', '.join(missing)}; header is {header}")
    result = []
    # Line numbers as a person sees them in the file (comments and blank lines counted).
    physical_lines = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
                      if line.strip() and not line.lstrip().startswith("#")]
    for index, row in enumerate(reader):
        line_number = physical_lines[index + 1]
        clean = {key.strip(): (value or "").strip() for key, value in row.items() if key is not None}
        result.append((line_number, clean))
    return result


def _check_length(path: Path, line: int, column: str, value: str, max_field: str) -> None:
    limit = FIELD_LENGTHS[max_field]
    if not value:
        raise MappingFileError(f"{path} line {line}: {column} is empty")
    if len(value) > limit:
        raise MappingFileError(f"{path} line {line}: {column} {value!r} is longer than MAX's {max_field} ({limit})")


def _load_parts(path: Path) -> dict[str, PartMapping]:
    parts: dict[str, PartMapping] = {}
    for line, row in _read_csv(path, ("sku", "part_number", "sales_uom", "uom_factor")):
        sku = row["sku"]
        if not sku:
            raise MappingFileError(f"{path} line {line}: sku is empty")
        if sku in parts:
            raise MappingFileError(f"{path} line {line}: sku {sku!r} is mapped twice")
        _check_length(path, line, "part_number", row["part_number"], "PRTNUM")
        _check_length(path, line, "sales_uom", row["sales_uom"], "SLSUOM")
        try:
            factor = int(row["uom_factor"])
        except ValueError:
            factor = 0
        if factor < 1:
            raise MappingFileError(f"{path} line {line}: uom_factor must be a whole number ≥ 1, got {row['uom_factor']!r}")
        price_uom = (row.get("price_uom") or "").upper() or None
        if price_uom is not None:
            _check_length(path, line, "price_uom", price_uom, "SLSUOM")
        parts[sku] = PartMapping(sku, row["part_number"], row["sales_uom"].upper(), factor, price_uom)
    return parts


def _load_tax_codes(path: Path) -> list[TaxCodeMapping]:
    mappings = []
    for line, row in _read_csv(path, ("tax_title", "rate", "max_tax_code")):
        _check_length(path, line, "max_tax_code", row["max_tax_code"], "TAXCD")
        rate: Decimal | None = None
        if row["rate"] not in ("", "*"):
            try:
                rate = Decimal(row["rate"])
            except InvalidOperation:
                raise MappingFileError(f"{path} line {line}: rate must be a decimal such as 0.0625 or *, got {row['rate']!r}") from None
        if not row["tax_title"]:
            raise MappingFileError(f"{path} line {line}: tax_title is empty")
        mappings.append(TaxCodeMapping(row["tax_title"], rate, row["max_tax_code"]))
    return mappings


def _load_gateways(path: Path) -> dict[str, str]:
    terms: dict[str, str] = {}
    for line, row in _read_csv(path, ("gateway", "max_terms")):
        _check_length(path, line, "max_terms", row["max_terms"], "TERMS")
        if row["gateway"].casefold() in terms:
            raise MappingFileError(f"{path} line {line}: gateway {row['gateway']!r} is listed twice")
        terms[row["gateway"].casefold()] = row["max_terms"]
    return terms


def _load_shipping(path: Path) -> dict[str, ShippingMethodMapping]:
    methods: dict[str, ShippingMethodMapping] = {}
    for line, row in _read_csv(path, ("shipping_title", "max_ship_via")):
        _check_length(path, line, "max_ship_via", row["max_ship_via"], "SHPVIA")
        key = row["shipping_title"].casefold()
        if not key:
            raise MappingFileError(f"{path} line {line}: shipping_title is empty")
        methods[key] = ShippingMethodMapping(row["shipping_title"], row["max_ship_via"])
    return methods


_RULE_CHOICES = {
    "customer_strategy": ("per_customer", "web_account"),
    "text_overflow": ("continue", "abbreviate", "error"),
    "transliteration": ("transliterate", "flag", "keep"),
    # "header_charge" is not offered: SO_Master has no documented freight column (EXACTMAX.md), so shipping
    # travels as a line on the configured non-stock freight part.
    "shipping_as": ("freight_part",),
    "gift_card_lines": ("skip", "error"),
    "zero_price_lines": ("export", "skip"),
    "test_orders": ("skip", "export"),
}


def _load_rules(path: Path) -> OrderRules:
    if not path.exists():
        raise MappingFileError(f"{path}: file is missing")
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise MappingFileError(f"{path}: not valid YAML: {exc}") from exc
    lines = {key.value: key.start_mark.line + 1 for key, _ in getattr(node, "value", [])} if node else {}

    def get(key: str, default: Any = ...) -> Any:
        if key in document:
            return document[key]
        if default is ...:
            raise MappingFileError(f"{path}: required setting {key!r} is missing")
        return default

    for key, choices in _RULE_CHOICES.items():
        value = get(key)
        if value not in choices:
            raise MappingFileError(f"{path} line {lines.get(key, '?')}: {key} must be one of {choices}, got {value!r}")
    for key, max_field in (("web_account_custid", "CUSTID"), ("guest_custid", "CUSTID"),
                           ("freight_part_number", "PRTNUM"), ("stockroom", "STK")):
        value = str(get(key))
        if not value or len(value) > FIELD_LENGTHS[max_field]:
            raise MappingFileError(f"{path} line {lines.get(key, '?')}: {key} {value!r} must be 1..{FIELD_LENGTHS[max_field]} characters ({max_field})")
    abbreviations = get("abbreviations", {}) or {}
    if not isinstance(abbreviations, dict):
        raise MappingFileError(f"{path} line {lines.get('abbreviations', '?')}: abbreviations must be a mapping of word: abbreviation")
    custpo_format = str(get("custpo_format"))
    if "{name}" not in custpo_format and "{number}" not in custpo_format:
        raise MappingFileError(f"{path} line {lines.get('custpo_format', '?')}: custpo_format must contain {{name}} or {{number}} so CUSTPO is unique per order")
    return OrderRules(
        customer_strategy=get("customer_strategy"),
        web_account_custid=str(get("web_account_custid")),
        guest_custid=str(get("guest_custid")),
        text_overflow=get("text_overflow"),
        transliteration=get("transliteration"),
        abbreviations={str(k): str(v) for k, v in abbreviations.items()},
        custpo_format=custpo_format,
        shipping_as=get("shipping_as"),
        freight_part_number=str(get("freight_part_number")),
        unmapped_shipping_ship_via=get("unmapped_shipping_ship_via", None),
        custom_line_part_number=get("custom_line_part_number", None),
        gift_card_lines=get("gift_card_lines"),
        zero_price_lines=get("zero_price_lines"),
        test_orders=get("test_orders"),
        default_terms=get("default_terms", None),
        stockroom=str(get("stockroom")),
        raw=document,
    )


def load_mappings(directory: Path | None = None) -> Mappings:
    """Load every mapping file from ``directory`` (default ``include/mappings/``), checking each row."""
    directory = Path(directory or os.environ.get("SHOPIFY_MAX_MAPPINGS_DIR") or MAPPINGS_DIR)
    return Mappings(
        directory=directory,
        parts_by_sku=_load_parts(directory / "sku_to_part.csv"),
        tax_codes=_load_tax_codes(directory / "tax_codes.csv"),
        terms_by_gateway=_load_gateways(directory / "payment_gateways.csv"),
        shipping_by_title=_load_shipping(directory / "shipping_methods.csv"),
        rules=_load_rules(directory / "order_rules.yaml"),
    )
