"""The sandbox's master data behaves as Shopify's (2026-07): the seeded B2B customers, the customers search,
customerSet's upsert rules, productVariantsBulkUpdate's refusals, and the write log that records every mutation
the API executed (``/_sandbox/writes``), over real HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from shopify_helpers import TOKEN, SandboxAdmin

from sandboxes import master_data_cases
from sandboxes.shopify.app import SandboxConfig, run_in_thread
from sandboxes.shopify.seed import seed_store
from sandboxes.shopify.store import SandboxStore
from shopify_max.clock import utcnow
from shopify_max.shopify.api import idempotency_key_for
from shopify_max.shopify.bulk import BulkOperationRunner
from shopify_max.shopify.models import InventoryQuantity

CUSTOMER_FIELDS = """id email: defaultEmailAddress { emailAddress } phone: defaultPhoneNumber { phoneNumber }
  tags taxExemptions updatedAt defaultAddress { id company zip countryCodeV2 }
  addressesV2(first: 10) { nodes { id company zip city } }"""
CUSTOMER_SET = f"""mutation Set($identifier: CustomerSetIdentifiers, $input: CustomerSetInput!) {{
  customerSet(identifier: $identifier, input: $input) {{
    customer {{ {CUSTOMER_FIELDS} metafield(namespace: "max", key: "custid") {{ value }} }}
    userErrors {{ field message code }}
  }}
}}"""
VARIANTS_UPDATE = """mutation Update($productId: ID!, $variants: [ProductVariantsBulkInput!]!, $partial: Boolean) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants, allowPartialUpdates: $partial) {
    productVariants { id price compareAtPrice taxable }
    userErrors { field message code }
  }
}"""


def _post(url: str, query: str, variables: dict | None = None, token: str | None = TOKEN) -> requests.Response:
    headers = {"X-Shopify-Access-Token": token} if token else {}
    return requests.post(url, json={"query": query, "variables": variables or {}}, headers=headers, timeout=30)


def _data(sandbox, query: str, variables: dict | None = None) -> dict:
    body = _post(sandbox.graphql_url, query, variables).json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def _customer_set(sandbox, values: dict, identifier: dict | None = None) -> dict:
    return _data(sandbox, CUSTOMER_SET, {"identifier": identifier, "input": values})["customerSet"]


def _emails(sandbox, query: str, **args: str) -> list[str]:
    extra = "".join(f", {name}: {value}" for name, value in args.items())
    data = _data(sandbox, f"query Q($q: String) {{ customers(first: 250, query: $q{extra}) {{ nodes {{ "
                          "defaultEmailAddress { emailAddress } } } }", {"q": query})
    return [(node["defaultEmailAddress"] or {}).get("emailAddress") for node in data["customers"]["nodes"]]


class WriteLog:
    def __init__(self, base_url: str) -> None:
        self.url = f"{base_url}/_sandbox/writes"

    def read(self) -> dict:
        response = requests.get(self.url, headers={"X-Shopify-Access-Token": TOKEN}, timeout=10)
        response.raise_for_status()
        return response.json()

    def clear(self) -> dict:
        response = requests.delete(self.url, headers={"X-Shopify-Access-Token": TOKEN}, timeout=10)
        response.raise_for_status()
        return response.json()


@pytest.fixture
def write_log(sandbox, admin) -> WriteLog:
    log = WriteLog(sandbox.base_url)
    log.clear()
    return log


# ----- the seed -----
def test_the_b2b_customers_are_seeded_last_without_orders_and_the_seed_stays_deterministic():
    def snapshot(store: SandboxStore):
        return ([(c["id"], (c["defaultEmailAddress"] or {}).get("emailAddress"),
                  [(m["namespace"], m["key"], m["value"]) for m in c.get("metafields", [])])
                 for c in store.customers.values()],
                [(o["id"], (o["customer"] or {}).get("id")) for o in store.orders.values()])

    store = seed_store(SandboxStore(), 30, 20, seed=2)
    assert snapshot(store) == snapshot(seed_store(SandboxStore(), 30, 20, seed=2))
    b2b = list(store.customers.values())[-len(master_data_cases.SHOPIFY_CUSTOMERS):]
    assert [(c["defaultEmailAddress"] or {}).get("emailAddress") for c in b2b] == [
        case.email for case in master_data_cases.SHOPIFY_CUSTOMERS]
    ordering = {(o["customer"] or {}).get("id") for o in store.orders.values()}
    assert not ordering & {c["id"] for c in b2b}
    newest_order_id = max(int(o["legacyResourceId"]) for o in store.orders.values())
    assert min(int(c["legacyResourceId"]) for c in b2b) > newest_order_id  # made after everything random


# ----- the customers search -----
def test_the_customers_search_knows_shopifys_terms(sandbox, admin):
    assert _emails(sandbox, 'email:"GINA.ORTIZ@globex.example"') == ["gina.ortiz@globex.example"]
    assert set(_emails(sandbox, "email:pioneermachining.example")) == {"dan@pioneermachining.example",
                                                                       "lee@pioneermachining.example"}
    assert _emails(sandbox, "phone:+12125550143") == ["eva@empiredist.example"]
    assert _emails(sandbox, 'phone:"(212) 555-0143"') == ["eva@empiredist.example"]
    canadians = _emails(sandbox, "country:CA")
    assert "priya@northwind.example" in canadians and "gina.ortiz@globex.example" not in canadians
    assert "priya@northwind.example" not in _emails(sandbox, "-country:CA")
    assert set(_emails(sandbox, "email:northwind.example OR email:globex.example")) == {
        "priya@northwind.example", "gina.ortiz@globex.example"}
    assert _emails(sandbox, "email:globex.example AND country:CA") == []
    future = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _emails(sandbox, f"updated_at:>='{future}'") == []
    assert len(_emails(sandbox, "updated_at:>='2000-01-01T00:00:00Z'")) == len(_emails(sandbox, ""))


def test_customers_sort_by_updated_at(sandbox, admin):
    touched = _customer_set(sandbox, {"email": "sort.me.last@example.com", "lastName": "Last"},
                            {"email": "sort.me.last@example.com"})["customer"]
    data = _data(sandbox, "{ customers(first: 250, sortKey: UPDATED_AT) { nodes { id updatedAt } } }")
    nodes = data["customers"]["nodes"]
    assert [n["updatedAt"] for n in nodes] == sorted(n["updatedAt"] for n in nodes)
    assert nodes[-1]["updatedAt"] == touched["updatedAt"]


# ----- customerSet -----
def test_customer_set_upserts_by_phone_and_stores_it_in_e164(sandbox, admin):
    created = _customer_set(sandbox, {"phone": "(303) 555-0199", "lastName": "Phone"}, {"phone": "303-555-0199"})
    assert created["userErrors"] == [] and created["customer"]["phone"] == {"phoneNumber": "+13035550199"}
    again = _customer_set(sandbox, {"phone": "+13035550199", "note": "by phone"}, {"phone": "+1 303 555 0199"})
    assert again["customer"]["id"] == created["customer"]["id"]
    taken = _customer_set(sandbox, {"email": "other.phone@example.com", "phone": "3035550199"})
    assert [(e["field"], e["code"]) for e in taken["userErrors"]] == [(["input", "phone"], "TAKEN")]


def test_customer_set_upserts_by_custom_id(sandbox, admin):
    identifier = {"customId": {"namespace": "max", "key": "custid", "value": "GLOBEX"}}
    found = _customer_set(sandbox, {"note": "matched by custom id"}, identifier)
    assert found["customer"]["email"] == {"emailAddress": "gina.ortiz@globex.example"}
    created = _customer_set(sandbox, {"email": "custom.id@example.com"},
                            {"customId": {"namespace": "max", "key": "custid", "value": "NEW-CUSTOM-1"}})
    assert created["customer"]["metafield"] == {"value": "NEW-CUSTOM-1"}
    assert created["customer"]["id"] != found["customer"]["id"]


def test_customer_set_replaces_the_addresses_keeping_those_given_again(sandbox, admin):
    first = {"company": "Kept Co", "address1": "1 Main St", "city": "Denver", "provinceCode": "CO", "zip": "80202",
             "countryCode": "US"}
    second = {**first, "company": "Dropped Co", "zip": "80203"}
    made = _customer_set(sandbox, {"email": "addresses@example.com", "addresses": [first, second]},
                         {"email": "addresses@example.com"})["customer"]
    kept_id = made["defaultAddress"]["id"]
    assert [a["company"] for a in made["addressesV2"]["nodes"]] == ["Kept Co", "Dropped Co"]
    third = {**first, "company": "New Co", "zip": "80204"}
    after = _customer_set(sandbox, {"addresses": [third, first]}, {"id": made["id"]})["customer"]
    assert [(a["company"], a["id"] == kept_id) for a in after["addressesV2"]["nodes"]] == [
        ("New Co", False), ("Kept Co", True)]
    assert after["defaultAddress"]["id"] == kept_id  # the default was given again, so it stays the default


def test_customer_set_refuses_an_id_in_the_input_next_to_an_identifier(sandbox, admin):
    payload = _customer_set(sandbox, {"id": "gid://shopify/Customer/1", "note": "x"}, {"email": "x@example.com"})
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["input", "id"], "ID_NOT_ALLOWED")]


def test_a_tax_exemption_outside_the_enum_is_a_graphql_error_and_no_write(sandbox, admin, write_log):
    body = _post(sandbox.graphql_url, CUSTOMER_SET, {"identifier": None, "input": {
        "email": "enum@example.com", "taxExemptions": ["NOT_AN_EXEMPTION"]}}).json()
    assert "NOT_AN_EXEMPTION" in body["errors"][0]["message"] and not (body.get("data") or {}).get("customerSet")
    assert write_log.read()["total"] == 0


# ----- productVariantsBulkUpdate -----
def _variant(sandbox, sku: str) -> dict:
    data = _data(sandbox, "query V($q: String) { productVariants(first: 5, query: $q) { nodes { id price taxable "
                          "compareAtPrice product { id } } } }", {"q": f"sku:{sku}"})
    return data["productVariants"]["nodes"][0]


def test_product_variants_bulk_update_sets_price_compare_at_price_and_taxable(sandbox, admin):
    variant = _variant(sandbox, "SKU-00055")
    try:
        payload = _data(sandbox, VARIANTS_UPDATE, {"productId": variant["product"]["id"], "variants": [
            {"id": variant["id"], "price": "19.5", "compareAtPrice": "25.00", "taxable": False}]})
        assert payload["productVariantsBulkUpdate"]["userErrors"] == []
        assert {k: v for k, v in _variant(sandbox, "SKU-00055").items() if k != "product"} == {
            "id": variant["id"], "price": "19.50", "compareAtPrice": "25.00", "taxable": False}
    finally:
        _data(sandbox, VARIANTS_UPDATE, {"productId": variant["product"]["id"], "variants": [
            {"id": variant["id"], "price": variant["price"], "compareAtPrice": None, "taxable": True}]})


def test_product_variants_bulk_update_refuses_as_shopify_does(sandbox, admin):
    variant = _variant(sandbox, "SKU-00056")
    product = variant["product"]["id"]
    missing = _data(sandbox, VARIANTS_UPDATE, {"productId": "gid://shopify/Product/1", "variants": [
        {"id": variant["id"], "price": "1.00"}]})["productVariantsBulkUpdate"]
    assert [(e["field"], e["code"]) for e in missing["userErrors"]] == [(["productId"], "PRODUCT_DOES_NOT_EXIST")]
    bad = _data(sandbox, VARIANTS_UPDATE, {"productId": product, "variants": [
        {"id": variant["id"], "price": "-1.00"}, {"id": "gid://shopify/ProductVariant/1", "price": "1.00"},
        {"price": "1.00"}]})["productVariantsBulkUpdate"]
    assert [(e["field"], e["code"]) for e in bad["userErrors"]] == [
        (["variants", "0", "price"], "GREATER_THAN_OR_EQUAL_TO"),
        (["variants", "1", "id"], "PRODUCT_VARIANT_DOES_NOT_EXIST"), (["variants", "2", "id"],
                                                                      "PRODUCT_VARIANT_ID_MISSING")]
    assert bad["productVariants"] is None and _variant(sandbox, "SKU-00056")["price"] == variant["price"]
    too_many = _post(sandbox.graphql_url, VARIANTS_UPDATE, {"productId": product, "variants": [
        {"id": variant["id"], "price": variant["price"]}] * 251}).json()
    assert too_many["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"


def test_allow_partial_updates_applies_the_valid_variants(sandbox, admin):
    variant = _variant(sandbox, "SKU-00054")
    try:
        payload = _data(sandbox, VARIANTS_UPDATE, {"productId": variant["product"]["id"], "partial": True,
                                                   "variants": [{"id": variant["id"], "price": "3.00"},
                                                                {"id": "gid://shopify/ProductVariant/1"}]})
        result = payload["productVariantsBulkUpdate"]
        assert [e["code"] for e in result["userErrors"]] == ["PRODUCT_VARIANT_DOES_NOT_EXIST"]
        assert [v["price"] for v in result["productVariants"]] == ["3.00"]
    finally:
        _data(sandbox, VARIANTS_UPDATE, {"productId": variant["product"]["id"],
                                         "variants": [{"id": variant["id"], "price": variant["price"]}]})


# ----- the write log -----
def test_every_kind_of_mutation_is_logged_with_its_targets_and_bulk_reads_are_not(sandbox, admin, api, write_log):
    order = admin.post("orders", {"lines": [{"sku": "SKU-00031", "quantity": 2}]})
    assert api.add_tags(order["id"], ["logged"]).ok
    assert api.set_metafields([{"ownerId": order["id"], "namespace": "erp", "key": "so", "value": "SO-1",
                                "type": "single_line_text_field"}]).ok
    assert api.create_fulfillment({order["fulfillmentOrders"][0]: None}).ok
    assert api.create_refund({"orderId": order["id"], "note": "logged", "refundLineItems": [
        {"lineItemId": order["lineItems"][0], "quantity": 1, "restockType": "NO_RESTOCK"}]}).ok
    assert api.close_order(order["id"]).ok
    level = api.inventory_levels([api.find_variants_by_sku(["SKU-00031"]).matches["SKU-00031"][0]
                                  .inventory_item_id])[0]
    quantity = InventoryQuantity(inventory_item_id=level.inventory_item_id, location_id=level.location_id,
                                 quantity=level.available + 1, change_from_quantity=level.available)
    key = idempotency_key_for("write-log-test", level.inventory_item_id)
    assert api.set_available_quantities([quantity], "correction", idempotency_key=key).ok
    assert api.set_available_quantities([quantity], "correction", idempotency_key=key).ok  # replayed
    assert list(api.bulk_variants(runner=BulkOperationRunner(api.client, poll_interval=0.05)))

    log = write_log.read()
    assert log["counts"] == {"tagsAdd": 1, "metafieldsSet": 1, "fulfillmentCreate": 1, "refundCreate": 1,
                             "orderClose": 1, "inventorySetQuantities": 2}
    assert log["total"] == 7 == len(log["entries"])
    tags, metafields, fulfilment, refund, close = log["entries"][:5]
    assert order["id"] in tags["targets"] and order["id"] in metafields["targets"]
    assert order["id"] in refund["targets"] and order["id"] in close["targets"]
    assert order["fulfillmentOrders"][0] in fulfilment["targets"]
    assert all(entry["user_errors"] == 0 for entry in log["entries"])
    first_set, second_set = log["entries"][5:]
    assert level.inventory_item_id in first_set["targets"]
    assert (first_set["replayed"], second_set["replayed"]) == (False, True)
    assert [entry["mutation"] for entry in log["entries"]] == [
        "tagsAdd", "metafieldsSet", "fulfillmentCreate", "refundCreate", "orderClose", "inventorySetQuantities",
        "inventorySetQuantities"]


def test_requests_refused_before_execution_are_not_writes(sandbox, admin, write_log):
    mutation = 'mutation T { tagsAdd(id: "gid://shopify/Order/1", tags: ["x"]) { userErrors { message } } }'
    assert _post(sandbox.graphql_url, mutation, token="shpat_wrong").status_code == 401
    admin.post("bucket", {"bucket_size": 100, "restore_rate": 1, "currently_available": 5})
    throttled = _post(sandbox.graphql_url, mutation).json()
    assert throttled["errors"][0]["extensions"]["code"] == "THROTTLED"
    admin.calm()
    invalid = _post(sandbox.graphql_url, mutation.replace("tags:", "labels:")).json()
    assert invalid["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert write_log.read()["total"] == 0
    refused = _post(sandbox.graphql_url, mutation).json()  # executed: Shopify answers with a userError
    assert refused["data"]["tagsAdd"]["userErrors"]
    assert write_log.read()["counts"] == {"tagsAdd": 1} and write_log.read()["entries"][0]["user_errors"] == 1


def test_the_write_log_clears_on_delete_and_on_reset_and_needs_the_token():
    with run_in_thread(SandboxConfig(products=3, orders=2, plan="plus")) as small:
        log = WriteLog(small.base_url)
        admin = SandboxAdmin(small)

        def write() -> None:
            _data(small, CUSTOMER_SET, {"input": {"email": "reset@example.com"}, "identifier": {
                "email": "reset@example.com"}})

        write()
        write()
        assert log.read()["counts"] == {"customerSet": 2} and log.read()["total"] == 2
        assert log.clear() == {"total": 0, "counts": {}, "entries": []}
        write()
        assert admin.get("state")["writes"] == 1
        admin.post("reset")
        assert log.read() == {"total": 0, "counts": {}, "entries": []}
        assert requests.get(log.url, timeout=10).status_code == 401
        assert requests.delete(log.url, timeout=10).status_code == 401


def test_the_write_log_keeps_the_last_500_entries_and_counts_them_all(sandbox, admin, write_log):
    mutation = 'mutation T { tagsAdd(id: "gid://shopify/Order/1", tags: ["x"]) { userErrors { message } } ' + \
               " ".join(f'm{n}: tagsRemove(id: "gid://shopify/Order/1", tags: ["x"]) {{ userErrors {{ message }} }}'
                        for n in range(99)) + " }"
    for _ in range(6):
        assert "errors" not in _post(sandbox.graphql_url, mutation).json()
    log = write_log.read()
    assert log["total"] == 600 and log["counts"] == {"tagsAdd": 6, "tagsRemove": 594}
    assert len(log["entries"]) == 500 and log["entries"][-1]["mutation"] == "tagsRemove"

