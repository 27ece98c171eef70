"""The master-data side of ShopifyAdminApi against the sandbox over HTTP: customers read in bulk and page by page,
written with customerSet (and metafieldsSet), variants read in bulk and repriced, the codes recent orders carry, and
what a dry run lets through. The sandbox's write log (``GET /_sandbox/writes``) shows what each call wrote."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest

from sandboxes import catalog, master_data_cases
from sandboxes.shopify.schema import admin_schema
from shopify_max.clock import utcnow
from shopify_max.dry_run import DryRunWriteRefused, dry_run_guard
from shopify_max.money import FloatAmountError
from shopify_max.shopify.api import ShopifyAdminApi
from shopify_max.shopify.bulk import BulkOperationRunner
from shopify_max.shopify.client import GraphQLResponse
from shopify_max.shopify.hook import ShopifyHook
from shopify_max.shopify.limits import MAX_QUERY_COST
from shopify_max.shopify.master_data_api import CUSTOMERS_PER_PAGE_MAX, METAFIELDS_PER_CUSTOMER_READ
from shopify_max.shopify.master_data_models import TAX_EXEMPTIONS, ShopifyCustomerRecord

PRODUCTS = 60  # the session sandbox's catalogue (tests/shopify/conftest.py)


class WriteLog:
    """``/_sandbox/writes``: what the sandbox executed as mutations since the last clear."""

    def __init__(self, admin) -> None:
        self.admin = admin

    def clear(self) -> None:
        response = self.admin.session.delete(f"{self.admin.running.base_url}/_sandbox/writes", timeout=10)
        response.raise_for_status()

    def read(self) -> dict:
        return self.admin.get("writes")


@pytest.fixture
def write_log(admin) -> WriteLog:
    log = WriteLog(admin)
    log.clear()
    return log


@pytest.fixture
def runner(api: ShopifyAdminApi) -> BulkOperationRunner:
    return BulkOperationRunner(api.client, poll_interval=0.05)


@pytest.fixture
def responses(api: ShopifyAdminApi) -> list[GraphQLResponse]:
    """Every response the api's client receives, to read the cost Shopify reported for each request."""
    seen: list[GraphQLResponse] = []
    execute = api.client.execute

    def recording(document, variables=None):
        response = execute(document, variables)
        seen.append(response)
        return response

    api.client.execute = recording  # type: ignore[method-assign]
    return seen


def _by_email(records) -> dict[str | None, ShopifyCustomerRecord]:
    return {record.email: record for record in records}


def _one(api: ShopifyAdminApi, email: str) -> ShopifyCustomerRecord:
    [record] = api.iter_customers(query=f'email:"{email}"')
    return record


def _wait_for_the_next_second(stamp) -> None:
    """Shopify's timestamps have whole seconds: wait until a change now would carry a later one than ``stamp``."""
    while utcnow().replace(microsecond=0) <= stamp:
        time.sleep(0.05)


CUSTID = {"namespace": "max", "key": "custid", "type": "single_line_text_field"}


# ----- reading customers -----
def test_the_seeded_b2b_customers_come_back_from_the_bulk_and_the_paged_read_with_their_metafields(api, runner):
    bulk = _by_email(api.bulk_customers(runner=runner))
    paged = _by_email(api.iter_customers())
    for case in master_data_cases.SHOPIFY_CUSTOMERS:
        record = bulk[case.email]
        assert paged[case.email] == record, case.key
        assert (record.first_name, record.last_name, record.phone, record.company, record.city, record.province_code,
                record.zip, record.country_code) == (case.first_name, case.last_name, case.phone, case.company,
                                                      case.city, case.province_code, case.zip_code, case.country_code)
        assert record.metafields == ({"max.custid": case.custid_metafield} if case.custid_metafield else {}), case.key
        assert record.number_of_orders == 0 and record.id.startswith("gid://shopify/Customer/")
        assert record.legacy_id == record.id.rsplit("/", 1)[1]
    assert bulk["exempt@example.com"].tax_exempt and bulk["exempt@example.com"].tax_exemptions == [
        "CA_STATUS_CARD_EXEMPTION"]
    assert any(record.number_of_orders > 0 for record in bulk.values()), "seeded customers have orders"


