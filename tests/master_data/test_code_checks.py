"""Code tables: every MAX code a mapping file names exists in MAX, and every Shopify value of recent orders is
mapped (or covered by a default, a warning), so no order from 40 days ago is the first to find a gap."""

from __future__ import annotations

import copy
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from sandboxes.exactmax import seed as max_seed
from shopify_max.mappings.loader import load_mappings
from shopify_max.master_data.code_checks import (
    CodeProblem,
    MaxCodes,
    SeenShopifyCodes,
    check_code_tables,
    load_code_table_mappings,
    seen_codes_from_orders,
)
from shopify_max.master_data.rules import load_master_data_rules
from shopify_max.master_data.tax_exemptions import load_tax_exemptions
from shopify_max.orders.lines import map_tax_codes
from shopify_max.orders.webhook_payload import order_from_webhook_payload
from shopify_max.paths import INCLUDE_DIR, MAPPINGS_DIR
from shopify_max.shopify.models import TaxLine

EXAMPLE_ORDER = json.loads((INCLUDE_DIR / "vendor/shopify/webhooks/orders.create.json").read_text())["response"]

# The sandbox MAX's code tables (sandboxes/exactmax/seed.py). Its Code_Master has no LT ship-via although the shipped
# carriers.csv names one (an LTL freight carrier); LT is added here so each test sees only the gap it makes.
SITE = MaxCodes(terms=frozenset(max_seed.TERMS), ship_via=frozenset({*max_seed.SHIP_VIA, "LT"}),
                tax_codes=frozenset(max_seed.TAX_CODES), uoms=frozenset(max_seed.UOMS),
                currencies=frozenset(max_seed.CURRENCIES), price_lists=frozenset({"RETAIL", "WHOLESALE", "DEALER"}))


@pytest.fixture
def mappings_dir(tmp_path: Path) -> Path:
    target = tmp_path / "mappings"
    shutil.copytree(MAPPINGS_DIR, target)
    return target


def _line_of(directory: Path, file: str, start: str) -> int:
    lines = (directory / file).read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if line.lstrip().startswith(start))


def _check(directory: Path, codes: MaxCodes = SITE, seen: SeenShopifyCodes | None = None):
    return check_code_tables(load_code_table_mappings(directory), codes, seen or SeenShopifyCodes(),
                             load_master_data_rules(directory))


def _without(table: str, code: str) -> MaxCodes:
    return MaxCodes(**{**SITE.__dict__, table: getattr(SITE, table) - {code}})


def _set_order_rule(directory: Path, key: str, value: str) -> int:
    path = directory / "order_rules.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    number = next(n for n, line in enumerate(lines) if line.startswith(f"{key}:"))
    lines[number] = f"{key}: {value}"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return number + 1


def test_the_shipped_files_name_only_codes_a_max_with_these_tables_has(mappings_dir):
    assert _check(mappings_dir) == []


@pytest.mark.parametrize(("table", "code", "expected"), [
    ("tax_codes", "ILCOOK", [("tax_codes.csv", "Cook County Tax,")]),
    ("ship_via", "WC", [("shipping_methods.csv", "Local pickup,")]),
    ("ship_via", "FX", [("shipping_methods.csv", "FedEx Ground,"), ("carriers.csv", "FX,")]),
    ("terms", "30", [("payment_gateways.csv", "manual,"), ("fulfilment_rules.yaml", '"30":')]),
    ("tax_codes", "EXEMPT", [("tax_exemptions.csv", "EXEMPT,")]),
    ("price_lists", "RETAIL", [("master_data_rules.yaml", "shop_price_list:")]),
])
def test_a_code_max_lacks_is_reported_on_every_file_and_line_that_names_it(mappings_dir, table, code, expected):
    findings = _check(mappings_dir, _without(table, code))
    assert [(f.file, f.line, f.value, f.problem, f.seen_in) for f in findings] == [
        (file, _line_of(mappings_dir, file, start), code, CodeProblem.UNKNOWN_MAX_CODE, None)
        for file, start in expected]
    assert all(f.level == "error" for f in findings)


