"""The sandbox fails the way Shopify fails: auth, validation, costs, throttling, webhooks, seed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
import requests
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse
from shopify_helpers import TOKEN

from sandboxes.shopify import cost
from sandboxes.shopify.schema import admin_schema
from sandboxes.shopify.seed import level_count, products_for_levels, seed_store
from sandboxes.shopify.store import SandboxStore
from sandboxes.shopify.webhooks import order_payload

VENDORED_WEBHOOKS = Path(__file__).resolve().parents[2] / "include" / "vendor" / "shopify" / "webhooks"


def _post(sandbox, query: str, variables=None, token: str | None = TOKEN) -> requests.Response:
    headers = {"X-Shopify-Access-Token": token} if token else {}
    return requests.post(sandbox.graphql_url, json={"query": query, "variables": variables or {}},
                         headers=headers, timeout=10)


def _cost(query: str, variables=None) -> int:
    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return cost.requested_cost(admin_schema(), operation, fragments, variables or {})


def test_requests_without_the_access_token_get_401(sandbox, admin):
    assert _post(sandbox, "{ shop { id } }", token=None).status_code == 401
    assert _post(sandbox, "{ shop { id } }", token="shpat_nope_nope_nope").status_code == 401


def test_invalid_documents_get_graphql_errors_in_shopifys_shape(sandbox, admin):
    response = _post(sandbox, "query Q { shop { id nope } }")
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert "nope" in error["message"] and error["locations"] and error["extensions"]["code"] == "undefinedField"
    assert "data" not in response.json()


def test_cost_rules_scalars_objects_connections_mutations():
    assert _cost("{ shop { id name } }") == 1  # one object, scalars free
    assert _cost("{ shop { id plan { partnerDevelopment } } }") == 2
    assert _cost("{ locations(first: 10) { nodes { id } } }") == 2 + 10
    assert _cost("{ locations(first: 20) { nodes { id } } }") == 2 + 20  # scales with first
    assert _cost("{ locations(last: 5) { edges { node { id } } } }") == 2 + 5
    assert _cost("mutation { tagsAdd(id: \"x\", tags: [\"a\"]) { node { id } } }") == 10


def test_extensions_cost_is_reported_and_the_bucket_restores(sandbox, admin):
    admin.post("bucket", {"bucket_size": 100, "restore_rate": 50})
    body = _post(sandbox, "{ locations(first: 10) { nodes { id } } }").json()
    cost_block = body["extensions"]["cost"]
    assert cost_block["requestedQueryCost"] == 12
    assert cost_block["actualQueryCost"] == 2 + 3  # three locations exist: the rest is refunded
    status = cost_block["throttleStatus"]
    assert (status["maximumAvailable"], status["restoreRate"]) == (100, 50)
    assert 95 <= status["currentlyAvailable"] <= 100  # 100 − 12 requested + 7 refunded, plus restore since


def test_a_request_above_what_is_available_is_throttled_like_shopify(sandbox, admin):
    admin.post("bucket", {"bucket_size": 100, "restore_rate": 1, "currently_available": 5})
    body = _post(sandbox, "{ locations(first: 10) { nodes { id } } }").json()
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert body["extensions"]["cost"]["actualQueryCost"] is None
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 5
    assert "data" not in body


def test_plan_presets_standard_and_plus(sandbox, admin):
    assert admin.post("bucket", {"preset": "standard"})["restoreRate"] == 100
    assert admin.post("bucket", {"preset": "plus"})["restoreRate"] == 1000


def test_connections_refuse_more_than_250_and_require_first_or_last(sandbox, admin):
    too_big = _post(sandbox, "{ productVariants(first: 251) { nodes { id } } }").json()
    assert "250" in too_big["errors"][0]["message"]
    missing = _post(sandbox, "{ productVariants { nodes { id } } }").json()
    assert "first or last" in missing["errors"][0]["message"]


def test_orders_query_filters_sorts_and_pages(sandbox, admin):
    query = """query($after: String) { orders(first: 5, after: $after, sortKey: CREATED_AT, reverse: true,
               query: "created_at:>'2000-01-01T00:00:00Z'") { pageInfo { hasNextPage endCursor } nodes { createdAt } } }"""
    seen, after = [], None
    while True:
        data = _post(sandbox, query, {"after": after}).json()["data"]["orders"]
        seen.extend(node["createdAt"] for node in data["nodes"])
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert seen == sorted(seen, reverse=True) and len(seen) == len(sandbox.sandbox.store.orders)
    none = _post(sandbox, '{ orders(first: 5, query: "updated_at:>\'2100-01-01T00:00:00Z\'") { nodes { id } } }')
    assert none.json()["data"]["orders"]["nodes"] == []


def test_inventory_set_quantities_requires_the_idempotent_directive(sandbox, admin):
    mutation = """mutation { inventorySetQuantities(input: {name: "available", reason: "correction", quantities: []})
                  { userErrors { message } } }"""
    body = _post(sandbox, mutation).json()
    assert "@idempotent" in body["errors"][0]["message"]


def _verify(secret: str, received) -> bool:
    digest = base64.b64encode(hmac.new(secret.encode(), received.body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(digest, received.headers["X-Shopify-Hmac-Sha256"])


def test_webhooks_are_signed_and_carry_shopifys_headers(sandbox, admin, webhook_receiver):
    admin.post("webhooks", {"url": webhook_receiver.url, "secret": "whsec-test-123", "duplicate_rate": 0,
                            "drop_rate": 0, "delay_seconds": 0, "reorder_window_seconds": 0})
    created = admin.post("orders", {"lines": [{"sku": "SKU-00007", "quantity": 2}]})
    legacy_id = created["id"].rsplit("/", 1)[1]
    admin.post(f"orders/{legacy_id}/refund", {})
    admin.post(f"orders/{legacy_id}/cancel", {})
    received = webhook_receiver.wait_for(5)
    topics = [r.headers["X-Shopify-Topic"] for r in received]
    assert topics[0] == "orders/create"
    assert {"refunds/create", "orders/updated", "orders/cancelled"} <= set(topics)
    for delivery in received:
        assert _verify("whsec-test-123", delivery)
        for header in ("X-Shopify-Webhook-Id", "X-Shopify-Event-Id", "X-Shopify-Triggered-At",
                       "X-Shopify-Shop-Domain", "X-Shopify-API-Version"):
            assert delivery.headers[header]
    assert received[0].payload["admin_graphql_api_id"] == created["id"]
    assert not _verify("another-secret", received[0])
    admin.post("webhooks", {"url": None})


def test_webhook_payloads_have_the_rest_shape_of_shopifys_example(sandbox, admin):
    """Every key the sandbox sends exists in Shopify's orders/create payload (example + its inferred schema)."""
    example = json.loads((VENDORED_WEBHOOKS / "orders.create.json").read_text())["response"]
    schema = json.loads((VENDORED_WEBHOOKS.parent / "webhook-schemas" / "orders.create.json").read_text())
    allowed = set(example) | set(schema["properties"])
    allowed_line = set(schema["properties"]["line_items"]["items"]["properties"])
    for order in sandbox.sandbox.store.orders.values():
        payload = order_payload(order)
        assert set(payload) - allowed == set()
        for line in payload["line_items"]:
            assert set(line) - allowed_line == set()
    payload = order_payload(next(iter(sandbox.sandbox.store.orders.values())))
    assert set(payload["total_price_set"]) == set(example["total_price_set"]) == {"shop_money", "presentment_money"}
    assert isinstance(payload["id"], int) and payload["admin_graphql_api_id"].endswith(str(payload["id"]))


