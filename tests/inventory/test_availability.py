"""What Shopify should show per SKU × location: stockrooms summed, formula, UOM round-down, safety stock,
floor at 0, and nothing guessed."""

from __future__ import annotations

import shutil
from decimal import Decimal

import pytest

from shopify_max.exactmax.models import StockLevel
from shopify_max.inventory.availability import compute_available
from shopify_max.inventory.rules import load_inventory_rules
from shopify_max.mappings import MappingFileError
from shopify_max.mappings.loader import PartMapping
from shopify_max.paths import MAPPINGS_DIR

MAIN, STORE, POPUP = ("gid://shopify/Location/64001001", "gid://shopify/Location/64001002",
                      "gid://shopify/Location/64001003")
PARTS = {
    "SKU-00010": PartMapping("SKU-00010", "PRT-00010", "EA", 1),
    "SKU-00010-CS12": PartMapping("SKU-00010-CS12", "PRT-00010", "EA", 12),
    "SKU-00011": PartMapping("SKU-00011", "PRT-00011", "EA", 1),
}


def level(part, stk, on_hand, demand=0, available=None):
    on_hand, demand = Decimal(on_hand), Decimal(demand)
    return StockLevel(PRTNUM=part, STK=stk, on_hand=on_hand, open_demand=demand,
                      available=on_hand - demand if available is None else Decimal(available))


@pytest.fixture
def rules():
    return load_inventory_rules(MAPPINGS_DIR)


def test_stockrooms_of_a_location_add_up_minus_open_demand(rules):
    stock = [level("PRT-00011", "MAIN", 40, demand=5), level("PRT-00011", "OVERFLOW", 7),
             level("PRT-00011", "STORE", 9, demand=1)]
    quantities = compute_available(stock, PARTS, rules).quantities
    assert quantities[("SKU-00011", MAIN)] == 42  # 40 − 5 + 7, no safety stock at Main
    assert quantities[("SKU-00011", STORE)] == 6  # 9 − 1 − 2 held back at the store


def test_a_case_of_12_shows_whole_cases_rounded_down_after_its_own_safety_stock(rules):
    stock = [level("PRT-00010", "MAIN", 50), level("PRT-00010", "OVERFLOW", 0)]
    quantities = compute_available(stock, PARTS, rules).quantities
    assert quantities[("SKU-00010", MAIN)] == 50
    assert quantities[("SKU-00010-CS12", MAIN)] == 3  # 50 // 12 = 4 cases, minus 1 case held back


def test_never_below_zero_even_when_demand_exceeds_stock(rules):
    stock = [level("PRT-00011", "STORE", 1, demand=4)]
    assert compute_available(stock, PARTS, rules).quantities[("SKU-00011", STORE)] == 0


def test_the_gateway_formula_uses_its_available_figure(rules):
    rules.formula = "gateway_available"
    stock = [level("PRT-00011", "MAIN", 40, demand=5, available=30)]
    assert compute_available(stock, PARTS, rules).quantities[("SKU-00011", MAIN)] == 30


def test_unmapped_locations_and_parts_without_stock_are_reported_not_guessed(rules):
    report = compute_available([level("PRT-00011", "MAIN", 3)], PARTS, rules)
    assert report.unmapped_locations == [POPUP]
    assert all(location != POPUP for _sku, location in report.quantities)
    assert report.parts_without_stock == ["PRT-00010"]


def test_percentage_safety_stock_rounds_up_and_the_most_specific_rule_wins(rules, tmp_path):
    directory = tmp_path / "mappings"
    shutil.copytree(MAPPINGS_DIR, directory)
    (directory / "safety_stock.csv").write_text("sku,location,safety\n*,*,10%\nSKU-00011,64001001,0\n")
    rules = load_inventory_rules(directory)
    stock = [level("PRT-00010", "MAIN", 21), level("PRT-00011", "MAIN", 21)]
    quantities = compute_available(stock, PARTS, rules).quantities
    assert quantities[("SKU-00010", MAIN)] == 18  # 21 − ceil(2.1)
    assert quantities[("SKU-00011", MAIN)] == 21  # SKU × location beats the 10% default


def test_a_stockroom_feeding_two_locations_is_refused_with_file_and_line(tmp_path):
    directory = tmp_path / "mappings"
    shutil.copytree(MAPPINGS_DIR, directory)
    (directory / "locations.csv").write_text("shopify_location_id,location_name,max_stockrooms\n1,A,MAIN\n2,B,MAIN\n")
    with pytest.raises(MappingFileError, match=r"locations.csv line 3: stockroom 'MAIN' already feeds"):
        load_inventory_rules(directory)


@pytest.mark.parametrize("location", ["gid://shopify/Product/1", "main-store"])
def test_a_location_that_is_not_a_shopify_location_id_is_refused_with_file_and_line(tmp_path, location):
    directory = tmp_path / "mappings"
    shutil.copytree(MAPPINGS_DIR, directory)
    (directory / "locations.csv").write_text(f"shopify_location_id,location_name,max_stockrooms\n{location},A,MAIN\n")
    with pytest.raises(MappingFileError, match=r"locations.csv line 2: not a Shopify Location"):
        load_inventory_rules(directory)


def test_a_bad_safety_value_is_refused_with_file_and_line(tmp_path):
    directory = tmp_path / "mappings"
    shutil.copytree(MAPPINGS_DIR, directory)
    (directory / "safety_stock.csv").write_text("sku,location,safety\n*,*,lots\n")
    with pytest.raises(MappingFileError, match=r"safety_stock.csv line 2: safety must be"):
        load_inventory_rules(directory)


def test_the_shipped_location_mapping_matches_the_sandbox_catalogue(rules):
    from sandboxes import catalog

    expected = {f"gid://shopify/Location/{loc.shopify_location_id}": loc.max_stockrooms for loc in catalog.LOCATIONS}
    assert {loc.location_gid: loc.stockrooms for loc in rules.locations} == expected


def test_push_settings_come_from_the_rules_file(rules):
    assert (rules.push_reason, rules.batch_size, rules.senders, rules.spare_points) == ("correction", 250, 4, 0)


@pytest.mark.parametrize(("push", "message"), [
    ("  batch_size: 251\n", r"push.batch_size must be a whole number 1..250, got 251"),
    ("  senders: 0\n", r"push.senders must be a whole number 1..16, got 0"),
    ("  spare_points: -5\n", r"push.spare_points must be a whole number 0..5000, got -5"),
    ("  reason: ''\n", r"push.reason must be a Shopify inventory reason code"),
    ("  speed: fast\n", r"push has unknown keys \['speed'\]"),
])
def test_bad_push_settings_are_refused_by_name(tmp_path, push, message):
    directory = tmp_path / "mappings"
    shutil.copytree(MAPPINGS_DIR, directory)
    (directory / "inventory_rules.yaml").write_text(f"formula: on_hand_minus_open_demand\npush:\n{push}")
    with pytest.raises(MappingFileError, match=message):
        load_inventory_rules(directory)
