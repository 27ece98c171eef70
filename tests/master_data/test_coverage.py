"""The items and prices coverage report: every disagreement between the Shopify catalogue and MAX, by kind.

The sandbox catalogue (``sandboxes.catalog``) seeds both sandboxes with inconsistencies on purpose; the first test
builds the facts the way each sandbox seeds them and expects exactly those inconsistencies back.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from sandboxes import catalog
from sandboxes.exactmax import seed as max_seed
from shopify_max.mappings.loader import PartMapping
from shopify_max.master_data.coverage import (
    CoverageKind,
    CoverageSettings,
    PartFacts,
    PriceEntry,
    VariantFacts,
    build_coverage_report,
    plan_price_updates,
)

PRODUCTS = 500  # the size include/mappings/sku_to_part.csv is generated for
UOM_FACTORS = {code: factor for code, (_description, factor) in max_seed.UOMS.items()}


def _sandbox_variants() -> list[VariantFacts]:
    """Shopify's side as sandboxes/shopify/seed.py builds it, with the duplicate "legacy listing" of every 50th."""
    variants = []
    for product in catalog.products(PRODUCTS):
        product_id = f"gid://shopify/Product/{product.index}"
        for position, variant in enumerate(product.variants):
            variants.append(VariantFacts(f"gid://shopify/ProductVariant/{product.index * 10 + position}", variant.sku,
                                         variant.title, variant.price, variant.taxable, (variant.title,), product_id,
                                         product.title))
        if product.index % 50 == 13:
            each = product.variants[0]
            variants.append(VariantFacts(f"gid://shopify/ProductVariant/{product.index * 10 + 9}", each.sku, "Each",
                                         each.price, each.taxable, ("Each",),
                                         f"gid://shopify/Product/{100_000 + product.index}",
                                         f"{product.title} (legacy listing)"))
    return variants


def _sandbox_max() -> tuple[list[PartFacts], list[PriceEntry]]:
    """MAX's side as sandboxes/exactmax/seed.py builds it: Part_Sales in EA, the RETAIL list per price UOM."""
    parts, prices = [], []
    for product in catalog.products(PRODUCTS):
        each = product.variants[0]
        if each.part_number is None:
            continue
        parts.append(PartFacts(each.part_number, product.title, "S", "EA", Decimal(1),
                               product.vendor[:4].upper(), True))
        for variant in product.variants:
            prices.append(PriceEntry("RETAIL", each.part_number, variant.sales_uom,
                                     catalog.max_retail_price(variant, product.index)))
            prices.append(PriceEntry("WHOLESALE", each.part_number, variant.sales_uom, variant.price * Decimal("0.8")))
    for part_number, description, price in catalog.MAX_ONLY_PARTS:
        parts.append(PartFacts(part_number, description, "S", "EA", Decimal(1), "ACME", True))
        prices.append(PriceEntry("RETAIL", part_number, "EA", price))
    for part_number, description in max_seed.NON_STOCK_PARTS.items():
        parts.append(PartFacts(part_number, description, "N", "EA", Decimal(1), "SVC", False))
    return parts, prices


def _sandbox_mappings() -> dict[str, PartMapping]:
    """sku_to_part.csv as ``python -m sandboxes.catalog`` generates it."""
    return {sku: PartMapping(sku, part, uom, factor, price_uom or None)
            for sku, part, uom, factor, price_uom in catalog.sku_mapping_rows(PRODUCTS)}


def _keys(report, kind: CoverageKind) -> set[str | None]:
    return {finding.sku or finding.part_number for finding in report.of_kind(kind)}


def test_the_sandbox_catalogues_seeded_inconsistencies_are_found_and_nothing_else():
    parts, prices = _sandbox_max()
    report = build_coverage_report(parts, _sandbox_variants(), prices, UOM_FACTORS, _sandbox_mappings())
    indexes = range(1, PRODUCTS + 1)

    assert _keys(report, CoverageKind.VARIANT_WITHOUT_PART) == {
        sku for i in indexes if catalog.is_unmapped(i) for sku in (f"SKU-{i:05d}", f"SKU-{i:05d}-CS12")
        if sku in {v.sku for v in catalog.product(i).variants}}
    assert all(f.part_number is None for f in report.of_kind(CoverageKind.VARIANT_WITHOUT_PART))  # not in the file
    assert _keys(report, CoverageKind.PART_WITHOUT_VARIANT) == {"PRT-90001", "PRT-90002"}  # FREIGHT, MISC: type N
    assert _keys(report, CoverageKind.UOM_FACTOR_MISMATCH) == {
        f"SKU-{i:05d}-CS12" for i in indexes if catalog.has_wrong_case_title(i)}
    assert _keys(report, CoverageKind.TAXABLE_MISMATCH) == {
        f"SKU-{i:05d}" for i in indexes if catalog.is_untaxed_in_shopify(i) and not catalog.is_unmapped(i)}
    assert _keys(report, CoverageKind.PRICE_MISMATCH) == {
        f"SKU-{i:05d}" for i in indexes if catalog.has_max_price_difference(i)}
    duplicated = {f"SKU-{i:05d}" for i in indexes if i % 50 == 13}
    assert _keys(report, CoverageKind.DUPLICATE_SKU) == duplicated
    assert len(report.of_kind(CoverageKind.DUPLICATE_SKU)) == 2 * len(duplicated)  # one finding per variant
    counts = report.counts_by_kind()
    assert counts[CoverageKind.VARIANT_WITHOUT_SKU] == counts[CoverageKind.PRICE_MISSING] == 0
    assert sum(counts.values()) == len(report.findings)
    assert report.price_updates is None  # the push is off by default