def test_a_search_reads_only_the_customers_it_finds(api):
    northwind = next(c for c in master_data_cases.SHOPIFY_CUSTOMERS if c.key == "northwind")
    assert _one(api, northwind.email).company == "Northwind Canada"
    canadians = list(api.iter_customers(query="country:CA"))
    assert northwind.email in _by_email(canadians)
    assert {record.country_code for record in canadians} == {"CA"}
    [by_phone] = api.iter_customers(query="phone:+12125550143")
    assert by_phone.email == "eva@empiredist.example"


def test_small_pages_read_every_customer_once_in_id_order(api):
    everyone = list(api.iter_customers())
    paged = list(api.iter_customers(page_size=4))
    assert [r.id for r in paged] == [r.id for r in everyone] == sorted((r.id for r in everyone),
                                                                       key=lambda gid: int(gid.rsplit("/", 1)[1]))
    assert len(paged) >= 8 + len(master_data_cases.SHOPIFY_CUSTOMERS)


def test_a_full_customers_page_stays_under_the_single_query_cost(api, responses):
    list(api.iter_customers(page_size=250))
    pages = [r for r in responses if r.operation == "CustomersPage"]
    assert pages and all(r.cost["requestedQueryCost"] <= MAX_QUERY_COST for r in pages)
    first_page = pages[0].cost["requestedQueryCost"]
    assert first_page > MAX_QUERY_COST * 0.9, f"the page size could be larger: {first_page} points asked"
    assert CUSTOMERS_PER_PAGE_MAX < 250


def test_a_customer_with_more_metafields_than_one_page_has_them_all_read(api, runner):
    created = api.set_customer_account({"email": "many.metafields@example.com", "lastName": "Many"},
                                       {"email": "many.metafields@example.com"})
    count = METAFIELDS_PER_CUSTOMER_READ + 3
    assert api.set_metafields([{"ownerId": created.customer.id, "namespace": "erp", "key": f"field_{n:02d}",
                                "type": "single_line_text_field", "value": f"v{n}"} for n in range(count)]).ok
    expected = {f"erp.field_{n:02d}": f"v{n}" for n in range(count)}
    assert _one(api, "many.metafields@example.com").metafields == expected
    assert _by_email(api.bulk_customers(runner=runner))["many.metafields@example.com"].metafields == expected


def test_updated_since_narrows_the_bulk_read_to_customers_changed_since(api, runner):
    changed = api.set_customer_account({"email": "changed.lately@example.com", "firstName": "Lately"},
                                       {"email": "changed.lately@example.com"}).customer
    since = changed.updated_at
    recent = list(api.bulk_customers(since, runner=runner))
    assert "changed.lately@example.com" in _by_email(recent)
    assert all(record.updated_at >= since for record in recent)
    assert list(api.bulk_customers(utcnow() + timedelta(days=1), runner=runner)) == []


def test_number_of_orders_counts_the_customers_orders(api, admin):
    customer = api.set_customer_account({"email": "two.orders@example.com", "lastName": "Buyer"},
                                        {"email": "two.orders@example.com"}).customer
    assert customer.number_of_orders == 0
    for _ in range(2):
        admin.post("orders", {"customer_id": customer.id, "lines": [{"sku": "SKU-00021", "quantity": 1}]})
    assert _one(api, "two.orders@example.com").number_of_orders == 2


