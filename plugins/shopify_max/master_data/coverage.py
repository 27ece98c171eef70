"""Items and prices coverage: where the Shopify catalogue and MAX's parts, UOMs, price list and tax flags disagree.

Pure Python: the caller reads Shopify variants and MAX's ``Part_Sales``, UOM codes and price list, turns them into
:class:`VariantFacts`, :class:`PartFacts`, :class:`PriceEntry` and ``uom_factors``, and gets a
:class:`CoverageReport` back. Every lookup is a dict, so 100,000 variants take well under a second.

How a variant finds its part: by its SKU in ``include/mappings/sku_to_part.csv``, exactly as the order mapping
looks it up (``orders/mapper.py``: the SKU as Shopify has it, an empty SKU counts as none). Findings, one
:class:`CoverageKind` each:

- ``variant_without_sku``: the variant has no SKU, so no line of it can reach a MAX part.
- ``variant_without_part``: the SKU is not in sku_to_part.csv (``part_number`` empty), or it is and the mapped
  part is not a MAX sales part, i.e. has no ``Part_Sales`` row (``part_number`` set). The detail says which.
- ``part_without_variant``: a MAX part in ``Part_Sales``, not non-stock (``TYPE_01`` ``N``: FREIGHT, MISC are
  never sold as variants), not in an excluded product line (``PRDLIN_29``), that no mapping row of any Shopify
  variant points at. A mapping row whose SKU no variant carries does not count.
- ``duplicate_sku``: two or more variants share a SKU. One finding per variant; each detail lists them all.
- ``uom_factor_mismatch``: the variant's title or an option value declares a pack size (``pack_size_pattern``,
  default "case/pack/box of N") that differs from what MAX ships per Shopify unit: the mapping's ``uom_factor`` x
  MAX's factor for the mapping's ``sales_uom`` (``SLSCNV_29`` when that UOM is the part's ``SLSUOM``, else the
  ``Code_Master`` UOM factor), i.e. stocking units per Shopify unit. The title is read first, then the options in
  order; the first match counts. A variant that declares nothing is not checked. The same kind, with
  ``max_value`` empty, reports a mapping whose ``sales_uom`` is neither the part's sales UOM nor a MAX UOM code
  (MAX has no factor for it), whatever the variant declares.
- ``price_mismatch``: the variant's price differs by more than ``price_tolerance`` (default 0.00: any cent) from
  the expected price on the shop's MAX price list (``shop_price_list``, default ``RETAIL``). Expected: the entry
  (list, part, ``price_uom``) when the mapping names a price UOM, else the entry (list, part, ``sales_uom``) x
  ``uom_factor``; rounded half-up to the cent, since Shopify prices are whole cents and MAX keeps 4 decimals.
- ``price_missing``: the price list has no entry for that part and UOM.
- ``taxable_mismatch``: the variant's ``taxable`` differs from the MAX part's.

Price push (``productVariantsBulkUpdate``) is a setting, off by default: :func:`plan_price_updates` lists, per
product, the (variant id, price) pairs that would make Shopify match the list; the report carries them only when
``push_prices`` is on, and the caller sends them only then.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from shopify_max.mappings.loader import PartMapping
from shopify_max.money import CENT

DEFAULT_PACK_SIZE_PATTERN = r"(?i)\b(?:case|pack|box) of (\d+)\b"
NON_STOCK_PART_TYPE = "N"  # TYPE_01 of FREIGHT / MISC style parts (EXACTMAX.md, Part_Master)


class CoverageKind(StrEnum):
    VARIANT_WITHOUT_SKU = "variant_without_sku"
    VARIANT_WITHOUT_PART = "variant_without_part"
    PART_WITHOUT_VARIANT = "part_without_variant"
    DUPLICATE_SKU = "duplicate_sku"
    UOM_FACTOR_MISMATCH = "uom_factor_mismatch"  # also: the mapping's sales UOM is not a MAX UOM (max_value None)
    PRICE_MISMATCH = "price_mismatch"
    PRICE_MISSING = "price_missing"
    TAXABLE_MISMATCH = "taxable_mismatch"


@dataclass(frozen=True)
class PartFacts:
    """One MAX part with a ``Part_Sales`` row (keys trimmed by the caller)."""

    part_number: str  # PRTNUM_01
    description: str  # PMDES1_01
    part_type: str  # TYPE_01; N = non-stock
    sales_uom: str  # SLSUOM_29
    sales_factor: Decimal  # SLSCNV_29: sales UOM -> stocking UOM
    product_line: str  # PRDLIN_29
    taxable: bool


@dataclass(frozen=True)
class VariantFacts:
    variant_id: str  # gid://shopify/ProductVariant/…
    sku: str | None
    title: str
    price: Decimal  # shop currency
    taxable: bool
    option_values: tuple[str, ...]
    product_id: str
    product_title: str


@dataclass(frozen=True)
class PriceEntry:
    price_list: str
    part_number: str
    uom: str
    price: Decimal  # per one ``uom``


@dataclass(frozen=True)
class CoverageSettings:
    shop_price_list: str = "RETAIL"
    price_tolerance: Decimal = Decimal("0.00")
    exclude_product_lines: tuple[str, ...] = ("SVC",)
    pack_size_pattern: str = DEFAULT_PACK_SIZE_PATTERN
    push_prices: bool = False


@dataclass(frozen=True)
class CoverageFinding:
    kind: CoverageKind
    sku: str | None
    part_number: str | None
    variant_id: str | None
    detail: str  # the sentence a person reads, naming both sides' values
    shopify_value: str | None
    max_value: str | None
    product_id: str | None = None


@dataclass
class CoverageReport:
    findings: list[CoverageFinding]
    variants_read: int = 0
    parts_read: int = 0
    # product id -> [(variant id, new price)]; None unless the price push is on (CoverageSettings.push_prices).
    price_updates: dict[str, list[tuple[str, Decimal]]] | None = None

    def counts_by_kind(self) -> dict[str, int]:
        """Every kind, zero included, in :class:`CoverageKind` order: the run summary's stable shape."""
        counts = dict.fromkeys((kind.value for kind in CoverageKind), 0)
        for finding in self.findings:
            counts[finding.kind.value] += 1
        return counts

    def of_kind(self, kind: CoverageKind) -> list[CoverageFinding]:
        return [finding for finding in self.findings if finding.kind == kind]

    def as_rows(self) -> list[dict[str, str | None]]:
        """JSON-safe rows (the dry-run report's table, a CSV for a person)."""
        return [{**asdict(finding), "kind": finding.kind.value} for finding in self.findings]