def test_webhooks_are_retried_until_the_receiver_accepts(sandbox, admin, webhook_receiver):
    webhook_receiver.statuses.extend([500, 503])
    admin.post("webhooks", {"url": webhook_receiver.url, "retry_base_seconds": 0.05, "max_retries": 8})
    created = admin.post("orders", {"lines": [{"sku": "SKU-00008", "quantity": 1}]})
    received = webhook_receiver.wait_for(3)
    assert len({r.headers["X-Shopify-Webhook-Id"] for r in received[:3]}) == 1  # the same delivery, retried
    assert received[2].payload["admin_graphql_api_id"] == created["id"]
    admin.post("webhooks", {"url": None})


def test_webhook_knobs_duplicate_and_drop(sandbox, admin, webhook_receiver):
    admin.post("webhooks", {"url": webhook_receiver.url, "duplicate_rate": 1.0})
    admin.post("orders", {"lines": [{"sku": "SKU-00009", "quantity": 1}]})
    first, second = webhook_receiver.wait_for(2)[:2]
    assert first.body == second.body and first.headers["X-Shopify-Event-Id"] == second.headers["X-Shopify-Event-Id"]
    admin.post("webhooks", {"duplicate_rate": 0.0, "drop_rate": 1.0})
    admin.post("orders", {"lines": [{"sku": "SKU-00009", "quantity": 1}]})
    deliveries = admin.get("webhooks/deliveries")["deliveries"]
    assert deliveries[-1]["outcome"] == "dropped"
    admin.post("webhooks", {"url": None, "drop_rate": 0.0})