# ----- customerSet -----
def test_customer_set_creates_by_email_with_account_data_and_metafields(api, write_log):
    email = "orders@boltfasteners.example"
    outcome = api.set_customer_account(
        {"email": email, "taxExempt": True, "taxExemptions": ["US_CO_RESELLER_EXEMPTION"], "tags": ["max:dealer"],
         "metafields": [{**CUSTID, "value": "BOLT-002"}]}, {"email": email})
    assert outcome.ok, outcome.user_errors
    customer = outcome.customer
    assert (customer.email, customer.tax_exempt, customer.tax_exemptions, customer.tags, customer.metafields) == (
        email, True, ["US_CO_RESELLER_EXEMPTION"], ["max:dealer"], {"max.custid": "BOLT-002"})
    assert _one(api, email) == customer  # what Shopify holds, read back
    assert write_log.read()["counts"] == {"customerSet": 1, "metafieldsSet": 1}
    again = api.set_customer_account({"email": email, "note": "created once"}, {"email": email})
    assert again.customer.id == customer.id and len(list(api.iter_customers(query=f'email:"{email}"'))) == 1


def test_customer_set_by_id_replaces_tags_and_exemptions_upserts_metafields_and_keeps_what_it_omits(api):
    created = api.set_customer_account(
        {"email": "replace.lists@example.com", "note": "keep me", "tags": ["max:wholesale", "vip"],
         "taxExemptions": ["US_TX_RESELLER_EXEMPTION", "US_OK_RESELLER_EXEMPTION"],
         "metafields": [{**CUSTID, "value": "OLD-ID"}, {**CUSTID, "key": "terms", "value": "30"}]},
        {"email": "replace.lists@example.com"}).customer
    updated = api.set_customer_account(
        {"tags": ["max:dealer"], "taxExemptions": ["US_TX_RESELLER_EXEMPTION"],
         "metafields": [{**CUSTID, "value": "GLOBEX-2"}, {**CUSTID, "key": "price_list", "value": "DEALER"}]},
        {"id": created.id})
    assert updated.ok, updated.user_errors
    read = _one(api, "replace.lists@example.com")
    assert read.id == created.id and read == updated.customer
    assert read.tags == ["max:dealer"] and read.tax_exemptions == ["US_TX_RESELLER_EXEMPTION"]
    assert read.metafields == {"max.custid": "GLOBEX-2", "max.terms": "30", "max.price_list": "DEALER"}
    assert api.get_customer(created.id).note == "keep me"


def test_setting_the_same_values_again_leaves_the_customer_unchanged_but_is_still_a_call(api, write_log):
    """Shopify answers every customerSet (it is a write request, 10 points) but a customer that does not change
    keeps its updatedAt; the sandbox does the same. The client sends metafieldsSet only for values that differ."""
    values = {"email": "same.again@example.com", "taxExempt": False, "tags": ["max:retail"],
              "metafields": [{**CUSTID, "value": "SAME-1"}]}
    first = api.set_customer_account(values, {"email": "same.again@example.com"}).customer
    _wait_for_the_next_second(first.updated_at)
    write_log.clear()

    again = api.set_customer_account(values, {"id": first.id}).customer

    assert again.updated_at == first.updated_at and again == first
    log = write_log.read()
    assert log["counts"] == {"customerSet": 1}  # the call is counted; no metafieldsSet was needed
    assert log["entries"][0]["targets"] == [first.id] and log["entries"][0]["user_errors"] == 0
    changed = api.set_customer_account({**values, "tags": ["max:dealer"]}, {"id": first.id}).customer
    assert changed.updated_at > first.updated_at


def test_a_tax_exemption_that_does_not_exist_is_a_user_error_and_nothing_is_sent(api, write_log):
    requests_before = api.client.stats.requests
    outcome = api.set_customer_account({"email": "bad.exemption@example.com",
                                        "taxExemptions": ["US_TX_RESELLER_EXEMPTION", "TX_RESALE"]},
                                       {"email": "bad.exemption@example.com"})
    assert not outcome.ok and outcome.customer is None
    assert outcome.user_errors == [(["input", "taxExemptions", "1"], "'TX_RESALE' is not a TaxExemption",
                                    "INCLUSION")]
    assert api.client.stats.requests == requests_before and write_log.read()["total"] == 0


