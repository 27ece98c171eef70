"""tax_exemptions.csv: which Shopify tax exemptions a non-taxable MAX customer gets, checked at load time."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from sandboxes.exactmax import seed as max_seed
from shopify_max.mappings.loader import MappingFileError
from shopify_max.master_data.tax_exemptions import (
    NO_TAX_CODE,
    SHOPIFY_TAX_EXEMPTIONS,
    load_tax_exemptions,
)
from shopify_max.paths import INCLUDE_DIR

HEADER = "max_tax_code,state,shopify_tax_exemption\n"


def _customer(custid: str) -> tuple[list[str], list[str], bool]:
    """(tax codes, states, taxable) of a sandbox MAX customer and its ship-tos, as the customer flow reads them."""
    account = next(row for row in max_seed.CUSTOMERS if row[0] == custid)
    ship_tos = [row for row in max_seed.SHIP_TOS if row[0] == custid]
    codes = [*account[8], *(code for row in ship_tos for code in row[6])]
    states = [account[3], *(row[4] for row in ship_tos)]
    return codes, states, account[9] != "N"


def _write(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "tax_exemptions.csv"
    path.write_text("# test file\n" + HEADER + rows, encoding="utf-8")
    return path


def test_the_vendored_enum_is_exactly_shopifys_tax_exemption_type():
    with gzip.open(INCLUDE_DIR / "vendor/shopify/admin-graphql-2026-07.json.gz", "rt", encoding="utf-8") as handle:
        schema = json.load(handle)["data"]["__schema"]
    enum = next(t for t in schema["types"] if t["name"] == "TaxExemption")
    assert SHOPIFY_TAX_EXEMPTIONS == {value["name"] for value in enum["enumValues"]}


def test_globex_exempt_in_texas_gets_the_texas_reseller_exemption():
    rules = load_tax_exemptions()  # the shipped file
    assert rules.exemptions_for(*_customer("GLOBEX")) == (["US_TX_RESELLER_EXEMPTION"], [])


def test_a_non_taxable_customer_without_any_tax_code_is_keyed_on_the_empty_code():
    codes, states, taxable = _customer("NORTHWIND-CA")
    assert (codes, states, taxable) == (["", "", ""], ["ON"], False)  # the sandbox case this rule exists for
    assert load_tax_exemptions().exemptions_for(codes, states, taxable) == (["CA_ON_PURCHASE_EXEMPTION"], [])


def test_a_taxable_customer_gets_no_exemption_whatever_its_codes():
    rules = load_tax_exemptions()
    assert rules.exemptions_for(*_customer("ACME-001")) == ([], [])
    assert rules.exemptions_for(["EXEMPT"], ["TX"], taxable=True) == ([], [])


def test_a_code_without_a_row_for_one_of_the_customers_states_is_reported_not_guessed():
    rules = load_tax_exemptions()
    exemptions, unmapped = rules.exemptions_for(["EXEMPT"], ["TX", "OK"], taxable=False)
    assert exemptions == ["US_TX_RESELLER_EXEMPTION"]
    assert unmapped == ["EXEMPT"]
    assert rules.exemptions_for(["", " "], ["NY"], taxable=False) == ([], [NO_TAX_CODE])
    assert rules.exemptions_for(["CA", "CALA"], ["CA"], taxable=False) == ([], ["CA", "CALA"])


def test_a_row_for_the_customers_own_state_wins_over_a_star_row(tmp_path):
    rules = load_tax_exemptions(_write(tmp_path, "RESALE,*,EU_REVERSE_CHARGE_EXEMPTION_RULE\n"
                                                 "RESALE,tx,US_TX_RESELLER_EXEMPTION\n"))
    assert rules.exemptions_for(["RESALE"], ["TX"], False) == (["US_TX_RESELLER_EXEMPTION"], [])
    assert rules.exemptions_for(["RESALE"], ["NH"], False) == (["EU_REVERSE_CHARGE_EXEMPTION_RULE"], [])
    assert rules.exemptions_for(["RESALE"], [], False) == (["EU_REVERSE_CHARGE_EXEMPTION_RULE"], [])
    both, _ = rules.exemptions_for(["RESALE"], ["TX", "NH"], False)
    assert both == ["US_TX_RESELLER_EXEMPTION", "EU_REVERSE_CHARGE_EXEMPTION_RULE"]


def test_codes_the_file_names_are_listed_with_their_lines_for_the_code_table_check():
    rules = load_tax_exemptions()
    text = (INCLUDE_DIR / "mappings/tax_exemptions.csv").read_text(encoding="utf-8").splitlines()
    exempt_line = next(n for n, line in enumerate(text, start=1) if line.startswith("EXEMPT,"))
    assert rules.tax_codes == [(exempt_line, "EXEMPT")]  # the empty-code row names no MAX code


@pytest.mark.parametrize(("row", "message"), [
    ("EXEMPT,TX,US_TX_RESELLER_EXEMPT\n", "line 3: shopify_tax_exemption 'US_TX_RESELLER_EXEMPT' is not one of"),
    ("EXEMPT,TX,us_tx_reseller_exemption\n", "is not one of Shopify's TaxExemption values"),
    ("EXEMPT,CA,US_TX_RESELLER_EXEMPTION\n", "line 3: US_TX_RESELLER_EXEMPTION applies in TX, not in state CA"),
    ("EXEMPTALL,TX,US_TX_RESELLER_EXEMPTION\n", "line 3: max_tax_code 'EXEMPTALL' is longer than MAX's TAXCD (7)"),
    ("EXEMPT,,US_TX_RESELLER_EXEMPTION\n", "line 3: state must be a state or province code, or * for any"),
    ("EXEMPT,TX,US_TX_RESELLER_EXEMPTION\nEXEMPT,tx,US_TX_RESELLER_EXEMPTION\n", "line 4: the same row is on line 3"),
])
def test_a_bad_row_is_refused_at_load_time_naming_the_file_and_line(tmp_path, row, message):
    path = _write(tmp_path, row)
    with pytest.raises(MappingFileError) as caught:
        load_tax_exemptions(path)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_a_missing_column_is_refused(tmp_path):
    path = tmp_path / "tax_exemptions.csv"
    path.write_text("max_tax_code,shopify_tax_exemption\nEXEMPT,US_TX_RESELLER_EXEMPTION\n", encoding="utf-8")
    with pytest.raises(MappingFileError, match="missing column"):
        load_tax_exemptions(path)
