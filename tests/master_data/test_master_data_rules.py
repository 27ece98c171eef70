"""master_data_rules.yaml: documented defaults, and every bad setting refused naming the file, line and key."""

from __future__ import annotations

import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from shopify_max.mappings.loader import MappingFileError
from shopify_max.master_data.coverage import DEFAULT_PACK_SIZE_PATTERN, CoverageSettings
from shopify_max.master_data.rules import MasterDataRules, load_master_data_rules
from shopify_max.paths import MAPPINGS_DIR


@pytest.fixture
def mappings_dir(tmp_path: Path) -> Path:
    """A copy of the shipped mapping files, for a test to edit."""
    target = tmp_path / "mappings"
    shutil.copytree(MAPPINGS_DIR, target)
    return target


def _set(directory: Path, key: str, value: str) -> int:
    """Replace ``key``'s line in master_data_rules.yaml; returns that line's number."""
    path = directory / "master_data_rules.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    number = next(n for n, line in enumerate(lines) if line.startswith(f"{key}:"))
    lines[number] = f"{key}: {value}"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return number + 1


def test_the_shipped_file_holds_the_documented_defaults():
    rules = load_master_data_rules()
    assert rules == MasterDataRules()  # every documented default, spelled out in the file
    assert rules.customer_matching == ("custid_metafield", "email", "phone", "company_postal_code")
    assert rules.customer_tags == ("b2b", "max:{price_list}")
    assert rules.price_tolerance == Decimal("0.00") and rules.push_prices is False
    assert rules.pack_size_pattern == DEFAULT_PACK_SIZE_PATTERN
    assert re.search(rules.pack_size_pattern, "Case of 12").group(1) == "12"


def test_an_empty_file_means_every_default(mappings_dir):
    (mappings_dir / "master_data_rules.yaml").write_text("# nothing set\n", encoding="utf-8")
    assert load_master_data_rules(mappings_dir) == MasterDataRules()


def test_the_web_and_guest_accounts_of_the_order_rules_are_always_excluded(mappings_dir):
    order_rules = mappings_dir / "order_rules.yaml"
    text = order_rules.read_text(encoding="utf-8")
    text = text.replace("web_account_custid: WEB", "web_account_custid: WEBSHOP")
    text = text.replace("guest_custid: WEB ", "guest_custid: GUEST ")
    order_rules.write_text(text, encoding="utf-8")
    _set(mappings_dir, "exclude_custids", "[HOUSE, 1001]")
    assert load_master_data_rules(mappings_dir).exclude_custids == ("HOUSE", "1001", "WEBSHOP", "GUEST")


def test_the_matching_rules_run_in_the_configured_order_and_any_subset_will_do(mappings_dir):
    _set(mappings_dir, "customer_matching", "[company_postal_code, email]")
    assert load_master_data_rules(mappings_dir).customer_matching == ("company_postal_code", "email")


@pytest.mark.parametrize("value", ["[email, fax]", "[email, email]", "[]", "email"])
def test_an_unknown_repeated_or_missing_matching_rule_is_refused(mappings_dir, value):
    line = _set(mappings_dir, "customer_matching", value)
    with pytest.raises(MappingFileError) as caught:
        load_master_data_rules(mappings_dir)
    message = str(caught.value)
    assert f"master_data_rules.yaml line {line}: customer_matching" in message


def test_customer_tags_are_filled_in_per_account_and_empty_fields_drop_the_tag(mappings_dir):
    _set(mappings_dir, "customer_tags", '[b2b, "max:{price_list}", "terms-{terms}", "{custid}"]')
    rules = load_master_data_rules(mappings_dir)
    assert rules.tags_for("DEALER", "30", "GLOBEX") == ["b2b", "max:DEALER", "terms-30", "GLOBEX"]
    assert rules.tags_for(None, " ", "GLOBEX") == ["b2b", "GLOBEX"]


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("customer_tags", '["max:{pricelist}"]', "may hold {price_list}, {terms}, {custid}"),
    ("customer_tags", '["a,b"]', "without a comma"),
    ("customer_tags", '["max:{price_list"]', "unbalanced brace"),
    ("credit_hold_tag", '"hold-{custid}"', "may hold no {field}"),
    ("unmatched_max_customers", "ignore", "must be one of ('report', 'create')"),
    ("web_customers_without_account", "yes", "must be one of ('report', 'create')"),
    ("price_tolerance", '"0.005"', "in whole cents"),
    ("price_tolerance", '"-1"', "in whole cents"),
    ("push_prices", '"yes"', "must be true or false"),
    ("pack_size_pattern", "'case of \\d+'", "first group captures the pack size"),
    ("pack_size_pattern", "'case of (\\d+'", "is not a regular expression"),
    ("codes_seen_days", "0", "must be a whole number 1..365"),
    ("phone_default_country_calling_code", '"+1-555"', "must be 1 to 3 digits"),
    ("metafield_namespace", "mx", "must be 3..255 characters"),
    ("exclude_custids", "[THIS-CUSTID-IS-TOO-LONG-FOR-MAX]", "longer than 20 characters"),
    ("shop_price_list", '""', "must name a MAX price list"),
])
def test_a_bad_setting_is_refused_naming_the_file_line_and_key(mappings_dir, key, value, expected):
    line = _set(mappings_dir, key, value)
    with pytest.raises(MappingFileError) as caught:
        load_master_data_rules(mappings_dir)
    message = str(caught.value)
    assert message.startswith(f"{mappings_dir / 'master_data_rules.yaml'} line {line}: {key} ")
    assert expected in message


def test_an_unknown_setting_is_refused_not_ignored(mappings_dir):
    path = mappings_dir / "master_data_rules.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "push_price: true\n", encoding="utf-8")
    with pytest.raises(MappingFileError, match=r"unknown settings \['push_price'\]"):
        load_master_data_rules(mappings_dir)


def test_a_calling_code_may_be_written_with_a_plus_or_as_a_number(mappings_dir):
    _set(mappings_dir, "phone_default_country_calling_code", '"+44"')
    assert load_master_data_rules(mappings_dir).phone_default_country_calling_code == "44"
    _set(mappings_dir, "phone_default_country_calling_code", "31")
    assert load_master_data_rules(mappings_dir).phone_default_country_calling_code == "31"


def test_the_coverage_report_takes_its_settings_from_the_file(mappings_dir):
    _set(mappings_dir, "shop_price_list", "DEALER")
    _set(mappings_dir, "price_tolerance", '"0.05"')
    _set(mappings_dir, "push_prices", "true")
    _set(mappings_dir, "exclude_product_lines", "[SVC, KITS]")
    assert load_master_data_rules(mappings_dir).coverage_settings() == CoverageSettings(
        shop_price_list="DEALER", price_tolerance=Decimal("0.05"), exclude_product_lines=("SVC", "KITS"),
        pack_size_pattern=DEFAULT_PACK_SIZE_PATTERN, push_prices=True)