def _plain(number: Decimal) -> str:
    """12.0000 -> "12", 1.5000 -> "1.5": a factor as a person writes it."""
    return format(number.normalize(), "f")


def _variant_label(variant: VariantFacts) -> str:
    return f"variant {variant.variant_id} ({variant.product_title!r} / {variant.title!r})"


@dataclass
class _Context:
    parts: dict[str, PartFacts]
    prices: dict[tuple[str, str], Decimal]  # (part, uom) on the shop's list
    uom_factors: dict[str, Decimal]
    settings: CoverageSettings
    pack_size: re.Pattern[str]
    findings: list[CoverageFinding] = field(default_factory=list)

    def add(self, kind: CoverageKind, variant: VariantFacts | None, sku: str | None, part_number: str | None,
            detail: str, shopify_value: object = None, max_value: object = None) -> None:
        self.findings.append(CoverageFinding(
            kind, sku, part_number, variant.variant_id if variant else None, detail,
            None if shopify_value is None else str(shopify_value), None if max_value is None else str(max_value),
            variant.product_id if variant else None))


def _declared_pack_size(variant: VariantFacts, pattern: re.Pattern[str]) -> int | None:
    for text in (variant.title, *variant.option_values):
        match = pattern.search(text or "")
        if match:
            return int(match.group(1))
    return None


