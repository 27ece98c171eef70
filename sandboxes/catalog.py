"""The one product catalogue both sandboxes seed from, so Shopify SKUs and MAX parts line up.

Deterministic: the same ``product_count`` always gives the same items. The cases an ERP sync must
handle are built in on purpose:
- every product has an each (``EA``) variant whose SKU maps to a MAX part;
- every 10th product also sells a "case of 12" variant: same part, sales UOM ``CS``, factor 12;
- every 25th product (index % 25 == 7) exists in Shopify only: its SKU has no MAX part (unmapped);
- Shopify locations map to MAX stockrooms; one location has no MAX stockroom at all (unmapped).

Inconsistencies the master-data coverage report must find (``sandboxes.master_data_cases`` adds customers):
- every 100th product (index % 100 == 30) titles its case variant "Case of 10" while the mapping says 12;
- every 40th product (index % 40 == 3) has a non-taxable each variant in Shopify; MAX sells the part taxable;
- every 50th product (index % 50 == 11) costs 1.00 more on MAX's RETAIL price list than in Shopify;
- ``MAX_ONLY_PARTS`` are sold in MAX (``Part_Sales``) and have no Shopify variant;
- the Shopify sandbox adds a second variant with the SKU of every 50th product (index % 50 == 13): a duplicate.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path


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
    taxable: bool = True  # Shopify's ProductVariant.taxable


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


def has_wrong_case_title(index: int) -> bool:
    """The case variant says "Case of 10"; the mapping (and MAX) count 12 per case."""
    return index % 100 == 30


def is_untaxed_in_shopify(index: int) -> bool:
    return index % 40 == 3


def has_max_price_difference(index: int) -> bool:
    return index % 50 == 11


MAX_PRICE_DIFFERENCE = Decimal("1.00")
# Parts MAX sells that have no Shopify variant: (part number, description, each price).
MAX_ONLY_PARTS: tuple[tuple[str, str, Decimal], ...] = (
    ("PRT-90001", "Spare Widget Kit", Decimal("19.99")),
    ("PRT-90002", "Bearing Grease 400g", Decimal("7.49")),
)


def max_retail_price(variant: CatalogVariant, index: int) -> Decimal:
    """The variant's price on MAX's RETAIL price list: the shop price, except where the catalogue differs on purpose."""
    return variant.price + (MAX_PRICE_DIFFERENCE if has_max_price_difference(index) else 0)


def product(index: int) -> CatalogProduct:
    noun = _NOUNS[index % len(_NOUNS)]
    base_price = (Decimal(5 + (index * 37) % 200) + Decimal((index * 13) % 100) / 100).quantize(Decimal("0.01"))
    part = None if is_unmapped(index) else f"PRT-{index:05d}"
    variants = [CatalogVariant(f"SKU-{index:05d}", "Each", part, "EA", 1, base_price,
                               taxable=not is_untaxed_in_shopify(index))]
    if has_case_variant(index):
        title = "Case of 10" if has_wrong_case_title(index) else "Case of 12"
        variants.append(CatalogVariant(f"SKU-{index:05d}-CS12", title, part, "CS", 12,
                                       (base_price * 12 * Decimal("0.9")).quantize(Decimal("0.01"))))
    return CatalogProduct(index, f"{noun} {index:05d}", _VENDORS[index % len(_VENDORS)], tuple(variants))


def products(product_count: int) -> list[CatalogProduct]:
    return [product(index) for index in range(1, product_count + 1)]


def sku_mapping_rows(product_count: int) -> list[tuple[str, str, str, int, str]]:
    """Rows of ``include/mappings/sku_to_part.csv`` for the sandbox catalogue: every SKU with a MAX part.

    The mapping converts Shopify units into the part's each (EA) units: a "case of 12" is 12 EA.
    Unmapped products are left out on purpose, so their orders reach the error queue. A case variant is priced
    on MAX's price lists under its own UOM (``price_uom`` CS), not as 12 eaches.
    """
    rows = []
    for item in products(product_count):
        for variant in item.variants:
            if variant.part_number is not None:
                rows.append((variant.sku, variant.part_number, "EA", variant.uom_factor,
                             variant.sales_uom if variant.uom_factor != 1 else ""))
    return rows


SKU_MAPPING_HEADER = ("sku", "part_number", "sales_uom", "uom_factor", "price_uom")


def write_sku_mapping(path: Path, product_count: int) -> Path:
    """``sku_to_part.csv`` for a catalogue of ``product_count`` products (the sandboxes', the tests', a bench's)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        handle.write("# Shopify SKU -> MAX part, the MAX sales UOM sent on the order line, and how many of those\n"
                     "# units one Shopify unit is (a case of 12 = 12 EA); price_uom, when set, is the UOM under which\n"
                     "# MAX's price list prices the variant (empty: sales_uom x uom_factor). Generated for the\n"
                     f"# sandbox catalogue by `python -m sandboxes.catalog --products {product_count}`; edit freely.\n")
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(SKU_MAPPING_HEADER)
        writer.writerows(sku_mapping_rows(product_count))
    return path


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="Write include/mappings/sku_to_part.csv for the sandbox catalogue")
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--output", default="include/mappings/sku_to_part.csv")
    args = parser.parse_args(argv)
    write_sku_mapping(Path(args.output), args.products)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