def test_a_code_on_many_lines_of_one_file_is_one_finding_at_its_first_line(mappings_dir):
    [finding] = _check(mappings_dir, _without("uoms", "CS"))
    rows = (mappings_dir / "sku_to_part.csv").read_text(encoding="utf-8").splitlines()
    case_rows = [n for n, row in enumerate(rows, start=1) if row.endswith(",CS")]
    assert (finding.file, finding.line, finding.value) == ("sku_to_part.csv", case_rows[0], "CS")
    assert f"{len(case_rows)} lines, first line {case_rows[0]}" in finding.detail


def test_the_order_flows_mappings_object_will_do_the_other_files_are_read_from_its_directory(mappings_dir):
    path = mappings_dir / "tax_exemptions.csv"
    path.write_text(path.read_text(encoding="utf-8") + "RESALE,*,EU_REVERSE_CHARGE_EXEMPTION_RULE\n",
                    encoding="utf-8")
    mappings = load_mappings(mappings_dir)
    findings = check_code_tables(mappings, _without("ship_via", "WC"), SeenShopifyCodes(),
                                 load_master_data_rules(mappings_dir))
    assert [(f.file, f.value) for f in findings] == [("shipping_methods.csv", "WC"), ("tax_exemptions.csv", "RESALE")]
    preloaded = load_tax_exemptions(MAPPINGS_DIR / "tax_exemptions.csv")  # the caller's copy stands for the file
    findings = check_code_tables(mappings, SITE, SeenShopifyCodes(), load_master_data_rules(mappings_dir),
                                 exemptions=preloaded)
    assert findings == []


def test_the_default_rules_of_order_rules_yaml_are_codes_too(mappings_dir):
    terms_line = _set_order_rule(mappings_dir, "default_terms", "N5")
    ship_line = _set_order_rule(mappings_dir, "unmapped_shipping_ship_via", "ZZ")
    findings = _check(mappings_dir)
    assert [(f.file, f.line, f.value) for f in findings] == [("order_rules.yaml", terms_line, "N5"),
                                                               ("order_rules.yaml", ship_line, "ZZ")]


def test_sku_to_part_uoms_are_checked_as_the_order_line_sends_them_upper_cased(mappings_dir):
    path = mappings_dir / "sku_to_part.csv"
    path.write_text(path.read_text(encoding="utf-8") + "SKU-LOWER,PRT-00001,ea,1,bx\n", encoding="utf-8")
    [finding] = _check(mappings_dir)
    assert (finding.file, finding.value, finding.line) == ("sku_to_part.csv", "BX", _line_of(mappings_dir,
                                                                                             "sku_to_part.csv",
                                                                                             "SKU-LOWER"))


# Shopify values seen on recent orders ------------------------------------------------------------------------------
def test_shopifys_example_order_is_a_test_order_and_skipped_like_the_order_flow_skips_it():
    order = order_from_webhook_payload(EXAMPLE_ORDER)
    assert order.test is True
    assert seen_codes_from_orders([order]) == SeenShopifyCodes()
    seen = seen_codes_from_orders([order], skip_test_orders=False)
    assert seen.orders == 1
    assert seen.gateways == {"visa": "#9999", "bogus": "#9999"}
    assert seen.shipping_titles == {"Generic Shipping": "#9999"}


def test_an_unmapped_gateway_names_the_order_it_was_seen_on(mappings_dir):
    seen = seen_codes_from_orders([order_from_webhook_payload(EXAMPLE_ORDER)], skip_test_orders=False)
    [finding] = _check(mappings_dir, seen=seen)  # bogus and Generic Shipping are mapped; visa is not
    assert (finding.file, finding.line, finding.value, finding.problem, finding.seen_in) == (
        "payment_gateways.csv", None, "visa", CodeProblem.UNMAPPED_SHOPIFY_VALUE, "#9999")
    assert "in the last 60 days" in finding.detail and "error queue" in finding.detail