def test_a_case_variant_titled_case_of_10_names_both_pack_sizes():
    parts, prices = _sandbox_max()
    report = build_coverage_report(parts, _sandbox_variants(), prices, UOM_FACTORS, _sandbox_mappings())
    finding = next(f for f in report.of_kind(CoverageKind.UOM_FACTOR_MISMATCH) if f.sku == "SKU-00030-CS12")
    assert (finding.shopify_value, finding.max_value, finding.part_number) == ("10", "12", "PRT-00030")
    assert "declares 10 per unit; MAX ships 12" in finding.detail
    assert "uom_factor 12 x 1 per EA" in finding.detail


def test_a_price_difference_names_both_prices_exactly_in_cents():
    parts, prices = _sandbox_max()
    report = build_coverage_report(parts, _sandbox_variants(), prices, UOM_FACTORS, _sandbox_mappings())
    finding = next(f for f in report.of_kind(CoverageKind.PRICE_MISMATCH) if f.sku == "SKU-00011")
    shop_price = catalog.product(11).variants[0].price
    assert finding.shopify_value == str(shop_price)
    assert finding.max_value == str(shop_price + catalog.MAX_PRICE_DIFFERENCE)
    assert f"costs {shop_price} in Shopify; MAX price list 'RETAIL' has {shop_price + 1}" in finding.detail


# Small, hand-sized cases for each rule ------------------------------------------------------------------------------
PART = PartFacts("PRT-00010", "Widget 00010", "S", "EA", Decimal(1), "ACME", True)


def _variant(sku: str | None, price: str = "10.00", title: str = "Each", *, options: tuple[str, ...] = (),
             taxable: bool = True, product: str = "gid://shopify/Product/1",
             variant: str = "gid://shopify/ProductVariant/11") -> VariantFacts:
    return VariantFacts(variant, sku, title, Decimal(price), taxable, options or (title,), product, "Widget 00010")


def _report(variants, mappings, prices=(), parts=(PART,), **settings):
    return build_coverage_report(list(parts), variants, list(prices), UOM_FACTORS,
                                 {m.sku: m for m in mappings}, CoverageSettings(**settings))


def test_a_price_uom_prices_the_variant_under_its_own_uom_and_without_one_the_sales_uom_times_the_factor():
    prices = [PriceEntry("RETAIL", "PRT-00010", "EA", Decimal("10.0000")),
              PriceEntry("RETAIL", "PRT-00010", "CS", Decimal("108.0000"))]
    case = _variant("SKU-00010-CS12", "108.00", "Case of 12")
    with_case_price = _report([case], [PartMapping("SKU-00010-CS12", "PRT-00010", "EA", 12, "CS")], prices)
    assert with_case_price.of_kind(CoverageKind.PRICE_MISMATCH) == []
    as_eaches = _report([case], [PartMapping("SKU-00010-CS12", "PRT-00010", "EA", 12, None)], prices)
    [finding] = as_eaches.of_kind(CoverageKind.PRICE_MISMATCH)
    assert (finding.shopify_value, finding.max_value) == ("108.00", "120.00")


def test_the_expected_price_is_rounded_half_up_to_the_cent_and_the_tolerance_is_inclusive():
    mapping = [PartMapping("SKU-00010", "PRT-00010", "EA", 1)]
    prices = [PriceEntry("RETAIL", "PRT-00010", "EA", Decimal("10.0050"))]  # MAX keeps 4 decimals: 10.01
    assert _report([_variant("SKU-00010", "10.01")], mapping, prices).findings == []
    [off_by_a_cent] = _report([_variant("SKU-00010", "10.00")], mapping, prices).findings
    assert (off_by_a_cent.kind, off_by_a_cent.max_value) == (CoverageKind.PRICE_MISMATCH, "10.01")
    assert _report([_variant("SKU-00010", "10.00")], mapping, prices, price_tolerance=Decimal("0.01")).findings == []
    assert len(_report([_variant("SKU-00010", "9.99")], mapping, prices, price_tolerance=Decimal("0.01")).findings) == 1


