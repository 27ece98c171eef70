"""A Shopify order becomes an Exact MAX sales order by explicit rules; each rule has a test here."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from order_payloads import EXAMPLE_ORDER, money

from shopify_max.orders.mapper import map_order_to_sales_order
from shopify_max.orders.totals import max_document_total
from shopify_max.orders.webhook_payload import order_from_webhook_payload


def mapped(payload, mappings, **kwargs):
    return map_order_to_sales_order(order_from_webhook_payload(payload), mappings, **kwargs)


def rules_named(result, rule):
    return [r for r in result.rules_applied if r.rule == rule]


def test_shopifys_example_payload_is_cancelled_so_it_is_skipped_with_the_reason(mappings):
    result = mapped(copy.deepcopy(EXAMPLE_ORDER), mappings)
    assert result.outcome == "skipped"
    assert result.skip_reason.startswith("cancelled in Shopify at 2021-12-31")


def test_the_example_order_maps_field_by_field_and_reconciles_to_the_cent(example_payload, mappings):
    result = mapped(example_payload, mappings)
    assert result.outcome == "mapped", result.errors
    so = result.sales_order
    assert (so.CUSTPO, so.CURR, so.TERMS, so.SHPVIA, so.TAXABL) == ("SHOP#9999", "USD", "CC", "UP", "Y")
    assert (so.NAME, so.ADDR1, so.ADDR2, so.CITY, so.STATE, so.ZIPCD, so.CNTRY) == (
        "Steve Shipper", "Shipping Company", "123 Shipping Street", "Shippington", "KY", "40003", "US")
    assert so.CNTCT == "Steve Shipper" and so.PHONE == "555-555-SHIP"
    assert [row.PRTNUM for row in so.lines] == ["PRT-00001", "PRT-00002", "PRT-00003", "PRT-00004", "PRT-00005",
                                                "FREIGHT"]
    # The example's $20.00 discount has no allocations: it is spread over the lines by gross, to the cent.
    [allocation] = rules_named(result, "order_discount_allocated_to_lines")
    assert allocation.before == "20.00" and sum(Decimal(s) for s in allocation.after.split(", ")) == Decimal("20.00")
    assert max_document_total(so) == Decimal("404.95") == Decimal(example_payload["total_price"])
    assert so.lines[0].ORGPRC == Decimal("89.99") and so.lines[0].PRICE < Decimal("89.99")


def test_an_unmapped_sku_is_an_error_naming_the_line_and_the_sku(example_payload, mappings):
    example_payload["line_items"][2]["sku"] = "NOT-IN-MAX"
    result = mapped(example_payload, mappings)
    assert result.outcome == "failed" and result.sales_order is None
    [error] = result.errors
    assert (error.field, error.rule, error.value) == ("line_items[2].sku", "unmapped_sku", "NOT-IN-MAX")
    assert "#9999" in result.error_reason() and "NOT-IN-MAX" in result.error_reason()


def test_long_address_lines_are_abbreviated_then_continued_and_each_rule_is_recorded(example_payload, mappings):
    example_payload["shipping_address"].update({
        "company": "International Manufacturing Corporation of North America",
        "address1": "12345 North Martin Luther King Junior Boulevard Suite 1200",
    })
    so = mapped(example_payload, mappings).sales_order
    lines = [so.ADDR1, so.ADDR2, so.ADDR3, so.ADDR4]
    assert all(line is None or len(line) <= 30 for line in lines)
    assert " ".join(line for line in lines if line) == (
        "Intl Mfg Corp of N America 12345 N Martin Luther King Junior Blvd Ste 1200")
    result = mapped(example_payload, mappings)
    assert rules_named(result, "abbreviate") and rules_named(result, "continue_into_next_line")


def test_overflow_set_to_error_sends_the_order_to_the_error_queue(example_payload, mappings):
    mappings.rules.__dict__["text_overflow"] = "error"  # frozen dataclass: the test changes the loaded rule
    example_payload["shipping_address"]["address1"] = "12345 North Martin Luther King Junior Boulevard"
    result = mapped(example_payload, mappings)
    assert result.outcome == "failed"
    assert result.errors[0].field == "ship_to.address1" and result.errors[0].rule == "too_long"


def test_non_latin_text_is_transliterated_and_recorded(example_payload, mappings):
    example_payload["shipping_address"].update({"name": "Zoë Ångström", "city": "Zürich"})
    result = mapped(example_payload, mappings)
    assert (result.sales_order.NAME, result.sales_order.CITY) == ("Zoe Angstrom", "Zurich")
    assert {(r.before, r.after) for r in rules_named(result, "transliterate")} >= {("Zoë Ångström", "Zoe Angstrom")}


def test_xml_special_characters_pass_through_mapping_unchanged(example_payload, mappings):
    example_payload["shipping_address"]["company"] = 'Smith & <Sons> "Q\'s"'
    assert mapped(example_payload, mappings).sales_order.ADDR1 == 'Smith & <Sons> "Q\'s"'


def test_tax_lines_become_max_tax_codes_with_amounts_per_line(example_payload, mappings):
    item = example_payload["line_items"][0]
    item["tax_lines"] = [{"title": "KY State Tax", "rate": 0.06, "price_set": money("5.40")},
                         {"title": "County Tax", "rate": 0.01, "price_set": money("0.90")}]
    example_payload["total_tax_set"] = money("6.30")
    example_payload["total_price_set"] = money("411.25")
    so = mapped(example_payload, mappings).sales_order
    row = so.lines[0]
    assert (row.TAXCDE1, row.TAX1, row.TAXCDE2, row.TAX2, row.TAXABL) == ("KY", Decimal("5.40"), "KYCNTY",
                                                                          Decimal("0.90"), "Y")
    assert (so.TAXCD1, so.TAXCD2, so.TTAX) == ("KY", "KYCNTY", Decimal("6.30"))
    assert max_document_total(so) == Decimal("411.25")


def test_taxes_included_prices_are_sent_net_of_tax_and_still_reconcile(example_payload, mappings):
    example_payload["taxes_included"] = True
    example_payload["line_items"][0]["tax_lines"] = [{"title": "KY State Tax", "rate": 0.06, "price_set": money("5.09")}]
    example_payload["total_tax_set"] = money("5.09")
    result = mapped(example_payload, mappings)
    so = result.sales_order
    assert rules_named(result, "taxes_included_price_net_of_tax")
    assert max_document_total(so) == Decimal("404.95")  # the total already contains the tax
    assert so.lines[0].TAX1 == Decimal("5.09")


def test_more_than_three_tax_codes_on_a_line_is_an_error(example_payload, mappings):
    example_payload["line_items"][0]["tax_lines"] = [
        {"title": title, "rate": rate, "price_set": money("0.10")}
        for title, rate in (("KY State Tax", 0.06), ("County Tax", 0.01), ("City Tax", 0.01), ("Special District", 0.01))]
    result = mapped(example_payload, mappings)
    assert any(e.rule == "too_many_tax_codes" and e.field == "line_items[0].tax_lines" for e in result.errors)


def test_an_unmapped_tax_is_an_error_naming_the_tax(example_payload, mappings):
    example_payload["line_items"][1]["tax_lines"] = [{"title": "Mars Tax", "rate": 0.5, "price_set": money("1.00")}]
    result = mapped(example_payload, mappings)
    assert any(e.field == "line_items[1].tax_lines[0]" and e.value == "Mars Tax" for e in result.errors)


def test_a_case_of_12_is_sent_as_12_each_per_case_at_a_twelfth_of_the_price(example_payload, mappings):
    example_payload["line_items"] = [dict(example_payload["line_items"][0], sku="SKU-00010-CS12", quantity=2,
                                          price="120.00", price_set=money("120.00"))]
    example_payload["total_discounts_set"] = money("0.00")
    example_payload["total_price_set"] = money("250.00")
    example_payload["shipping_lines"][0]["price_set"] = money("10.00")
    result = mapped(example_payload, mappings)
    row = result.sales_order.lines[0]
    assert (row.PRTNUM, row.SLSUOM, row.ORGQTY, row.PRICE) == ("PRT-00010", "EA", Decimal(24), Decimal("10.00"))
    assert rules_named(result, "uom_factor")


def test_a_net_amount_that_does_not_divide_into_cents_is_split_into_two_deliveries(example_payload, mappings):
    example_payload["line_items"] = [dict(example_payload["line_items"][0], quantity=3, price="3.34",
                                          price_set=money("3.34"),
                                          discount_allocations=[{"amount_set": money("0.02"), "discount_application_index": 0}])]
    example_payload["total_discounts_set"] = money("0.02")
    example_payload["total_price_set"] = money("20.00")
    result = mapped(example_payload, mappings)
    rows = [r for r in result.sales_order.lines if r.PRTNUM != "FREIGHT"]
    assert [(r.LINNUM, r.DELNUM, r.ORGQTY, r.PRICE) for r in rows] == [
        ("01", "01", Decimal(2), Decimal("3.33")), ("01", "02", Decimal(1), Decimal("3.34"))]
    assert max_document_total(result.sales_order) == Decimal("20.00")


def test_more_than_99_lines_is_an_error_not_a_silent_cut(example_payload, mappings):
    template = example_payload["line_items"][0]
    example_payload["line_items"] = [dict(template, price="1.00", price_set=money("1.00")) for _ in range(120)]
    example_payload["total_discounts_set"] = money("0.00")
    example_payload["total_price_set"] = money("130.00")
    result = mapped(example_payload, mappings)
    assert [e.rule for e in result.errors] == ["too_many_lines"]


def test_gift_cards_are_skipped_and_excluded_from_the_reconciled_total(example_payload, mappings):
    example_payload["line_items"][1]["gift_card"] = True
    result = mapped(example_payload, mappings)
    assert result.outcome == "mapped"
    assert rules_named(result, "gift_card_line_skipped")
    assert "PRT-00002" not in [row.PRTNUM for row in result.sales_order.lines]


def test_a_custom_line_without_sku_goes_to_the_configured_part(example_payload, mappings):
    example_payload["line_items"][0]["sku"] = ""
    result = mapped(example_payload, mappings)
    assert result.sales_order.lines[0].PRTNUM == "MISC"
    assert rules_named(result, "custom_line_part")


def test_a_guest_checkout_goes_to_the_guest_account(example_payload, mappings):
    example_payload["customer"] = None
    result = mapped(example_payload, mappings)
    assert result.sales_order.CUSTID == "WEB" and result.new_customer is None


def test_per_customer_strategy_creates_a_stable_account_on_first_order_only(example_payload, mappings):
    first = mapped(example_payload, mappings)
    assert first.new_customer is not None and first.sales_order.CUSTID == first.new_customer.CUSTID
    assert first.new_customer.CUSTID.startswith("S") and len(first.new_customer.CUSTID) <= 20
    assert first.new_customer.NAME == example_payload["billing_address"]["name"]  # bill-to: the billing address
    again = mapped(example_payload, mappings, known_custid=first.new_customer.CUSTID)
    assert again.new_customer is None and again.sales_order.CUSTID == first.new_customer.CUSTID


def test_a_foreign_presentment_currency_carries_the_exchange_rate(example_payload, mappings):
    example_payload["presentment_currency"] = "CAD"
    example_payload["total_price_set"]["presentment_money"] = {"amount": "550.73", "currency_code": "CAD"}
    so = mapped(example_payload, mappings).sales_order
    assert (so.CURR, so.EXCRTE) == ("USD", Decimal("1.359995"))


def test_totals_that_do_not_add_up_are_an_error_with_the_difference(example_payload, mappings):
    example_payload["total_price_set"] = money("405.00")
    result = mapped(example_payload, mappings)
    [error] = result.errors
    assert error.rule == "totals_mismatch" and "difference 0.05" in error.message


def test_an_unmapped_payment_gateway_and_shipping_title_are_both_reported(example_payload, mappings):
    example_payload["payment_gateway_names"] = ["crypto"]
    example_payload["shipping_lines"][0]["title"] = "Drone"
    result = mapped(example_payload, mappings)
    assert {e.rule for e in result.errors} == {"unmapped_gateway", "unmapped_shipping"}


@pytest.mark.parametrize("name", ["#" + "9" * 30])
def test_a_custpo_longer_than_25_is_an_error(example_payload, mappings, name):
    example_payload["name"] = name
    assert any(e.rule == "too_long" and e.field == "name" for e in mapped(example_payload, mappings).errors)
