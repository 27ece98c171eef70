"""The one product catalogue both sandboxes seed from, so Shopify SKUs and MAX parts line up.

Deterministic: the same ``product_count`` always gives the same items. The cases an ERP sync must
handle are built in on purpose:
- every product has an each (``EA``) variant whose SKU maps to a MAX part;
- every 10th product also sells a "case of 12" variant: same part, sales UOM ``CS``, factor 12;
- every 25th product (index % 25 == 7) exists in Shopify only: its SKU has no MAX part (unmapped);
- Shopify locations map to MAX stockrooms; one location has no MAX stockroom at all (unmapped).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class CatalogLocation:
    key: str  # stable short key, used in gids and mapping files
    name: str
    shopify_location_id: int  # numeric part of gid://shopify/Location/<id>
    max_stockrooms: tuple[str, ...]  # STK codes (8 chars max); empty = not mapped to MAX


@dataclass(frozen=True)
class CatalogVariant:
    sku: str
    title: str
    part_number: str | None  # None: deliberately missing from MAX
    sales_uom: str  # SLSUOM, 2 characters
    uom_factor: int  # sales units -> stocking units (SLSCNV_29)
    price: Decimal  # shop currency, per sales unit


@dataclass(frozen=True)
class CatalogProduct:
    index: int
    title: str
    vendor: str
    variants: tuple[CatalogVariant, ...]


LOCATIONS: tuple[CatalogLocation, ...] = (
    CatalogLocation("main", "Main Warehouse", 64_001_001, ("MAIN", "OVERFLOW")),
    CatalogLocation("store", "Retail Store", 64_001_002, ("STORE",)),
    CatalogLocation("popup", "Pop-up Stand", 64_001_003, ()),
)

_NOUNS = ("Widget", "Bracket", "Gasket", "Sprocket", "Flange", "Bearing", "Valve", "Coupling", "Hinge", "Bushing")
_VENDORS = ("Acme Manufacturing", "Northwind Parts", "Globex Industrial")


def is_unmapped(index: int) -> bool:
    return index % 25 == 7


def has_case_variant(index: int) -> bool:
    return index % 10 == 0


def product(index: int) -> CatalogProduct:
    noun = _NOUNS[index % len(_NOUNS)]
    base_price = (Decimal(5 + (index * 37) % 200) + Decimal((index * 13) % 100) / 100).quantize(Decimal("0.01"))
    part = None if is_unmapped(index) else f"PRT-{index:05d}"
    variants = [CatalogVariant(f"SKU-{index:05d}", "Each", part, "EA", 1, base_price)]
    if has_case_variant(index):
        variants.append(CatalogVariant(f"SKU-{index:05d}-CS12", "Case of 12", part, "CS", 12, (base_price * 12 * Decimal("0.9")).quantize(Decimal("0.01"))))
    return CatalogProduct(index, f"{noun} {index:05d}", _VENDORS[index % len(_VENDORS)], tuple(variants))


def products(product_count: int) -> list[CatalogProduct]:
    return [product(index) for index in range(1, product_count + 1)]


def sku_mapping_rows(product_count: int) -> list[tuple[str, str, str, int]]:
    """Rows of ``include/mappings/sku_to_part.csv`` for the sandbox catalogue: every SKU with a MAX part.

    The mapping converts Shopify units into the part's each (EA) units: a "case of 12" is 12 EA.
    Unmapped products are left out on purpose, so their orders reach the error queue.
    """
    rows = []
    for item in products(product_count):
        for variant in item.variants:
            if variant.part_number is not None:
                rows.append((variant.sku, variant.part_number, "EA", variant.uom_factor))
    return rows


def main(argv: list[str] | None = None) -> int:
    import argparse
    import csv
    import sys

    parser = argparse.ArgumentParser(description="Write include/mappings/sku_to_part.csv for the sandbox catalogue")
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--output", default="include/mappings/sku_to_part.csv")
    args = parser.parse_args(argv)
    with open(args.output, "w", newline="", encoding="utf-8") as handle:
        handle.write("# Shopify SKU -> MAX part, the MAX sales UOM sent on the order line, and how many of those\n"
                     "# units one Shopify unit is (a case of 12 = 12 EA). Generated for the sandbox catalogue by\n"
                     f"# `python -m sandboxes.catalog --products {args.products}`; edit freely for a real shop.\n")
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["sku", "part_number", "sales_uom", "uom_factor"])
        writer.writerows(sku_mapping_rows(args.products))
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