def test_a_part_missing_from_the_shop_list_is_price_missing_even_when_another_list_has_it():
    mapping = [PartMapping("SKU-00010", "PRT-00010", "EA", 1)]
    prices = [PriceEntry("WHOLESALE", "PRT-00010", "EA", Decimal("8.00"))]
    [finding] = _report([_variant("SKU-00010")], mapping, prices).findings
    assert finding.kind == CoverageKind.PRICE_MISSING
    assert "'RETAIL' has no price for part 'PRT-00010' in UOM 'EA'" in finding.detail
    assert _report([_variant("SKU-00010", "8.00")], mapping, prices, shop_price_list="WHOLESALE").findings == []


def test_a_variant_without_part_says_whether_the_file_or_max_lacks_it():
    mapping = [PartMapping("SKU-00010", "PRT-99999", "EA", 1)]
    report = _report([_variant("SKU-00010"), _variant("SKU-00007", variant="gid://shopify/ProductVariant/12")],
                     mapping, parts=[])
    by_sku = {f.sku: f for f in report.of_kind(CoverageKind.VARIANT_WITHOUT_PART)}
    assert by_sku["SKU-00007"].part_number is None and "is not in sku_to_part.csv" in by_sku["SKU-00007"].detail
    assert by_sku["SKU-00010"].part_number == "PRT-99999"
    assert "MAX has no such sales part (no Part_Sales row)" in by_sku["SKU-00010"].detail


@pytest.mark.parametrize("sku", [None, ""])
def test_a_variant_without_sku_is_its_own_kind(sku):
    [finding] = _report([_variant(sku)], [], parts=[]).findings
    assert (finding.kind, finding.variant_id, finding.sku) == (CoverageKind.VARIANT_WITHOUT_SKU,
                                                              "gid://shopify/ProductVariant/11", None)


def test_part_without_variant_skips_non_stock_parts_excluded_lines_and_counts_only_skus_shopify_has():
    parts = [PART, PartFacts("FREIGHT", "Freight", "N", "EA", Decimal(1), "ACME", False),
             PartFacts("SVC-INSTALL", "Installation", "S", "EA", Decimal(1), " svc ", True),
             PartFacts("PRT-00020", "Widget 00020", "S", "EA", Decimal(1), "ACME", True)]
    # PRT-00020 has a mapping row, but no Shopify variant carries its SKU: it is still not on the web.
    mappings = [PartMapping("SKU-00010", "PRT-00010", "EA", 1), PartMapping("SKU-00020", "PRT-00020", "EA", 1)]
    prices = [PriceEntry("RETAIL", "PRT-00010", "EA", Decimal("10.00"))]
    report = _report([_variant("SKU-00010")], mappings, prices, parts=parts)
    assert [(f.kind, f.part_number) for f in report.findings] == [(CoverageKind.PART_WITHOUT_VARIANT, "PRT-00020")]
    report = _report([_variant("SKU-00010")], mappings, prices, parts=parts, exclude_product_lines=())
    assert _keys(report, CoverageKind.PART_WITHOUT_VARIANT) == {"PRT-00020", "SVC-INSTALL"}


def test_a_pack_size_is_read_from_the_title_then_the_options_and_compared_in_stocking_units():
    prices = [PriceEntry("RETAIL", "PRT-00010", "CS", Decimal("108.00"))]
    # Sold in CS, which is not the part's sales UOM (EA): MAX's UOM code table says 12 per CS.
    mapping = [PartMapping("SKU-00010-CS", "PRT-00010", "CS", 1)]
    ok = _variant("SKU-00010-CS", "108.00", "Default Title", options=("Red", "Case of 12"))
    assert _report([ok], mapping, prices).findings == []
    wrong = _variant("SKU-00010-CS", "108.00", "Box of 6", options=("Case of 12",))
    [finding] = _report([wrong], mapping, prices).findings
    assert (finding.kind, finding.shopify_value, finding.max_value) == (CoverageKind.UOM_FACTOR_MISMATCH, "6", "12")
    silent = _variant("SKU-00010-CS", "108.00", "Bulk")  # declares nothing: nothing to compare
    assert _report([silent], mapping, prices).findings == []
    custom = _report([_variant("SKU-00010-CS", "108.00", "12 pcs")], mapping, prices,
                     pack_size_pattern=r"(\d+) pcs")
    assert custom.findings == []


