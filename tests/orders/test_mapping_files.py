"""Mapping files are checked at load time; every error names the file and the line."""

from __future__ import annotations

import pytest

from shopify_max.mappings import MappingFileError, load_mappings
from shopify_max.paths import MAPPINGS_DIR


def test_the_projects_own_mapping_files_load():
    mappings = load_mappings(MAPPINGS_DIR)
    assert mappings.rules.customer_strategy in ("per_customer", "web_account")


def test_a_part_number_longer_than_prtnum_names_file_and_line(mapping_dir):
    (mapping_dir / "sku_to_part.csv").write_text("# comment line\nsku,part_number,sales_uom,uom_factor\n"
                                                 "A,P-1,EA,1\nB," + "X" * 31 + ",EA,1\n")
    with pytest.raises(MappingFileError, match=r"sku_to_part.csv line 4: part_number .* longer than MAX's PRTNUM \(30\)"):
        load_mappings(mapping_dir)


def test_a_bad_uom_factor_names_file_and_line(mapping_dir):
    (mapping_dir / "sku_to_part.csv").write_text("sku,part_number,sales_uom,uom_factor\nA,P-1,EA,0\n")
    with pytest.raises(MappingFileError, match=r"sku_to_part.csv line 2: uom_factor must be a whole number ≥ 1, got '0'"):
        load_mappings(mapping_dir)


def test_a_sku_mapped_twice_is_refused(mapping_dir):
    (mapping_dir / "sku_to_part.csv").write_text("sku,part_number,sales_uom,uom_factor\nA,P-1,EA,1\nA,P-2,EA,1\n")
    with pytest.raises(MappingFileError, match=r"line 3: sku 'A' is mapped twice"):
        load_mappings(mapping_dir)


def test_a_missing_column_is_named(mapping_dir):
    (mapping_dir / "tax_codes.csv").write_text("tax_title,max_tax_code\nX,Y\n")
    with pytest.raises(MappingFileError, match=r"tax_codes.csv line 1: missing column\(s\) rate"):
        load_mappings(mapping_dir)


def test_a_tax_code_longer_than_seven_is_refused(mapping_dir):
    (mapping_dir / "tax_codes.csv").write_text("tax_title,rate,max_tax_code\nState,*,TOOLONG1\n")
    with pytest.raises(MappingFileError, match=r"tax_codes.csv line 2: max_tax_code 'TOOLONG1' is longer than MAX's TAXCD \(7\)"):
        load_mappings(mapping_dir)


def test_an_unknown_rule_value_names_the_yaml_line(mapping_dir):
    path = mapping_dir / "order_rules.yaml"
    path.write_text(path.read_text().replace("text_overflow: abbreviate", "text_overflow: truncate"))
    line = next(n for n, text in enumerate(path.read_text().splitlines(), start=1) if text.startswith("text_overflow"))
    with pytest.raises(MappingFileError, match=rf"order_rules.yaml line {line}: text_overflow must be one of"):
        load_mappings(mapping_dir)


def test_a_custpo_format_without_the_order_reference_is_refused(mapping_dir):
    path = mapping_dir / "order_rules.yaml"
    path.write_text(path.read_text().replace('custpo_format: "SHOP{name}"', 'custpo_format: "SHOPIFY"'))
    with pytest.raises(MappingFileError, match="custpo_format must contain"):
        load_mappings(mapping_dir)


def test_shipping_as_a_header_charge_is_refused_because_max_has_no_such_column(mapping_dir):
    path = mapping_dir / "order_rules.yaml"
    path.write_text(path.read_text().replace("shipping_as: freight_part", "shipping_as: header_charge"))
    with pytest.raises(MappingFileError, match=r"shipping_as must be one of \('freight_part',\)"):
        load_mappings(mapping_dir)