def test_webhook_reorder_window_delivers_out_of_order(sandbox, admin, webhook_receiver):
    admin.post("webhooks", {"url": webhook_receiver.url, "reorder_window_seconds": 0.5})
    names = [admin.post("orders", {"lines": [{"sku": "SKU-00011", "quantity": 1}]})["name"] for _ in range(8)]
    received = webhook_receiver.wait_for(8)
    assert sorted(r.payload["name"] for r in received) == sorted(names)
    assert [r.payload["name"] for r in received] != names
    admin.post("webhooks", {"url": None, "reorder_window_seconds": 0.0})


def test_the_seed_is_deterministic():
    def snapshot(store: SandboxStore):
        return ([(o["name"], o["totalPriceSet"]["shopMoney"]["amount"], len(o["lineItems"]))
                 for o in store.orders.values()],
                sorted((item["sku"], tuple(sorted(level["quantities_by_name"].items())))
                       for item in store.items.values() for level in item["inventoryLevels"]))

    assert snapshot(seed_store(SandboxStore(), 30, 25, seed=3)) == snapshot(seed_store(SandboxStore(), 30, 25, seed=3))


@pytest.mark.parametrize("levels", [10, 1_000, pytest.param(100_000, marks=pytest.mark.slow)])
def test_seed_size_reaches_from_a_handful_to_100k_levels(levels):
    products = products_for_levels(levels)
    assert level_count(products) <= levels
    assert level_count(products + 1) > levels * 0.97


def test_the_seed_matches_the_shared_catalogue():
    from sandboxes import catalog

    store = seed_store(SandboxStore(), 30, 5)
    skus = {variant.sku for product in catalog.products(30) for variant in product.variants}
    assert set(store.items_by_sku) == skus
    assert len(store.levels) == level_count(30)


def test_mutations_announce_orders_updated(sandbox, admin, api, webhook_receiver):
    admin.post("webhooks", {"url": webhook_receiver.url, "delay_seconds": 0.2})
    created = admin.post("orders", {"lines": [{"sku": "SKU-00012", "quantity": 1}]})
    assert api.add_tags(created["id"], ["exported"]).ok
    received = webhook_receiver.wait_for(2)
    assert [r.headers["X-Shopify-Topic"] for r in received[:2]] == ["orders/create", "orders/updated"]
    assert received[1].payload["tags"] == "exported"
    admin.post("webhooks", {"url": None, "delay_seconds": 0.0})


@pytest.mark.slow  # starts the sandbox as its own process
def test_the_sandbox_starts_with_one_command(tmp_path):
    """``python -m sandboxes.shopify`` serves the API on loopback (what `make demo` runs)."""
    import os
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ}
    process = subprocess.Popen([sys.executable, "-m", "sandboxes.shopify", "--host", "127.0.0.1",
                                "--port", str(port), "--products", "5", "--orders", "3"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/admin/api/2026-07/graphql.json"
        deadline = time.monotonic() + 60
        while True:
            try:
                response = requests.post(url, json={"query": "{ shop { name } }"},
                                         headers={"X-Shopify-Access-Token": TOKEN}, timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and process.poll() is None, "sandbox did not start"
                time.sleep(0.2)
        assert response.json()["data"]["shop"]["name"] == "Sandbox Shop"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_input_arrays_over_250_are_refused(sandbox, admin):
    quantities = [{"inventoryItemId": "gid://shopify/InventoryItem/1", "locationId": "gid://shopify/Location/1",
                   "quantity": 1, "changeFromQuantity": None}] * 251
    mutation = """mutation M($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input)
                  @idempotent(key: "too-big-1") { userErrors { message } } }"""
    body = _post(sandbox, mutation, {"input": {"name": "available", "reason": "correction",
                                              "quantities": quantities}}).json()
    assert "maximum allowed of 250" in body["errors"][0]["message"]