def test_the_tax_exemption_list_is_the_schemas():
    assert set(admin_schema().get_type("TaxExemption").values) == TAX_EXEMPTIONS


@pytest.mark.parametrize(("values", "identifier", "expected"), [
    ({"note": "x"}, {"id": "gid://shopify/Customer/1"}, (["identifier", "id"], "NOT_FOUND")),
    ({"email": "ap@acmehardware.example", "lastName": "Dup"}, None, (["input", "email"], "TAKEN")),
    ({"email": "someone.else@example.com"}, {"email": "dan@pioneermachining.example"},
     (["input", "email"], "INPUT_MISMATCH")),
    ({"lastName": "No e-mail"}, {"email": "no.email.in.input@example.com"},
     (["input", "email"], "MISSING_FIELD_REQUIRED")),
    ({"email": "not-an-email"}, None, (["input", "email"], "INVALID")),
], ids=["unknown-id", "taken-email", "identifier-mismatch", "identifier-field-missing", "invalid-email"])
def test_customer_set_refusals_are_user_errors_in_shopifys_shape(api, values, identifier, expected):
    outcome = api.set_customer_account(values, identifier)
    assert outcome.customer is None
    assert [(e.field, e.code) for e in outcome.user_errors] == [expected]
    assert outcome.user_errors[0][1]  # (field, message, code): a message a person can read


def test_a_refused_metafield_is_reported_against_its_input_index(api):
    outcome = api.set_customer_account(
        {"email": "bad.metafield@example.com", "metafields": [{**CUSTID, "value": "OK-1"},
                                                              {**CUSTID, "key": "x", "value": "too short key"}]},
        {"email": "bad.metafield@example.com"})
    assert outcome.customer is not None and outcome.customer.metafields == {}  # metafieldsSet is all or nothing
    assert [(e.field, e.code) for e in outcome.user_errors] == [(["input", "metafields", "1", "key"], "TOO_SHORT")]


# ----- variants -----
def test_bulk_variants_returns_every_variant_with_duplicate_skus_and_taxable_as_the_catalogue_says(api, runner):
    records = list(api.bulk_variants(runner=runner))
    entries = catalog.products(PRODUCTS)
    by_sku: dict[str | None, list] = {}
    for record in records:
        by_sku.setdefault(record.sku, []).append(record)
    duplicated = {sku for sku, found in by_sku.items() if len(found) > 1}
    assert duplicated == {f"SKU-{entry.index:05d}" for entry in entries if entry.index % 50 == 13}
    assert len({r.product_id for r in by_sku["SKU-00013"]}) == 2
    assert len(records) == sum(len(entry.variants) for entry in entries) + len(duplicated)
    for entry in entries:
        for variant in entry.variants:
            for record in by_sku[variant.sku]:
                assert (record.title, record.taxable, record.selected_options, record.product_status) == (
                    variant.title, variant.taxable, [("Pack", variant.title)], "ACTIVE"), variant.sku
                assert record.product_title.startswith(entry.title)
    assert {r.sku for r in records if not r.taxable} == {"SKU-00003", "SKU-00043"}
    assert by_sku["SKU-00010-CS12"][0].price == catalog.product(10).variants[1].price
    assert all(isinstance(r.price, Decimal) for r in records)


def test_update_variant_prices_changes_the_price_and_the_write_is_logged(api, runner, write_log):
    variant = next(r for r in api.bulk_variants(runner=runner) if r.sku == "SKU-00057")
    new_price = variant.price + Decimal("1.25")
    try:
        assert api.update_variant_prices(variant.product_id, [(variant.id, new_price)]) == []
        reread = next(r for r in api.bulk_variants(runner=runner) if r.id == variant.id)
        assert reread.price == new_price
        [entry] = write_log.read()["entries"]
        assert entry["mutation"] == "productVariantsBulkUpdate"
        assert variant.id in entry["targets"] and variant.product_id in entry["targets"]
    finally:
        api.update_variant_prices(variant.product_id, [(variant.id, variant.price)])