def _check_uom(ctx: _Context, variant: VariantFacts, mapping: PartMapping, part: PartFacts) -> None:
    if mapping.sales_uom == part.sales_uom:
        sales_factor: Decimal | None = part.sales_factor
    else:
        sales_factor = ctx.uom_factors.get(mapping.sales_uom)
    declared = _declared_pack_size(variant, ctx.pack_size)
    if sales_factor is None:
        ctx.add(CoverageKind.UOM_FACTOR_MISMATCH, variant, mapping.sku, part.part_number,
                f"SKU {mapping.sku!r} sells part {part.part_number!r} in UOM {mapping.sales_uom!r} "
                f"(sku_to_part.csv), which is neither the part's sales UOM {part.sales_uom!r} nor a MAX UOM code, "
                f"so MAX has no factor for it; {_variant_label(variant)} declares "
                f"{declared if declared is not None else 'no pack size'}", declared, None)
        return
    if declared is None:
        return
    expected = Decimal(mapping.uom_factor) * sales_factor
    if Decimal(declared) != expected:
        ctx.add(CoverageKind.UOM_FACTOR_MISMATCH, variant, mapping.sku, part.part_number,
                f"{_variant_label(variant)} declares {declared} per unit; MAX ships {_plain(expected)} "
                f"(sku_to_part.csv uom_factor {mapping.uom_factor} x {_plain(sales_factor)} per "
                f"{mapping.sales_uom} of {part.part_number!r})", declared, _plain(expected))


def _check_price(ctx: _Context, variant: VariantFacts, mapping: PartMapping, part: PartFacts) -> None:
    price_list = ctx.settings.shop_price_list
    uom, multiplier = (mapping.price_uom, 1) if mapping.price_uom else (mapping.sales_uom, mapping.uom_factor)
    list_price = ctx.prices.get((part.part_number, uom))
    if list_price is None:
        ctx.add(CoverageKind.PRICE_MISSING, variant, mapping.sku, part.part_number,
                f"MAX price list {price_list!r} has no price for part {part.part_number!r} in UOM {uom!r}; "
                f"{_variant_label(variant)} sells at {variant.price}", variant.price, None)
        return
    expected = (list_price * multiplier).quantize(CENT, rounding=ROUND_HALF_UP)
    if abs(variant.price - expected) > ctx.settings.price_tolerance:
        per = f"per {uom}" if multiplier == 1 else f"{multiplier} x {list_price} per {uom}"
        ctx.add(CoverageKind.PRICE_MISMATCH, variant, mapping.sku, part.part_number,
                f"{_variant_label(variant)} costs {variant.price} in Shopify; MAX price list {price_list!r} has "
                f"{expected} for part {part.part_number!r} ({per})", variant.price, expected)


def _check_mapped_variant(ctx: _Context, variant: VariantFacts, mapping: PartMapping, part: PartFacts) -> None:
    if variant.taxable != part.taxable:
        ctx.add(CoverageKind.TAXABLE_MISMATCH, variant, mapping.sku, part.part_number,
                f"{_variant_label(variant)} is {'taxable' if variant.taxable else 'not taxable'} in Shopify; MAX "
                f"part {part.part_number!r} is {'taxable' if part.taxable else 'not taxable'}",
                variant.taxable, part.taxable)
    _check_uom(ctx, variant, mapping, part)
    _check_price(ctx, variant, mapping, part)


def _duplicates(ctx: _Context, variants_by_sku: dict[str, list[VariantFacts]]) -> None:
    for sku, group in variants_by_sku.items():
        if len(group) < 2:
            continue
        listed = "; ".join(f"{v.variant_id} of {v.product_title!r} ({v.product_id})" for v in group)
        for variant in group:
            ctx.add(CoverageKind.DUPLICATE_SKU, variant, sku, None,
                    f"SKU {sku!r} is on {len(group)} Shopify variants: {listed}", f"{len(group)} variants", None)