def test_a_sales_uom_max_does_not_know_is_a_uom_mismatch_with_no_max_factor():
    mapping = [PartMapping("SKU-00010", "PRT-00010", "BX", 1)]
    prices = [PriceEntry("RETAIL", "PRT-00010", "BX", Decimal("10.00"))]
    [finding] = _report([_variant("SKU-00010", title="Box of 10")], mapping, prices).findings
    assert (finding.kind, finding.shopify_value, finding.max_value) == (CoverageKind.UOM_FACTOR_MISMATCH, "10", None)
    assert "UOM 'BX' (sku_to_part.csv), which is neither the part's sales UOM 'EA' nor a MAX UOM code" in finding.detail
    [silent] = _report([_variant("SKU-00010")], mapping, prices).findings  # reported even when nothing is declared
    assert (silent.kind, silent.shopify_value) == (CoverageKind.UOM_FACTOR_MISMATCH, None)


def test_a_taxable_difference_names_both_flags():
    mapping = [PartMapping("SKU-00010", "PRT-00010", "EA", 1)]
    prices = [PriceEntry("RETAIL", "PRT-00010", "EA", Decimal("10.00"))]
    [finding] = _report([_variant("SKU-00010", taxable=False)], mapping, prices).findings
    assert (finding.kind, finding.shopify_value, finding.max_value) == (CoverageKind.TAXABLE_MISMATCH, "False", "True")
    assert "is not taxable in Shopify; MAX part 'PRT-00010' is taxable" in finding.detail


def test_the_price_push_plans_per_product_only_the_variants_whose_list_price_differs():
    parts = [PART, PartFacts("PRT-00020", "Widget 00020", "S", "EA", Decimal(1), "ACME", True)]
    mappings = [PartMapping("SKU-00010", "PRT-00010", "EA", 1), PartMapping("SKU-00010-CS12", "PRT-00010", "EA", 12),
                PartMapping("SKU-00020", "PRT-00020", "EA", 1), PartMapping("SKU-00030", "PRT-00020", "EA", 1)]
    prices = [PriceEntry("RETAIL", "PRT-00010", "EA", Decimal("10.00")),
              PriceEntry("RETAIL", "PRT-00020", "EA", Decimal("5.25"))]
    variants = [_variant("SKU-00010", "9.00", variant="v1", product="p1"),
                _variant("SKU-00010-CS12", "120.00", "Case of 12", variant="v2", product="p1"),  # right already
                _variant("SKU-00020", "5.00", variant="v3", product="p2"),
                _variant("SKU-00030", "5.50", variant="v4", product="p2"),
                _variant("SKU-00099", "1.00", variant="v5", product="p3")]  # no part: never priced
    report = _report(variants, mappings, prices, parts=parts, push_prices=True)
    expected = {"p1": [("v1", Decimal("10.00"))], "p2": [("v3", Decimal("5.25")), ("v4", Decimal("5.25"))]}
    assert report.price_updates == expected
    assert plan_price_updates(report.findings) == expected
    assert _report(variants, mappings, prices, parts=parts).price_updates is None


def test_counts_by_kind_lists_every_kind_even_at_zero():
    assert _report([], [], parts=[]).counts_by_kind() == {kind.value: 0 for kind in CoverageKind}


def test_rows_are_plain_values_for_a_table_or_json():
    [row] = _report([_variant(None)], [], parts=[]).as_rows()
    assert row["kind"] == "variant_without_sku" and row["product_id"] == "gid://shopify/Product/1"
    assert all(value is None or isinstance(value, str) for value in row.values())


def test_a_catalogue_of_100k_variants_and_50k_parts_is_compared_by_lookups():
    """Scale check on results only (the timing is in benchmarks): two variants per part, every 1000th off price."""
    parts, prices, variants, mappings = [], [], [], {}
    for n in range(50_000):
        part = f"PRT-{n:06d}"
        parts.append(PartFacts(part, f"Part {n}", "S", "EA", Decimal(1), "ACME", True))
        prices.append(PriceEntry("RETAIL", part, "EA", Decimal("2.50")))
        prices.append(PriceEntry("RETAIL", part, "CS", Decimal("27.00")))
        for suffix, uom, factor, title, price in (("", None, 1, "Each", "2.50"), ("-CS12", "CS", 12, "Case of 12",
                                                                                   "27.00")):
            sku = f"SKU-{n:06d}{suffix}"
            mappings[sku] = PartMapping(sku, part, "EA", factor, uom)
            off = len(variants) % 1000 == 999
            variants.append(VariantFacts(f"gid://shopify/ProductVariant/{len(variants)}", sku, title,
                                         Decimal(price) + (Decimal("0.01") if off else 0), True, (title,),
                                         f"gid://shopify/Product/{n}", f"Part {n}"))
    report = build_coverage_report(parts, variants, prices, UOM_FACTORS, mappings)
    assert report.variants_read == 100_000 and report.parts_read == 50_000
    assert report.counts_by_kind() == {**{kind.value: 0 for kind in CoverageKind}, "price_mismatch": 100}