def test_a_variant_of_another_product_is_refused_and_nothing_in_that_call_changes(api, runner):
    records = [r for r in api.bulk_variants(runner=runner) if r.sku in ("SKU-00050", "SKU-00050-CS12", "SKU-00051")]
    each, case, other = sorted(records, key=lambda r: r.sku)
    errors = api.update_variant_prices(each.product_id, [(each.id, Decimal("1.00")), (case.id, Decimal("2.00")),
                                                          (other.id, Decimal("3.00"))])
    assert [(e.field, e.code) for e in errors] == [(["variants", "2", "id"], "MUST_BE_FOR_THIS_PRODUCT")]
    after = {r.id: r.price for r in api.bulk_variants(runner=runner)}
    assert (after[each.id], after[case.id]) == (each.price, case.price)


def test_more_than_250_prices_go_in_calls_of_250(api, runner, write_log):
    variant = next(r for r in api.bulk_variants(runner=runner) if r.sku == "SKU-00058")
    assert api.update_variant_prices(variant.product_id, [(variant.id, variant.price)] * 251) == []
    assert write_log.read()["counts"] == {"productVariantsBulkUpdate": 2}


def test_a_float_price_is_refused_before_anything_is_sent(api, write_log):
    with pytest.raises(FloatAmountError):
        api.update_variant_prices("gid://shopify/Product/1", [("gid://shopify/ProductVariant/1", 9.99)])
    assert write_log.read()["total"] == 0


# ----- codes on recent orders -----
def test_bulk_order_codes_reads_tax_gateway_and_shipping_codes_of_recent_orders(api, runner):
    records = list(api.bulk_order_codes(utcnow() - timedelta(days=3), runner=runner))
    assert len(records) >= 40 and [r.created_at for r in records] == sorted(r.created_at for r in records)
    titles = {(tax.title, tax.rate) for record in records for tax in record.tax_lines}
    assert {("IL State Tax", Decimal("0.0625")), ("Cook County Tax", Decimal("0.0175")),
            ("NL BTW", Decimal("0.21"))} <= titles
    assert {"shopify_payments", "gift_card", "manual"} <= {g for r in records for g in r.gateways}
    express = next(r for r in records if "Express" in r.shipping_titles)
    assert express.shipping_titles == ["Express", "Freight surcharge"]
    assert express.shipping_codes == ["EXPRESS", "FREIGHT"]
    assert list(api.bulk_order_codes(utcnow() + timedelta(days=1), runner=runner)) == []


# ----- dry runs -----
def test_a_dry_run_refuses_every_master_data_write_before_a_request_and_still_reads_in_bulk(api, runner, write_log):
    requests_before = api.client.stats.requests
    with dry_run_guard():
        with pytest.raises(DryRunWriteRefused, match="CustomerSetAccount"):
            api.set_customer_account({"email": "dry.run@example.com"}, {"email": "dry.run@example.com"})
        with pytest.raises(DryRunWriteRefused, match="ProductVariantsBulkUpdate"):
            api.update_variant_prices("gid://shopify/Product/1", [("gid://shopify/ProductVariant/1", Decimal(1))])
        assert api.client.stats.requests == requests_before
        customers = _by_email(api.bulk_customers(runner=runner))
        variants = list(api.bulk_variants(runner=runner))
    assert "dry.run@example.com" not in customers and "gina.ortiz@globex.example" in customers and variants
    assert write_log.read() == {"total": 0, "counts": {}, "entries": []}


def test_the_hook_has_the_master_data_methods():
    for name in ("bulk_customers", "iter_customers", "set_customer_account", "bulk_variants",
                 "update_variant_prices", "bulk_order_codes"):
        assert callable(getattr(ShopifyHook, name)), name