def _parts_without_variant(ctx: _Context, parts_with_variant: set[str]) -> None:
    excluded = {line.strip().upper() for line in ctx.settings.exclude_product_lines}
    for part in ctx.parts.values():
        if part.part_number in parts_with_variant or part.part_type.strip().upper() == NON_STOCK_PART_TYPE:
            continue
        if part.product_line.strip().upper() in excluded:
            continue
        ctx.add(CoverageKind.PART_WITHOUT_VARIANT, None, None, part.part_number,
                f"MAX sells part {part.part_number!r} ({part.description!r}, product line {part.product_line!r}) "
                "but no Shopify variant's SKU maps to it in sku_to_part.csv", None, part.part_number)


def build_coverage_report(parts: Iterable[PartFacts], variants: Iterable[VariantFacts], prices: Iterable[PriceEntry],
                          uom_factors: dict[str, Decimal], mappings: dict[str, PartMapping],
                          settings: CoverageSettings | None = None) -> CoverageReport:
    """Compare the Shopify catalogue with MAX; ``mappings`` is ``load_mappings().parts_by_sku``."""
    settings = settings or CoverageSettings()
    ctx = _Context(
        parts={part.part_number: part for part in parts},
        prices={(entry.part_number, entry.uom): entry.price for entry in prices
                if entry.price_list == settings.shop_price_list},
        uom_factors=uom_factors, settings=settings, pack_size=re.compile(settings.pack_size_pattern))
    variants_by_sku: dict[str, list[VariantFacts]] = {}
    parts_with_variant: set[str] = set()
    variants_read = 0
    for variant in variants:
        variants_read += 1
        if not variant.sku:
            ctx.add(CoverageKind.VARIANT_WITHOUT_SKU, variant, None, None,
                    f"{_variant_label(variant)} has no SKU, so its order lines reach no MAX part")
            continue
        variants_by_sku.setdefault(variant.sku, []).append(variant)
        mapping = mappings.get(variant.sku)
        if mapping is None:
            ctx.add(CoverageKind.VARIANT_WITHOUT_PART, variant, variant.sku, None,
                    f"SKU {variant.sku!r} of {_variant_label(variant)} is not in sku_to_part.csv", variant.sku, None)
            continue
        parts_with_variant.add(mapping.part_number)
        part = ctx.parts.get(mapping.part_number)
        if part is None:
            ctx.add(CoverageKind.VARIANT_WITHOUT_PART, variant, variant.sku, mapping.part_number,
                    f"SKU {variant.sku!r} of {_variant_label(variant)} maps to part {mapping.part_number!r} in "
                    "sku_to_part.csv, but MAX has no such sales part (no Part_Sales row)", variant.sku, None)
            continue
        _check_mapped_variant(ctx, variant, mapping, part)
    _duplicates(ctx, variants_by_sku)
    _parts_without_variant(ctx, parts_with_variant)
    report = CoverageReport(ctx.findings, variants_read=variants_read, parts_read=len(ctx.parts))
    if settings.push_prices:
        report.price_updates = plan_price_updates(report.findings)
    return report


def plan_price_updates(findings: Iterable[CoverageFinding]) -> dict[str, list[tuple[str, Decimal]]]:
    """Per product id, the (variant id, MAX list price) pairs ``productVariantsBulkUpdate`` would set: one per
    ``price_mismatch`` finding, in finding order. Variants with a missing list price are never touched."""
    updates: dict[str, list[tuple[str, Decimal]]] = {}
    for finding in findings:
        if finding.kind != CoverageKind.PRICE_MISMATCH or finding.max_value is None:
            continue
        if finding.product_id is None or finding.variant_id is None:
            continue
        updates.setdefault(finding.product_id, []).append((finding.variant_id, Decimal(finding.max_value)))
    return updates