def test_a_value_only_a_default_rule_covers_is_a_warning_naming_the_default(mappings_dir):
    _set_order_rule(mappings_dir, "default_terms", "CC")
    _set_order_rule(mappings_dir, "unmapped_shipping_ship_via", "UP")
    seen = SeenShopifyCodes(gateways={"visa": "#1040", "SHOPIFY_PAYMENTS": "#1041"},
                            shipping_titles={"Drone delivery": "#1042", "  standard SHIPPING ": "#1043"})
    findings = _check(mappings_dir, seen=seen)
    assert [(f.value, f.problem, f.seen_in, f.level) for f in findings] == [
        ("visa", CodeProblem.COVERED_BY_DEFAULT, "#1040", "warning"),
        ("Drone delivery", CodeProblem.COVERED_BY_DEFAULT, "#1042", "warning")]
    assert "default_terms 'CC'" in findings[0].detail
    assert "unmapped_shipping_ship_via 'UP'" in findings[1].detail


def _tax_line(title: str, rate: str | None) -> TaxLine:
    money = {"amount": "1.00", "currency_code": "USD"}
    return TaxLine(title=title, rate=None if rate is None else Decimal(rate),
                   price_set={"shop_money": money, "presentment_money": money})


TAX_CASES = [
    ("IL State Tax", "0.0625", True),  # the exact rate row
    ("IL State Tax", "0.07", False),  # a rate the file does not list, and no * row for the title
    ("IL State Tax", None, False),
    ("Cook County Tax", "0.0175", True),  # the * row
    ("cook county tax ", "0.02", True),  # titles compare trimmed and case-insensitively, as the mapper does
    ("TX State Tax", "0.0625", False),
]


def test_tax_lines_resolve_exactly_as_the_order_mapping_resolves_them(mappings_dir):
    seen = SeenShopifyCodes(tax_lines={(title, None if rate is None else Decimal(rate)): f"#{n}"
                                       for n, (title, rate, _) in enumerate(TAX_CASES)})
    unmapped = {f.seen_in for f in _check(mappings_dir, seen=seen)}
    assert unmapped == {f"#{n}" for n, (_, _, mapped) in enumerate(TAX_CASES) if not mapped}
    mappings = load_code_table_mappings(mappings_dir).order_mappings
    for n, (title, rate, _mapped) in enumerate(TAX_CASES):  # and the mapper itself agrees, case by case
        errors: list = []
        map_tax_codes("line_items[0]", [_tax_line(title, rate)], mappings, errors)
        assert bool(errors) == (f"#{n}" in unmapped), (title, rate)


def test_tax_lines_are_collected_from_line_items_and_shipping_lines(mappings_dir):
    payload = copy.deepcopy(EXAMPLE_ORDER)
    payload["test"] = False
    money = {"shop_money": {"amount": "0.60", "currency_code": "USD"},
             "presentment_money": {"amount": "0.60", "currency_code": "USD"}}
    payload["line_items"][0]["tax_lines"] = [{"title": "IL State Tax", "rate": 0.0625, "price": "0.60",
                                              "price_set": money}]
    payload["shipping_lines"][0]["tax_lines"] = [{"title": "Freight Tax", "rate": 0.05, "price": "0.50",
                                                  "price_set": money}]
    seen = seen_codes_from_orders([order_from_webhook_payload(payload)])
    assert seen.tax_lines == {("IL State Tax", Decimal("0.0625")): "#9999", ("Freight Tax", Decimal("0.05")): "#9999"}
    findings = [f for f in _check(mappings_dir, seen=seen) if f.file == "tax_codes.csv"]
    assert [(f.value, f.problem, f.seen_in) for f in findings] == [
        ("Freight Tax @ 0.05", CodeProblem.UNMAPPED_SHOPIFY_VALUE, "#9999")]
